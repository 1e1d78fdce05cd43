"""The architecture's promises, checked at run time: the core runs without the TUI, and
start-up does not pay for provider SDKs."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


ROOMS = ("app", "core", "widgets", "styles")


def _room(module: str) -> str:
    """The room or library a module belongs to: 'stoa.core.x' -> 'core', 'textual.app' -> 'textual'."""
    parts = module.split(".")
    if parts[0] == "stoa" and len(parts) > 1:
        return parts[1]
    return parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(_room(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(_room(node.module))
    return names


def _top_level_imports(path: Path) -> set[str]:
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
    loaded = _modules_after(
        "import stoa.core.runtime, stoa.core.agent.loop, stoa.core.tools.registry, stoa.core.models"
    )
    assert "textual" not in loaded
    assert "anthropic" not in loaded
    assert "openai" not in loaded
    assert "mcp" not in loaded


def test_cli_module_is_import_light() -> None:
    loaded = _modules_after("import stoa.app.cli")
    assert not {"textual", "anthropic", "openai", "mcp", "pydantic", "acp"} & loaded


def test_telling_a_shell_line_loads_nothing_of_the_agent() -> None:
    """The TUI asks at Enter, maybe before the runtime is built: on the event loop, so light."""
    loaded = _modules_after("import stoa.core.agent.typed_shell")
    assert not {"pydantic", "stoa.core.providers.types", "stoa.core.events"} & loaded


def test_the_acp_front_end_never_imports_textual() -> None:
    """`stoa acp` runs in editors: neither its modules nor the commands it offers load Textual."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(bad)
        for p in (ROOT / "app" / "acp").rglob("*.py")
        if (bad := _imports(p) & {"textual", "widgets"})
    }
    assert offenders == {}
    loaded = _modules_after(
        "import stoa.app.acp, stoa.app.acp.server, stoa.app.acp.session, stoa.app.acp.replay\n"
        "from stoa.app.commands import builtin_registry; builtin_registry()"
    )
    assert "acp" in loaded
    assert not {"textual", "rich"} & loaded


