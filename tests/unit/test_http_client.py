"""The thin HTTP client's own parts: one client per endpoint, proxies from the environment,
custom headers as the SDKs parse them. (Requests against the SDKs: test_sdk_contract.py.)"""

from __future__ import annotations

import threading

import pytest

from stoa.core.providers.http import Endpoint, anthropic_headers, custom_headers, openai_headers


def endpoint() -> Endpoint:
    return Endpoint("anthropic", "https://api.example.test", {}, read_timeout=30, connect_timeout=5)


async def test_a_warm_up_thread_and_a_request_share_one_client() -> None:
    target = endpoint()
    seen: list[object] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        seen.append(target.client())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(client is seen[0] for client in seen)
    await target.aclose()
    assert target.client() is not seen[0]  # closed: the next request gets a new one
    await target.aclose()


async def test_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    target = endpoint()
    mounts = {str(pattern.pattern): transport for pattern, transport in target.client()._mounts.items()}
    await target.aclose()
    assert mounts["https://"] is not None  # through the proxy
    assert mounts["all://localhost"] is None  # NO_PROXY: direct


def test_custom_headers_are_parsed_as_the_sdks_parse_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Team:  infra \nnot a header\nX-Empty:\n")
    assert custom_headers("ANTHROPIC_CUSTOM_HEADERS") == {"X-Team": "infra", "X-Empty": ""}
    headers = anthropic_headers("k")
    assert headers["X-Team"] == "infra" and headers["Authorization"] == "Bearer k"
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer other")
    assert openai_headers("k")["Authorization"] == "Bearer other"  # the variable wins, as in the SDK
