"""Provider-neutral conversation types: messages, content blocks, tool specs, usage, stop reasons.

Everything the agent loop, the session store and the UI exchange about a conversation is one
of these. Provider modules translate them to and from their wire formats at the edge; nothing
provider-specific leaks past them except opaque carry-forward fields (thinking signatures,
encrypted reasoning) tagged with the provider that produced them.

They are plain dataclasses, not pydantic models: pydantic's import and the building of these
models cost ~70 ms of CPU on the way to a TUI's first request (issue 14). They keep the
pydantic method names their callers and generic serializers use (``model_dump``,
``model_dump_json``, ``model_validate``, ``model_validate_json``, ``model_copy``) and the same
JSON: the session store saves ``Message.model_dump_json()`` and loads with
``Message.model_validate_json``, and rows written by either read the same. Construction checks
every field's type (a wrong one raises ``ValueError``, as pydantic's ``ValidationError`` was),
so nothing is saved that could not be read back; unknown keys are refused on load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, ClassVar, Literal, Self


class _Value:
    """The pydantic-like surface of the neutral types (see the module's docstring)."""

    __slots__ = ()
    # (field name, the types taken as they are, checker) per field, built on first use; the
    # checker may return a converted value (a dict made a block, a string a StopReason).
    _checks: ClassVar[tuple[tuple[str, frozenset[type], Callable[[Any], Any]], ...]]
    _names: ClassVar[tuple[str, ...]]

    def __post_init__(self) -> None:
        cls = type(self)
        checks = cls.__dict__.get("_checks") or _make_checks(cls)
        for name, ok, check in checks:
            value = getattr(self, name)
            if type(value) in ok:
                continue
            try:
                checked = check(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{cls.__name__}.{name}: {exc}") from None
            if checked is not value:
                object.__setattr__(self, name, checked)

    def model_dump(
        self, *, mode: str = "python", exclude_none: bool = False, include: set[str] | None = None
    ) -> dict[str, Any]:
        """The fields as a dict, nested values dumped too (``mode="json"``: enums as strings)."""
        cls = type(self)
        names = _names_of(cls)
        out: dict[str, Any] = {}
        for name in names:
            if include is not None and name not in include:
                continue
            value = getattr(self, name)
            if type(value) not in _PLAIN:
                value = _dump(value, mode, exclude_none)
            if value is None and exclude_none:
                continue
            out[name] = value
        return out

    def model_dump_json(self, *, include: set[str] | None = None, exclude_none: bool = False) -> str:
        """Compact JSON, as pydantic writes it (non-ASCII kept as is)."""
        data = self.model_dump(mode="json", include=include, exclude_none=exclude_none)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """One from a dict (as ``model_dump`` gives); a wrong or unknown field raises ValueError."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        known = _names_of(cls)
        unknown = [k for k in data if k not in known]
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(map(str, unknown))}")
        try:
            return cls(**data)
        except TypeError as exc:  # a required field missing
            raise ValueError(f"{cls.__name__}: {exc}") from None

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        return cls.model_validate(json.loads(text))

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A copy with ``update``'s fields changed (checked like any construction)."""
        return replace(self, **update) if update else replace(self)  # type: ignore[type-var]


def _names_of(cls: type) -> tuple[str, ...]:
    names: tuple[str, ...] | None = cls.__dict__.get("_names")
    if names is None:
        _make_checks(cls)
        names = cls.__dict__["_names"]
    return names


# Values dumped as they are.
_PLAIN = frozenset({str, int, bool, float, type(None)})


def _dump(value: Any, mode: str, exclude_none: bool) -> Any:
    if isinstance(value, _Value):
        return value.model_dump(mode=mode, exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, mode, exclude_none) for v in value]
    if isinstance(value, dict):  # plain data: ``exclude_none`` is for fields only, as pydantic's
        return {k: _dump(v, mode, False) for k, v in value.items()}
    if mode == "json" and isinstance(value, StrEnum):
        return value.value
    return value


# Checkers, by the annotation text of a field (``from __future__ import annotations``).


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, int):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected true or false, got {value!r}")


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return value


