"""/context (what fills the window, ``core.context_report``) and the question /purge asks."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from stoa.core.context_report import ContextReport, summary_line
from stoa.styles import STYLES

BAR_WIDTH = 60


def context_bar(report: ContextReport, width: int = BAR_WIDTH) -> Text:
    """``████░░░│░░`` used / free, with the auto-compaction threshold marked."""
    used = min(width, round(width * report.total / report.window)) if report.window else 0
    mark = None if report.limit is None else min(width - 1, round(width * report.limit / report.window))
    text = Text()
    for cell in range(width):
        if cell == mark and cell >= used:
            text.append("│", style="bold")
        elif cell < used:
            text.append("█")
        else:
            text.append("░", style="dim")
    share = report.total / report.window if report.window else 0
    text.append(f"  {share:.0%}")
    return text


def context_table(report: ContextReport) -> Text:
    """The rows, aligned: label, tokens, share of the window (parts), detail."""
    text = Text()

    def line(label: str, tokens: str, share: str, detail: str, *, bold: bool) -> None:
        text.append(f"{label:<34}", style="bold" if bold else "")
        text.append(f"{tokens:>10}")
        text.append(f"  {share:>14}  {detail}".rstrip() + "\n", style="dim")

    for row in report.rows:
        share = f"{row.tokens / report.window:.1%}" if report.window and not row.level else ""
        line(("  " * row.level) + row.label, f"{row.tokens:,}", share, row.detail, bold=not row.level)
    line("Free", f"{report.free:,}", "", "", bold=True)
    line("Total (estimate)", f"{report.total:,}", f"of {report.window:,}", "", bold=True)
    text.rstrip()
    return text


class ContextScreen(ModalScreen[None]):
    """The breakdown of the next request against the model's window."""

    CSS_PATH = STYLES / "context.tcss"
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", show=False)]

    def __init__(self, report: ContextReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        report = self.report
        with VerticalScroll(id="context-box") as box:
            box.border_title = f"Context · {report.model}"
            box.border_subtitle = "Esc closes"
            yield Static(context_bar(report), classes="context-bar")
            yield Static(context_table(report), classes="context-table")
            note = summary_line(report)
            if report.counted is not None:
                note += f"\nCounted by {report.counter}'s count endpoint: {report.counted:,} input tokens."
            if report.measured:
                note += f"\nLast request, as the provider counted it: {report.measured:,} tokens (prompt and reply)."
            note += "\nCounts are estimates: 4 characters a token, corrected by what the provider reported."
            yield Static(note, classes="context-note", markup=False)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question (``/purge``, compacting before a switch): y answers yes, n or Esc no."""

    CSS_PATH = STYLES / "context.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, question: str, *, yes: str = "yes", no: str = "no") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.title_text, classes="confirm-title", markup=False)
            yield Static(self.question, markup=False)
            yield Static(f"y {self.yes} · n or Esc {self.no}", classes="confirm-hint", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
