"""The model picker and the effort picker.

``ModelPickerScreen`` lists the catalogue's models (what each provider's list offers, merged with
the built-in table) grouped by provider, with context window, price ("price unknown" where none
is published) and effort range, legacy models marked, plus the models of detected or configured
local servers. Opening it refreshes the providers' lists in the background. Models of a
provider without a key are dimmed ("no key: press k to add") and the cursor skips them. Typing
filters; Enter dismisses with a model spec that ``core.switching.lookup_model`` resolves (a
registry id, or ``provider/id`` for a local model); Esc dismisses with None.

``EffortPickerScreen`` lists only the levels the active model supports, the current one marked,
and dismisses with the chosen level (or None).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.widgets.option_list import Option

from stoa.app.screens.filter_picker import FilterPickerScreen
from stoa.core.keys import PROVIDER_LABELS
from stoa.core.models import ALL_PROVIDERS, MODELS, ModelInfo
from stoa.core.providers.detect import LocalServer
from stoa.core.switching import effort_description
from stoa.styles import STYLES
from stoa.widgets.filter_list import FilterList, Row

NO_KEY_HINT = "no key: press k to add"


def format_tokens(count: int) -> str:
    """1_000_000 -> "1M", 1_050_000 -> "1.05M", 200_000 -> "200K"."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if count >= 1_000:
        return f"{count // 1_000}K"
    return str(count)


def format_price(model: ModelInfo) -> str:
    if model.prices is None:
        return "free (local)" if model.dynamic and model.source == "local" else "price unknown"
    return f"${model.prices.input:.2f} / ${model.prices.output:.2f}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def local_model_infos(servers: Iterable[LocalServer]) -> list[ModelInfo]:
    """The models of detected/configured servers as (dynamic) registry entries."""
    from dataclasses import replace

    from stoa.core.models import compatible_model

    out: list[ModelInfo] = []
    for server in servers:
        for model_id in server.models:
            window = server.context_windows.get(model_id)
            if window:
                model = compatible_model(model_id, server.provider, context_window=window)
            else:
                model = compatible_model(model_id, server.provider)
            if model_id in server.no_tools:
                model = replace(model, supports_tools=False)
            out.append(model)
    return out


def model_spec(model: ModelInfo) -> str:
    """What the picker returns: a registry id, or ``provider/id`` for a local model."""
    return f"{model.provider}/{model.id}" if model.dynamic else model.id


@dataclass(frozen=True)
class PickerRow:
    model: ModelInfo
    available: bool

    @property
    def spec(self) -> str:
        return model_spec(self.model)

    def matches(self, words: Sequence[str]) -> bool:
        haystack = " ".join(
            [
                self.model.id,
                self.model.label,
                self.model.provider,
                PROVIDER_LABELS.get(self.model.provider, ""),
                *self.model.aliases,
            ]
        ).lower()
        return all(word in haystack for word in words)