def _list_of(item: Callable[[Any], Any], ok: frozenset[type] = frozenset()) -> Callable[[Any], list[Any]]:
    """A list of ``item``s (items of a type in ``ok`` are taken as they are)."""

    def check(value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        if type(value) is list and all(type(v) in ok for v in value):
            return value
        items = [item(v) for v in value]
        return value if isinstance(value, list) and all(a is b for a, b in zip(items, value, strict=True)) else items

    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _literal(expected: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value != expected:
            raise ValueError(f"expected {expected!r}, got {value!r}")
        return expected

    return check


def _block(value: Any) -> ContentBlock:
    if isinstance(value, _BLOCK_TYPES):
        return value
    if isinstance(value, dict):
        kind = _BLOCKS.get(value.get("type", ""))
        if kind is None:
            raise ValueError(f"unknown content block type {value.get('type')!r}")
        return kind.model_validate(value)  # type: ignore[return-value]
    raise ValueError(f"expected a content block, got {type(value).__name__}")


def _result_part(value: Any) -> TextBlock | ImageBlock:
    block = _block(value)
    if not isinstance(block, TextBlock | ImageBlock):
        raise ValueError(f"a tool result holds text and images, not {block.type!r}")
    return block


def _stop_reason(value: Any) -> StopReason:
    return value if isinstance(value, StopReason) else StopReason(value)


def _usage(value: Any) -> Usage:
    return Usage.model_validate(value)


def _make_checks(cls: type) -> tuple[tuple[str, frozenset[type], Callable[[Any], Any]], ...]:
    checks: list[tuple[str, frozenset[type], Callable[[Any], Any]]] = []
    for f in fields(cls):
        annotation = str(f.type)
        if f.name == "type" and annotation.startswith("Literal["):
            checks.append((f.name, frozenset(), _literal(f.default)))  # type: ignore[arg-type]
        elif annotation in _BY_ANNOTATION:
            checks.append((f.name, _TAKEN.get(annotation, frozenset()), _BY_ANNOTATION[annotation]))
        else:  # a field of a type the table does not know: a mistake here, caught by the tests
            raise TypeError(f"{cls.__name__}.{f.name}: no check for {annotation!r}")
    cls._checks = tuple(checks)  # type: ignore[attr-defined]
    cls._names = tuple(f.name for f in fields(cls))  # type: ignore[attr-defined]
    return cls._checks  # type: ignore[attr-defined,no-any-return]


@dataclass(frozen=True, slots=True, kw_only=True)
class TextBlock(_Value):
    type: Literal["text"] = "text"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingBlock(_Value):
    """Model reasoning. ``origin`` names the provider whose opaque fields are valid.

    Anthropic: ``thinking`` text plus ``signature`` (must be sent back unchanged).
    OpenAI Responses: ``thinking`` holds the reasoning summary, ``item_id`` and
    ``encrypted_content`` carry the reasoning item forward.
    Providers drop or summarise blocks whose origin is not their own.
    """

    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str | None = None
    origin: str | None = None
    item_id: str | None = None
    encrypted_content: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactedThinkingBlock(_Value):
    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str
    origin: str | None = "anthropic"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBlock(_Value):
    """An image: base64 ``data`` with ``media_type``, or a remote ``url``."""

    type: Literal["image"] = "image"
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUseBlock(_Value):
    """A tool call made by the model.

    ``input`` is the parsed argument object. If the model sent arguments that are not a JSON
    object, ``input`` is ``{}`` and ``input_error`` says why; the agent answers such a call with
    an error result instead of running it.
    """

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    input_error: str | None = None
    # Provider-side item id (OpenAI Responses function_call item ``id``), kept for carry-forward.
    item_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResultBlock(_Value):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: list[TextBlock | ImageBlock] = field(default_factory=list)
    is_error: bool = False

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock))


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactionBlock(_Value):
    """The earlier conversation as a provider compacted it on its server; it stands in for
    every message before it. ``origin`` names the provider whose opaque fields are valid, and
    they are kept exactly as that provider returned them, to be sent back unchanged.

    Anthropic (a ``compaction`` content block): ``content`` (the summary, readable), with
    ``encrypted_content``, ``signature`` and ``tool_changes`` when the server sent them.
    OpenAI Responses (a ``compaction`` output item): ``item_id`` and ``encrypted_content``
    (opaque: ``content`` is None).
    """

    type: Literal["compaction"] = "compaction"
    origin: str
    content: str | None = None
    encrypted_content: str | None = None
    signature: str | None = None
    tool_changes: list[dict[str, Any]] | None = None
    item_id: str | None = None


