"""Long-conversation benchmark (a script, not a test): `.venv/bin/python -m tests.bench.bench_tui_long`

Writes a saved session of 1,000 messages (prompts, Markdown replies with lists and code,
read_file calls with their results) through the real session recorder into a real SQLite
file, then runs ``stoa -c`` in tmux at 120x40 and measures:

- time from start to the resumed conversation's last reply on screen with a ready composer;
- keystroke echo latency in that conversation (a key sent to tmux until it shows);
- the app's resident memory (RSS) after loading and typing;
- the CPU it uses while idle (no timers or animations should run).

Targets (issue 3): typing latency < 50 ms, RSS < 200 MB.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from stoa.core import events as ev
from stoa.core.providers.types import Message, TextBlock, ToolResultBlock, ToolUseBlock, Usage, user_text
from stoa.core.sessions.recorder import SessionRecorder
from stoa.core.sessions.store import SessionSeed, SessionStore
from tests.bench.tui_harness import TmuxStoa, median, ms, require_tmux
from tests.fake_server import FakeServer

MESSAGES = 1_000
LAST_REPLY = "FINAL-REPLY-MARKER"

REPLY = """Here is what **module {i}** does:

- it reads the configuration
- it validates each field and reports the line

```python
def handler_{i}(request):
    return respond(request, status=200)
```
"""

FILE = "".join(f"{n:>4}\tline {n} of a source file that the model read\n" for n in range(1, 120))


async def write_session(database: Path, project: Path, messages: int = MESSAGES) -> None:
    store = await SessionStore.open(database)
    seed = SessionSeed(str(uuid.uuid4()), str(project), "claude-sonnet-4-6", "anthropic", "auto", "medium")
    recorder = SessionRecorder(store, seed)
    i = 0
    while recorder.messages_saved < messages:
        prompt = f"prompt {i}: what does module {i} do?"
        await recorder.message_added(user_text(prompt), replaces_last=False)
        await recorder.event(ev.TurnStarted(str(i), prompt, "claude-sonnet-4-6", "medium"))
        call = ToolUseBlock(id=f"toolu_{i}", name="read_file", input={"path": f"src/module_{i}.py"})
        ask = Message(role="assistant", content=[TextBlock(text=f"Reading module {i}."), call],
                      model="claude-sonnet-4-6", usage=Usage(input_tokens=1200, output_tokens=80))
        await recorder.message_added(ask, replaces_last=False)
        await recorder.event(ev.ToolCallStarted(call.id, call.name, call.input, summary=call.input["path"]))
        await recorder.event(ev.ToolCallFinished(call.id, call.name, False, FILE, display={"kind": "text", "text": FILE}))
        result = Message(role="user", content=[ToolResultBlock(tool_use_id=call.id, content=[TextBlock(text=FILE)])])
        await recorder.message_added(result, replaces_last=False)
        text = REPLY.format(i=i)
        if recorder.messages_saved >= messages - 1:
            text += f"\n{LAST_REPLY}\n"
        final = Message(role="assistant", content=[TextBlock(text=text)], model="claude-sonnet-4-6",
                        usage=Usage(input_tokens=1500, output_tokens=200))
        await recorder.message_added(final, replaces_last=False)
        await recorder.event(ev.TurnFinished(None, text, 2))
        i += 1
    await recorder.aclose()
    await store.aclose()


def main() -> int:
    require_tmux()
    server = FakeServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
            app = TmuxStoa(Path(tmp), server.base_url, args=("-c",))
            database = app.stoa_home / "data" / "sessions.db"
            database.parent.mkdir(parents=True)
            asyncio.run(write_session(database, app.workspace.resolve()))
            started = app.start()
            try:
                ready = app.wait_for_last_line(
                    lambda screen: LAST_REPLY in screen and "Message Stoa" in screen, timeout=60
                )
                time.sleep(1.0)
                latencies: list[float] = []
                typed = ""
                for _ in range(20):
                    typed += "Q"
                    t = time.perf_counter()
                    app.send_keys("Q", literal=True)
                    app.wait_for_last_line(
                        lambda screen, typed=typed: any(typed in line for line in screen.splitlines()[-6:])
                    )
                    latencies.append(time.perf_counter() - t)
                    time.sleep(0.1)
                rss = app.rss_kib()
                time.sleep(1.0)
                cpu_before = app.cpu_seconds()
                time.sleep(10.0)
                idle_cpu = app.cpu_seconds() - cpu_before
            finally:
                app.stop()
    finally:
        server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average: {load}")
    print(f"resume of a {MESSAGES}-message session (stoa -c) to the last reply on screen: {ms(ready - started)}")
    print(f"keystroke echo: median {ms(median(latencies))}, max {ms(max(latencies))} (target < 50 ms)")
    print(f"RSS: {rss / 1024:.0f} MB (target < 200 MB)")
    print(f"idle CPU (10 s, nothing happening): {idle_cpu * 1000:.0f} ms = {idle_cpu * 10:.1f}% of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
