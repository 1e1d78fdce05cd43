"""Opaque carry-forward tokens the fake server hands out, and how to verify them.

The real APIs reject a thinking block whose text was edited (Anthropic checks the signature)
and reasoning items whose encrypted content was tampered with. The fake server signs what it
sends with a hash so the protocol checker can tell an intact block from an edited one.
"""

from __future__ import annotations

import base64
import hashlib

SIGNATURE_PREFIX = "fakesig."
ENCRYPTED_PREFIX = "fakeenc."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def thinking_signature(thinking: str) -> str:
    """The signature the fake server sends with an Anthropic thinking block."""
    return SIGNATURE_PREFIX + _digest(thinking)


def signature_matches(thinking: str, signature: str) -> bool:
    """False only for a fake-server signature whose thinking text was changed."""
    if not signature.startswith(SIGNATURE_PREFIX):
        return True  # not ours (a recorded real body): cannot judge
    return signature == thinking_signature(thinking)


def encrypted_reasoning(summary: str) -> str:
    """The ``encrypted_content`` of a fake OpenAI reasoning item (carries its summary)."""
    payload = base64.urlsafe_b64encode(summary.encode("utf-8")).decode("ascii")
    return f"{ENCRYPTED_PREFIX}{payload}.{_digest(payload)}"


def encrypted_intact(value: str) -> bool:
    if not value.startswith(ENCRYPTED_PREFIX):
        return True
    payload, _, digest = value[len(ENCRYPTED_PREFIX) :].rpartition(".")
    return bool(payload) and digest == _digest(payload)
