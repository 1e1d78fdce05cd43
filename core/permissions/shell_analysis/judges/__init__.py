"""The judges: one module per program family, each judge registered for the programs it judges
with ``@judge(...)`` (registry.py). Every module of this package is imported with it, so a new
judge is one new module (or function) plus its tests; nothing else to edit."""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    importlib.import_module(f"{__name__}.{_module.name}")
