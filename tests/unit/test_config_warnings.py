"""Unknown keys in config files: a warning with file:line and the closest known name, never an
error (the rest of the file applies), for top-level settings, unknown tables, and the keys of
the tables Stoa reads; shown by the TUI (a notice) and headless mode (stderr)."""

from __future__ import annotations

import re
from pathlib import Path

from stoa.core.config import CONFIG_TABLES, key_line, load_config

REPO = Path(__file__).resolve().parents[2]


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "stoa-home"), "PATH": "/usr/bin:/bin"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_misspelt_setting_is_named_with_its_line_and_the_closest_name(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    config_file = write(
        workspace / ".stoa" / "config.toml",
        '# the team settings\nmode = "ask"\n\nmodle = "opus"\neffort = "high"\n',
    )
    config = load_config(workspace, env=env_for(tmp_path))
    assert config.settings.mode == "ask" and config.settings.effort == "high"  # the rest applies
    assert config.warnings == [f"{config_file}:4: unknown setting 'modle' (did you mean 'mode' or 'model'?); it is ignored"]


def test_unknown_tables_and_keys_of_known_tables(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    local = write(
        workspace / ".stoa" / "config.local.toml",
        "\n".join(
            [
                'provider = "anthropic"',
                "max_tokens = 4096",  # the field name works as well as max-tokens
                "[web]",
                'allow-private-hosts = ["localhost"]',
                "serch = false",
                "",
                "[sandbox]",
                "netwrok = true",
                "enabled = true",
                "",
                "[permisions]",
                'allow = ["Bash(ls)"]',
                "",
                "[mcp-servers.docs]",
                'command = "docs-server"',
            ]
        )
        + "\n",
    )
    config = load_config(workspace, env=env_for(tmp_path))
    assert config.settings.max_tokens == 4096
    assert config.warnings == [
        f"{local}:5: unknown key in [web] 'serch' (did you mean 'search'?); it is ignored",
        f"{local}:8: unknown key in [sandbox] 'netwrok' (did you mean 'network'?); it is ignored",
        f"{local}:11: unknown table 'permisions' (did you mean 'permissions'?); it is ignored",
    ]


def test_dotted_keys_and_keys_with_nothing_close(tmp_path: Path) -> None:
    global_file = write(tmp_path / "stoa-home" / "config.toml", 'web.searches = true\ncolour = "blue"\n')
    config = load_config(tmp_path / "project", env=env_for(tmp_path))
    assert config.warnings == [
        f"{global_file}:1: unknown key in [web] 'searches' (did you mean 'search'?); it is ignored",
        f"{global_file}:2: unknown setting 'colour'; it is ignored",
    ]


def test_known_files_give_no_warning(tmp_path: Path) -> None:
    write(
        tmp_path / "project" / ".stoa" / "config.toml",
        'model = "sonnet"\nbase-url = "http://localhost:1/v1"\nmax-iterations = 10\n'
        '[web]\nsearch = false\n[sandbox]\nnetwork = false\nwritable = []\n',
    )
    assert load_config(tmp_path / "project", env=env_for(tmp_path)).warnings == []


def test_key_line_finds_headers_assignments_and_quoted_keys() -> None:
    text = '\n'.join(['a = 1', '[t]', '"odd key" = 2', "[t.sub]", "x = 3", "[[hooks.pre]]", "m = 'y'"])
    assert key_line(text, ("a",)) == 1
    assert key_line(text, ("t",)) == 2
    assert key_line(text, ("t", "odd key")) == 3
    assert key_line(text, ("t", "sub")) == 4
    assert key_line(text, ("t", "sub", "x")) == 5
    assert key_line(text, ("hooks",)) == 6
    assert key_line(text, ("missing",)) is None


def test_every_table_the_code_reads_is_known() -> None:
    """A table read somewhere (``config.section("NAME")`` or a ``SECTION = "NAME"`` constant) but
    missing from CONFIG_TABLES would be reported to users as unknown."""
    read: set[str] = set()
    for folder in ("core", "app"):
        for source in (REPO / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            read.update(re.findall(r"""section\(\s*["']([A-Za-z0-9_-]+)["']""", text))
            read.update(re.findall(r"""^SECTION\s*=\s*["']([A-Za-z0-9_-]+)["']""", text, re.MULTILINE))
    assert read, "the scan found no table reads at all"
    assert read <= set(CONFIG_TABLES), sorted(read - set(CONFIG_TABLES))
