"""Wire renderers: one scripted ``Reply`` or ``Fault`` as each real API would send it.

Three formats, chosen by the endpoint a request hit:

- ``AnthropicWire``  ``POST /v1/messages``         (Messages API SSE or JSON)
- ``ResponsesWire``  ``POST /v1/responses``        (OpenAI Responses SSE or JSON)
- ``ChatWire``       ``POST /v1/chat/completions`` (Chat Completions SSE or JSON)

Each renderer returns whole SSE events as bytes (``event: ...\\ndata: ...\\n\\n``), so the server
can count events for faults that hit "after N events". Event and field shapes follow the SDK
types (anthropic 2.12 ``RawMessageStreamEvent``, openai 3.54 ``ResponseStreamEvent`` and
``ChatCompletionChunk``); the SDK stream accumulators parse every one of them.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tests.fake_server.script import USAGE_FIELDS, Reply, ToolCall
from tests.fake_server.tokens import encrypted_reasoning, thinking_signature

Json = dict[str, Any]


def sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def chunks(text: str, size: int | None) -> list[str]:
    """Split text into deltas (never an empty list for a non-empty text)."""
    if not text:
        return []
    if not size or size <= 0:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


def arg_chunks(arguments: str, size: int | None) -> list[str]:
    """Tool arguments arrive in several pieces even for small objects, as the APIs send them."""
    if not arguments:
        return []
    if size is None:
        return [arguments]
    size = max(1, min(size, max(1, len(arguments) // 3)))
    return chunks(arguments, size)


class Ids:
    """Deterministic ids, unique per server."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._counter):05d}"


@dataclass
class Issued:
    """What the server handed out that a client must carry forward unchanged (the protocol
    checker compares later requests against it)."""

    # Anthropic: tool_use id -> the thinking / redacted_thinking blocks of the same message.
    anthropic_thinking: dict[str, list[Json]] = field(default_factory=dict)
    # Responses: function_call item id (fc_...) -> the reasoning item id (rs_...) before it.
    responses_reasoning: dict[str, str] = field(default_factory=dict)


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def neutral_usage(reply: Reply, body: Mapping[str, Any]) -> dict[str, int]:
    """The reply's usage with every neutral field filled: as scripted (unnamed fields 0), or
    estimated from the request and reply sizes when the reply has no usage."""
    out_chars = (reply.text or "") + (reply.thinking or "") + "".join(
        c.name + c.arguments_json for c in reply.tool_calls
    )
    if reply.usage is not None:  # scripted: exactly these numbers, the rest 0
        return {name: int(reply.usage.get(name, 0)) for name in USAGE_FIELDS}
    return {
        "input_tokens": estimate_tokens(json.dumps(body, default=str)),
        "output_tokens": estimate_tokens(out_chars),
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": estimate_tokens(reply.thinking) if reply.thinking else 0,
    }


class Wire:
    """What every format provides."""

    name: ClassVar[str]

    def __init__(self, ids: Ids, chat_reasoning_field: str = "reasoning_content", issued: Issued | None = None) -> None:
        self.ids = ids
        self.chat_reasoning_field = chat_reasoning_field
        self.issued = issued if issued is not None else Issued()

    def stream(self, reply: Reply, body: Mapping[str, Any]) -> Iterator[bytes]:
        raise NotImplementedError

    def json_body(self, reply: Reply, body: Mapping[str, Any]) -> Json:
        raise NotImplementedError

    def error(self, kind: str, message: str | None) -> tuple[int, Json]:
        raise NotImplementedError

    def stream_error(self, kind: str, message: str | None) -> list[bytes]:
        raise NotImplementedError

    def malformed(self) -> bytes:
        return b"data: {\"type\": \"this is not json\n\n"

    def script_exhausted(self, message: str) -> tuple[int, Json]:
        raise NotImplementedError


# ---- Anthropic Messages --------------------------------------------------------------------

_ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "rate_limit": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    "auth": (401, "authentication_error", "invalid x-api-key"),
    "permission": (403, "permission_error", "Your API key does not have permission to use the specified resource."),
    "not_found": (404, "not_found_error", "model: not-a-model"),
    "bad_request": (400, "invalid_request_error", "messages: the request was rejected by the fake server"),
    "context_length": (400, "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum"),
}


