"""The `stoa` command: parse the command line, then run headless or the full-screen TUI.

Kept import-light on purpose: argparse and the standard library only at module level, so
`stoa --version` and the TUI's start-up do not pay for provider SDKs or Textual until needed.
Exit codes: 0 done, 1 runtime error (API, config), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2

OUTPUT_FORMATS = ("text", "json", "stream-json")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("stoa")
    except Exception:
        return "0.0.0+unknown"


def _positive_int(flag: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive whole number such as {flag} 30, got {text!r}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"stoa: error: {message}\nRun `stoa --help` for the options.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stoa",
        description="A terminal coding agent. With no prompt: the full-screen TUI. With a prompt: one headless turn.",
        epilog="Subcommands (first word only): models (list the models your keys can use), "
        "acp (run as an Agent Client Protocol agent on stdio, for editors such as Zed), "
        "mcp add|add-http|list|remove|get (MCP servers, as /mcp does). "
        "To send such a word as a prompt: stoa -p models.",
    )
    parser.add_argument("prompt", nargs="?", help='run one turn headless and print the reply ("-" reads stdin)')
    parser.add_argument(
        "-p", "--print", dest="print_prompt", metavar="TEXT", nargs="?", const="",
        help="headless prompt (same as PROMPT); without TEXT: headless, the prompt is PROMPT or piped stdin",
    )  # fmt: skip
    parser.add_argument(
        "-i", "--image", dest="images", action="append", default=[], metavar="PATH",
        help="attach an image to the headless prompt (repeatable)",
    )  # fmt: skip
    parser.add_argument("-m", "--model", help="a registry model id or alias (see /model)")
    parser.add_argument("-e", "--effort", help="reasoning effort: off | low | medium | high | xhigh | max")
    parser.add_argument(
        "--provider",
        help="anthropic | openai | ollama | lmstudio | vllm | openrouter | openai-compatible",
    )
    parser.add_argument("--base-url", help="override the provider's endpoint")
    parser.add_argument("--mode", choices=("plan", "ask", "auto"), help="trust mode (default auto)")
    parser.add_argument("--safe-mode", action="store_true", help="same as --mode plan")
    parser.add_argument(
        "-r",
        "--resume",
        nargs="?",
        const="",
        metavar="ID-PREFIX",
        help="resume a session (no id: picker in the TUI, most recent in headless)",
    )
    parser.add_argument("-c", "--continue", dest="continue_latest", action="store_true", help="resume the latest session here")
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, default="text", help="headless output format")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="maximum output tokens per reply")
    parser.add_argument(
        "--max-turns",
        type=_positive_int("--max-turns"),
        metavar="N",
        help="at most N model requests with tool calls per turn, then a summary (default 200)",
    )
    parser.add_argument("-C", "--cd", metavar="DIR", help="the workspace (default: the current directory)")
    parser.add_argument("--add-dir", action="append", metavar="DIR", help="another folder the agent may read and write")
    parser.add_argument("--append-system-prompt", metavar="TEXT", help="text added to the end of the system prompt")
    parser.add_argument("--system-prompt-file", metavar="PATH", help="use this file as the system prompt")
    parser.add_argument(
        "--allowed-tools",
        "--allowedTools",  # Claude Code's spelling, so its scripts run as they are
        dest="allowed_tools",
        action="append",
        metavar="LIST",
        help="tools or rules that run without asking (comma list: write_file, Bash(git diff:*), ...)",
    )
    parser.add_argument(
        "--disallowed-tools",
        "--disallowedTools",
        dest="disallowed_tools",
        action="append",
        metavar="LIST",
        help="tools or rules that never run (comma list)",
    )
    parser.add_argument("--mcp-config", metavar="FILE", help="MCP servers from a JSON ({\"mcpServers\": ...}) or TOML file")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config key, e.g. --set max-tokens=4000")
    parser.add_argument(
        "--input-format",
        choices=("text", "stream-json"),
        default="text",
        help="stream-json: user messages as JSON lines on stdin, one turn each (headless)",
    )
    parser.add_argument("--debug", action="store_true", help="log every event in full (headless: also on stderr)")
    parser.add_argument("--log-file", metavar="PATH", help="also write the log (JSON lines, secrets redacted) to PATH")
    parser.add_argument(
        "--trust-project-hooks",
        action="store_true",
        help="run the hooks of the project's shared .stoa/config.toml without asking (headless, CI)",
    )
    parser.add_argument("--agent", metavar="NAME", help="run the conversation as this agent (see /agents)")
    parser.add_argument("--check-connection", action="store_true", help="check each configured provider and exit")
    parser.add_argument("--version", action="store_true", help="print the version and sandbox state, then exit")
    return parser


@dataclass
class Invocation:
    prompt: str | None
    headless: bool


def _piped_stdin() -> bool:
    """True when stdin is a pipe or a file (not a terminal, not /dev/null, not closed)."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return False
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def resolve_prompt(args: argparse.Namespace) -> Invocation:
    """Work out the headless prompt from PROMPT, -p and piped stdin."""
    # "-p" alone (or before another option: stoa -p --model X "hi") only asks for headless mode,
    # as Claude Code's -p does; the prompt is then PROMPT or what is piped in.
    flag_only = args.print_prompt == ""
    given = None if flag_only else args.print_prompt
    if args.prompt is not None and given is not None:
        raise UsageError("give the prompt either as PROMPT or with -p, not both")
    prompt = given if given is not None else args.prompt
    piped = _piped_stdin()
    if prompt == "-":
        if not piped and sys.stdin is not None and sys.stdin.isatty():
            raise UsageError('"-" reads the prompt from stdin, but stdin is a terminal; pipe text in')
        prompt = sys.stdin.read() if sys.stdin is not None else ""
        return Invocation(prompt=prompt, headless=True)
    if piped:
        data = sys.stdin.read()
        if prompt is None:
            return Invocation(prompt=data, headless=True)
        if data.strip():
            prompt = f"{prompt}\n\n<stdin>\n{data}\n</stdin>"
        return Invocation(prompt=prompt, headless=True)
    if prompt is None:
        if flag_only:
            raise UsageError(
                '-p needs a prompt: stoa -p "explain this repo", or pipe one in: git diff | stoa -p "review this"'
            )
        return Invocation(prompt=None, headless=False)
    return Invocation(prompt=prompt, headless=True)


