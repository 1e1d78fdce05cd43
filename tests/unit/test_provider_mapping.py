"""Neutral -> wire mapping of the three providers, id sanitizing, error mapping and the pool.

Request shapes are checked against the installed SDKs' own request TypedDicts (validated by
pydantic with extra keys forbidden), so a field the SDK does not know fails here, not at the
provider. Streaming and error paths through the real providers are in
tests/integration/test_providers.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stoa.core.config import StoaConfig, StoaPaths
from stoa.core.models import ModelInfo, compatible_model, effort_wire_options, resolve_model
from stoa.core.providers import anthropic as anthropic_provider
from stoa.core.providers import openai_chat, openai_responses
from stoa.core.providers.base import ProviderError, ProviderRequest, TextDelta, ToolCallDelta, ToolCallStart
from stoa.core.providers.convert import (
    PLACEHOLDER_TEXT,
    sanitize_tool_id,
    status_error,
    stream_error,
)
from stoa.core.providers.factory import ProviderPool
from stoa.core.providers.types import (
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    user_text,
)
from tests.sdk_contract import assert_conforms, without_assistant_messages

REPO_ROOT = Path(__file__).resolve().parents[2]

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
FOREIGN_ID = "functions.read_file:0"  # a Kimi/OpenRouter-style id: '.' and ':' are not allowed
PNG = "iVBORw0KGgo="


def _request(messages: list[Message], **kwargs: Any) -> ProviderRequest:
    base: dict[str, Any] = {
        "model": "m",
        "system": "You are Stoa.",
        "messages": messages,
        "tools": [READ_FILE],
        "max_tokens": 1000,
    }
    base.update(kwargs)
    return ProviderRequest(**base)


def claude_history() -> list[Message]:
    """A conversation as the Anthropic provider records it: signed thinking, a tool call."""
    return [
        user_text("read a.txt"),
        Message(
            role="assistant",
            provider="anthropic",
            content=[
                ThinkingBlock(thinking="I should read it.", signature="sig-1", origin="anthropic"),
                RedactedThinkingBlock(data="opaque"),
                TextBlock(text="Reading."),
                ToolUseBlock(id="toolu_01", name="read_file", input={"path": "a.txt"}),
            ],
        ),
        Message(
            role="user", content=[ToolResultBlock(tool_use_id="toolu_01", content=[TextBlock(text="hello")])]
        ),
        Message(role="assistant", provider="anthropic", content=[TextBlock(text="It says hello.")]),
        user_text("and the screenshot?"),
    ]


def gpt_history() -> list[Message]:
    """A conversation as the Responses provider records it: encrypted reasoning, odd call ids."""
    return [
        user_text("read a.txt"),
        Message(
            role="assistant",
            provider="openai",
            content=[
                ThinkingBlock(thinking="summary", origin="openai", item_id="rs_1", encrypted_content="enc-1"),
                ToolUseBlock(id=FOREIGN_ID, name="read_file", input={"path": "a.txt"}, item_id="fc_1"),
            ],
        ),
        Message(
            role="user",
            content=[
                ToolResultBlock(
                    tool_use_id=FOREIGN_ID,
                    content=[TextBlock(text="see image"), ImageBlock(media_type="image/png", data=PNG)],
                )
            ],
        ),
    ]


def test_the_shape_check_catches_unknown_nested_fields() -> None:
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    good = {
        "model": "m",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
    }
    assert_conforms(good, MessageCreateParamsNonStreaming)
    bad = json.loads(json.dumps(good))
    bad["messages"][0]["content"][0]["bogus"] = 1
    with pytest.raises(AssertionError, match="bogus"):
        assert_conforms(bad, MessageCreateParamsNonStreaming)
    with pytest.raises(AssertionError):
        assert_conforms(
            {**good, "messages": [{"role": "robot", "content": "x"}]}, MessageCreateParamsNonStreaming
        )


# ---- lazy imports ------------------------------------------------------------------------------


def test_importing_the_provider_modules_does_not_import_any_sdk() -> None:
    code = (
        "import sys\n"
        "import stoa.core.providers.anthropic, stoa.core.providers.openai_responses, stoa.core.providers.openai_chat\n"
        "import stoa.core.providers.factory, stoa.core.providers.convert\n"
        "print(sorted(m for m in ('anthropic', 'openai', 'httpx2', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_building_a_provider_from_the_pool_does_not_import_any_sdk(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from stoa.core.config import StoaConfig, StoaPaths\n"
        "from stoa.core.models import resolve_model\n"
        "from stoa.core.providers.factory import ProviderPool\n"
        f"home = Path({str(tmp_path)!r})\n"
        "env = {'ANTHROPIC_API_KEY': 'k', 'OPENAI_API_KEY': 'k', 'STOA_HOME': str(home)}\n"
        "pool = ProviderPool(StoaConfig(paths=StoaPaths.from_env(env), workspace=home, env=env))\n"
        "for name in ('sonnet', 'gpt'):\n"
        "    pool(resolve_model(name))\n"
        "pool(resolve_model('llama3', 'ollama'))\n"
        "print(sorted(m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ---- tool ids ------------------------------------------------------------------------------------


def test_valid_ids_are_kept_unchanged() -> None:
    for raw in ("toolu_01ABC", "call_abc-123", "x"):
        assert sanitize_tool_id(raw) == raw


def test_invalid_ids_are_cleaned_deterministically_and_stay_distinct() -> None:
    a = sanitize_tool_id("functions.read_file:0")
    b = sanitize_tool_id("functions.read_file:1")
    assert a == sanitize_tool_id("functions.read_file:0")
    assert a != b
    for value in (a, b):
        assert all(c.isalnum() or c in "_-" for c in value)


def test_long_ids_are_cut_to_the_limit_without_collisions() -> None:
    long_a, long_b = "call_" + "a" * 80, "call_" + "a" * 79 + "b"
    a, b = sanitize_tool_id(long_a, max_len=40), sanitize_tool_id(long_b, max_len=40)
    assert len(a) <= 40 and len(b) <= 40
    assert a != b
    assert sanitize_tool_id("", max_len=40)  # never empty


# ---- Anthropic ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anthropic_request_type() -> Any:
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    return MessageCreateParamsNonStreaming


def test_anthropic_request_is_valid_for_the_sdk(anthropic_request_type: Any) -> None:
    model = resolve_model("claude-opus-4-7")
    wire, max_tokens = effort_wire_options(model, "high", 8000)
    request = _request(
        [*gpt_history(), *claude_history()],
        model=model.id,
        wire_options=wire,
        max_tokens=max_tokens,
        server_tools=("web_search",),
    )
    params = anthropic_provider.build_params(request)
    assert_conforms(params, anthropic_request_type)
    assert params["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert params["output_config"] == {"effort": "high"}


def test_anthropic_keeps_its_own_signed_thinking_and_drops_openai_reasoning() -> None:
    params = anthropic_provider.build_params(_request([*gpt_history(), *claude_history()]))
    blocks = [b for m in params["messages"] for b in m["content"]]
    thinking = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
    assert thinking == [
        {"type": "thinking", "thinking": "I should read it.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
    ]
    assert "enc-1" not in json.dumps(params)


def test_anthropic_drops_unsigned_thinking() -> None:
    history = [
        user_text("hi"),
        Message(
            role="assistant", content=[ThinkingBlock(thinking="x", origin="anthropic"), TextBlock(text="hey")]
        ),
        user_text("again"),
    ]
    params = anthropic_provider.build_params(_request(history))
    assert params["messages"][1]["content"] == [{"type": "text", "text": "hey"}]


def test_anthropic_sanitizes_ids_the_same_way_for_call_and_result() -> None:
    params = anthropic_provider.build_params(_request(gpt_history()))
    call = params["messages"][1]["content"][0]
    result = params["messages"][2]["content"][0]
    assert call["type"] == "tool_use" and result["type"] == "tool_result"
    assert call["id"] == result["tool_use_id"] == sanitize_tool_id(FOREIGN_ID)
    assert call["id"] != FOREIGN_ID


def test_anthropic_tool_result_carries_text_images_and_errors() -> None:
    history = [
        user_text("look"),
        Message(
            role="assistant",
            content=[
                ToolUseBlock(id="t1", name="view_image", input={}),
                ToolUseBlock(id="t2", name="x", input={}),
            ],
        ),
        Message(
            role="user",
            content=[
                ToolResultBlock(
                    tool_use_id="t1", content=[TextBlock(text="cat"), ImageBlock(url="https://x/cat.png")]
                ),
                ToolResultBlock(tool_use_id="t2", content=[TextBlock(text="boom")], is_error=True),
            ],
        ),
    ]
    params = anthropic_provider.build_params(_request(history))
    first, second = params["messages"][2]["content"]
    assert first["content"] == [
        {"type": "text", "text": "cat"},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}},
    ]
    assert "is_error" not in first
    assert second["is_error"] is True
    assert second["content"][0] == {"type": "text", "text": "boom"}


def test_anthropic_user_images_as_base64_source() -> None:
    history = [
        Message(
            role="user",
            content=[TextBlock(text="what is this"), ImageBlock(media_type="image/jpeg", data=PNG)],
        )
    ]
    params = anthropic_provider.build_params(_request(history))
    assert params["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
        "cache_control": {"type": "ephemeral"},
    }


def test_anthropic_tool_choice_none_and_tools_shape() -> None:
    params = anthropic_provider.build_params(_request(claude_history(), tool_choice="none"))
    assert params["tool_choice"] == {"type": "none"}
    assert params["tools"][0]["name"] == "read_file"
    assert params["tools"][0]["input_schema"] == READ_FILE.input_schema
    assert "tool_choice" not in anthropic_provider.build_params(_request(claude_history()))


def test_anthropic_web_search_is_a_server_tool() -> None:
    params = anthropic_provider.build_params(_request(claude_history(), server_tools=("web_search",)))
    search = params["tools"][-1]
    assert search["name"] == "web_search" and search["type"].startswith("web_search_")


def test_anthropic_cache_breakpoints_at_most_four_in_the_right_places() -> None:
    params = anthropic_provider.build_params(_request(claude_history(), server_tools=("web_search",)))
    marked = [b for b in params["system"] if "cache_control" in b]
    marked += [t for t in params["tools"] if "cache_control" in t]
    in_messages = [
        (i, b) for i, m in enumerate(params["messages"]) for b in m["content"] if "cache_control" in b
    ]
    assert len(marked) + len(in_messages) == 4
    assert "cache_control" in params["tools"][-1]
    users = [i for i, m in enumerate(params["messages"]) if m["role"] == "user"]
    assert [i for i, _ in in_messages] == users[-2:]
    # without system and tools the two user breakpoints remain
    bare = anthropic_provider.build_params(_request(claude_history(), system="", tools=[]))
    assert "system" not in bare and "tools" not in bare
    assert sum("cache_control" in b for m in bare["messages"] for b in m["content"]) == 2


def test_anthropic_merges_same_role_messages_and_fills_empty_ones() -> None:
    history = [
        user_text("one"),
        user_text("two"),
        Message(
            role="assistant",
            content=[ThinkingBlock(thinking="r", origin="openai", item_id="rs", encrypted_content="e")],
        ),
        user_text("three"),
    ]
    messages = anthropic_provider.build_params(_request(history, tools=[]))["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["text"] for b in messages[0]["content"]] == ["one", "two"]
    assert messages[1]["content"] == [{"type": "text", "text": PLACEHOLDER_TEXT}]


def test_anthropic_tool_results_lead_merged_user_messages() -> None:
    history = [
        user_text("go"),
        Message(role="assistant", content=[ToolUseBlock(id="t1", name="read_file", input={"path": "a"})]),
        Message(
            role="user",
            content=[
                TextBlock(text="steer"),
                ToolResultBlock(tool_use_id="t1", content=[TextBlock(text="ok")]),
            ],
        ),
    ]
    messages = anthropic_provider.build_params(_request(history))["messages"]
    assert [b["type"] for b in messages[2]["content"]] == ["tool_result", "text"]


def test_anthropic_turns_thinking_off_when_the_tool_loop_began_elsewhere() -> None:
    model = resolve_model("claude-sonnet-4-6")
    wire, _ = effort_wire_options(model, "high", 8000)
    params = anthropic_provider.build_params(_request(gpt_history(), wire_options=wire))
    assert params["thinking"] == {"type": "disabled"}
    # its own loop, which starts with signed thinking, keeps thinking on
    own = claude_history()[:3]
    assert anthropic_provider.build_params(_request(own, wire_options=wire))["thinking"] == {
        "type": "adaptive"
    }


def test_anthropic_thinking_rule_for_claude_messages_without_thinking() -> None:
    # Claude's own tool call made without thinking (adaptive skipped it, or effort was off).
    history = [
        user_text("go"),
        Message(
            role="assistant",
            provider="anthropic",
            content=[ToolUseBlock(id="toolu_9", name="read_file", input={"path": "a"})],
        ),
        Message(
            role="user", content=[ToolResultBlock(tool_use_id="toolu_9", content=[TextBlock(text="ok")])]
        ),
    ]
    adaptive, _ = effort_wire_options(resolve_model("claude-sonnet-4-6"), "high", 8000)
    assert anthropic_provider.build_params(_request(history, wire_options=adaptive))["thinking"] == {
        "type": "adaptive"
    }
    budget, max_tokens = effort_wire_options(resolve_model("claude-haiku-4-5"), "medium", 8000)
    params = anthropic_provider.build_params(_request(history, wire_options=budget, max_tokens=max_tokens))
    assert params["thinking"] == {"type": "disabled"}
    # once the loop is over (a plain answer came last) thinking is back
    done = [
        *history,
        Message(role="assistant", provider="anthropic", content=[TextBlock(text="done")]),
        user_text("next"),
    ]
    assert (
        anthropic_provider.build_params(_request(done, wire_options=budget))["thinking"]["type"] == "enabled"
    )


def test_anthropic_budget_thinking_wire_options_are_merged() -> None:
    model = resolve_model("claude-haiku-4-5")
    wire, max_tokens = effort_wire_options(model, "medium", 4000)
    params = anthropic_provider.build_params(
        _request(claude_history(), wire_options=wire, max_tokens=max_tokens)
    )
    assert params["thinking"]["type"] == "enabled"
    assert params["max_tokens"] > params["thinking"]["budget_tokens"]


def test_anthropic_trailing_assistant_message_is_not_sent_as_a_prefill() -> None:
    history = [user_text("hi"), Message(role="assistant", content=[TextBlock(text="partial")])]
    messages = anthropic_provider.build_params(_request(history))["messages"]
    assert messages[-1]["role"] == "user"


# ---- OpenAI Responses --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def responses_request_type() -> Any:
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

    return ResponseCreateParamsNonStreaming


def test_responses_request_is_valid_for_the_sdk(responses_request_type: Any) -> None:
    model = resolve_model("gpt")
    wire, max_tokens = effort_wire_options(model, "high", 8000)
    request = _request(
        [*claude_history(), *gpt_history()],
        model=model.id,
        wire_options=wire,
        max_tokens=max_tokens,
        server_tools=("web_search",),
    )
    params = openai_responses.build_params(request)
    assert_conforms(without_assistant_messages(params), responses_request_type)
    assert params["store"] is False
    assert params["include"] == ["reasoning.encrypted_content"]
    assert params["instructions"] == "You are Stoa."
    assert params["reasoning"]["effort"] == "high"
    assert params["max_output_tokens"] == max_tokens
    assert {"type": "web_search"} in params["tools"]
    assert params["tools"][0] == {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "parameters": READ_FILE.input_schema,
        "strict": False,
    }


def test_responses_carries_its_own_reasoning_and_drops_anthropic_thinking() -> None:
    items = openai_responses.build_params(_request([*claude_history(), *gpt_history()]))["input"]
    reasoning = [i for i in items if i.get("type") == "reasoning"]
    assert reasoning == [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "summary"}],
            "encrypted_content": "enc-1",
        }
    ]
    # No item ids on any input item (store=False: ids would be looked up, and fail).
    assert not [i for i in items if "id" in i]
    dumped = json.dumps(items)
    assert "sig-1" not in dumped and "opaque" not in dumped and "I should read it." not in dumped


def test_responses_drops_reasoning_without_encrypted_content_or_following_output() -> None:
    history = [
        user_text("hi"),
        Message(
            role="assistant",
            content=[ThinkingBlock(thinking="x", origin="openai", item_id="rs_x"), TextBlock(text="a")],
        ),
        user_text("again"),
        Message(
            role="assistant",
            content=[
                TextBlock(text="b"),
                ThinkingBlock(thinking="y", origin="openai", item_id="rs_y", encrypted_content="e"),
            ],
        ),
        user_text("more"),
    ]
    items = openai_responses.build_params(_request(history))["input"]
    assert not [i for i in items if i.get("type") == "reasoning"]


def test_responses_messages_calls_and_outputs() -> None:
    items = openai_responses.build_params(_request(claude_history()))["input"]
    assert items[0] == {"role": "user", "content": [{"type": "input_text", "text": "read a.txt"}]}
    assert items[1] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Reading."}],
    }
    assert items[2] == {
        "type": "function_call",
        "call_id": "toolu_01",
        "name": "read_file",
        "arguments": '{"path":"a.txt"}',
    }
    assert items[3] == {"type": "function_call_output", "call_id": "toolu_01", "output": "hello"}
    assert items[4]["content"][0]["text"] == "It says hello."


def test_responses_function_output_with_images_and_sanitized_ids() -> None:
    items = openai_responses.build_params(_request(gpt_history()))["input"]
    call = next(i for i in items if i.get("type") == "function_call")
    output = next(i for i in items if i.get("type") == "function_call_output")
    assert call["call_id"] == output["call_id"] == sanitize_tool_id(FOREIGN_ID)
    assert "id" not in call  # item ids are not sent with store=False
    assert output["output"] == [
        {"type": "input_text", "text": "see image"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
    ]


def test_responses_error_results_say_so_and_user_images_are_input_images() -> None:
    history = [
        Message(role="user", content=[TextBlock(text="what"), ImageBlock(url="https://x/y.png")]),
        Message(role="assistant", content=[ToolUseBlock(id="c1", name="read_file", input={})]),
        Message(
            role="user",
            content=[ToolResultBlock(tool_use_id="c1", content=[TextBlock(text="nope")], is_error=True)],
        ),
    ]
    items = openai_responses.build_params(_request(history))["input"]
    assert items[0]["content"][1] == {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}
    assert items[2]["output"] == "Error: nope"


def test_responses_tool_choice_none_and_placeholders() -> None:
    history = [
        user_text("hi"),
        Message(role="assistant", content=[ThinkingBlock(thinking="t", origin="anthropic", signature="s")]),
        user_text("x"),
    ]
    params = openai_responses.build_params(_request(history, tool_choice="none"))
    assert params["tool_choice"] == "none"
    assert params["input"][1]["content"][0]["text"] == PLACEHOLDER_TEXT


def test_responses_effort_off_maps_to_the_lowest_reasoning() -> None:
    model = resolve_model("gpt")
    wire, _ = effort_wire_options(model, "off", 8000)
    params = openai_responses.build_params(_request(claude_history(), wire_options=wire))
    assert params["reasoning"] == wire["reasoning"]


# ---- Chat Completions --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat_request_type() -> Any:
    from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

    return CompletionCreateParamsStreaming


def test_chat_request_is_valid_for_the_sdk(chat_request_type: Any) -> None:
    params = openai_chat.build_params(_request([*claude_history(), *gpt_history()], tool_choice="none"))
    assert_conforms({k: v for k, v in params.items() if k != "extra_body"}, chat_request_type)
    assert params["stream_options"] == {"include_usage": True}
    assert params["tool_choice"] == "none"
    assert params["tools"][0]["function"]["name"] == "read_file"


def test_chat_system_message_tool_messages_and_dropped_thinking() -> None:
    messages = openai_chat.build_params(_request(claude_history()))["messages"]
    assert messages[0] == {"role": "system", "content": "You are Stoa."}
    assert messages[1] == {"role": "user", "content": "read a.txt"}
    assert messages[2] == {
        "role": "assistant",
        "content": "Reading.",
        "tool_calls": [
            {
                "id": "toolu_01",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'},
            }
        ],
    }
    assert messages[3] == {"role": "tool", "tool_call_id": "toolu_01", "content": "hello"}
    assert "sig-1" not in json.dumps(messages) and "I should read it." not in json.dumps(messages)


def test_chat_tool_images_follow_in_a_user_message() -> None:
    messages = openai_chat.build_params(_request(gpt_history()))["messages"]
    call_id = sanitize_tool_id(FOREIGN_ID, max_len=openai_chat.TOOL_ID_MAX_LEN)
    assert messages[2]["tool_calls"][0]["id"] == call_id
    assert messages[2]["content"] is None
    assert messages[3] == {"role": "tool", "tool_call_id": call_id, "content": "see image"}
    assert messages[4]["role"] == "user"
    assert messages[4]["content"][-1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG}"},
    }


def test_chat_ids_fit_forty_characters() -> None:
    long_id = "toolu_" + "x" * 60
    history = [
        user_text("go"),
        Message(role="assistant", content=[ToolUseBlock(id=long_id, name="read_file", input={})]),
        Message(role="user", content=[ToolResultBlock(tool_use_id=long_id, content=[TextBlock(text="ok")])]),
    ]
    messages = openai_chat.build_params(_request(history, system=""))["messages"]
    call_id = messages[1]["tool_calls"][0]["id"]
    assert len(call_id) <= 40 and messages[2]["tool_call_id"] == call_id


def test_chat_wire_options_go_in_the_body() -> None:
    params = openai_chat.build_params(
        _request(claude_history(), wire_options={"reasoning": {"effort": "low"}})
    )
    assert params["extra_body"] == {"reasoning": {"effort": "low"}}


def test_chat_accumulates_tool_calls_by_index_and_splits_reused_indexes() -> None:
    acc = openai_chat._Accumulator()

    def chunk(**delta: Any) -> Any:
        return SimpleNamespace(
            usage=None, choices=[SimpleNamespace(index=0, delta=SimpleNamespace(**delta), finish_reason=None)]
        )

    def call(index: int, id: str | None = None, name: str | None = None, arguments: str | None = None) -> Any:
        return SimpleNamespace(index=index, id=id, function=SimpleNamespace(name=name, arguments=arguments))

    events = []
    events += acc.handle(chunk(reasoning_content="hmm", content="Hi"))
    events += acc.handle(chunk(tool_calls=[call(0, "a", "read_file", '{"pa')]))
    events += acc.handle(chunk(tool_calls=[call(0, None, None, 'th":"x"}')]))
    events += acc.handle(chunk(tool_calls=[call(0, "b", "read_file", '{"path":')]))  # server reuses index 0
    events += acc.handle(chunk(tool_calls=[call(1, "a", "read_file", '{"path":"y"}')]))  # and an id
    assert ToolCallStart("a", "read_file") in events and ToolCallStart("b", "read_file") in events
    assert ToolCallDelta("a", 'th":"x"}') in events
    assert TextDelta("Hi") in events
    blocks = acc.content("ollama")
    assert isinstance(blocks[0], ThinkingBlock) and blocks[0].origin == "ollama"
    uses = [b for b in blocks if isinstance(b, ToolUseBlock)]
    assert uses[0].input == {"path": "x"} and uses[0].input_error is None
    assert uses[1].input == {} and uses[1].input_error is not None
    assert [u.id for u in uses] == ["a", "b", "a_2"] and uses[2].input == {"path": "y"}


# ---- error mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail", "kind"),
    [
        (401, "invalid x-api-key", "auth"),
        (403, "forbidden", "auth"),
        (404, "model not found", "not_found"),
        (400, "messages.1: bad", "bad_request"),
        (400, "prompt is too long: 250000 tokens > 200000 maximum", "context_length"),
        (429, "slow down", "rate_limit"),
        (500, "boom", "overloaded"),
        (503, "unavailable", "overloaded"),
        (529, "Overloaded", "overloaded"),
    ],
)
def test_status_errors_map_to_kinds(status: int, detail: str, kind: str) -> None:
    error = status_error("anthropic", status, detail, base_url="http://x", model="m", retry_after=2.0)
    assert error.kind == kind
    assert error.status == status
    if kind == "auth":
        assert "ANTHROPIC_API_KEY" in str(error)
    if kind == "rate_limit":
        assert error.retry_after == 2.0
    if kind == "not_found":
        assert "http://x" in error.message and "'m'" in error.message


def test_errors_inside_a_stream_map_by_code() -> None:
    assert stream_error("anthropic", "overloaded_error", "Overloaded").kind == "overloaded"
    assert stream_error("openai", "rate_limit_exceeded", "slow").kind == "rate_limit"
    assert stream_error("openai", "context_length_exceeded", "too long").kind == "context_length"
    assert stream_error("openai", None, "???").kind == "stream_broken"
    assert stream_error("openai", "invalid_api_key", "bad").hint is not None


# ---- the pool -----------------------------------------------------------------------------------------


def _config(tmp_path: Path, env: dict[str, str]) -> StoaConfig:
    env = {"STOA_HOME": str(tmp_path / "home"), **env}
    return StoaConfig(paths=StoaPaths.from_env(env), workspace=tmp_path, env=env)


def test_pool_builds_one_cached_provider_per_endpoint(tmp_path: Path) -> None:
    pool = ProviderPool(_config(tmp_path, {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o"}), lambda p: None)
    claude = pool(resolve_model("claude-sonnet-4-6"))
    assert claude is pool(resolve_model("claude-opus-4-7"))
    assert type(claude).__name__ == "AnthropicProvider" and claude.name == "anthropic"
    gpt = pool(resolve_model("gpt"))
    assert type(gpt).__name__ == "OpenAIResponsesProvider"
    local = pool(compatible_model("llama3", "ollama"))
    assert isinstance(local, openai_chat.OpenAIChatProvider)
    assert local.base_url == "http://localhost:11434/v1" and local.api_key == "not-needed"
    assert len(pool.providers) == 3


def test_pool_missing_cloud_key_names_the_variable(tmp_path: Path) -> None:
    pool = ProviderPool(_config(tmp_path, {}), lambda p: None)
    for name, var in (("sonnet", "ANTHROPIC_API_KEY"), ("gpt", "OPENAI_API_KEY")):
        with pytest.raises(ProviderError) as info:
            pool(resolve_model(name))
        assert info.value.kind == "auth" and var in str(info.value)
    with pytest.raises(ProviderError) as info:
        pool(compatible_model("x", "openrouter"))
    assert "OPENROUTER_API_KEY" in str(info.value)


def test_pool_base_urls_from_resolver_then_environment(tmp_path: Path) -> None:
    env = {
        "ANTHROPIC_API_KEY": "a",
        "OPENAI_API_KEY": "o",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/anthropic",
    }
    urls = {"openai": "http://127.0.0.1:9/v1", "vllm": "http://127.0.0.1:9/vllm/v1"}
    pool = ProviderPool(_config(tmp_path, env), urls.get)
    assert pool(resolve_model("claude-sonnet-4-6")).base_url == "http://127.0.0.1:9/anthropic"  # type: ignore[attr-defined]
    assert pool(resolve_model("gpt")).base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert pool(compatible_model("q", "vllm")).base_url == "http://127.0.0.1:9/vllm/v1"  # type: ignore[attr-defined]


def test_pool_generic_compatible_server_needs_a_base_url(tmp_path: Path) -> None:
    pool = ProviderPool(_config(tmp_path, {}), lambda p: None)
    with pytest.raises(ProviderError) as info:
        pool(compatible_model("x", "openai-compatible"))
    assert "--base-url" in str(info.value)


def test_pool_rejects_an_unknown_provider(tmp_path: Path) -> None:
    pool = ProviderPool(_config(tmp_path, {"ANTHROPIC_API_KEY": "a"}), lambda p: None)
    odd = ModelInfo(id="x", provider="nowhere", label="x", context_window=1, max_output=1)
    with pytest.raises(ProviderError, match="unknown provider"):
        pool(odd)


async def test_pool_aclose_is_idempotent(tmp_path: Path) -> None:
    pool = ProviderPool(_config(tmp_path, {"ANTHROPIC_API_KEY": "a"}), lambda p: None)
    pool(resolve_model("claude-sonnet-4-6"))
    await pool.aclose()
    await pool.aclose()
    assert pool.providers == []


# ---- stream accumulation of server tools (the fake server does not render these) ------------------


def test_anthropic_web_search_blocks_are_shown_and_kept_for_a_paused_turn() -> None:
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    from stoa.core.providers.base import ServerToolActivity

    parse = TypeAdapter(RawMessageStreamEvent).validate_python
    result = {"type": "web_search_result", "url": "https://x.dev", "title": "X", "encrypted_content": "abc"}
    raw_events = [
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": "x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"query": "stoa"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": [result],
            },
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Found it."}},
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "pause_turn"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    acc = anthropic_provider._Accumulator()
    events = [out for raw in raw_events for out in acc.handle(parse(raw))]
    assert ServerToolActivity("web_search", "searching: stoa") in events
    assert ServerToolActivity("web_search", "1 result") in events
    # The neutral message keeps the text only; the wire content (to resume the pause) keeps all.
    assert acc.content() == [TextBlock(text="Found it.")]
    assert [b["type"] for b in acc.wire_content()] == ["server_tool_use", "web_search_tool_result", "text"]
    assert acc.wire_content()[0]["input"] == {"query": "stoa"}
    assert acc.wire_content()[1]["content"][0]["url"] == "https://x.dev"
    assert acc.stop_reason == "pause_turn" and acc.usage.input_tokens == 5 and acc.usage.output_tokens == 9


def test_responses_web_search_and_multi_part_reasoning_summaries() -> None:
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    from stoa.core.providers.base import ServerToolActivity, ThinkingDelta

    parse = TypeAdapter(ResponseStreamEvent).validate_python
    reasoning_item = {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "one"}, {"type": "summary_text", "text": "two"}],
        "encrypted_content": "enc",
    }
    raw_events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "sequence_number": 1,
            "item": {**reasoning_item, "summary": []},
        },
        *[
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": "rs_1",
                "output_index": 0,
                "summary_index": index,
                "delta": text,
                "sequence_number": 2 + index,
            }
            for index, text in enumerate(("one", "two"))
        ],
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "sequence_number": 4,
            "item": reasoning_item,
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "sequence_number": 5,
            "item": {
                "id": "ws_1",
                "type": "web_search_call",
                "status": "in_progress",
                "action": {"type": "search", "query": "stoa"},
            },
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "sequence_number": 6,
            "item": {
                "id": "ws_1",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": "stoa"},
            },
        },
    ]
    acc = openai_responses._Accumulator("openai")
    events = [out for raw in raw_events for out in acc.handle(parse(raw))]
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["one", "\n\ntwo"]
    assert ServerToolActivity("web_search", "searched: stoa") in events
    (thinking,) = acc.content()
    assert isinstance(thinking, ThinkingBlock)
    assert (thinking.thinking, thinking.item_id, thinking.encrypted_content) == ("one\n\ntwo", "rs_1", "enc")


# ---- requests that declare no tools ------------------------------------------------------------------


def test_without_tools_the_history_tool_blocks_become_text_on_every_provider() -> None:
    request = _request(gpt_history(), tools=[])
    anthropic_params = anthropic_provider.build_params(request)
    blocks = [b for m in anthropic_params["messages"] for b in m["content"]]
    assert {b["type"] for b in blocks} == {"text", "image"}
    assert any("[called tool read_file with" in b.get("text", "") for b in blocks)
    assert any(b.get("text", "").startswith("[result of read_file]\nsee image") for b in blocks)

    items = openai_responses.build_params(request)["input"]
    assert not [i for i in items if i.get("type") in ("function_call", "function_call_output")]
    assert "tools" not in openai_responses.build_params(request)

    messages = openai_chat.build_params(request)["messages"]
    assert not [m for m in messages if m["role"] == "tool" or m.get("tool_calls")]
    assert "tools" not in openai_chat.build_params(request)


def test_anthropic_web_search_alone_still_counts_as_declared_tools() -> None:
    params = anthropic_provider.build_params(
        _request(claude_history()[:3], tools=[], server_tools=("web_search",))
    )
    assert any(b["type"] == "tool_use" for m in params["messages"] for b in m["content"])


def test_pool_reads_ollama_host_and_openai_base_url_for_the_generic_server(tmp_path: Path) -> None:
    env = {"OLLAMA_HOST": "0.0.0.0:11500", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    pool = ProviderPool(_config(tmp_path, env), lambda p: None)
    assert pool.base_url("ollama") == "http://127.0.0.1:11500/v1"
    assert pool.base_url("openai-compatible") == "http://127.0.0.1:9/v1"
    assert pool.base_url("lmstudio") is None  # its default applies
    # an explicit --base-url still wins
    explicit = ProviderPool(_config(tmp_path, env), {"ollama": "http://gpu:11434/v1"}.get)
    assert explicit.base_url("ollama") == "http://gpu:11434/v1"


# ---- repeated ids, judged by the fake server's protocol checker ------------------------------------


def _local_loop(call_id: str, path: str) -> list[Message]:
    """One tool round trip as a local server records it, always with the same call id."""
    return [
        Message(
            role="assistant",
            provider="ollama",
            content=[ToolUseBlock(id=call_id, name="read_file", input={"path": path})],
        ),
        Message(role="user", content=[ToolResultBlock(tool_use_id=call_id, content=[TextBlock(text=path)])]),
    ]


def test_repeated_tool_ids_are_made_unique_for_every_provider() -> None:
    from tests.fake_server import check

    history = [
        user_text("read three files"),
        *_local_loop("call_0", "a"),
        *_local_loop("call_0", "b"),
        # one message with two calls sharing an id, answered in order
        Message(
            role="assistant",
            provider="ollama",
            content=[
                ToolUseBlock(id="call_0", name="read_file", input={"path": "c"}),
                ToolUseBlock(id="call_0", name="read_file", input={"path": "d"}),
            ],
        ),
        Message(
            role="user",
            content=[
                ToolResultBlock(tool_use_id="call_0", content=[TextBlock(text="c")]),
                ToolResultBlock(tool_use_id="call_0", content=[TextBlock(text="d")]),
            ],
        ),
    ]
    request = _request(history)
    anthropic_params = anthropic_provider.build_params(request)
    assert check("anthropic", anthropic_params) == []
    pairs = {}
    for message in anthropic_params["messages"]:
        for block in message["content"]:
            if block["type"] == "tool_use":
                pairs[block["id"]] = block["input"]["path"]
            if block["type"] == "tool_result":
                assert pairs[block["tool_use_id"]] == block["content"][0]["text"]
    assert len(pairs) == 4
    assert check("responses", openai_responses.build_params(request)) == []
    assert check("chat", openai_chat.build_params(request)) == []


def test_every_mapping_of_the_mixed_history_passes_the_protocol_checker() -> None:
    from tests.fake_server import check

    history = [*gpt_history(), *claude_history()]
    for tools in ([READ_FILE], []):
        request = _request(history, tools=tools)
        assert check("anthropic", anthropic_provider.build_params(request)) == []
        assert check("responses", openai_responses.build_params(request)) == []
        assert check("chat", openai_chat.build_params(request)) == []


def test_responses_max_output_tokens_is_at_least_the_api_minimum() -> None:
    # A one-token connection check must not send max_output_tokens below 16 (a 400).
    assert openai_responses.build_params(_request([user_text("ping")], max_tokens=1))["max_output_tokens"] == 16
    assert openai_responses.build_params(_request([user_text("ping")], max_tokens=900))["max_output_tokens"] == 900


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("overloaded_error", "overloaded"),
        ("timeout_error", "overloaded"),
        ("billing_error", "other"),
        ("server_error", "overloaded"),
        ("invalid_image_url", "bad_request"),
        ("image_too_large", "bad_request"),
        ("something_new", "stream_broken"),
        (None, "stream_broken"),
    ],
)
def test_in_stream_error_codes(code: str | None, kind: str) -> None:
    from stoa.core.providers.convert import stream_error

    assert stream_error("p", code, "detail").kind == kind


def test_merge_deltas_joins_runs_of_one_stream_and_keeps_the_order() -> None:
    from stoa.core.providers.base import (
        ServerToolActivity,
        TextDelta,
        ThinkingDelta,
        ToolCallDelta,
        ToolCallStart,
        merge_deltas,
    )

    events = [
        ThinkingDelta("a"), ThinkingDelta("b"),
        TextDelta("c"), TextDelta("d"), TextDelta("e"),
        ToolCallStart("t1", "read_file"), ToolCallDelta("t1", '{"pa'), ToolCallDelta("t1", 'th"'),
        ToolCallDelta("t2", "{}"),
        ServerToolActivity("web_search", "searching"),
        TextDelta("f"),
    ]  # fmt: skip
    assert merge_deltas(events) == [
        ThinkingDelta("ab"),
        TextDelta("cde"),
        ToolCallStart("t1", "read_file"),
        ToolCallDelta("t1", '{"path"'),
        ToolCallDelta("t2", "{}"),
        ServerToolActivity("web_search", "searching"),
        TextDelta("f"),
    ]
    assert merge_deltas([TextDelta("x")]) == [TextDelta("x")] and merge_deltas([]) == []