class ModelPickerScreen(FilterPickerScreen):
    """Choose a model. Dismisses with a model spec, or None on Esc."""

    CSS_PATH = STYLES / "pickers.tcss"
    LIST_ID = "models"
    BINDINGS = [*FilterPickerScreen.BINDINGS, Binding("ctrl+k", "add_key", "Add a key")]

    def __init__(
        self,
        current: str | None = None,
        *,
        has_key: Callable[[str], bool] = lambda provider: True,
        local_servers: Sequence[LocalServer] = (),
        detect: Callable[[], Awaitable[Sequence[LocalServer]]] | None = None,
        key_screen: Callable[[str | None], Screen[Any]] | None = None,
        models: Sequence[ModelInfo] = MODELS,
        fetch_models: Callable[[], Awaitable[Sequence[ModelInfo]]] | None = None,
    ) -> None:
        super().__init__()
        self.current = current
        self.has_key = has_key
        self.local_servers: list[LocalServer] = list(local_servers)
        self.detect = detect
        self.key_screen = key_screen
        # Fetches the providers' lists again (the catalogue) and returns the models to show.
        self.fetch_models = fetch_models
        self.registry_models = list(models)
        self.rows: list[PickerRow] = []
        self._rebuild_rows()

    # ---- data -------------------------------------------------------------------------------

    def _rebuild_rows(self) -> None:
        # has_key once per provider (it may read the saved-keys file), not once per model.
        keyed = {p: self.has_key(p) for p in {m.provider for m in self.registry_models}}
        rows = [PickerRow(m, keyed[m.provider]) for m in self.registry_models]
        rows += [PickerRow(m, True) for m in local_model_infos(self.local_servers)]
        order = {p: i for i, p in enumerate(ALL_PROVIDERS)}
        rows.sort(key=lambda r: order.get(r.model.provider, len(order)))
        self.rows = rows

    def visible_rows(self) -> list[PickerRow]:
        words = self.words()
        return [r for r in self.rows if r.matches(words)]

    def _server_label(self, provider: str) -> str:
        for server in self.local_servers:
            if server.provider == provider:
                return server.label
        return PROVIDER_LABELS.get(provider, provider)

    def _row_content(self, row: PickerRow) -> Content:
        model = row.model
        marker = "●" if self.current in (model.id, row.spec) else " "
        name_style = "bold" if row.available else ""
        if model.dynamic:
            # Local model ids are their own label; give them both columns.
            names: list[str | tuple[str, str]] = [(f"{_fit(model.id, 37):<37} ", name_style)]
        else:
            names = [
                (f"{_fit(model.label, 18):<18} ", name_style),
                (f"{_fit(model.id, 18):<18} ", "$text-muted" if row.available else ""),
            ]
        parts: list[str | tuple[str, str]] = [
            (f"{marker} ", "$accent bold"),
            *names,
            f"{format_tokens(model.context_window):>5} ctx  ",
            f"{format_price(model):<15} ",
            f"{model.effort_range:<10}",
        ]
        if model.legacy and row.available:  # (keyless rows say what to do instead)
            parts.append((" legacy", "$text-muted italic"))
        if not model.supports_tools:
            parts.append((" no tools", "$text-warning"))
        if not row.available:
            parts.append((f" {NO_KEY_HINT}", "italic"))
        return Content.assemble(*parts)

    def rows_for(self, words: Sequence[str]) -> list[Option]:
        options: list[Option] = []
        shown = [r for r in self.rows if r.matches(words)]
        last_provider: str | None = None
        for row in shown:
            provider = row.model.provider
            if provider != last_provider:
                header = self._server_label(provider) + ("" if row.available else "  (no key)")
                options.append(
                    Row(partial(Content.assemble, (header, "$text-primary bold")), id=f"header:{provider}", disabled=True)
                )
                last_provider = provider
            options.append(Row(partial(self._row_content, row), id=row.spec, disabled=not row.available))
        if not shown:
            options.append(Row(partial(Content, f"no model matches {self.typed()!r}"), id="empty", disabled=True))
        return options

    # ---- view -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="picker"):
            yield Static(Content.from_markup("[b]Switch model[/b]"), classes="picker-title")
            yield self.filter_box("type to filter", shortcut="k")
            yield FilterList(id="models")
            yield Static(
                "↑↓ move · Enter switch · Esc cancel · ctrl+k add a key · prices per million tokens in / out",
                classes="picker-hint",
            )

    def start_row(self) -> str | None:
        return self.current

    def opened(self) -> None:
        # The lists are refreshed and local servers looked for once the picker is on screen.
        self.call_after_refresh(self._start_refreshing)

    def show_again(
        self, current: str | None, *, models: Sequence[ModelInfo], local_servers: Sequence[LocalServer] = ()
    ) -> None:
        """This open's data for a kept picker (``reopen``)."""
        self.current = current
        self.registry_models = list(models)
        self.local_servers = list(local_servers)
        self._rebuild_rows()
        self.reopen()

    def _start_refreshing(self) -> None:
        # exclusive: a refresh still running from an earlier open of this kept screen stops.
        if self.detect is not None:
            self.run_worker(self._detect(), group="model-picker-detect", description="detect local servers",
                            exit_on_error=False, exclusive=True)
        if self.fetch_models is not None:
            self.run_worker(self._refresh_models(), group="model-picker-lists", description="refresh model lists",
                            exit_on_error=False, exclusive=True)

    async def _refresh_models(self) -> None:
        assert self.fetch_models is not None
        models = list(await self.fetch_models())
        if models and models != self.registry_models:
            self.registry_models = models
            self._rebuild_rows()
            self.refresh_list()

    async def _detect(self) -> None:
        assert self.detect is not None
        found = await self.detect()
        known = {s.base_url for s in self.local_servers}
        new = [s for s in found if s.base_url not in known]
        if new:
            self.local_servers += new
            self._rebuild_rows()
            self.refresh_list()

    # ---- actions ------------------------------------------------------------------------------

    def nothing_to_choose(self) -> None:
        self.app.bell()
        self.notify("no model to choose: change the filter", severity="warning")

    def action_shortcut(self) -> None:
        self.action_add_key()

    def action_add_key(self) -> None:
        missing = next((r.model.provider for r in self.rows if not r.available), None)
        if self.key_screen is None:
            self.notify("add keys with /key", severity="information")
            return
        self.app.push_screen(self.key_screen(missing), callback=self._after_key)

    def _after_key(self, _result: object) -> None:
        self._rebuild_rows()
        self.refresh_list()


class EffortPickerScreen(FilterPickerScreen):
    """Choose a reasoning effort among the levels the active model supports (no filter: a
    handful of rows, and the list has the focus)."""

    CSS_PATH = STYLES / "pickers.tcss"
    LIST_ID = "efforts"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, model: ModelInfo, current: str) -> None:
        super().__init__()
        self.model = model
        self.current = current

    def rows_for(self, words: Sequence[str]) -> list[Option]:
        # Plain options: a description may wrap, so these are measured (there are at most six).
        rows = []
        for level in self.model.efforts:
            marker = "●" if level == self.current else " "
            rows.append(
                Option(
                    Content.assemble(
                        (f"{marker} ", "$accent bold"),
                        (f"{level:<8}", "bold"),
                        (effort_description(self.model, level), "$text-muted"),
                        ("  (current)" if level == self.current else "", "$accent"),
                    ),
                    id=level,
                )
            )
        return rows

    def _title(self) -> Content:
        return Content.assemble(("Reasoning effort", "bold"), f" for {self.model.label} ({self.model.id})")

    def compose(self) -> ComposeResult:
        with Vertical(id="effort-picker", classes="picker"):
            yield Static(self._title(), classes="picker-title")
            yield FilterList(id="efforts")
            yield Static("↑↓ move · Enter choose · Esc cancel", classes="picker-hint")

    def start_row(self) -> str | None:
        return self.current

    def show_again(self, model: ModelInfo, current: str) -> None:
        """This open's data for a kept picker (``reopen``)."""
        self.model = model
        self.current = current
        if self.is_mounted:
            title = self.query_one(".picker-title", Static)
            title.update(self._title())
        self.reopen()