class AnthropicWire(Wire):
    name = "anthropic"

    def _usage(
        self, u: Mapping[str, int], *, final: bool, searches: int = 0, compaction: Mapping[str, int] | None = None
    ) -> Json:
        usage: Json = {
            "input_tokens": u["input_tokens"],
            "cache_creation_input_tokens": u["cache_write_tokens"],
            "cache_read_input_tokens": u["cache_read_tokens"],
            "output_tokens": u["output_tokens"] if final else 1,
        }
        if final and searches:
            usage["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 0}
        if final and compaction:
            # The compaction's own cost: an iteration entry, not in the top-level fields.
            usage["iterations"] = [
                {"type": "compaction", "input_tokens": compaction.get("input_tokens", 0),
                 "output_tokens": compaction.get("output_tokens", 0),
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
                {"type": "message", "input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"],
                 "cache_creation_input_tokens": u["cache_write_tokens"], "cache_read_input_tokens": u["cache_read_tokens"]},
            ]
        return usage

    def _blocks(self, reply: Reply) -> list[Json]:
        blocks: list[Json] = [dict(reply.compaction)] if reply.compaction is not None else []
        if reply.thinking is not None:
            blocks.append(
                {"type": "thinking", "thinking": reply.thinking, "signature": thinking_signature(reply.thinking)}
            )
        if reply.redacted_thinking is not None:
            blocks.append({"type": "redacted_thinking", "data": reply.redacted_thinking})
        thinking = [dict(b) for b in blocks]
        for search in reply.web_searches:
            sid = self.ids.new("srvtoolu")
            blocks.append({"type": "server_tool_use", "id": sid, "name": "web_search", "input": {"query": search.query}})
            blocks.append({
                "type": "web_search_tool_result",
                "tool_use_id": sid,
                "content": [
                    {"type": "web_search_result", "title": title, "url": url, "page_age": None,
                     "encrypted_content": encrypted_reasoning(url)}
                    for title, url in search.results
                ],
            })
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        for call in reply.tool_calls:
            blocks.append({"type": "tool_use", "id": call.id or self.ids.new("toolu"), "name": call.name, "_call": call})
            if thinking:
                self.issued.anthropic_thinking[blocks[-1]["id"]] = thinking
        return blocks

    def _message(self, reply: Reply, body: Mapping[str, Any], content: list[Json]) -> Json:
        return {
            "id": self.ids.new("msg"),
            "type": "message",
            "role": "assistant",
            "model": reply.model or body.get("model") or "claude-fake",
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {},
        }

    def stream(self, reply: Reply, body: Mapping[str, Any]) -> Iterator[bytes]:
        usage = neutral_usage(reply, body)
        start = self._message(reply, body, [])
        start["usage"] = self._usage(usage, final=False)
        yield sse({"type": "message_start", "message": start}, "message_start")
        yield sse({"type": "ping"}, "ping")
        for index, block in enumerate(self._blocks(reply)):
            kind = block["type"]
            if kind == "compaction":
                # Started without its summary, which one compaction_delta carries whole.
                start = {k: v for k, v in block.items() if k not in ("content", "encrypted_content")}
                yield sse(
                    {"type": "content_block_start", "index": index,
                     "content_block": {**start, "content": None, "encrypted_content": None}},
                    "content_block_start",
                )
                yield sse(
                    {"type": "content_block_delta", "index": index,
                     "delta": {"type": "compaction_delta", "content": block["content"],
                               "encrypted_content": block.get("encrypted_content")}},
                    "content_block_delta",
                )
            elif kind == "thinking":
                yield sse(
                    {"type": "content_block_start", "index": index,
                     "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                    "content_block_start",
                )
                for piece in chunks(block["thinking"], reply.chunk_size):
                    yield sse(
                        {"type": "content_block_delta", "index": index,
                         "delta": {"type": "thinking_delta", "thinking": piece}},
                        "content_block_delta",
                    )
                yield sse(
                    {"type": "content_block_delta", "index": index,
                     "delta": {"type": "signature_delta", "signature": block["signature"]}},
                    "content_block_delta",
                )
            elif kind in ("redacted_thinking", "web_search_tool_result"):
                yield sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")
            elif kind == "server_tool_use":
                yield sse(
                    {"type": "content_block_start", "index": index,
                     "content_block": {**block, "input": {}}},
                    "content_block_start",
                )
                for piece in arg_chunks(json.dumps(block["input"]), reply.chunk_size):
                    yield sse(
                        {"type": "content_block_delta", "index": index,
                         "delta": {"type": "input_json_delta", "partial_json": piece}},
                        "content_block_delta",
                    )
            elif kind == "text":
                yield sse(
                    {"type": "content_block_start", "index": index,
                     "content_block": {"type": "text", "text": "", "citations": None}},
                    "content_block_start",
                )
                for piece in chunks(block["text"], reply.chunk_size):
                    yield sse(
                        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
                        "content_block_delta",
                    )
            else:
                call: ToolCall = block["_call"]
                yield sse(
                    {"type": "content_block_start", "index": index,
                     "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}},
                    "content_block_start",
                )
                for piece in ["", *arg_chunks(call.arguments_json, reply.chunk_size)]:
                    yield sse(
                        {"type": "content_block_delta", "index": index,
                         "delta": {"type": "input_json_delta", "partial_json": piece}},
                        "content_block_delta",
                    )
            yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
        yield sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": self._stop_sequence(reply)},
                "usage": self._usage(
                    usage, final=True, searches=len(reply.web_searches), compaction=reply.compaction_usage
                ),
            },
            "message_delta",
        )
        yield sse({"type": "message_stop"}, "message_stop")

    @staticmethod
    def _stop_sequence(reply: Reply) -> str | None:
        return "\n\nHuman:" if reply.stop_reason == "stop_sequence" else None

    def json_body(self, reply: Reply, body: Mapping[str, Any]) -> Json:
        content: list[Json] = []
        for block in self._blocks(reply):
            if block["type"] == "tool_use":
                call: ToolCall = block.pop("_call")
                try:
                    block["input"] = json.loads(call.arguments_json or "{}")
                except ValueError:
                    block["input"] = {}
            elif block["type"] == "text":
                block["citations"] = None
            content.append(block)
        message = self._message(reply, body, content)
        message["stop_reason"] = reply.stop_reason
        message["stop_sequence"] = self._stop_sequence(reply)
        message["usage"] = self._usage(
            neutral_usage(reply, body), final=True, searches=len(reply.web_searches), compaction=reply.compaction_usage
        )
        return message

    def _error_body(self, kind: str, message: str | None) -> tuple[int, Json]:
        status, etype, default = _ANTHROPIC_ERRORS[kind]
        return status, {
            "type": "error",
            "error": {"type": etype, "message": message or default},
            "request_id": self.ids.new("req"),
        }

    def error(self, kind: str, message: str | None) -> tuple[int, Json]:
        return self._error_body(kind, message)

    def stream_error(self, kind: str, message: str | None) -> list[bytes]:
        _, body = self._error_body(kind, message)
        body.pop("request_id", None)
        return [sse(body, "error")]

    def malformed(self) -> bytes:
        # Anthropic's SDK skips data lines without an event name, so the garbage carries one.
        return b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\n\n"

    def script_exhausted(self, message: str) -> tuple[int, Json]:
        return 418, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


# ---- OpenAI (shared by Responses and Chat) -------------------------------------------------

_OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "overloaded": (503, "server_error", None, "The server is overloaded or not ready yet."),
    "server_error": (500, "server_error", None, "The server had an error while processing your request. Sorry about that!"),
    "rate_limit": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 10ms."),
    "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: test-key."),
    "permission": (403, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"),
    "not_found": (404, "invalid_request_error", "model_not_found", "The model `not-a-model` does not exist or you do not have access to it."),
    "bad_request": (400, "invalid_request_error", None, "The request was rejected by the fake server."),
    "context_length": (400, "invalid_request_error", "context_length_exceeded",
                       "Your input exceeds the context window of this model. Please adjust your input and try again."),
}


