"""The tools' argument schemas kept from run to run (core/tools/schemas.py): what a request
offers is what pydantic makes, a later run takes them from the file without building a
validator, and a stale, corrupt or untrusted file is not used."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stoa.core import dataclass_cache
from stoa.core.tools import schemas
from stoa.core.tools.base import Tool
from stoa.core.tools.registry import default_registry
from stoa.core.tools.skill import LoadSkill
from stoa.core.tools.task import TaskTool


def _tools() -> list[Tool]:
    # Every tool whose schema comes from its Args model (MCP tools bring their server's).
    return [*default_registry(), TaskTool.__new__(TaskTool), LoadSkill.__new__(LoadSkill)]


def _pydantic_schema(tool: Tool) -> dict[str, Any]:
    schema = tool.Args.model_json_schema()
    schema.pop("title", None)
    return schema


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(dataclass_cache, "cache_folders", lambda: [tmp_path])
    schemas.reset()
    yield tmp_path
    schemas.reset()


def _file(folder: Path) -> Path:
    [found] = folder.glob("tool-schemas-*.json")
    return found


def _forbid_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(cls: Any, *a: Any, **k: Any) -> Any:
        raise AssertionError(f"{cls.__name__}'s schema was made, not read from the file")

    for tool in _tools():
        monkeypatch.setattr(tool.Args, "model_json_schema", classmethod(refuse))


def test_a_later_run_reads_every_schema_from_the_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = _tools()
    first = {t.name: schemas.args_schema(t.Args) for t in tools}
    assert first == {t.name: _pydantic_schema(t) for t in tools}
    schemas.save()
    assert _file(folder).stat().st_mode & 0o077 == 0

    schemas.reset()  # a new run
    with monkeypatch.context() as patched:
        _forbid_building(patched)
        again = {t.name: schemas.args_schema(t.Args) for t in tools}
    assert again == first
    # Property order is the model's, as pydantic gives it (what the model reads first).
    assert all(list(again[t.name]["properties"]) == list(_pydantic_schema(t)["properties"]) for t in tools)


def test_each_call_gets_its_own_copy(folder: Path) -> None:
    tool = next(iter(default_registry()))
    schema = schemas.args_schema(tool.Args)
    schema["properties"].clear()
    assert schemas.args_schema(tool.Args) == _pydantic_schema(tool)


@pytest.mark.parametrize("damage", ["stale", "corrupt", "others_may_write", "not_an_object"])
def test_a_file_that_cannot_be_trusted_is_made_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    tool = next(iter(default_registry()))
    schemas.args_schema(tool.Args)
    schemas.save()
    path = _file(folder)
    data = json.loads(path.read_text())
    poisoned = {key: {"type": "object", "description": "poisoned"} for key in data["schemas"]}
    if damage == "stale":  # a tool's source changed since (or pydantic's version)
        path.write_text(json.dumps({"stamp": data["stamp"] + "|edited.py:1:1", "schemas": poisoned}))
    elif damage == "corrupt":
        path.write_text('{"stamp": ')
    elif damage == "others_may_write":
        path.write_text(json.dumps({"stamp": data["stamp"], "schemas": poisoned}))
        os.chmod(path, 0o666)
    else:
        path.write_text(json.dumps({"stamp": data["stamp"], "schemas": ["poisoned"]}))
    schemas.reset()
    assert schemas.args_schema(tool.Args) == _pydantic_schema(tool)


def test_the_stamp_follows_the_tools_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "tools"
    copy.mkdir()
    (copy / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(schemas, "_TOOLS_DIR", copy)
    before = schemas.source_stamp()
    (copy / "a.py").write_text("x = 22\n")
    assert schemas.source_stamp() != before


def test_no_cache_folder_means_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataclass_cache, "cache_folders", lambda: [])
    schemas.reset()
    try:
        tool = next(iter(default_registry()))
        assert schemas.args_schema(tool.Args) == _pydantic_schema(tool)
        schemas.save()
    finally:
        schemas.reset()
    assert not list(tmp_path.iterdir())


def test_deferred_validators_still_check_every_call() -> None:
    """The models build their validators at their first call: unknown and wrong arguments are
    still refused, with the message the model acts on."""
    from stoa.core.tools.base import ToolError

    for tool in _tools():
        with pytest.raises(ToolError, match=f"invalid arguments for {tool.name}"):
            tool.parse_args({"no_such_argument": 1})
    read = next(t for t in default_registry() if t.name == "read_file")
    with pytest.raises(ToolError, match="path"):
        read.parse_args({"path": 12})
    assert read.parse_args({"path": "a.txt"}).path == "a.txt"  # type: ignore[attr-defined]
