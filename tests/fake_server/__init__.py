"""A fake Anthropic / OpenAI / OpenAI-compatible provider server for tests.

    from tests.fake_server import FakeServer, fault, reply, tool_call

    def test_x(fake_server):                      # fixture from tests/conftest.py
        fake_server.script(
            reply(text="Let me look.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
            reply(text="It says hi.", input_tokens=100, output_tokens=20, cache_read_tokens=900),
        )
        ...  # point the SDK / Stoa at fake_server.base_url (Anthropic) or .openai_base_url (OpenAI)
        second = fake_server.model_requests()[1]
        assert second.tool_results[0].text == "hi"

Script vocabulary (``script.py``), provider-neutral: each model request takes the first queued
item it matches and the server renders it for the endpoint hit (``/v1/messages``,
``/v1/responses``, ``/v1/chat/completions``; ``stream`` true = SSE, false = one JSON body).

- ``reply(text=None, thinking=None, tool_calls=(), usage=None, stop=None, chunk_size=16,
  delay_per_event=0.0, *, redacted_thinking=None, web_searches=(), instant=False, model=None,
  match=None, **usage_kwargs)``. Usage fields: input_tokens (uncached), output_tokens,
  cache_read_tokens, cache_write_tokens, reasoning_tokens; unscripted usage is estimated,
  scripted usage is exact (others 0). ``stop``: end_turn | tool_use | max_tokens | refusal |
  pause_turn | stop_sequence (default tool_use when there are tool calls, else end_turn).
- ``tool_call(name, arguments=dict | raw str, id=None)``; ``web_search(query, [(title, url)])``.
- ``fault(kind, *, after_events=None, seconds=0.0, retry_after=None, message=None, reply=None,
  match=None)``. kinds: overloaded (529 / 503), server_error (500), rate_limit (429 +
  retry-after), auth (401), permission (403), not_found (404), bad_request (400),
  context_length (400, "prompt is too long" / context_length_exceeded); with ``after_events``
  on a stream these become the provider's in-stream error event. disconnect (cut after N
  events; None = no response at all), malformed (garbage data line after N events), stall
  (silent for ``seconds`` after N events, then the rest), hang (no headers for ``seconds``).
- ``raw(events=[...], *, body=None, status=200, headers=None, event_lines=True,
  content_type=None, match=None)``: a hand-written response sent as it is (an SSE stream of
  dicts / ``(event_name, data)`` pairs / verbatim str or bytes, or one ``body``), for wire
  variants the renderers never produce. ``sse_chunk(data, event=None)`` renders one event.
- ``respond(fn, *, match=None)``: an answer computed from the request (``fn(RecordedRequest)``
  returns a reply / fault / raw), e.g. a fake model that summarises what it was sent.
- ``match``: a callable(RecordedRequest) or a dict: "path", "method", "stream" or any top-level
  body field (e.g. {"model": "claude-haiku-4-5"}).

Server (``server.py``): ``FakeServer(host, port=0, *, default_reply=None, instant=False,
loop_script=False, api_key=None, chat_reasoning_field="reasoning_content", models=None,
enforce_rules=True, cache=False)``; ``cache=True`` simulates prompt caching (``caching.py``:
Anthropic breakpoints with the 20-block lookback, OpenAI's automatic prefix caching per
``prompt_cache_key``) in the usage of unscripted replies; ``models`` holds ids or ``ModelSpec``s (``rules.py``): each model request
is checked against its model's rules first (a 400 / 404 body as the real API sends, recorded in
``RecordedRequest.rejection``, no script item used);
``start()/stop()``, sync and async context manager; ``base_url``, ``openai_base_url``;
``script(*items)``, ``add_rule(item, match)`` (standing answer, never consumed), ``pending``,
``clear()``, ``assert_script_consumed()``; ``requests``, ``model_requests(format=None)``,
``last_request``, ``wait_for_requests(n)``, ``await wait_for_requests_async(n)``;
``assert_protocol_valid()``; ``default_reply``, ``instant``, ``loop_script``, ``api_key``,
``models``. SDK retries consume script items too (use max_retries=0 for single-shot faults).

``RecordedRequest``: method, path, query, headers (lower-case), body (= ``json``), raw_body,
format (anthropic | responses | chat | None), answer (the Reply/Fault used), index; stream,
model, api_key, header(name); neutral views: tool_calls, tool_results, system, user_texts,
tool_names.

Protocol checker (``protocol.py``): ``check(fmt, body) -> [Violation]``,
``assert_valid(fmt, body)``; the conftest runs it on every request of every server a test
started, unless the test is marked ``@pytest.mark.protocol_invalid_ok``.
"""

from tests.fake_server.protocol import (
    Violation,
    assert_valid,
    check,
    check_anthropic,
    check_chat,
    check_responses,
)
from tests.fake_server.rules import KNOWN_SPECS, ModelSpec
from tests.fake_server.script import (
    Fault,
    Raw,
    Reply,
    Respond,
    Scenario,
    ToolCall,
    WebSearch,
    fault,
    load_scenario,
    raw,
    reply,
    respond,
    sse_chunk,
    tool_call,
    web_search,
)
from tests.fake_server.server import FakeServer, RecordedRequest
from tests.fake_server.tokens import encrypted_reasoning, thinking_signature

__all__ = [
    "KNOWN_SPECS",
    "FakeServer",
    "Fault",
    "ModelSpec",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Respond",
    "Scenario",
    "ToolCall",
    "Violation",
    "WebSearch",
    "assert_valid",
    "check",
    "check_anthropic",
    "check_chat",
    "check_responses",
    "encrypted_reasoning",
    "fault",
    "load_scenario",
    "raw",
    "reply",
    "respond",
    "sse_chunk",
    "thinking_signature",
    "tool_call",
    "web_search",
]
