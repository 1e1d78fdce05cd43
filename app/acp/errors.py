"""JSON-RPC errors whose message says what went wrong and what to send instead (the SDK's own
constructors put a fixed word such as "Invalid params" in the message)."""

from __future__ import annotations

from acp import RequestError

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
AUTH_REQUIRED = -32000
RESOURCE_NOT_FOUND = -32002


def invalid_request(message: str) -> RequestError:
    return RequestError(INVALID_REQUEST, message)


def invalid_params(message: str) -> RequestError:
    return RequestError(INVALID_PARAMS, message)


def not_found(message: str) -> RequestError:
    return RequestError(RESOURCE_NOT_FOUND, message)


def auth_required(message: str) -> RequestError:
    return RequestError(AUTH_REQUIRED, message)