ContentBlock = (
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ImageBlock | ToolUseBlock | ToolResultBlock | CompactionBlock
)
_BLOCK_TYPES = (TextBlock, ThinkingBlock, RedactedThinkingBlock, ImageBlock, ToolUseBlock, ToolResultBlock, CompactionBlock)
# By ``type`` (the first field's default: slots leave no class attribute for it).
_BLOCKS: dict[str, type[_Value]] = {fields(kind)[0].default: kind for kind in _BLOCK_TYPES}  # type: ignore[misc]


class StopReason(StrEnum):
    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    PAUSE_TURN = "pause_turn"
    # A compaction request answered with its compaction block alone (Anthropic).
    COMPACTION = "compaction"
    STOP_SEQUENCE = "stop_sequence"
    ERROR = "error"


@dataclass(slots=True, kw_only=True)
class Usage(_Value):
    """Token usage. ``input_tokens`` counts uncached input only, on every provider.

    Anthropic reports it that way; OpenAI includes cached tokens in its input count, so its
    provider subtracts them. Total prompt size is ``prompt_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass(slots=True, kw_only=True)
class Message(_Value):
    """One provider-facing message. ``role`` is ``user`` or ``assistant``.

    Tool results travel in ``user`` messages as ``ToolResultBlock``s, Anthropic style; the
    OpenAI providers split them into their own items at the edge.
    """

    role: Literal["user", "assistant"]
    content: list[ContentBlock] = field(default_factory=list)
    # Assistant metadata: which model produced it, why it stopped, what it cost.
    model: str | None = None
    provider: str | None = None
    stop_reason: StopReason | None = None
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    @property
    def tool_results(self) -> list[ToolResultBlock]:
        return [b for b in self.content if isinstance(b, ToolResultBlock)]

    @property
    def compaction(self) -> CompactionBlock | None:
        """The message's (last) server compaction block, if it has one."""
        found = [b for b in self.content if isinstance(b, CompactionBlock)]
        return found[-1] if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec(_Value):
    """What the model is told about one tool: name, description, JSON schema of its input."""

    name: str
    description: str
    input_schema: dict[str, Any]


def user_text(text: str) -> Message:
    return Message(role="user", content=[TextBlock(text=text)])


def error_result(tool_use_id: str, text: str) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=tool_use_id, content=[TextBlock(text=text)], is_error=True)


# The checks by annotation text (after the classes they name).
_BY_ANNOTATION: dict[str, Callable[[Any], Any]] = {
    "str": _str,
    "str | None": _optional(_str),
    "int": _int,
    "bool": _bool,
    "dict[str, Any]": _dict,
    "list[dict[str, Any]] | None": _optional(_list_of(_dict)),
    "list[ContentBlock]": _list_of(_block, frozenset(_BLOCK_TYPES)),
    "list[TextBlock | ImageBlock]": _list_of(_result_part, frozenset({TextBlock, ImageBlock})),
    "StopReason | None": _optional(_stop_reason),
    "Usage | None": _optional(_usage),
    "Literal['user', 'assistant']": lambda v: v if v in ("user", "assistant") else _literal("user or assistant")(v),
}


# The types a field of that annotation takes without a call to its checker.
_TAKEN: dict[str, frozenset[type]] = {
    "str": frozenset({str}),
    "str | None": frozenset({str, type(None)}),
    "int": frozenset({int}),
    "bool": frozenset({bool}),
    "dict[str, Any]": frozenset({dict}),
    "list[dict[str, Any]] | None": frozenset({type(None)}),
}
