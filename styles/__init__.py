"""The app's stylesheets (.tcss): one for the shared look, one per screen.

``STYLES`` is this folder, the one place screens find their ``CSS_PATH`` files (in the
repository and in an installed wheel alike)."""

from pathlib import Path

STYLES = Path(__file__).resolve().parent
