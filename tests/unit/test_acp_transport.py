"""``stoa acp``'s line checks: what is a JSON-RPC message, and the error each bad line gets."""

from __future__ import annotations

import pytest

from stoa.app.acp.transport import INVALID_REQUEST, PARSE_ERROR, check_message


@pytest.mark.parametrize(
    ("line", "code", "answer_id"),
    [
        (b"not json", PARSE_ERROR, None),
        (b'{"jsonrpc": "2.0", "id": 3, "method": "x", ', PARSE_ERROR, None),
        (b"\xff\xfe{}", PARSE_ERROR, None),
        (b"[]", INVALID_REQUEST, None),
        (b"null", INVALID_REQUEST, None),
        (b'{"jsonrpc": "2.0"}', INVALID_REQUEST, None),
        (b'{"id": true, "method": "x"}', INVALID_REQUEST, None),
        (b'{"id": 4, "method": ""}', INVALID_REQUEST, 4),
        (b'{"id": "a", "method": "x", "params": 5}', INVALID_REQUEST, "a"),
    ],
)
def test_bad_lines_get_an_error_naming_the_problem(line: bytes, code: int, answer_id: object) -> None:
    message, error = check_message(line)
    assert message is None and error is not None
    assert error["error"]["code"] == code and error["id"] == answer_id
    assert error["error"]["message"]


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": 1}}',
        b'{"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": "s"}}',
        b'{"jsonrpc": "2.0", "id": 0, "result": {}}',
        b'{"jsonrpc": "2.0", "id": 2, "error": {"code": 1, "message": "no"}}',
    ],
)
def test_requests_notifications_and_responses_pass(line: bytes) -> None:
    message, error = check_message(line)
    assert error is None and message is not None


def test_quiet_lines() -> None:
    assert check_message(b"   \n") == (None, None)
    # A notification with a bad method gets no answer (a notification is never answered).
    assert check_message(b'{"method": 5}') == (None, None)
    # A response with neither result nor error: nothing to answer (answering responses loops).
    assert check_message(b'{"id": 9}') == (None, None)
