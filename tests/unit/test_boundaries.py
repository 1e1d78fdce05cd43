"""The architecture's promises, checked at run time: the core runs without the TUI, and
start-up does not pay for provider SDKs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_textual_app_or_widgets() -> None:
    offenders = {}
    for path in (ROOT / "core").rglob("*.py"):
        bad = _imports(path) & {"textual", "app", "widgets"}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_widgets_never_import_app() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "widgets").rglob("*.py") if "app" in _imports(p)]
    assert offenders == []


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return set(out.stdout.split())


def test_core_runtime_is_reachable_without_textual_or_sdks() -> None:
    loaded = _modules_after("import core.runtime, core.agent.loop, core.tools.registry, core.models")
    assert "textual" not in loaded
    assert "anthropic" not in loaded
    assert "openai" not in loaded
    assert "mcp" not in loaded


def test_cli_module_is_import_light() -> None:
    loaded = _modules_after("import app.cli")
    assert not {"textual", "anthropic", "openai", "mcp", "pydantic"} & loaded
