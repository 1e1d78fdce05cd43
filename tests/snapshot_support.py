"""Store every pytest-textual-snapshot SVG in the top-level ``snapshots/`` folder.

pytest-textual-snapshot keeps SVGs in syrupy's ``__snapshots__`` folder next to each test
module. Importing this module (``pytest_plugins = ["tests.snapshot_support"]`` in a conftest,
or ``from tests.snapshot_support import *``) redirects them to
``snapshots/<test module name>/<test name>.svg`` for every test in the session, so the pictures
of all screens sit in one place. Use the ordinary ``snap_compare`` fixture; it also gets the
``stoa_snapshot_dir`` fixture if a test wants to know where its pictures go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot

SNAPSHOTS_DIR = Path(__file__).resolve().parent.parent / "snapshots"

_Base: Any = pytest_textual_snapshot.SVGImageExtension


class StoaSVGExtension(_Base):  # type: ignore[misc, valid-type]
    """pytest-textual-snapshot's SVG extension, rooted at ``snapshots/``."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS_DIR / test_location.basename)


if not issubclass(pytest_textual_snapshot.SVGImageExtension, StoaSVGExtension):
    # snap_compare looks the extension up in its module at call time.
    pytest_textual_snapshot.SVGImageExtension = StoaSVGExtension  # type: ignore[misc]


@pytest.fixture
def stoa_snapshot_dir(request: pytest.FixtureRequest) -> Path:
    return SNAPSHOTS_DIR / Path(str(request.node.path)).stem
