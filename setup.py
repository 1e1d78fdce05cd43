"""Package layout: the repository keeps its rooms as top-level folders (app/, core/, widgets/,
styles/); they install as one namespaced package, ``stoa.app``, ``stoa.core``, ``stoa.widgets``
and ``stoa.styles``, so nothing named ``core`` or ``app`` lands in site-packages. Everything
else lives in pyproject.toml."""

from setuptools import find_packages, setup

ROOMS = ("app", "core", "widgets", "styles")

setup(
    packages=[f"stoa.{name}" for name in find_packages(include=[f"{room}*" for room in ROOMS])],
    package_dir={f"stoa.{room}": room for room in ROOMS},
)
