"""Adversarial tests of path resolution: every escape must come out as outside the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stoa.core.permissions.paths import PathError, canonical_root, display_path, is_inside, resolve


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("print(1)\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("secret\n")
    return out


def test_relative_path_resolves_inside(ws: Path) -> None:
    r = resolve("src/a.py", ws)
    assert r.canonical == ws / "src" / "a.py"
    assert r.exists and r.inside_workspace
    assert r.display == "src/a.py"
    assert not r.via_symlink


def test_dot_is_the_workspace(ws: Path) -> None:
    r = resolve(".", ws)
    assert r.canonical == ws and r.inside_workspace and r.display == "."


def test_dotdot_that_stays_inside(ws: Path) -> None:
    r = resolve("src/../src/./a.py", ws)
    assert r.canonical == ws / "src" / "a.py" and r.inside_workspace


@pytest.mark.parametrize(
    "path", ["..", "../outside/secret.txt", "src/../../outside", "src/../../../../../etc/passwd"]
)
def test_dotdot_climbing_out_is_outside(ws: Path, outside: Path, path: str) -> None:
    r = resolve(path, ws)
    assert not r.inside_workspace, r


def test_absolute_paths(ws: Path, outside: Path) -> None:
    assert resolve(str(ws / "src" / "a.py"), ws).inside_workspace
    assert not resolve(str(outside / "secret.txt"), ws).inside_workspace
    assert not resolve("/etc/passwd", ws).inside_workspace


def test_sibling_with_common_prefix_is_outside(ws: Path) -> None:
    evil = ws.parent / (ws.name + "-evil")
    evil.mkdir()
    (evil / "x").write_text("x")
    r = resolve(str(evil / "x"), ws)
    assert not r.inside_workspace
    assert not is_inside(str(evil), str(ws))


def test_tilde_expands_to_home(ws: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    r = resolve("~/notes.txt", ws)
    assert r.canonical == home / "notes.txt"
    assert not r.inside_workspace and not r.exists
    assert resolve("~", ws).canonical == home


def test_tilde_inside_workspace_when_home_is_the_workspace(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(ws))
    assert resolve("~/src/a.py", ws).inside_workspace


def test_unknown_user_tilde_is_a_clear_error(ws: Path) -> None:
    with pytest.raises(PathError, match="no such user"):
        resolve("~no_such_user_stoa_xyz/file", ws)


def test_a_file_named_tilde_in_the_middle_is_literal(ws: Path) -> None:
    r = resolve("src/~", ws)
    assert r.canonical == ws / "src" / "~" and r.inside_workspace


def test_symlink_to_outside_file_is_outside(ws: Path, outside: Path) -> None:
    (ws / "link.txt").symlink_to(outside / "secret.txt")
    r = resolve("link.txt", ws)
    assert r.canonical == outside / "secret.txt"
    assert not r.inside_workspace and r.via_symlink
    assert "through a symlink" in r.outside_reason("reads")


def test_symlink_chain_escape(ws: Path, outside: Path) -> None:
    (ws / "c").symlink_to(outside / "secret.txt")
    (ws / "b").symlink_to("c")
    (ws / "src" / "a_link").symlink_to("../b")
    r = resolve("src/a_link", ws)
    assert r.canonical == outside / "secret.txt"
    assert not r.inside_workspace


def test_symlinked_parent_directory_escape_for_new_file(ws: Path, outside: Path) -> None:
    (ws / "out").symlink_to(outside)
    r = resolve("out/new/deeper/file.txt", ws)
    assert r.canonical == outside / "new" / "deeper" / "file.txt"
    assert not r.exists and not r.inside_workspace


def test_dangling_symlink_pointing_outside(ws: Path, outside: Path) -> None:
    (ws / "dangling").symlink_to(outside / "will-be-created.txt")
    r = resolve("dangling", ws)
    assert r.canonical == outside / "will-be-created.txt"
    assert not r.exists and not r.inside_workspace


def test_dotdot_after_symlink_applies_to_the_target(ws: Path, outside: Path) -> None:
    (outside / "sub").mkdir()
    (ws / "link").symlink_to(outside / "sub")
    # The kernel resolves link/.. to outside/, not to the workspace.
    r = resolve("link/../secret.txt", ws)
    assert r.canonical == outside / "secret.txt"
    assert not r.inside_workspace


def test_symlink_inside_pointing_inside_is_inside(ws: Path) -> None:
    (ws / "alias").symlink_to(ws / "src")
    r = resolve("alias/a.py", ws)
    assert r.canonical == ws / "src" / "a.py" and r.inside_workspace


def test_absolute_symlink_to_root(ws: Path) -> None:
    (ws / "root").symlink_to("/")
    assert not resolve("root/etc/passwd", ws).inside_workspace


def test_proc_self_root_escape(ws: Path) -> None:
    if not os.path.exists("/proc/self/root"):
        pytest.skip("no /proc on this system")
    r = resolve(f"/proc/self/root{ws}/../outside", ws)
    assert not r.inside_workspace


def test_symlink_loop_does_not_hang_and_stays_unresolved(ws: Path) -> None:
    (ws / "loop1").symlink_to("loop2")
    (ws / "loop2").symlink_to("loop1")
    r = resolve("loop1/x", ws)
    assert not r.exists


def test_workspace_given_through_a_symlink(tmp_path: Path, ws: Path, outside: Path) -> None:
    alias = tmp_path / "ws-alias"
    alias.symlink_to(ws)
    r = resolve("src/a.py", alias)
    assert r.canonical == ws / "src" / "a.py" and r.inside_workspace
    assert resolve(str(ws / "src"), alias).inside_workspace
    assert not resolve(str(outside), alias).inside_workspace
    assert canonical_root(alias) == ws


def test_follow_final_false_keeps_the_link(ws: Path, outside: Path) -> None:
    (ws / "link.txt").symlink_to(outside / "secret.txt")
    r = resolve("link.txt", ws, follow_final=False)
    assert r.canonical == ws / "link.txt"
    assert r.exists and r.inside_workspace and r.via_symlink


def test_follow_final_false_still_resolves_parents(ws: Path, outside: Path) -> None:
    (ws / "out").symlink_to(outside)
    r = resolve("out/secret.txt", ws, follow_final=False)
    assert r.canonical == outside / "secret.txt"
    assert not r.inside_workspace


def test_follow_final_false_with_dotdot_final(ws: Path) -> None:
    r = resolve("src/..", ws, follow_final=False)
    assert r.canonical == ws


@pytest.mark.parametrize("bad", ["", "   ", "\n", "a\x00b", "\x00"])
def test_empty_and_nul_paths_are_refused(ws: Path, bad: str) -> None:
    with pytest.raises(PathError) as info:
        resolve(bad, ws)
    message = str(info.value)
    assert ("NUL" in message) if "\x00" in bad else ("empty" in message)


def test_non_string_path_is_refused(ws: Path) -> None:
    with pytest.raises(PathError, match="must be a string"):
        resolve(123, ws)  # type: ignore[arg-type]


def test_case_differences_are_different_files_on_case_sensitive_fs(ws: Path) -> None:
    (ws / "Readme.md").write_text("x")
    r = resolve("README.MD", ws)
    if r.exists:  # a case-folding file system: the on-disk spelling wins
        assert r.canonical.name == "Readme.md"
    else:
        assert r.canonical.name == "README.MD"
    assert r.inside_workspace


def test_case_trick_on_workspace_name(tmp_path: Path) -> None:
    ws = tmp_path / "proj"
    ws.mkdir()
    other = tmp_path / "PROJ"
    if other.exists():  # case-folding temp dir: it is the same directory
        assert resolve(str(other / "x"), ws).inside_workspace
    else:
        other.mkdir()
        assert not resolve(str(other / "x"), ws).inside_workspace


@pytest.mark.parametrize(
    "name", ["with space.txt", "quote'\"s.txt", "new\nline.txt", "ünïcödé-文件.txt", "-dash"]
)
def test_unusual_names(ws: Path, name: str) -> None:
    (ws / name).write_text("x")
    r = resolve(name, ws)
    assert r.exists and r.inside_workspace and r.canonical.name == name


def test_very_long_path_is_not_a_crash(ws: Path) -> None:
    r = resolve("a/" * 3000 + "x", ws)
    assert r.inside_workspace and not r.exists


def test_trailing_slashes_and_duplicate_separators(ws: Path) -> None:
    assert resolve("src//a.py", ws).canonical == ws / "src" / "a.py"
    assert resolve("src/", ws).canonical == ws / "src"


def test_base_directory_for_relative_paths(ws: Path) -> None:
    r = resolve("a.py", ws, base=ws / "src")
    assert r.canonical == ws / "src" / "a.py" and r.inside_workspace
    assert not resolve("../../x", ws, base=ws / "src").inside_workspace


def test_is_inside_requires_canonical_and_handles_root() -> None:
    assert is_inside("/a/b", "/a")
    assert is_inside("/a", "/a")
    assert not is_inside("/ab", "/a")
    assert is_inside("/anything", "/")


def test_display_path(ws: Path) -> None:
    assert display_path(ws / "x" / "y", ws) == "x/y"
    assert display_path(ws, ws) == "."
    assert display_path("/etc/passwd", ws) == "/etc/passwd"


def test_bind_like_alias_by_inode(tmp_path: Path, ws: Path) -> None:
    # A hard-linked file is a different name; only directory identity decides containment.
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert not is_inside(str(other / "f"), str(ws))


def test_names_that_are_not_utf8_are_reached_through_their_escape_form(ws: Path, outside: Path) -> None:
    raw = os.fsencode(ws)
    os.mkdir(raw + b"/d\xfe")
    with open(raw + b"/d\xfe/f\xff.txt", "wb") as handle:
        handle.write(b"x")
    r = resolve("d\\xfe/f\\xff.txt", ws)
    assert r.exists and r.inside_workspace
    assert os.fsencode(r.canonical) == raw + b"/d\xfe/f\xff.txt"
    # A new file under such a folder: the folder is the real one, the new name stays as written.
    r = resolve("d\\xfe/new\\xff.txt", ws)
    assert not r.exists and os.fsencode(r.canonical) == raw + b"/d\xfe/new\\xff.txt"
    # A trailing slash and follow_final=False keep their meaning.
    assert resolve("d\\xfe/", ws).canonical.is_dir()
    r = resolve("d\\xfe/f\\xff.txt", ws, follow_final=False)
    assert r.exists and os.fsencode(r.canonical).endswith(b"/f\xff.txt")
    # A name that really holds a backslash wins over the byte it could stand for.
    (ws / "lit\\xff").write_text("literal")
    with open(raw + b"/lit\xff", "wb") as handle:
        handle.write(b"bytes")
    assert resolve("lit\\xff", ws).canonical.read_text() == "literal"
    # Escapes never lead out of the workspace by themselves: .. is still judged on the result.
    os.mkdir(os.fsencode(outside) + b"/o\xe9")
    r = resolve("../outside/o\\xe9", ws)
    assert r.exists and not r.inside_workspace
