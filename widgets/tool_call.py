"""One tool call in the chat log: a compact row that expands to show the result.

The row shows status (spinner / tick / cross), the tool name, its key argument and the elapsed
time. Expanded, it shows a coloured diff for edits and writes, the streamed output of shell
commands (bounded), a preview of reads and searches, or the error with the next step. Shell
calls show their output live while they run; a patch (apply_patch) shows itself as a diff
while it waits or runs, and the diff of what it changed once done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Log, Static

from stoa.core.diffs import diff_counts
from stoa.widgets.diff_view import DiffView
from stoa.widgets.records import ToolRecord

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MAX_OUTPUT_LINES = 2_000
PREVIEW_LINES = 16
ERROR_LINES = 40
SHELL_TOOLS = frozenset({"execute_bash"})
PATCH_TOOLS = frozenset({"apply_patch"})

_ICONS = {
    "ok": "✓",
    "error": "✗",
    "denied": "⊘",
    "interrupted": "■",
    "skipped": "–",
}


def key_argument(record: ToolRecord) -> str:
    """The argument that best says what the call does (the agent's summary, else a guess)."""
    if record.summary:
        return record.summary
    for key in ("path", "command", "pattern", "url", "source", "query"):
        value = record.arguments.get(key)
        if isinstance(value, str) and value:
            return value
    if record.name == "update_plan":
        steps = record.arguments.get("steps")
        if isinstance(steps, list):
            return f"{len(steps)} steps"
    return ""


def format_elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def preview(text: str, limit: int) -> tuple[str, int]:
    """The first ``limit`` lines of text and how many lines were left out."""
    lines = text.splitlines()
    if len(lines) <= limit:
        return text.rstrip("\n"), 0
    return "\n".join(lines[:limit]), len(lines) - limit


def code_preview(display: dict[str, Any], limit: int = PREVIEW_LINES) -> Content:
    """A highlighted, line-numbered preview of a file read (display kind "text" with a language)."""
    from textual.highlight import highlight

    shown, hidden = preview(str(display.get("text", "")), limit)
    first = int(display.get("first_line") or 1)
    lines = highlight(shown, language=str(display.get("language")), path=display.get("path")).split("\n")
    width = len(str(first + len(lines) - 1))
    out: list[Content | tuple[str, str]] = []
    for number, line in enumerate(lines, start=first):
        if number > first:
            out.append(("\n", ""))
        out.append((f"{number:>{width}} ", "dim"))
        out.append(line)
    if hidden:
        out.append((f"\n… {hidden} more line{'s' if hidden != 1 else ''}", "italic"))
    return Content.assemble(*out)


# Lines of a finished edit's diff shown under its folded row (headers included).
DIFF_PEEK_LINES = 8


class ToolCallView(Vertical, can_focus=True):
    """A tool call row; Enter / click toggles the details."""

    BINDINGS = [
        Binding("enter,space", "toggle_details", "Expand / collapse", show=False),
    ]

    DEFAULT_CSS = """
    ToolCallView {
        height: auto;
        margin: 0 0 0 0;
        padding: 0 1 0 2;
    }
    ToolCallView.-first {
        margin-top: 1;
    }
    ToolCallView:focus {
        background: $boost;
    }
    ToolCallView > .tool-row {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ToolCallView > .tool-row:hover {
        background: $boost;
    }
    ToolCallView > .tool-body {
        display: none;
        height: auto;
        margin: 0 0 0 2;
        padding: 0 1;
        border-left: solid $foreground 20%;
        color: $text-muted;
    }
    ToolCallView.-expanded > .tool-body, ToolCallView.-peek > DiffView.tool-body {
        display: block;
    }
    ToolCallView > Log.tool-body {
        height: auto;
        max-height: 12;
        background: transparent;
        overflow-x: hidden;
        scrollbar-size-horizontal: 0;
        scrollbar-size-vertical: 1;
        scrollbar-background: $background;
        scrollbar-corner-color: $background;
    }
    ToolCallView.-error > .tool-body {
        color: $text-error;
        border-left: solid $error;
    }
    ToolCallView > DiffView.tool-body {
        color: $text;
    }
    """

    COMPONENT_CLASSES = {
        "tool--running",
        "tool--ok",
        "tool--error",
        "tool--denied",
        "tool--name",
        "tool--arg",
        "tool--meta",
    }

    DEFAULT_CSS += """
    ToolCallView > .tool--running { color: $text-accent; }
    ToolCallView > .tool--ok { color: $text-success; }
    ToolCallView > .tool--error { color: $text-error; }
    ToolCallView > .tool--denied { color: $text-warning; }
    ToolCallView > .tool--name { text-style: bold; }
    ToolCallView > .tool--arg { color: $text; }
    ToolCallView > .tool--meta { color: $text-muted; }
    """

    def __init__(self, record: ToolRecord, *, clock: Callable[[], float] | None = None) -> None:
        self.record = record
        self._clock = clock
        super().__init__()
        self._row = Static(classes="tool-row", markup=False)
        self._body: Static | Log | None = None
        self._frame = 0
        self._timer: Timer | None = None
        self._sync_classes()

    # ---- building ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self._row
        body = self._build_body()
        if body is not None:
            self._body = body
            yield body

    def on_mount(self) -> None:
        self._sync_classes()  # the body exists now (a folded edit peeks at its diff)
        self._render_row()
        if self.record.status == "running":
            self._start_timer()

    def clock(self) -> float:
        if self._clock is not None:
            return self._clock()
        return getattr(self.app, "clock", time.monotonic)()

    def _is_shell(self) -> bool:
        return self.record.name in SHELL_TOOLS

    def _patch(self) -> str:
        """The patch text of an apply_patch call ("" for any other call)."""
        patch = self.record.arguments.get("patch") if self.record.name in PATCH_TOOLS else None
        return patch.strip() if isinstance(patch, str) else ""

    def _build_body(self) -> Static | Log | None:
        record = self.record
        if record.nested:
            return Static(self._nested_content(), classes="tool-body", markup=False)
        if self._is_shell() and (record.status == "running" or record.output):
            log = Log(max_lines=MAX_OUTPUT_LINES, auto_scroll=True, classes="tool-body")
            lines = record.output or ([] if record.status == "running" else record.result_text.splitlines())
            if lines:
                log.write_lines(lines)
            return log
        if record.status == "running":
            patch = self._patch()
            return DiffView(patch, numbers=False, classes="tool-body") if patch else None
        display = record.display or {}
        kind = display.get("kind")
        if kind == "diff" and not record.is_error and display.get("diff"):
            return DiffView(str(display["diff"]), classes="tool-body")
        if kind == "image" and not record.is_error:
            size = f"{display.get('width', '?')}×{display.get('height', '?')}"
            return Static(f"image {size}", classes="tool-body", markup=False)
        if kind == "text" and not record.is_error and display.get("language") and str(display.get("text", "")).strip():
            return Static(code_preview(display), classes="tool-body")
        text = str(display.get("text")) if kind == "text" and not record.is_error else record.result_text
        if not text.strip():
            return None
        shown, hidden = preview(text, ERROR_LINES if record.is_error else PREVIEW_LINES)
        content = Text(shown)
        if hidden:
            content.append(f"\n… {hidden} more line{'s' if hidden != 1 else ''}", style="italic")
        return Static(content, classes="tool-body", markup=False)

    # ---- state -------------------------------------------------------------------------------

    def _sync_classes(self) -> None:
        record = self.record
        self.set_class(record.expanded, "-expanded")
        self.set_class(record.is_error, "-error")
        # A finished edit shows the first lines of its diff even when folded (Enter: all of it).
        peek = isinstance(self._body, DiffView) and record.status != "running" and not record.is_error
        self.set_class(peek, "-peek")
        if isinstance(self._body, DiffView):
            self._body.styles.max_height = None if record.expanded or not peek else DIFF_PEEK_LINES

    def _start_timer(self) -> None:
        if self._timer is None:
            animate = self.app.animation_level != "none"
            self._timer = self.set_interval(0.1 if animate else 1.0, self._tick)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        self._frame += 1
        self._render_row()

    def _render_row(self) -> None:
        record = self.record
        if record.status == "running":
            icon = SPINNER[self._frame % len(SPINNER)] if self.app.animation_level != "none" else "⋯"
            icon_style = self.get_component_rich_style("tool--running")
        else:
            icon = _ICONS.get(record.status, "?")
            key = {"ok": "tool--ok", "denied": "tool--denied", "interrupted": "tool--denied"}.get(
                record.status, "tool--error"
            )
            icon_style = self.get_component_rich_style(key)
        name = record.name
        if record.server and name.startswith(f"{record.server}___"):
            name = f"{record.server} › {name[len(record.server) + 3 :]}"
        row = Text(no_wrap=True, overflow="ellipsis")
        row.append(f"{icon} ", style=icon_style)
        row.append(name, style=self.get_component_rich_style("tool--name"))
        argument = key_argument(record).replace("\n", " ⏎ ")
        if argument:
            row.append("  ")
            row.append(argument, style=self.get_component_rich_style("tool--arg"))
        meta = self._meta()
        if meta:
            row.append(f"  {meta}", style=self.get_component_rich_style("tool--meta"))
        self._row.update(row)

    def _meta(self) -> str:
        record = self.record
        parts: list[str] = []
        display = record.display or {}
        if display.get("kind") == "diff" and display.get("diff") and not record.is_error:
            added, removed = diff_counts(str(display["diff"]))
            parts.append(f"+{added} −{removed}")
        elif record.status == "running" and self._patch():
            added, removed = diff_counts(self._patch())
            parts.append(f"+{added} −{removed}")
        if record.status in ("denied", "interrupted", "skipped"):
            parts.append(record.status)
        elif self._is_shell() and display.get("timed_out"):
            parts.append("timed out")
        elif self._is_shell() and isinstance(display.get("exit_code"), int) and display["exit_code"] != 0:
            parts.append(f"exit {display['exit_code']}")
        elif record.status == "error":
            parts.append("failed")
        if record.status == "running" and record.awaiting_approval:
            parts.append("waiting for your approval")
        elif record.status == "running":
            parts.append(format_elapsed(max(0.0, self.clock() - record.started_at)))
            if self._is_shell() and record.output:
                parts.append(f"{len(record.output)} lines")
        elif record.elapsed is not None:
            parts.append(format_elapsed(record.elapsed))
        has_details = self._body is not None or (record.status != "running")
        if has_details and record.status != "running" and self._body is not None:
            parts.append("▾" if record.expanded else "▸")
        return "  ".join(parts)

    # ---- updates from the chat screen ----------------------------------------------------------

    def add_output(self, parts: list[str]) -> None:
        """Streamed shell output: each part is one output event (a line, or several)."""
        record = self.record
        lines: list[str] = []
        for part in parts:
            lines.extend(part.removesuffix("\n").split("\n"))
        if not lines:
            return
        record.output.extend(lines)
        if len(record.output) > MAX_OUTPUT_LINES:
            del record.output[: len(record.output) - MAX_OUTPUT_LINES]
        if isinstance(self._body, Log):
            self._body.write_lines(lines)
        if not record.expanded:
            record.expanded = True
            self._sync_classes()
        self._render_row()

    def _nested_content(self) -> Text:
        """A task row's body: its sub-agent's calls and messages, then the result's first lines."""
        record = self.record
        lines = list(record.nested.values())
        done = record.status != "running" and record.result_text.strip()
        if done and lines and lines[-1] == f"› {record.result_text.strip().splitlines()[0][:160]}":
            lines.pop()  # the sub-agent's last message is the result, shown below
        content = Text("\n".join(lines))
        if done:
            shown, hidden = preview(record.result_text, ERROR_LINES if record.is_error else PREVIEW_LINES)
            content.append("\n" + shown, style="bold" if not record.is_error else "")
            if hidden:
                content.append(f"\n… {hidden} more line{'s' if hidden != 1 else ''}", style="italic")
        return content

    async def refresh_nested(self) -> None:
        """The sub-agent did something: show it (the row opens the first time)."""
        if isinstance(self._body, Static) and not isinstance(self._body, DiffView):
            self._body.update(self._nested_content())
        else:
            await self._rebuild_body()
        if not self.record.expanded and self.record.status == "running":
            self.record.expanded = True
            self._sync_classes()
        self._render_row()

    async def finish(
        self,
        *,
        status: str,
        result_text: str,
        display: dict[str, Any] | None,
        elapsed: float | None,
        expand: bool | None = None,
    ) -> None:
        record = self.record
        record.status = status  # type: ignore[assignment]
        record.result_text = result_text
        record.display = display
        record.elapsed = elapsed
        self._stop_timer()
        record.expanded = record.is_error if expand is None else expand
        await self._rebuild_body()
        self._sync_classes()
        self._render_row()

    async def _rebuild_body(self) -> None:
        if self._body is not None:
            await self._body.remove()
            self._body = None
        body = self._build_body()
        if body is not None:
            self._body = body
            await self.mount(body)

    def set_awaiting_approval(self, waiting: bool) -> None:
        self.record.awaiting_approval = waiting
        self._render_row()

    def set_expanded(self, expanded: bool) -> None:
        if self._body is None or self.record.expanded == expanded:
            return
        self.record.expanded = expanded
        self._sync_classes()
        self._render_row()

    def action_toggle_details(self) -> None:
        self.set_expanded(not self.record.expanded)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_toggle_details()

    def on_unmount(self) -> None:
        self._stop_timer()
