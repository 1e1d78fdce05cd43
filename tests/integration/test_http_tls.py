"""The thin HTTP client's TLS: an ``http://`` endpoint loads no CA bundle up front, and a
connection that turns to TLS later (a redirect to https) is verified all the same, with the
trust ``verify=True`` stands for (``SSL_CERT_FILE`` honoured). Real sockets: a plain server that
redirects and a TLS server with a self-signed certificate made by ``openssl``."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stoa.core.providers.base import ProviderError
from stoa.core.providers.http import Endpoint

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

ANSWER = b"data: ok\n\n"


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, response: bytes) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    await reader.readexactly(length)
    writer.write(response)
    await writer.drain()
    writer.close()


@pytest.fixture
async def redirect_to_tls(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """(the plain server's URL, the TLS server's certificate): every POST to the plain server is
    sent on (307) to the TLS server, which answers one SSE event."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    ok = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
          % len(ANSWER)) + ANSWER  # fmt: skip

    async def tls_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer, ok)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            writer.close()  # the client refused the certificate

    tls = await asyncio.start_server(tls_side, "127.0.0.1", 0, ssl=context)
    tls_port = tls.sockets[0].getsockname()[1]
    moved = (f"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://127.0.0.1:{tls_port}/v1/messages\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()  # fmt: skip

    async def plain_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer(reader, writer, moved)

    plain = await asyncio.start_server(plain_side, "127.0.0.1", 0)
    plain_port = plain.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{plain_port}", cert
    finally:
        plain.close()
        tls.close()


async def read_all(target: Endpoint) -> bytes:
    async with target.stream("v1/messages", {"model": "m"}, model="m") as chunks:
        return b"".join([chunk async for chunk in chunks])


def endpoint(base_url: str) -> Endpoint:
    return Endpoint("anthropic", base_url, {}, read_timeout=10, connect_timeout=5)


async def test_a_plain_http_endpoint_makes_no_tls_context_up_front() -> None:
    plain, secure = endpoint("http://127.0.0.1:9"), endpoint("https://api.example.test")
    try:
        assert plain.client()._transport._pool._ssl_context is None
        context = secure.client()._transport._pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        await plain.aclose()
        await secure.aclose()


async def test_a_redirect_to_https_verifies_the_certificate(redirect_to_tls: tuple[str, Path]) -> None:
    base_url, _cert = redirect_to_tls
    target = endpoint(base_url)
    try:
        with pytest.raises(ProviderError) as caught:
            await read_all(target)
    finally:
        await target.aclose()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.__cause__) or "certificate" in str(caught.value).lower()


async def test_a_redirect_to_https_trusts_what_ssl_cert_file_names(
    redirect_to_tls: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, cert = redirect_to_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    target = endpoint(base_url)
    try:
        assert await read_all(target) == ANSWER
    finally:
        await target.aclose()
