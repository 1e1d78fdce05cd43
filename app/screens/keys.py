"""The key manager (``/key``) and the first-run onboarding screen.

``KeyManagerScreen`` lists the providers with where each current key comes from (an
environment variable, which always wins, or the saved-keys file), lets the person pick one and
paste a key into a masked input, checks its shape (``sk-ant-`` for Anthropic, ...), tries it
with the provider (its model list, through ``check_key``), and saves it with
``core.keys.save_key`` (mode 0600, in the user config folder). It dismisses with the set of providers whose saved key changed, so the
caller can drop cached clients.

``OnboardingScreen`` is shown at a first run with no key at all: paste a key for a cloud
provider, or use a detected local server (Ollama, LM Studio). It dismisses with an
``OnboardingChoice`` (``quit=True`` for its Quit choice), or None when Esc closed it (back to the
chat, with no key yet).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from stoa.core.config import KEYLESS_PROVIDERS, StoaPaths
from stoa.core.keys import (
    KEY_PAGES,
    PROVIDER_LABELS,
    KeySaveError,
    KeyStatus,
    SaveResult,
    delete_key,
    display_path,
    key_file_problem,
    key_status,
    key_variable,
    save_key,
    validate_key,
)
from stoa.core.models import ALL_PROVIDERS
from stoa.core.providers.detect import LocalServer
from stoa.styles import STYLES
from stoa.widgets.blink import follow_blink

if TYPE_CHECKING:
    from stoa.core.providers.factory import KeyCheck


# Tries a key with the provider before it is saved: (provider, key) -> what the provider said.
KeyChecker = Callable[[str, str], Awaitable["KeyCheck"]]

# Providers listed in the key manager: the ones a key is normally needed for come first.
_KEYED_FIRST = ("anthropic", "openai", "openrouter")
KEY_PROVIDERS: tuple[str, ...] = (*_KEYED_FIRST, *(p for p in ALL_PROVIDERS if p not in _KEYED_FIRST))


def describe_status(status: KeyStatus, paths: StoaPaths | None = None, env: Mapping[str, str] | None = None) -> Content:
    if status.origin == "saved" and paths is not None and status.source:
        status = replace(status, source=status.source.replace(str(paths.keys_file), display_path(paths.keys_file, env)))
    if status.origin == "env":
        extra = "  (a saved key is overridden)" if status.saved_shadowed else ""
        return Content.assemble(
            ("✓ ", "$text-success bold"), f"{status.masked}  from {status.source}", (extra, "$text-muted")
        )
    if status.origin == "saved":
        return Content.assemble(("✓ ", "$text-success bold"), f"{status.masked}  from {status.source}")
    if status.origin == "not needed":
        return Content.styled("no key needed (local server)", "$text-muted")
    return Content.styled(f"no key (set {key_variable(status.provider)} or paste one)", "$text-warning")


class CheckedKeyEntry:
    """The paste box of both screens: a key is checked for its provider's shape, then tried with
    the provider (its model list) before it is saved. A rejected key is never saved; a key that
    could not be tried (no network, no model list) is saved when Enter is pressed again. The
    typed key stays in the box for fixing and is never echoed."""

    paths: StoaPaths
    env: dict[str, str]
    workspace: Path | None
    check_key: KeyChecker | None
    # (provider, key) that could not be tried and is saved on the next Enter.
    _untested: tuple[str, str] | None = None

    def _say(self, text: str, *, error: bool = False) -> None:
        raise NotImplementedError

    async def _checked_save(self, provider: str, raw: str) -> SaveResult | None:
        label = PROVIDER_LABELS.get(provider, provider)
        try:
            key = validate_key(provider, raw)
        except KeySaveError as exc:
            self._say(str(exc), error=True)
            return None
        if self.check_key is not None and self._untested != (provider, key):
            self._say(f"trying the key with {label} (listing its models)…")
            check = await self.check_key(provider, key)
            if check.verdict == "rejected":
                self._say(f"{label} rejected this key ({check.detail}); it was not saved. Copy it again.", error=True)
                return None
            if check.verdict == "unchecked":
                self._untested = (provider, key)
                self._say(
                    f"could not try the key with {label}: {check.detail}. Press Enter again to save it untested, "
                    "or Esc to leave it.",
                    error=True,
                )
                return None
        self._untested = None
        try:
            return save_key(self.paths, provider, key, env=self.env, workspace=self.workspace)
        except (KeySaveError, OSError) as exc:
            self._say(str(exc), error=True)
            return None


class KeyManagerScreen(CheckedKeyEntry, ModalScreen[set[str]]):
    """Pick a provider, paste a key (masked), save. Esc closes."""

    CSS_PATH = STYLES / "pickers.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+d", "delete", "Delete saved key"),
    ]

    def __init__(
        self,
        paths: StoaPaths,
        env: Mapping[str, str],
        *,
        provider: str | None = None,
        message: str | None = None,
        workspace: Path | None = None,
        providers: Sequence[str] = KEY_PROVIDERS,
        check_key: KeyChecker | None = None,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.env = dict(env)
        self.initial_provider = provider
        self.message = message
        self.workspace = workspace
        self.check_key = check_key
        self.providers = list(providers)
        self.changed: set[str] = set()
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="key-manager", classes="picker"):
            yield Static(Content.from_markup("[b]API keys[/b]"), classes="picker-title")
            message = self.message or key_file_problem(self.paths)
            yield Static(message or "", id="key-message", classes="picker-message")
            yield OptionList(*self._options(), id="providers")
            with Vertical(id="key-entry", classes="key-entry -hidden"):
                yield Static("", id="key-label", classes="key-label")
                yield follow_blink(Input(password=True, placeholder="paste the key here", id="key-input"), self.app)
            yield Static(
                f"Enter choose / save · ctrl+d delete the saved key · Esc close · keys are saved to "
                f"{display_path(self.paths.keys_file, self.env)} (mode 600); environment variables win",
                classes="picker-hint",
            )

    def on_mount(self) -> None:
        message = self.query_one("#key-message", Static)
        message.display = bool(self.message or key_file_problem(self.paths))
        self._start()

    def show_again(self, provider: str | None = None, *, message: str | None = None) -> None:
        """Show a kept key manager again (``stoa.app.screens.kept``) as a first open would:
        statuses read again, nothing typed, this open's provider and message."""
        self.initial_provider = provider
        self.message = message
        self.changed = set()
        self._untested = None
        if not self.is_mounted:
            return
        self.selected = None
        self.query_one("#key-input", Input).value = ""
        self.query_one("#key-entry").add_class("-hidden")
        self._say(self.message or key_file_problem(self.paths) or "")
        self.query_one("#key-message", Static).set_classes("picker-message")
        self.query_one("#providers", OptionList).set_options(self._options())
        self._start()

    def _start(self) -> None:
        option_list = self.query_one("#providers", OptionList)
        if self.initial_provider in self.providers:
            option_list.highlighted = self.providers.index(self.initial_provider)
            if self.initial_provider not in KEYLESS_PROVIDERS or self.message:
                self._open_entry(self.initial_provider)
                return
        option_list.focus()

    def status(self, provider: str) -> KeyStatus:
        return key_status(provider, self.env, self.paths)

    def _options(self) -> list[Option]:
        options = []
        for provider in self.providers:
            status = self.status(provider)
            options.append(
                Option(
                    Content.assemble((f"{PROVIDER_LABELS.get(provider, provider):<19}", "bold"), describe_status(status, self.paths, self.env)),
                    id=provider,
                )
            )
        return options

    def _refresh(self) -> None:
        option_list = self.query_one("#providers", OptionList)
        highlighted = option_list.highlighted
        option_list.set_options(self._options())
        option_list.highlighted = highlighted

    def _open_entry(self, provider: str) -> None:
        self.selected = provider
        label = PROVIDER_LABELS.get(provider, provider)
        page = KEY_PAGES.get(provider)
        where = f" (get one at {page})" if page else ""
        self.query_one("#key-label", Static).update(f"Paste the {label} API key{where}, then Enter:")
        entry = self.query_one("#key-entry")
        entry.remove_class("-hidden")
        key_input = self.query_one("#key-input", Input)
        key_input.value = ""
        key_input.focus()

    def _close_entry(self) -> None:
        self.selected = None
        self.query_one("#key-input", Input).value = ""
        self.query_one("#key-entry").add_class("-hidden")
        self.query_one("#providers", OptionList).focus()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#key-message", Static)
        message.update(text)
        message.set_class(error, "-error")
        message.set_class(not error, "-ok")
        message.display = bool(text)

    @on(OptionList.OptionSelected, "#providers")
    def _provider_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._open_entry(event.option.id)

    @on(Input.Submitted, "#key-input")
    def _key_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.selected is not None:
            self.run_worker(self._submit(self.selected, event.value), group="key", exclusive=True, exit_on_error=False)

    async def _submit(self, provider: str, raw: str) -> None:
        result = await self._checked_save(provider, raw)
        if result is None:
            return
        self.changed.add(provider)
        label = PROVIDER_LABELS.get(provider, provider)
        notes = " ".join(result.notices)
        where = display_path(result.path, self.env)
        self._say(f"saved the {label} key ({result.status.masked}) to {where}. {notes}".strip())
        self._refresh()
        self._close_entry()

    def action_delete(self) -> None:
        option = self.query_one("#providers", OptionList).highlighted_option
        provider = self.selected or (option.id if option is not None else None)
        if provider is None:
            return
        try:
            removed = delete_key(self.paths, provider)
        except KeySaveError as exc:
            self._say(str(exc), error=True)
            return
        label = PROVIDER_LABELS.get(provider, provider)
        if removed:
            self.changed.add(provider)
            self._say(f"deleted the saved {label} key")
        else:
            self._say(f"there is no saved {label} key to delete")
        self._refresh()

    def action_close(self) -> None:
        if self.selected is not None:
            self._close_entry()
            return
        self.dismiss(self.changed)


