"""The one-line status bar: model, effort, trust mode, sandbox, folder, context, tokens, cost, time.

Segments have priorities; on a narrow terminal the least important ones are dropped first so
the line never wraps. The running-turn clock ticks only while a turn runs (no timer when idle).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static


def human_tokens(n: int) -> str:
    if n < 1_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1_000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.2f}M".replace(".00M", "M")


def human_cost(usd: float) -> str:
    if usd == 0:
        return "$0.00"
    if usd < 0.01:
        return f"${usd:.4f}"
    return f"${usd:.2f}"


def human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# The sandbox label (core.sandbox.SandboxStatus.label) that gets the warning badge.
NO_SANDBOX = "no sandbox"


@dataclass(frozen=True)
class StatusInfo:
    model: str = ""
    effort: str = "off"
    mode: str = "auto"
    sandbox: str = ""
    # Connected MCP servers, e.g. "MCP 2/3" (empty: none configured).
    mcp: str = ""
    workspace: str = ""
    context_tokens: int = 0
    context_window: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    # Clock value when the running turn started; None when idle.
    busy_since: float | None = None
    queued: int = 0


class StatusBar(Static):
    COMPONENT_CLASSES = {
        "status--model",
        "status--dim",
        "status--plan",
        "status--ask",
        "status--auto",
        "status--ctx-ok",
        "status--ctx-warn",
        "status--ctx-full",
        "status--busy",
        "status--queued",
        "status--nosandbox",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    StatusBar > .status--model { color: $text; text-style: bold; }
    StatusBar > .status--dim { color: $text-muted; }
    StatusBar > .status--plan { background: $success; color: $background; text-style: bold; }
    StatusBar > .status--ask { background: $primary; color: $background; text-style: bold; }
    StatusBar > .status--auto { background: $warning; color: $background; text-style: bold; }
    StatusBar > .status--ctx-ok { color: $text-success; }
    StatusBar > .status--ctx-warn { color: $text-warning; }
    StatusBar > .status--ctx-full { color: $text-error; }
    StatusBar > .status--busy { color: $text-accent; text-style: bold; }
    StatusBar > .status--queued { color: $text-warning; text-style: bold; }
    StatusBar > .status--nosandbox { background: $error; color: $background; text-style: bold; }
    """

    def __init__(self, *, clock: Callable[[], float] | None = None, id: str | None = "status") -> None:
        super().__init__(id=id, markup=False)
        self.info = StatusInfo()
        self._clock = clock
        self._timer: Timer | None = None

    def clock(self) -> float:
        if self._clock is not None:
            return self._clock()
        return getattr(self.app, "clock", time.monotonic)()

    def set_info(self, **changes: Any) -> None:
        was_busy = self.info.busy_since is not None
        self.info = replace(self.info, **changes)
        busy = self.info.busy_since is not None
        if busy and not was_busy:
            self._timer = self.set_interval(1.0, self.refresh_line)
        elif was_busy and not busy and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.refresh_line()

    def on_mount(self) -> None:
        self.refresh_line()

    def on_resize(self) -> None:
        self.refresh_line()

    def refresh_line(self) -> None:
        self.update(self.build_line(max(10, self.size.width - 2) if self.size.width else 200))

    # ---- rendering ----------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"status--{name}")

    def segments(self) -> list[tuple[int, Text]]:
        """(priority, text) pairs in display order; lower priority numbers are kept longest."""
        info = self.info
        out: list[tuple[int, Text]] = []
        if not info.model:  # starting: nothing is known but the folder (no mode guessed)
            return [(5, Text(info.workspace))] if info.workspace else []
        model = Text(info.model, style=self._style("model"))
        if info.effort and info.effort != "off":
            model.append(f" · {info.effort}", style=self._style("dim"))
        out.append((0, model))
        mode_style = info.mode if info.mode in ("plan", "ask", "auto") else "auto"
        out.append((1, Text(f" {info.mode.upper()} ", style=self._style(mode_style))))
        if info.busy_since is not None:
            elapsed = max(0.0, self.clock() - info.busy_since)
            out.append((2, Text(f"working {human_duration(elapsed)} · esc", style=self._style("busy"))))
        if info.queued:
            out.append((2, Text(f"{info.queued} queued", style=self._style("queued"))))
        if info.context_window:
            out.append((3, self._context_meter()))
        if info.sandbox == NO_SANDBOX:
            # Shell commands run unconfined: a badge next to the mode, kept on narrow screens.
            out.append((1, Text(f" {NO_SANDBOX} ", style=self._style("nosandbox"))))
        elif info.sandbox:
            out.append((6, Text(info.sandbox)))
        if info.mcp:
            out.append((6, Text(info.mcp)))
        if info.workspace:
            out.append((5, Text(info.workspace)))
        tokens = Text(f"in {human_tokens(info.input_tokens)} out {human_tokens(info.output_tokens)}")
        if info.cache_read_tokens:
            tokens.append(f" cache {human_tokens(info.cache_read_tokens)}")
        out.append((7, tokens))
        out.append((4, Text(human_cost(info.cost_usd))))
        return out

    def _context_meter(self) -> Text:
        info = self.info
        fraction = min(1.0, info.context_tokens / info.context_window) if info.context_window else 0.0
        cells = 8
        filled = round(fraction * cells)
        if fraction >= 0.85:
            style = self._style("ctx-full")
        elif fraction >= 0.6:
            style = self._style("ctx-warn")
        else:
            style = self._style("ctx-ok")
        meter = Text("ctx ")
        meter.append("▰" * filled, style=style)
        meter.append("▱" * (cells - filled), style=self._style("dim"))
        meter.append(f" {fraction * 100:.0f}%")
        return meter

    def build_line(self, width: int) -> Text:
        segments = self.segments()
        separator = Text(" │ ", style=self._style("dim"))
        while True:
            line = Text(no_wrap=True, overflow="ellipsis")
            for index, (_, text) in enumerate(segments):
                if index:
                    line.append_text(separator)
                line.append_text(text)
            if line.cell_len <= width or len(segments) <= 1:
                return line
            worst = max(range(len(segments)), key=lambda i: (segments[i][0], i))
            del segments[worst]
