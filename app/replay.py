"""Chat log records for a saved conversation: from the session store's display records
(what the person saw, ``stoa.core.sessions.records``), or rebuilt from the API messages when
only those exist."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from stoa.widgets.records import (
    AssistantRecord,
    CompactionRecord,
    NoticeRecord,
    Record,
    ThinkingRecord,
    ToolRecord,
    UserRecord,
)
from stoa.widgets.subagent_lines import nested_from_display

if TYPE_CHECKING:
    from stoa.core.providers.types import Message


def records_from_display(saved: Iterable[Any]) -> list[Record]:
    """Chat log records from the session store's display records (``core.sessions.records``).
    A compaction record folds every record before it (the part its summary replaced)."""
    from stoa.core.agent.compaction import compacted_line

    out: list[Record] = []
    for item in saved:
        kind, data = item.kind, item.data
        if kind == "user":
            out.append(UserRecord(str(data.get("text", "")), steering=bool(data.get("steering"))))
        elif kind == "assistant":
            out.append(AssistantRecord(str(data.get("text", "")), done=True))
        elif kind == "thinking":
            out.append(ThinkingRecord(str(data.get("text", "")), done=True, expanded=False))
        elif kind in ("tool", "server_tool"):
            status: Any = data.get("status", "ok")
            status = "interrupted" if status == "running" else status
            tool = ToolRecord(
                call_id=str(data.get("call_id", "")),
                name=str(data.get("name", "")),
                arguments=dict(data.get("arguments") or {}),
                summary=str(data.get("summary") or ""),
                server=data.get("server"),
                status=status,
                result_text=str(data.get("result_text") or ""),
                display=data.get("display"),
                elapsed=data.get("elapsed"),
            )
            nested_from_display(tool)  # a task row: its sub-agent's calls
            out.append(tool)
        elif kind == "compaction":
            # What the summary replaced folds into it (unfolded, as text, on a click).
            archived = archived_text(out)
            out = [
                CompactionRecord(
                    line=compacted_line(
                        int(data.get("tokens_before", 0)),
                        int(data.get("tokens_after", 0)),
                        on_server=bool(data.get("on_server")),
                    ),
                    trigger=str(data.get("trigger", "auto")),
                    summary=str(data.get("summary", "")),
                    archived_text=archived,
                )
            ]
        elif kind == "notice":
            level = data.get("level", "info")
            out.append(
                NoticeRecord(
                    level if level in ("info", "warning", "error") else "info",
                    str(data.get("text", "")),
                    hint=data.get("hint"),
                    title=data.get("title"),
                )
            )
    return out


async def replay_records(
    handle: Any, *, expanded: Callable[[], bool] = lambda: False
) -> tuple[list[Record], StoredEarlier | None]:
    """A resumed session's chat log records: those of the display records the handle read (its
    tail), and where earlier ones come from (None: there are none, or a compaction folds them).
    A compaction among them folds every record before it, read from the store for the fold."""
    saved = list(handle.records)
    fold = next((i for i in range(len(saved) - 1, -1, -1) if saved[i].kind == "compaction"), None)
    if fold is not None and handle.replay_from:
        return records_from_display([*await handle.records_before(saved[fold].seq), *saved[fold:]]), None
    earlier = StoredEarlier(handle, handle.replay_from, expanded=expanded) if handle.replay_from else None
    return records_from_display(saved), earlier


class StoredEarlier:
    """The chat log's ``EarlierRecords`` for a resumed session: pages of display records before
    the replayed tail, read from the session store (``SessionHandle.records_before``) as the
    person scrolls up, and read again after the log let them go. ``expanded`` says whether the
    person expanded every tool row and thinking (Ctrl+O): rows read later show the same."""

    def __init__(self, handle: Any, first_seq: int, *, expanded: Callable[[], bool] = lambda: False) -> None:
        self._handle = handle
        # The seq each page read so far starts at, oldest first; [0] is where the next ends.
        self._starts = [first_seq]
        self._more = first_seq > 0
        self._expanded = expanded

    @property
    def more(self) -> bool:
        return self._more

    async def before(self, count: int) -> list[Record]:
        if not self._more:
            return []
        page = await self._handle.records_before(self._starts[0], count)
        if not page:
            self._more = False
            return []
        self._starts.insert(0, page[0].seq)
        fold = next((i for i in range(len(page) - 1, -1, -1) if page[i].kind == "compaction"), None)
        if fold is not None:  # what the summary replaced folds into it: nothing is shown before it
            page = [*await self._handle.records_before(page[fold].seq), *page[fold:]]
            self._more = False
        elif len(page) < count:
            self._more = False
        records = records_from_display(page)
        if self._expanded():
            for record in records:
                if isinstance(record, ToolRecord | ThinkingRecord) and record.finished:
                    record.expanded = True
        return records

    def forget_first_page(self) -> None:
        if len(self._starts) > 1:
            self._starts.pop(0)
            self._more = True


def compaction_record(event: Any) -> CompactionRecord:
    """The log's fold for a ``ContextCompacted`` event."""
    from stoa.core.agent.compaction import compacted_line

    line = compacted_line(
        event.tokens_before, event.tokens_after, cleared=event.cleared, summarised=event.stages > 0, on_server=event.on_server
    )
    return CompactionRecord(line=line, trigger=event.trigger, summary=event.summary)