@dataclass(frozen=True)
class OnboardingChoice:
    """What the newcomer chose: a provider with a key saved, or a local server and model."""

    provider: str
    model: str | None = None
    base_url: str | None = None
    # The Quit choice: leave the app (Esc only closes the dialog).
    quit: bool = False


class OnboardingScreen(CheckedKeyEntry, ModalScreen[OnboardingChoice | None]):
    """First run with no key: paste a key, or use a detected local server. Esc steps back (out
    of the paste box, out of a server's model list), then closes the dialog; Quit quits."""

    CSS_PATH = STYLES / "pickers.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "rescan", "Search again for local servers"),
    ]

    def __init__(
        self,
        paths: StoaPaths,
        env: Mapping[str, str],
        *,
        servers: Sequence[LocalServer] | None = None,
        detect: Callable[[], Awaitable[Sequence[LocalServer]]] | None = None,
        workspace: Path | None = None,
        check_key: KeyChecker | None = None,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.env = dict(env)
        self.workspace = workspace
        self.check_key = check_key
        self.servers: list[LocalServer] | None = list(servers) if servers is not None else None
        if detect is None and servers is None:
            from stoa.core.providers.detect import detect_local_servers

            async def detect_default() -> Sequence[LocalServer]:
                return await detect_local_servers(env=self.env)

            detect = detect_default
        self.detect = detect
        self.selected: str | None = None
        self.server: LocalServer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="onboarding", classes="picker"):
            yield Static(Content.from_markup("[b]Welcome to Stoa[/b]"), classes="picker-title")
            yield Static(
                "No API key was found (ANTHROPIC_API_KEY, OPENAI_API_KEY, or a saved key). "
                "Choose how to start; you can change it later with /key and /model.",
                classes="key-label",
            )
            yield Static("", id="onboarding-message", classes="picker-message")
            yield OptionList(*self._options(), id="choices")
            with Vertical(id="key-entry", classes="key-entry -hidden"):
                yield Static("", id="key-label", classes="key-label")
                yield follow_blink(Input(password=True, placeholder="paste the key here", id="key-input"), self.app)
            yield Static(
                f"Enter choose · Esc back · ctrl+r search again for local servers · keys are saved to "
                f"{display_path(self.paths.keys_file, self.env)} (mode 600)",
                classes="picker-hint",
            )

    def _options(self) -> list[Option]:
        if self.server is not None:
            options = [
                Option(
                    Content.assemble(("Use ", ""), (model_id, "bold")),
                    id=f"model:{model_id}",
                )
                for model_id in self.server.models
            ]
            if not options:
                options = [
                    Option(
                        f"{self.server.label} has no models yet: pull or load one, then ctrl+r",
                        id="none",
                        disabled=True,
                    )
                ]
            return options
        options = [
            Option(Content.assemble("Paste an ", ("Anthropic", "bold"), " API key (Claude)"), id="key:anthropic"),
            Option(Content.assemble("Paste an ", ("OpenAI", "bold"), " API key (GPT)"), id="key:openai"),
        ]
        if self.servers is None:
            options.append(Option("Looking for a local server (Ollama, LM Studio)…", id="searching", disabled=True))
        elif not self.servers:
            options.append(
                Option(
                    "No local server found: start Ollama (localhost:11434) or LM Studio (localhost:1234), then ctrl+r",
                    id="none",
                    disabled=True,
                )
            )
        else:
            for index, server in enumerate(self.servers):
                count = len(server.models)
                plural = "model" if count == 1 else "models"
                options.append(
                    Option(
                        Content.assemble("Use ", (server.label, "bold"), f" ({count} {plural})"),
                        id=f"server:{index}",
                    )
                )
        options.append(Option("Quit", id="quit"))
        return options

    def on_mount(self) -> None:
        self.query_one("#onboarding-message", Static).display = False
        self.query_one("#choices", OptionList).focus()
        if self.servers is None:
            self.action_rescan()

    def action_rescan(self) -> None:
        if self.detect is None:
            return
        self.servers = None if self.server is None else self.servers
        self._refresh()
        self.run_worker(self._detect(), group="onboarding", description="detect local servers", exit_on_error=False)

    async def _detect(self) -> None:
        assert self.detect is not None
        try:
            found = list(await self.detect())
        except Exception:
            found = []
        self.servers = found
        if self.server is not None:
            self.server = next((s for s in found if s.base_url == self.server.base_url), None)
        self._refresh()

    def _refresh(self) -> None:
        option_list = self.query_one("#choices", OptionList)
        option_list.set_options(self._options())
        option_list.highlighted = next((i for i, o in enumerate(option_list.options) if not o.disabled), None)

    def _say(self, text: str, *, error: bool = True) -> None:
        message = self.query_one("#onboarding-message", Static)
        message.update(text)
        message.set_class(error, "-error")
        message.set_class(not error, "-ok")
        message.display = bool(text)

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        choice = event.option.id or ""
        kind, _, value = choice.partition(":")
        if kind == "key":
            self.selected = value
            label = PROVIDER_LABELS.get(value, value)
            page = KEY_PAGES.get(value)
            where = f" (get one at {page})" if page else ""
            self.query_one("#key-label", Static).update(f"Paste the {label} API key{where}, then Enter:")
            self.query_one("#key-entry").remove_class("-hidden")
            key_input = self.query_one("#key-input", Input)
            key_input.value = ""
            key_input.focus()
        elif kind == "server" and self.servers:
            self.server = self.servers[int(value)]
            self._refresh()
        elif kind == "model" and self.server is not None:
            self.dismiss(OnboardingChoice(provider=self.server.provider, model=value, base_url=self.server.base_url))
        elif kind == "quit":
            self.dismiss(OnboardingChoice(provider="", quit=True))

    @on(Input.Submitted, "#key-input")
    def _key_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.selected is not None:
            self.run_worker(self._submit(self.selected, event.value), group="key", exclusive=True, exit_on_error=False)

    async def _submit(self, provider: str, raw: str) -> None:
        if await self._checked_save(provider, raw) is not None:
            self.dismiss(OnboardingChoice(provider=provider))

    def action_back(self) -> None:
        if self.selected is not None:
            self.selected = None
            self.query_one("#key-input", Input).value = ""
            self.query_one("#key-entry").add_class("-hidden")
            self.query_one("#choices", OptionList).focus()
        elif self.server is not None:
            self.server = None
            self._refresh()
        else:
            self.dismiss(None)