# 128 + SIGPIPE: what a shell reports for a writer whose reader went away.
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    _cache_dataclass_code()
    # Start-up allocates objects that live as long as the run (modules, classes, the runtime):
    # no collections while it builds them, and once it is done they are frozen, out of the
    # collector's sight (resume_gc; the TUI after its first frame), so neither the ~120
    # collections of start-up nor the full one at exit walk them (`stoa -p`, one line: 447 ->
    # 359 ms of CPU).
    gc.disable()
    try:
        return _main_guarded(argv)
    except BrokenPipeError:
        # The reader went away (stoa -p ... | head): end quietly with the shell's code for it,
        # as other command-line tools do; stdout goes nowhere, so the exit's flush cannot fail.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    finally:
        if not gc.isenabled():
            gc.enable()


def _cache_dataclass_code() -> None:
    """Before the modules that define dataclasses load: their generated code comes compiled
    from the data folder (stoa.core.dataclass_cache; `stoa -p`, one line: 411 -> 341 ms CPU)."""
    from stoa.core.dataclass_cache import install
    from stoa.core.paths import StoaPaths

    where = os.environ.get("STOA_CODE_CACHE", "").strip().lower()
    if where == "off":
        return
    # Beside the .pyc files, unless the person asked Python not to write there.
    install(StoaPaths.from_env().data_dir, shared=where != "data" and not sys.dont_write_bytecode)


