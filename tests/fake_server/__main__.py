"""Run the fake provider server standalone, for manual tmux sessions and benchmarks.

    python -m tests.fake_server --port 8765 --scenario demo.json [--loop] [--default-text TEXT]

Ready-made scenarios live in tests/fake_server/scenarios/ (demo.json: a short tool-using session;
long_answer.json: a long streamed Markdown answer for benchmarks).

A scenario is a JSON list of entries in the script vocabulary, e.g.
    [{"text": "Let me look.", "tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]},
     {"thinking": "Hmm.", "text": "Done.", "usage": {"input_tokens": 100, "output_tokens": 20}},
     {"fault": "overloaded"},
     {"fault": "disconnect", "after_events": 5}]
or an object {"replies": [...], "default": {...}, "loop": true, "rules": [{..., "match": {...}}]}.
Non-streaming requests (session titles) are answered "Fake session title" unless --no-title-rule.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.fake_server.script import load_scenario, reply
from tests.fake_server.server import FakeServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (printed)")
    parser.add_argument("--scenario", help="JSON file of replies/faults")
    parser.add_argument("--loop", action="store_true", help="replay the scenario forever")
    parser.add_argument("--default-text", help="answer with this text when the script is empty")
    parser.add_argument("--instant", action="store_true", help="one delta per block, no delays")
    parser.add_argument("--delay", type=float, default=None, help="seconds between events for every reply")
    parser.add_argument("--api-key", help="require this API key")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    parser.add_argument("--no-title-rule", action="store_true",
                        help="let non-streaming requests consume the script too (default: they get a fixed title)")
    args = parser.parse_args(argv)

    server = FakeServer(args.host, args.port, instant=args.instant, api_key=args.api_key)
    if args.scenario:
        try:
            scenario = load_scenario(args.scenario)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"cannot load scenario {args.scenario}: {exc}", file=sys.stderr)
            return 2
        items = scenario.items
        if args.delay is not None:
            from dataclasses import replace

            items = [replace(i, delay_per_event=args.delay) if hasattr(i, "delay_per_event") else i for i in items]
        server.script(*items)
        for rule in scenario.rules:
            server.add_rule(rule)
        server.default_reply = scenario.default
        server.loop_script = scenario.loop or args.loop
    else:
        server.loop_script = args.loop
    if not args.no_title_rule:
        # Cheap non-streaming calls (session titles) get their own answer and leave the script alone.
        server.add_rule(reply(text="Fake session title"), match={"stream": False})
    if args.default_text is not None:
        server.default_reply = reply(text=args.default_text, delay_per_event=args.delay or 0.0)
    if not args.quiet:
        _log_requests(server)
    server.start()
    print(f"fake provider server listening on {server.base_url}", flush=True)
    print(f"  export ANTHROPIC_BASE_URL={server.base_url} OPENAI_BASE_URL={server.openai_base_url}", flush=True)
    print("  export ANTHROPIC_API_KEY=test-key OPENAI_API_KEY=test-key", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _log_requests(server: FakeServer) -> None:
    original = server._record

    def record(request):  # type: ignore[no-untyped-def]
        original(request)
        body = request.body if isinstance(request.body, dict) else {}
        size = len(json.dumps(body)) if body else 0
        answer = request.answer
        label = type(answer).__name__ if answer is not None else "-"
        print(f"#{request.index} {request.method} {request.path} model={body.get('model')} "
              f"stream={request.stream} body={size}B -> {label}", file=sys.stderr, flush=True)

    server._record = record  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(main())
