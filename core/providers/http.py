"""The thin HTTP client of the model endpoints: one JSON POST streamed back, one JSON GET.

The providers talk to Anthropic Messages, OpenAI Responses and Chat Completions through this
module instead of the ``anthropic`` / ``openai`` SDKs: importing ``anthropic`` cost 1.3-3.6 s of
CPU (every beta type, Bedrock and Vertex clients, pydantic building response models) and
``openai`` 0.5-1.7 s, before the first request could leave; ``httpx2`` (the SDKs' own transport)
costs 0.1 s. The providers already read the stream themselves (``sse.py`` decodes it, each
accumulator reads the events as plain dicts), so what the SDKs still did was build the HTTP
request and map its failures; that is what this module does, as the SDKs do it:

- the body is the SDKs' JSON (``ensure_ascii=False``, compact separators, no NaN, UTF-8);
- the headers are the SDKs' (``User-Agent`` naming the SDK and the version Stoa's requests are
  checked against, ``anthropic-version``, the key as the SDK sends it, ``Accept``), plus
  ``ANTHROPIC_CUSTOM_HEADERS`` / ``OPENAI_CUSTOM_HEADERS`` (one ``Name: value`` a line) and
  ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``, read from the environment as the SDKs read them;
- the connection is the SDKs' default client: env proxies (``HTTPS_PROXY``, ``ALL_PROXY``,
  ``NO_PROXY``...), TLS trust as httpx2 sets it up, redirects followed, TCP keep-alive probes,
  the read timeout for every read and a separate connect timeout, no retries (the agent loop
  retries, with visible notices);
- an error status becomes a ``ProviderError`` from the body's ``error.message`` (the SDKs'
  ``api_message``) and the ``retry-after(-ms)`` header; a failure to connect or a timeout
  before the headers is a ``connection`` error; a transport failure mid-body ``stream_broken``.

tests/integration/test_sdk_contract.py holds this to the SDKs: the same neutral request sent
through the SDK and through this module reaches the fake server with the same body and headers,
every request the test suite sends is checked against the SDKs' request TypedDicts, and the
events of a reply with thinking, text and tool calls are parsed by the SDKs' event types and
read by Stoa as the SDKs' own accumulating helpers read them.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import Any

from stoa.core.providers.base import ProviderError
from stoa.core.providers.convert import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    body_error_message,
    broken_stream,
    connection_error,
    missing_key_error,
    retry_after_seconds,
    status_error,
)

# What the SDKs Stoa's requests are checked against send (tests/integration/test_sdk_contract.py
# fails when an installed SDK says otherwise, so an SDK upgrade updates these on purpose).
ANTHROPIC_VERSION = "2026-10-21"
ANTHROPIC_USER_AGENT = "AsyncAnthropic/Python 2.17.0"
OPENAI_USER_AGENT = "AsyncOpenAI/Python 3.63.0"

# The SDKs' connection pool limits.
_MAX_CONNECTIONS = 1000
_MAX_KEEPALIVE = 100


def custom_headers(variable: str) -> dict[str, str]:
    """``Name: value`` lines of an environment variable, as the SDKs parse them."""
    raw = os.environ.get(variable)
    headers: dict[str, str] = {}
    for line in (raw or "").split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return headers


def anthropic_headers(api_key: str) -> dict[str, str]:
    return {
        "Accept": "application/json",
        "User-Agent": ANTHROPIC_USER_AGENT,
        "anthropic-version": ANTHROPIC_VERSION,
        "Authorization": f"Bearer {api_key}",
        **custom_headers("ANTHROPIC_CUSTOM_HEADERS"),
    }


def openai_headers(api_key: str) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "User-Agent": OPENAI_USER_AGENT,
        "Authorization": f"Bearer {api_key}",
    }
    for variable, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        value = os.environ.get(variable)
        if value is not None:
            headers[header] = value
    return {**headers, **custom_headers("OPENAI_CUSTOM_HEADERS")}


def dumps_body(body: Mapping[str, Any]) -> bytes:
    """A request body as the SDKs encode it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _socket_options() -> list[tuple[int, int, int]]:
    """TCP keep-alive probes (as the Anthropic SDK sets them): a dead connection under a long
    silent stream is noticed instead of waiting out the read timeout."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        option = getattr(socket, name, None)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


def _new_client(read_timeout: float, connect_timeout: float, base_url: str = "") -> Any:
    import httpx2
    from httpx2._utils import get_environment_proxies

    limits = httpx2.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_KEEPALIVE)
    transport_kwargs: dict[str, Any] = {"limits": limits, "socket_options": _socket_options()}
    # A transport of our own turns off httpx2's proxies from the environment: mount them again.
    mounts = {
        pattern: None if proxy is None else httpx2.AsyncHTTPTransport(proxy=proxy, **transport_kwargs)
        for pattern, proxy in get_environment_proxies().items()
    }
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
        limits=limits,
        follow_redirects=True,
        transport=_direct_transport(httpx2, base_url, transport_kwargs),
        mounts=mounts,
    )


def _direct_transport(httpx2: Any, base_url: str, kwargs: dict[str, Any]) -> Any:
    """The transport of the endpoint's own connections. Over plain ``http://`` (a local
    server) no TLS context is made up front: loading the CA bundle costs ~40 ms of CPU, a
    tenth of a ``stoa -p``, for connections that never use it. httpcore2 makes the default
    one (``default_ssl_context()``, the context ``verify=True`` stands for, ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` honoured) when a connection needs TLS, as after a redirect to https."""
    if not base_url.lower().startswith("http://"):
        return httpx2.AsyncHTTPTransport(**kwargs)
    import ssl

    # A context with nothing trusted yet (it refuses every certificate), replaced by None below.
    transport = httpx2.AsyncHTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), **kwargs)
    pool = getattr(transport, "_pool", None)
    if pool is None or getattr(pool, "_ssl_context", None) is None:  # another httpx2: as it was
        return httpx2.AsyncHTTPTransport(**kwargs)
    pool._ssl_context = None
    return transport


class Endpoint:
    """One provider endpoint: its base URL, headers and timeouts, and the HTTP client (made on
    first use, closed by ``aclose``)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        read_timeout: float,
        connect_timeout: float,
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.headers = dict(headers)
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._making = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def client(self) -> Any:
        """The httpx2 client (importing httpx2 the first time: call it from a thread to warm up).

        One client, also when a request comes while a warm-up thread is still making it: the
        request waits for that one (making a second would load the CA bundle twice, 40 ms)."""
        if self._client is None:
            with self._making:
                if self._client is None:
                    self._client = _new_client(self.read_timeout, self.connect_timeout, self.base_url)
        return self._client

    @asynccontextmanager
    async def stream(
        self, path: str, body: Mapping[str, Any], *, model: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """POST ``body`` (with ``headers`` added to the endpoint's) and yield the response body's
        chunks as they come. Raises ``ProviderError`` for an error status or a connection that
        fails, before or during."""
        import httpx2

        client = self.client()
        headers = {**self.headers, **(headers or {}), "Content-Type": "application/json"}
        request = client.build_request("POST", self.url(path), headers=headers, content=dumps_body(body))
        try:
            response = await client.send(request, stream=True)
        except httpx2.TimeoutException as exc:
            raise connection_error(self.provider, self.base_url, exc, timeout=self.read_timeout) from exc
        except httpx2.HTTPError as exc:
            raise connection_error(self.provider, self.base_url, exc) from exc
        try:
            if response.status_code >= 400:
                raise await self._status_error(response, model)
            chunks = self._chunks(response)
            try:
                yield chunks
            finally:
                await chunks.aclose()
        finally:
            await response.aclose()

    async def _chunks(self, response: Any) -> AsyncGenerator[bytes, None]:
        """The body a read at a time where it can be (``chunked.py``), else as httpx2 gives it."""
        import httpx2

        from stoa.core.providers.chunked import bulk_body

        timeout = response.request.extensions.get("timeout", {}).get("read", self.read_timeout)
        body = bulk_body(response, timeout)
        try:
            async with aclosing(body if body is not None else response.aiter_bytes()) as pieces:
                async for piece in pieces:
                    yield piece
        except httpx2.HTTPError as exc:
            raise broken_stream(self.provider, self.base_url, exc, read_timeout=self.read_timeout) from exc

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET a JSON document (a model list). Raises ``ProviderError``."""
        import httpx2

        client = self.client()
        try:
            response = await client.get(self.url(path), params=params, headers=self.headers)
        except httpx2.TimeoutException as exc:
            raise connection_error(self.provider, self.base_url, exc, timeout=self.read_timeout) from exc
        except httpx2.HTTPError as exc:
            raise connection_error(self.provider, self.base_url, exc) from exc
        if response.status_code >= 400:
            raise await self._status_error(response, "")
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                "other", f"{self.provider} at {self.base_url} answered {path} with something other than JSON"
            ) from exc

    async def post_json(
        self, path: str, body: Mapping[str, Any], *, model: str, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST ``body`` (``headers`` added) and read the JSON answer (Anthropic's token count).
        Raises ``ProviderError``."""
        import httpx2

        client = self.client()
        headers = {**self.headers, **(headers or {}), "Content-Type": "application/json"}
        try:
            response = await client.post(self.url(path), headers=headers, content=dumps_body(body))
        except httpx2.TimeoutException as exc:
            raise connection_error(self.provider, self.base_url, exc, timeout=self.read_timeout) from exc
        except httpx2.HTTPError as exc:
            raise connection_error(self.provider, self.base_url, exc) from exc
        if response.status_code >= 400:
            raise await self._status_error(response, model)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(
                "other", f"{self.provider} at {self.base_url} answered {path} with something other than JSON"
            ) from exc

    async def _status_error(self, response: Any, model: str) -> ProviderError:
        import httpx2

        status = int(response.status_code)
        try:
            text = (await response.aread()).decode("utf-8", "replace").strip()
        except httpx2.HTTPError:
            text = ""
        body: Any = text
        try:
            body = json.loads(text)
        except ValueError:
            pass
        # The SDKs' message: the body's error.message, else the body, else the status alone.
        detail = body_error_message(body) or (f"Error code: {status} - {body}" if body else f"Error code: {status}")
        return status_error(
            self.provider,
            status,
            detail,
            base_url=self.base_url,
            model=model,
            retry_after=retry_after_seconds(response.headers),
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class HttpProvider:
    """What every provider sets up alike: its name, key and timeouts, one ``Endpoint`` made on
    first use (``prepare`` makes its HTTP client ahead, in a warm-up thread), the model ids its
    ``/models`` lists, and ``aclose``. A provider gives its ``base_url`` and ``headers``."""

    def __init__(
        self,
        name: str,
        api_key: str | None,
        *,
        read_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.name = name
        self.api_key = api_key
        self.read_timeout = read_timeout if read_timeout is not None else DEFAULT_READ_TIMEOUT
        self.connect_timeout = connect_timeout
        self._endpoint: Endpoint | None = None

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def headers(self, api_key: str) -> dict[str, str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Build the HTTP client now (checks time the request alone; a warm-up in a thread)."""
        if self.api_key:
            self._http().client()

    def _require_key(self) -> None:
        if not self.api_key:
            raise missing_key_error(self.name)

    def _http(self) -> Endpoint:
        if self._endpoint is None:
            assert self.api_key
            self._endpoint = Endpoint(
                self.name,
                self.base_url,
                self.headers(self.api_key),
                read_timeout=self.read_timeout,
                connect_timeout=self.connect_timeout,
            )
        return self._endpoint

    async def _model_ids(self, path: str, params: Mapping[str, str] | None = None) -> list[str]:
        self._require_key()
        return model_ids(await self._http().get_json(path, params))

    async def aclose(self) -> None:
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            await endpoint.aclose()


def model_entries(page: Any) -> list[dict[str, Any]] | None:
    """The models of a ``/models`` answer (``{"data": [{"id": ...}, ...]}``, every provider's
    shape; the catalogue reads them whole), or None when it is not a model list."""
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, list):
        return None
    return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]]


def model_ids(page: Any) -> list[str]:
    """The ids of a ``/models`` answer."""
    return [m["id"] for m in model_entries(page) or []]