def resume_gc() -> None:
    """Start-up is over: what it allocated moves out of the collector's sight (every full
    collection would walk it again), and collections resume."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
    from stoa.core.dataclass_cache import save

    save()


def _main_guarded(argv: list[str] | None) -> int:
    from stoa.core.sandbox.secrets import mask_own_environ

    # Before anything else runs: what other processes can read of Stoa's environment (ps e,
    # /proc/PID/environ) shows its API keys as ****; os.environ keeps them for the SDKs.
    mask_own_environ()
    raw = list(sys.argv[1:] if argv is None else argv)
    output_format = _output_format(raw)
    if output_format in ("json", "stream-json") and not (raw and raw[0] in ("models", "mcp", "acp")):
        from stoa.app.cli_failures import json_on_failure

        return json_on_failure(lambda: _main(raw), output_format)
    return _main(raw)


def _output_format(raw: list[str]) -> str:
    for index, word in enumerate(raw):
        if word == "--output-format" and index + 1 < len(raw):
            return raw[index + 1]
        if word.startswith("--output-format="):
            return word.partition("=")[2]
    return "text"


def _main(raw: list[str]) -> int:
    # A subcommand is the first word only (as with git or claude): `stoa models` lists models,
    # while `stoa -p models` or `stoa -- models` sends the word as a prompt.
    if raw and raw[0] in ("models", "mcp", "acp"):
        resume_gc()
    if raw and raw[0] == "models":
        from stoa.app.models_command import main as models_main

        return models_main(raw[1:])
    if raw and raw[0] == "mcp":
        from stoa.app.mcp_command import main as mcp_main

        return mcp_main(raw[1:])
    if raw and raw[0] == "acp":
        from stoa.app.acp import main as acp_main

        return acp_main(raw[1:])
    parser = build_parser()
    args = parser.parse_args(raw)
    if args.version:
        print(f"stoa {_version()}")
        print(f"sandbox: {_sandbox_state()}")
        return EXIT_OK
    if args.safe_mode:
        if args.mode not in (None, "plan"):
            parser.error("--safe-mode conflicts with --mode " + args.mode)
        args.mode = "plan"
    if args.max_tokens is not None and args.max_tokens <= 0:
        parser.error("--max-tokens must be a positive number")
    if args.resume is not None and args.continue_latest:
        parser.error("use either --resume or --continue, not both")
    if args.cd is not None:
        try:
            os.chdir(Path(args.cd).expanduser())
        except OSError as exc:
            print(f"stoa: error: -C/--cd {args.cd}: {exc.strerror or exc}; pass an existing folder", file=sys.stderr)
            return EXIT_USAGE
    stream_input = None
    try:
        if args.input_format == "stream-json":
            stream_input, invocation = _stream_invocation(args)
        else:
            invocation = resolve_prompt(args)
    except UsageError as exc:
        print(f"stoa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from stoa.app.cli_flags import FlagError, command_line_layer, system_prompt_flags
    from stoa.core.choices import Choices
    from stoa.core.config import ConfigError, load_config

    choices = Choices(
        model=args.model,
        effort=args.effort,
        provider=args.provider,
        base_url=args.base_url,
        mode=args.mode,
        max_tokens=args.max_tokens,
        max_turns=args.max_turns,
        trust_project_hooks=args.trust_project_hooks,
        agent=args.agent,
    )
    try:
        choices.system_prompt, choices.append_system_prompt = system_prompt_flags(args)
    except FlagError as exc:
        print(f"stoa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if choices.provider is not None:
        from stoa.core.models import ALL_PROVIDERS

        if choices.provider not in ALL_PROVIDERS:
            print(f"stoa: error: unknown provider {choices.provider!r}; choose one of {', '.join(ALL_PROVIDERS)}", file=sys.stderr)
            return EXIT_USAGE
    try:
        config = load_config(Path.cwd())
        layer = command_line_layer(args, config)
    except FlagError as exc:
        print(f"stoa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"stoa: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    if layer is not None:
        try:
            config = load_config(Path.cwd(), extra_layers=[layer])
        except ConfigError as exc:  # a --set value the setting does not take
            print(f"stoa: error: {exc}", file=sys.stderr)
            return EXIT_USAGE

    from stoa.core.logs import setup_logging

    log_file = Path(args.log_file).expanduser().resolve() if args.log_file else None
    for warning in setup_logging(config, debug=args.debug, log_file=log_file, stderr=args.debug and invocation.headless):
        print(f"warning: {warning}", file=sys.stderr)
    if args.check_connection:
        resume_gc()
        from stoa.app.headless import check_connection

        return check_connection(config, choices)
    if invocation.headless:
        from stoa.app.headless import run_headless

        return run_headless(
            config,
            choices,
            invocation.prompt or "",
            output_format=args.output_format,
            resume=args.resume,
            continue_latest=args.continue_latest,
            images=args.images,
            stream_input=stream_input,
        )
    if args.images:
        print("stoa: error: -i/--image needs a prompt (headless mode); in the TUI paste the image (Ctrl+V) "
              "or its path", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if args.output_format != "text":
        print("stoa: error: --output-format needs a prompt (headless mode)", file=sys.stderr)
        return EXIT_USAGE
    from stoa.app.tui import run_tui

    return run_tui(config, choices, resume=args.resume, continue_latest=args.continue_latest)


def _stream_invocation(args: argparse.Namespace) -> tuple[object, Invocation]:
    """``--input-format stream-json``: the first message of stdin starts the headless run."""
    if args.prompt is not None or args.print_prompt:
        given = "PROMPT" if args.prompt is not None else "-p"
        raise UsageError(f"--input-format stream-json reads the prompts from stdin; it conflicts with {given}")
    if not _piped_stdin():
        raise UsageError("--input-format stream-json reads JSON lines from stdin; pipe them in")
    from stoa.app.stream_input import StreamInput, StreamInputError

    reader = StreamInput(sys.stdin)
    try:
        first = reader.next_sync()
    except StreamInputError as exc:
        raise UsageError(str(exc)) from None
    if first is None:
        raise UsageError("--input-format stream-json: stdin held no message")
    return reader, Invocation(prompt=first, headless=True)


def _sandbox_state() -> str:
    try:
        from stoa.core.sandbox import describe_sandbox
    except ImportError:
        return "not available in this build"
    return describe_sandbox()


if __name__ == "__main__":
    sys.exit(main())