def _openai_error(kind: str, message: str | None) -> tuple[int, Json]:
    status, etype, code, default = _OPENAI_ERRORS[kind]
    return status, {"error": {"message": message or default, "type": etype, "param": None, "code": code}}


class _OpenAIWire(Wire):
    def error(self, kind: str, message: str | None) -> tuple[int, Json]:
        return _openai_error(kind, message)

    def script_exhausted(self, message: str) -> tuple[int, Json]:
        return 418, {"error": {"message": message, "type": "fake_server_script_exhausted", "param": None, "code": None}}


def _openai_usage_responses(u: Mapping[str, int]) -> Json:
    prompt = u["input_tokens"] + u["cache_read_tokens"] + u["cache_write_tokens"]
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": u["cache_read_tokens"], "cache_write_tokens": u["cache_write_tokens"]},
        "output_tokens": u["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]},
        "total_tokens": prompt + u["output_tokens"],
    }


# ---- OpenAI Responses ----------------------------------------------------------------------


class ResponsesWire(_OpenAIWire):
    name = "responses"

    def _response(self, rid: str, reply: Reply, body: Mapping[str, Any], status: str, created: int) -> Json:
        reasoning = body.get("reasoning") or {}
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": reply.model or body.get("model") or "gpt-fake",
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": list(body.get("tools") or []),
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": None,
            "user": None,
            "metadata": {},
        }

    def _items(self, reply: Reply) -> list[Json]:
        """The finished output items, in order: compaction, reasoning, message, function calls."""
        items: list[Json] = [dict(reply.compaction)] if reply.compaction is not None else []
        if reply.thinking is not None:
            items.append(
                {
                    "id": self.ids.new("rs"),
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": reply.thinking}] if reply.thinking else [],
                    "encrypted_content": encrypted_reasoning(reply.thinking),
                    "status": "completed",
                }
            )
        for search in reply.web_searches:
            items.append(
                {
                    "id": self.ids.new("ws"),
                    "type": "web_search_call",
                    "status": "completed",
                    "action": {"type": "search", "query": search.query,
                               "sources": [{"type": "url", "url": url} for _, url in search.results]},
                }
            )
        if reply.text:
            items.append(
                {
                    "id": self.ids.new("msg"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
                }
            )
        for call in reply.tool_calls:
            items.append(
                {
                    "id": self.ids.new("fc"),
                    "type": "function_call",
                    "status": "completed",
                    "arguments": call.arguments_json,
                    "call_id": call.id or self.ids.new("call"),
                    "name": call.name,
                }
            )
        reasoning_ids = [i["id"] for i in items if i["type"] == "reasoning"]
        for item in items:
            if item["type"] == "function_call" and reasoning_ids:
                self.issued.responses_reasoning[item["id"]] = reasoning_ids[-1]
        if reply.stop_reason == "max_tokens" and items:
            items[-1]["status"] = "incomplete"
        return items

    def stream(self, reply: Reply, body: Mapping[str, Any]) -> Iterator[bytes]:
        seq = itertools.count()
        created = int(time.time())
        rid = self.ids.new("resp")

        def ev(kind: str, **fields: Any) -> bytes:
            return sse({"type": kind, "sequence_number": next(seq), **fields}, kind)

        yield ev("response.created", response=self._response(rid, reply, body, "in_progress", created))
        yield ev("response.in_progress", response=self._response(rid, reply, body, "in_progress", created))
        items = self._items(reply)
        for index, item in enumerate(items):
            iid = item["id"]
            if item["type"] == "reasoning":
                yield ev("response.output_item.added", output_index=index,
                         item={"id": iid, "type": "reasoning", "summary": [], "encrypted_content": None,
                               "status": "in_progress"})
                for s_index, part in enumerate(item["summary"]):
                    text = part["text"]
                    yield ev("response.reasoning_summary_part.added", item_id=iid, output_index=index,
                             summary_index=s_index, part={"type": "summary_text", "text": ""})
                    for piece in chunks(text, reply.chunk_size):
                        yield ev("response.reasoning_summary_text.delta", item_id=iid, output_index=index,
                                 summary_index=s_index, delta=piece, obfuscation="fake")
                    yield ev("response.reasoning_summary_text.done", item_id=iid, output_index=index,
                             summary_index=s_index, text=text)
                    yield ev("response.reasoning_summary_part.done", item_id=iid, output_index=index,
                             summary_index=s_index, part={"type": "summary_text", "text": text})
            elif item["type"] == "message":
                text = item["content"][0]["text"]
                yield ev("response.output_item.added", output_index=index,
                         item={"id": iid, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
                empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield ev("response.content_part.added", item_id=iid, output_index=index, content_index=0, part=empty_part)
                for piece in chunks(text, reply.chunk_size):
                    yield ev("response.output_text.delta", item_id=iid, output_index=index, content_index=0,
                             delta=piece, logprobs=[], obfuscation="fake")
                yield ev("response.output_text.done", item_id=iid, output_index=index, content_index=0,
                         text=text, logprobs=[])
                yield ev("response.content_part.done", item_id=iid, output_index=index, content_index=0,
                         part=item["content"][0])
            elif item["type"] == "compaction":
                yield ev("response.output_item.added", output_index=index, item=item)
                yield ev("response.compaction.compacting", item_id=iid, output_index=index)
            elif item["type"] == "web_search_call":
                yield ev("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
                for step in ("in_progress", "searching", "completed"):
                    yield ev(f"response.web_search_call.{step}", item_id=iid, output_index=index)
            else:
                yield ev("response.output_item.added", output_index=index,
                         item={**item, "arguments": "", "status": "in_progress"})
                for piece in arg_chunks(item["arguments"], reply.chunk_size):
                    yield ev("response.function_call_arguments.delta", item_id=iid, output_index=index,
                             delta=piece, obfuscation="fake")
                yield ev("response.function_call_arguments.done", item_id=iid, output_index=index,
                         name=item["name"], arguments=item["arguments"])
            yield ev("response.output_item.done", output_index=index, item=item)
        final = self._finish(self._response(rid, reply, body, "completed", created), reply, body, items)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        yield ev(kind, response=final)

    def _finish(self, response: Json, reply: Reply, body: Mapping[str, Any], items: list[Json]) -> Json:
        response["output"] = items
        response["usage"] = _openai_usage_responses(neutral_usage(reply, body))
        if reply.stop_reason == "max_tokens":
            response["status"] = "incomplete"
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        else:
            response["completed_at"] = response["created_at"]
        return response

    def json_body(self, reply: Reply, body: Mapping[str, Any]) -> Json:
        rid = self.ids.new("resp")
        base = self._response(rid, reply, body, "completed", int(time.time()))
        return self._finish(base, reply, body, self._items(reply))

    def stream_error(self, kind: str, message: str | None) -> list[bytes]:
        _, err = _openai_error(kind, message)
        detail = err["error"]
        code = detail["code"] or detail["type"]
        # Sequence numbers of these late events do not matter to the SDK.
        return [
            sse({"type": "error", "code": code, "message": detail["message"], "param": None,
                 "sequence_number": 10_000}, "error"),
        ]


# ---- Chat Completions ----------------------------------------------------------------------

_CHAT_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


class ChatWire(_OpenAIWire):
    name = "chat"

    @staticmethod
    def _usage(u: Mapping[str, int]) -> Json:
        prompt = u["input_tokens"] + u["cache_read_tokens"] + u["cache_write_tokens"]
        return {
            "prompt_tokens": prompt,
            "completion_tokens": u["output_tokens"],
            "total_tokens": prompt + u["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": u["cache_read_tokens"]},
            "completion_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]},
        }

    def _calls(self, reply: Reply) -> list[tuple[str, ToolCall]]:
        return [(call.id or self.ids.new("call"), call) for call in reply.tool_calls]

    def stream(self, reply: Reply, body: Mapping[str, Any]) -> Iterator[bytes]:
        cid = self.ids.new("chatcmpl")
        created = int(time.time())
        model = reply.model or body.get("model") or "local-fake"

        def chunk(delta: Json, finish: str | None = None) -> bytes:
            return sse({
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            })

        yield chunk({"role": "assistant", "content": ""})
        for piece in chunks(reply.thinking or "", reply.chunk_size):
            yield chunk({self.chat_reasoning_field: piece})
        for piece in chunks(reply.text or "", reply.chunk_size):
            yield chunk({"content": piece})
        for index, (call_id, call) in enumerate(self._calls(reply)):
            yield chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                         "function": {"name": call.name, "arguments": ""}}]})
            for piece in arg_chunks(call.arguments_json, reply.chunk_size):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, _CHAT_FINISH[reply.stop_reason])
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            yield sse({
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_fake", "choices": [],
                "usage": self._usage(neutral_usage(reply, body)),
            })
        yield b"data: [DONE]\n\n"

    def json_body(self, reply: Reply, body: Mapping[str, Any]) -> Json:
        message: Json = {"role": "assistant", "content": reply.text or None, "refusal": None}
        if reply.thinking is not None:
            message[self.chat_reasoning_field] = reply.thinking
        calls = self._calls(reply)
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for cid, c in calls
            ]
        return {
            "id": self.ids.new("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or body.get("model") or "local-fake",
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _CHAT_FINISH[reply.stop_reason]}],
            "usage": self._usage(neutral_usage(reply, body)),
        }

    def stream_error(self, kind: str, message: str | None) -> list[bytes]:
        _, err = _openai_error(kind, message)
        return [sse(err)]


WIRES: dict[str, type[Wire]] = {"anthropic": AnthropicWire, "responses": ResponsesWire, "chat": ChatWire}