def archived_text(records: list[Record]) -> str:
    """Log records as plain text (the archived part of a compacted conversation)."""
    lines: list[str] = []
    for record in records:
        if isinstance(record, UserRecord):
            lines.append(f"› {record.text}")
        elif isinstance(record, AssistantRecord):
            lines.append(record.text)
        elif isinstance(record, ToolRecord):
            lines.append(f"  {record.name} {record.summary}".rstrip() + f" ({record.status})")
        elif isinstance(record, NoticeRecord):
            lines.append(f"  {record.level}: {record.text}")
        elif isinstance(record, CompactionRecord):
            lines.append(f"[{record.line}]\n{record.archived_text}".rstrip())
    return "\n\n".join(line for line in lines if line.strip())


def records_from_history(messages: list[Message]) -> list[Record]:
    """Log records for a saved conversation: user text, replies, and tool calls with results."""
    from stoa.core.agent.compaction import is_summary, summary_parts
    from stoa.core.mentions import is_attachment
    from stoa.core.providers.types import (
        CompactionBlock,
        TextBlock,
        ThinkingBlock,
        ToolResultBlock,
        ToolUseBlock,
    )

    results: dict[str, ToolResultBlock] = {}
    for message in messages:
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                results[block.tool_use_id] = block
    records: list[Record] = []
    for message in messages:
        if is_summary(message):
            summary, _ = summary_parts(message)
            records.append(CompactionRecord(line="compacted: the earlier conversation", summary=summary))
            rest = [b for b in message.content[1:] if isinstance(b, TextBlock) and not b.text.startswith("<user-message>")]
            if "".join(b.text for b in rest).strip():
                records.append(UserRecord("".join(b.text for b in rest)))
            continue
        if message.role == "user":
            steering = any(isinstance(b, ToolResultBlock) for b in message.content)
            text = "".join(b.text for b in message.content if isinstance(b, TextBlock) and not is_attachment(b))
            if text.strip():
                records.append(UserRecord(text, steering=steering))
            continue
        for block in message.content:
            if isinstance(block, CompactionBlock):
                summary = block.content or "(kept encrypted by the provider)"
                records.append(CompactionRecord(line="compacted on the server: the earlier conversation", summary=summary))
            elif isinstance(block, ThinkingBlock) and block.thinking.strip():
                records.append(ThinkingRecord(block.thinking, done=True, expanded=False))
            elif isinstance(block, TextBlock) and block.text.strip():
                if records and isinstance(records[-1], AssistantRecord):
                    records[-1].text += block.text
                else:
                    records.append(AssistantRecord(block.text, done=True))
            elif isinstance(block, ToolUseBlock):
                result = results.get(block.id)
                status: Any = "ok" if result is not None and not result.is_error else "error"
                records.append(
                    ToolRecord(
                        call_id=block.id,
                        name=block.name,
                        arguments=dict(block.input),
                        status=status if result is not None else "interrupted",
                        result_text=result.text if result is not None else "",
                        expanded=False,
                    )
                )
    return records


async def current_records(runtime: Any) -> list[Record]:
    """The conversation as the session holds it now: its display records when it is saved,
    else rebuilt from the agent's history."""
    session = runtime.session
    if session is not None:
        try:
            saved = await session.store.load_records(session.session_id)
        except Exception:
            saved = None
        if saved:
            return records_from_display(saved)
    return records_from_history(list(runtime.agent.history.messages))
