"""/mcp: the MCP servers, with transport, status, tool count and whether plan mode offers them.

``McpServersScreen(manager, mode=..., home=...)`` lists every configured server and follows
the manager's status changes live. The highlighted row's full story (the reason it failed,
what it runs, its tools, which tools were skipped and why) shows under the table. ``r`` reconnects the
highlighted server; Esc closes. Paths under the workspace or home are shortened so the
screen reads the same on every machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from stoa.styles import STYLES

if TYPE_CHECKING:
    from stoa.core.mcp.manager import McpManager, ServerState

HINT = "↑↓ move · r reconnect · Esc close · add one: /mcp add NAME COMMAND [ARGS…] or /mcp add-http NAME URL"
# The theme variable that colours each status (anything else is dim).
STATUS_COLOURS = {
    "connected": "text-success",
    "starting": "text-warning",
    "failed": "text-error",
    "disconnected": "text-error",
}


def shorten(text: str, workspace: Path | None, home: Path | None) -> str:
    """Paths under the workspace become ``./...`` and paths under home ``~/...``."""
    if workspace is not None:
        text = text.replace(f"{workspace}/", "./").replace(str(workspace), ".")
    if home is not None and str(home) not in ("", "/"):
        text = text.replace(f"{home}/", "~/")
    return text


def tool_list(server: str, tools: list[str], limit: int = 300) -> str:
    """The server's tools as the model sees them without the ``SERVER___`` prefix, cut at
    ``limit`` characters ("… and N more")."""
    prefix = f"{server}___"
    names = [name[len(prefix) :] if name.startswith(prefix) else name for name in tools]
    shown: list[str] = []
    length = 0
    for name in names:
        if shown and length + len(name) + 2 > limit:
            return ", ".join(shown) + f" … and {len(names) - len(shown)} more"
        shown.append(name)
        length += len(name) + 2
    return ", ".join(shown)


class McpServersScreen(ModalScreen[None]):
    CSS_PATH = STYLES / "mcp.tcss"
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", show=False),
        Binding("r", "reconnect", "Reconnect", show=False),
    ]

    def __init__(
        self,
        manager: McpManager | None,
        *,
        mode: str = "auto",
        workspace: Path | None = None,
        home: Path | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.mode = mode
        self.workspace = workspace
        self.home = home
        self._unsubscribe: Any = None
        self._names: list[str] = []
        self._ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="mcp-box") as box:
            box.border_title = "MCP servers"
            box.border_subtitle = "Esc closes"
            yield Static(id="mcp-summary")
            table: DataTable[Any] = DataTable(id="mcp-table", cursor_type="row", zebra_stripes=False)
            yield table
            yield Static(id="mcp-detail")
            yield Static(HINT, id="mcp-hint")

    def on_mount(self) -> None:
        table = self.query_one("#mcp-table", DataTable)
        table.add_column("Server", width=16, key="name")
        table.add_column("Transport", width=9, key="transport")
        table.add_column("Status", width=12, key="status")
        table.add_column("Tools", width=5, key="tools")
        table.add_column("Plan mode", width=9, key="plan")
        table.add_column("Details", width=44, key="details")
        self._ready = True
        if self.manager is not None:
            self._unsubscribe = self.manager.subscribe(lambda _state: self._refresh())
        self._refresh()
        table.focus()

    def on_unmount(self) -> None:
        self._ready = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # ---- content ------------------------------------------------------------------------------

    def rows(self) -> list[ServerState]:
        return self.manager.rows() if self.manager is not None else []

    def _refresh(self) -> None:
        if not self._ready:
            return
        table = self.query_one("#mcp-table", DataTable)
        rows = self.rows()
        keep = table.cursor_row
        table.clear()
        self._names = [row.name for row in rows]
        for row in rows:
            table.add_row(*self._cells(row), key=row.name)
        if rows:
            table.move_cursor(row=min(max(keep, 0), len(rows) - 1))
        self._summary(rows)
        self._detail()

    def _cells(self, row: ServerState) -> list[Any]:
        status = row.status.value
        status_text = Text(status, style=self._status_style(status))
        if status == "disabled":
            plan = Text("–", style="dim")
        else:
            plan = Text("offered", style="") if row.offered_in_plan else Text("hidden", style="dim")
        details = shorten(row.message, self.workspace, self.home)
        if not details and row.skipped_tools:
            details = f"{len(row.skipped_tools)} tool(s) skipped"
        return [
            Text(row.name, style="bold"),
            row.transport,
            status_text,
            Text(str(row.tool_count), justify="right"),
            plan,
            Text(details, style="dim", no_wrap=True, overflow="ellipsis"),
        ]

    def _status_style(self, status: str) -> str:
        variable = STATUS_COLOURS.get(status)
        colour = self.app.get_css_variables().get(variable) if variable else None
        return f"bold {colour}" if colour else "dim"

    def _summary(self, rows: list[ServerState]) -> None:
        summary = self.query_one("#mcp-summary", Static)
        if not rows:
            summary.update(
                "No MCP servers are configured. Add one with /mcp add NAME COMMAND [ARGS…] (a local server) "
                "or /mcp add-http NAME URL (a remote one); it is saved in .stoa/config.local.toml."
            )
            return
        connected = sum(1 for r in rows if r.status.value == "connected")
        tools = sum(r.tool_count for r in rows if r.status.value == "connected")
        text = Text(f"{connected} of {len(rows)} connected · {tools} tools")
        hidden = [r.name for r in rows if not r.offered_in_plan and r.status.value != "disabled"]
        if self.mode == "plan" and hidden:
            text.append(f" · plan mode hides: {', '.join(hidden)}", style="bold")
        elif hidden:
            text.append(f" · plan mode would hide: {', '.join(hidden)}", style="dim")
        summary.update(text)

    def _detail(self) -> None:
        detail = self.query_one("#mcp-detail", Static)
        row = self._current()
        if row is None:
            detail.update("")
            return
        lines = Text()
        lines.append(f"{row.name}", style="bold")
        lines.append(f"  {row.transport}: {shorten(row.target, self.workspace, self.home)}\n")
        if row.source is not None:
            lines.append(f"from {shorten(str(row.source), self.workspace, self.home)}", style="dim")
            if row.server_info:
                lines.append(f" · server {row.server_info}", style="dim")
            lines.append("\n")
        if row.message:
            lines.append(shorten(row.status_text, self.workspace, self.home) + "\n")
        if row.tools:
            lines.append(f"tools ({len(row.tools)}): ", style="bold")
            lines.append(tool_list(row.name, row.tools) + "\n")
        for skipped in row.skipped_tools[:5]:
            lines.append(f"skipped {shorten(skipped, self.workspace, self.home)}\n", style="dim")
        if len(row.skipped_tools) > 5:
            lines.append(f"… and {len(row.skipped_tools) - 5} more skipped\n", style="dim")
        detail.update(lines)

    def _current(self) -> ServerState | None:
        if self.manager is None or not self._names:
            return None
        table = self.query_one("#mcp-table", DataTable)
        index = table.cursor_row
        if not 0 <= index < len(self._names):
            return None
        return self.manager.states.get(self._names[index])

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    # ---- actions ------------------------------------------------------------------------------

    def action_reconnect(self) -> None:
        row = self._current()
        if row is None or self.manager is None:
            return
        manager = self.manager

        async def reconnect() -> None:
            try:
                await manager.reconnect(row.name, reread=True)
            except KeyError:
                self.notify(f"{row.name} is no longer configured", severity="warning")

        self.run_worker(reconnect(), group="mcp", description=f"reconnect {row.name}", exit_on_error=False)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
