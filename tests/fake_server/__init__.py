"""A fake Anthropic / OpenAI / OpenAI-compatible provider server for tests.

    from tests.fake_server import FakeServer, reply, tool_call, fault

    with FakeServer() as server:
        server.script(reply(text="hi"), reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})]))
        client = AsyncAnthropic(base_url=server.base_url, api_key="test-key")
        ...
        server.assert_protocol_valid()

See ``server.py`` (endpoints, recording), ``script.py`` (the vocabulary), ``wire.py`` (formats)
and ``protocol.py`` (the conversation checker).
"""

from tests.fake_server.protocol import (
    Violation,
    assert_valid,
    check,
    check_anthropic,
    check_chat,
    check_responses,
)
from tests.fake_server.script import (
    Fault,
    Reply,
    Scenario,
    ToolCall,
    WebSearch,
    fault,
    load_scenario,
    reply,
    tool_call,
    web_search,
)
from tests.fake_server.server import FakeServer, RecordedRequest
from tests.fake_server.tokens import encrypted_reasoning, thinking_signature

__all__ = [
    "FakeServer",
    "Fault",
    "RecordedRequest",
    "Reply",
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
    "reply",
    "thinking_signature",
    "tool_call",
    "web_search",
]