def test_every_import_of_a_room_goes_through_the_stoa_package() -> None:
    """`import core...` would load a second copy of a module (or another project's `core`)."""
    offenders = {}
    for folder in (*ROOMS, "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
                continue  # installed servers and venvs under tests/.npm, tests/.mcp-venv
            bad = _top_level_imports(path) & set(ROOMS)
            if bad:
                offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_installed_stoa_has_no_top_level_room_names(tmp_path: Path) -> None:
    """Outside the repository, only `stoa.*` resolves: `import core` fails, `import stoa.core` works."""
    code = (
        "import importlib.util, json\n"
        "names = ['core', 'app', 'widgets', 'styles', 'stoa.core', 'stoa.app.cli', 'stoa.widgets', 'stoa.styles']\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    found = json.loads(out.stdout)
    assert found == {
        "core": False,
        "app": False,
        "widgets": False,
        "styles": False,
        "stoa.core": True,
        "stoa.app.cli": True,
        "stoa.widgets": True,
        "stoa.styles": True,
    }


def test_wheel_installs_only_the_stoa_package(tmp_path: Path) -> None:
    """The built wheel's top-level names are `stoa` and its dist-info, and it carries the styles."""
    source = tmp_path / "src"  # a copy: building in place would leave build/ and egg-info behind
    for room in ROOMS:
        shutil.copytree(ROOT / room, source / room, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("stoa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {name.split("/")[0] for name in names} == {"stoa", dist_info}
    assert "stoa/styles/app.tcss" in names
    assert "stoa/core/runtime.py" in names
    assert "stoa/app/screens/chat.py" in names


def test_the_runtime_is_typed_without_a_service_bag() -> None:
    """Front ends share one composition root whose attachments are typed fields, not string keys."""
    import dataclasses

    from stoa.core.runtime import Runtime

    fields = {f.name: str(f.type) for f in dataclasses.fields(Runtime)}
    assert "services" not in fields
    assert not [name for name, annotation in fields.items() if "Any" in annotation]
    for attached in ("store", "session", "mcp", "sandbox", "local_servers", "detect_local_servers"):
        assert attached in fields


def test_architecture_md_names_only_paths_that_exist() -> None:
    """ARCHITECTURE.md stays true: every file or folder it names in backticks exists."""
    import re

    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:core|app|widgets|styles|tests)/[\w./]*)`", text))
    assert named, "ARCHITECTURE.md names no paths?"
    missing = sorted(p for p in named if "NAME" not in p and not (ROOT / p).exists())
    assert missing == []


MAX_MODULE_LINES = 1_000


def test_no_module_is_over_a_thousand_lines() -> None:
    """Issue 13: no module over 1,000 lines. A module that grows past it is split by reason to
    change (as core/mcp/manager.py was into connection.py and problems.py), not cut anywhere."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for room in ("app", "core", "widgets")
        for path in sorted((ROOT / room).rglob("*.py"))
    }
    assert len(sizes) > 100, "the rooms hold no modules?"
    over = {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert over == {}, "over 1,000 lines (split by reason to change): " + ", ".join(
        f"{path} has {lines}" for path, lines in sorted(over.items())
    )


def test_tools_and_permissions_talk_through_typed_fields() -> None:
    """No side channels between tools and the permission layer: the tool context and each
    Access are typed (no ``Any``, no free-form dict), and a tool's arguments are only what
    the model sent (nothing is stashed on them between the permission check and the run)."""
    import dataclasses

    from stoa.core.mcp.tool import McpArgs
    from stoa.core.tools.base import Access, CallChecks, ToolContext, ToolState
    from stoa.core.tools.native import native_tools

    for cls in (ToolContext, CallChecks, ToolState, Access):
        loose = {f.name: str(f.type) for f in dataclasses.fields(cls) if "Any" in str(f.type)}
        assert loose == {}, cls.__name__
    context = {f.name for f in dataclasses.fields(ToolContext)}
    assert {"config", "policy", "state", "checked", "interrupted_output"} <= context
    assert "facts" not in {f.name for f in dataclasses.fields(Access)}
    stashed = {t.name: sorted(t.Args.__private_attributes__) for t in native_tools() if t.Args.__private_attributes__}
    # apply_patch keeps the parse of its own patch text (a function of the arguments alone).
    assert stashed == {"apply_patch": ["_hunks"]}
    assert McpArgs.__private_attributes__ == {}


def _sources(*rooms: str) -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for room in rooms
        for path in (ROOT / room).rglob("*.py")
    }


def test_one_owner_per_concern() -> None:
    """Near-copies stay gone (issue 13, item 8): each concern below has one owner that every
    other module calls."""
    sources = _sources("core", "app", "widgets")
    # Providers speak neutral types; nothing of the agent loop.
    assert [p for p, text in sources.items() if p.startswith("core/providers/") and "stoa.core.agent" in text] == []
    # Which variable holds a provider's key: core/keys.py (key_variable), over config's table.
    readers = sorted(p for p, text in sources.items() if "KEY_ENV_VARS" in text)
    assert readers == ["core/config.py", "core/keys.py", "core/sandbox/env.py"]
    # The no-key message ("no API key for P: set VAR (e.g. export VAR=...)").
    assert sorted(p for p, text in sources.items() if "(e.g. export" in text) == ["core/keys.py"]
    # Where the stylesheets are: stoa.styles.STYLES.
    assert [p for p, text in sources.items() if '"styles"' in text and "__file__" in text] == []
    # Counting a diff's lines: core/diffs.py.
    counters = sorted(p for p, text in sources.items() if 'startswith("+++")' in text)
    assert counters == ["core/diffs.py"]
    # The filter-list pickers (model, effort, resume): app/screens/filter_picker.py over
    # widgets/filter_list.py (filter box, rows made as they show, kept highlight, Enter, Esc).
    filters = sorted(p for p, text in sources.items() if 'Input.Changed, "#filter"' in text)
    assert filters == ["app/screens/filter_picker.py"]
    # Ending processes (SIGTERM, a grace, SIGKILL): core/processes.py; the watchdog, a separate
    # interpreter that imports nothing of Stoa, keeps its own few lines.
    signalling = re.compile(r"os\.killpg\(|os\.kill\(\w+, (signal\.SIG|sig\))")
    killers = sorted(p for p, text in sources.items() if signalling.search(text))
    assert killers == ["core/processes.py", "core/tools/watchdog.py"]
    # A provider's client setup (key, endpoint, timeouts, warm-up, model ids, aclose):
    # core/providers/http.py's HttpProvider; the end of a stream: base.completed.
    assert sorted(p for p, text in sources.items() if "Endpoint(" in text) == ["core/providers/http.py"]
    assert sorted(p for p, text in sources.items() if "MessageComplete(" in text) == ["core/providers/base.py"]
    assert sorted(p for p, text in sources.items() if "SSEDecoder()" in text) == ["core/providers/sse.py"]
    # What a provider's requests carry, and reading a /models answer (providers, catalogue,
    # local-server detection alike): core/providers/http.py.
    assert sorted(p for p, text in sources.items() if '"anthropic-version"' in text) == ["core/providers/http.py"]
    assert sorted(p for p, text in sources.items() if 'page.get("data")' in text) == ["core/providers/http.py"]
    providers = ("anthropic", "openai_responses", "openai_chat")
    assert all("(HttpProvider)" in sources[f"core/providers/{name}.py"] for name in providers)
    pickers = sorted(p for p, text in sources.items() if "(FilterPickerScreen)" in text)
    assert pickers == ["app/screens/model_picker.py", "app/screens/resume.py"]
