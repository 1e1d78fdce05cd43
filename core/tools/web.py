"""web_fetch (fetch one page as readable text) and the web_search server tool declaration.

web_fetch guards against SSRF: only http and https; every host is resolved and every address
it resolves to must be public (not loopback, private, link-local, shared, multicast, reserved,
nor a public form that embeds one: IPv4-mapped, 6to4, Teredo, NAT64). The check runs inside
the connection itself (the socket connects to the address that was checked, so a DNS answer
cannot change in between) and therefore on every redirect hop too. Hosts or networks can be
allowed in configuration::

    [web]
    allow-private-hosts = ["localhost", "intranet.example", "10.0.0.0/8"]

Bodies are read up to a size cap; HTML becomes Markdown-ish text through html2text; other
textual types come back as they are; binary types are refused with a clear message.

web_search is not a local tool: Anthropic's and OpenAI's APIs run it on their side. A model
supports it when ``"web_search" in ModelInfo.server_tools``; the agent declares it by putting
``server_tools_for(model, config)`` in ``ProviderRequest.server_tools``, and the providers
translate that to their native tool and report its use as ``ServerToolActivity`` (shown in
the log through ``ServerToolUsed``).
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, Field

from stoa.core.tools import caps
from stoa.core.tools.base import ARGS_CONFIG, Access, Effect, Tool, ToolContext, ToolError, ToolOutput

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.models import ModelInfo

WEB_SEARCH = "web_search"
USER_AGENT = "Stoa/0.1 (terminal coding agent; +web_fetch)"
_REDIRECTS = {301, 302, 303, 307, 308}
_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-sh",
    "application/sql",
    "application/graphql",
    "application/ld+json",
    "application/rss+xml",
    "application/atom+xml",
}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# ---- web_search: declaration only --------------------------------------------------------


def server_tools_for(model: ModelInfo, config: StoaConfig | None = None) -> tuple[str, ...]:
    """The provider-native server tools to declare for ``model`` (``ProviderRequest.server_tools``).

    web_search is declared when the model supports it, unless ``[web] search = false`` in the
    configuration turns it off.
    """
    enabled = True
    for table in _web_tables(config):
        if "search" in table:
            enabled = bool(table["search"])
    return tuple(t for t in model.server_tools if t != WEB_SEARCH or enabled)


# ---- the SSRF guard ---------------------------------------------------------------------------


class BlockedAddress(Exception):
    """A connection the SSRF guard refused; the message is for the model."""


def _kind(ip: IPAddress) -> str | None:
    """Why an address is not a public one (None: it is public)."""
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_private:
        return "a private-network address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """None for a public address, else what kind of address it is (embedded forms included)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for inner in embedded:
            kind = _kind(inner)
            if kind is not None:
                return f"{kind} ({inner}, embedded in {ip})"
    return _kind(ip)


@dataclass
class Allowance:
    """Hosts and networks the configuration allows despite being private."""

    hosts: set[str] = field(default_factory=set)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: StoaConfig | None) -> Allowance:
        allowance = cls()
        for table in _web_tables(config):
            entries = table.get("allow-private-hosts", [])
            if isinstance(entries, str):
                entries = [entries]
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, str) or not entry.strip():
                    continue
                entry = entry.strip().lower()
                try:
                    allowance.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError:
                    allowance.hosts.add(entry.rstrip("."))
        return allowance

    def allows(self, host: str, ip: IPAddress) -> bool:
        if host.lower().rstrip(".").strip("[]") in self.hosts:
            return True
        return any(ip in net for net in self.networks if net.version == ip.version)


def _web_tables(config: StoaConfig | None) -> list[dict[str, Any]]:
    if config is None:
        return []
    return [raw for _, raw in config.section("web") if isinstance(raw, dict)]


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    host = host.strip("[]")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedAddress(f"cannot resolve host {host!r}: {exc.strerror or exc}") from None
    seen: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    if not seen:
        raise BlockedAddress(f"host {host!r} has no addresses")
    return seen


async def checked_addresses(host: str, port: int, allowance: Allowance) -> list[IPAddress]:
    """Resolve and check every address; refuse if any is not public (and not allowed)."""
    addresses = await resolve_host(host, port)
    for ip in addresses:
        kind = address_refusal(ip)
        if kind is not None and not allowance.allows(host, ip):
            raise BlockedAddress(
                f"refused to connect to {host}: it resolves to {ip}, {kind}. web_fetch only fetches public "
                "addresses; to allow this host, add it to allow-private-hosts in the [web] table of "
                ".stoa/config.toml"
            )
    return addresses


def _guarded_backend(allowance: Allowance) -> Any:
    import httpcore

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        """Resolves, checks, then connects to exactly the checked address."""

        def __init__(self) -> None:
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            addresses = await checked_addresses(host, port, allowance)
            last: Exception | None = None
            for ip in addresses:
                try:
                    return await self._inner.connect_tcp(
                        str(ip),
                        port,
                        timeout=timeout,
                        local_address=local_address,
                        socket_options=socket_options,
                    )
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            assert last is not None
            raise last

        async def connect_unix_socket(
            self,
            path: str,
            timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
            socket_options: Any = None,
        ) -> Any:
            raise BlockedAddress("unix sockets are not allowed")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return GuardedBackend()


def _client(allowance: Allowance) -> Any:
    import httpcore
    import httpx

    transport = httpx.AsyncHTTPTransport(retries=0)
    # The transport's own pool would resolve names itself; ours checks what it connects to.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_guarded_backend(allowance),
        max_connections=4,
        retries=0,
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,  # no proxies: they would do the resolving, unchecked
        timeout=httpx.Timeout(caps.WEB_TOTAL_TIMEOUT, connect=caps.WEB_CONNECT_TIMEOUT),
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html,text/*;q=0.9,application/json;q=0.8,*/*;q=0.5",
        },
    )


def check_url(url: str) -> str:
    """Validate a URL for fetching; returns it stripped, or raises ToolError saying why not."""
    url = url.strip()
    if not url:
        raise ToolError("url is empty; pass a full http(s) URL such as https://example.com/page")
    if any(ord(c) < 32 or c == "\x7f" for c in url):
        raise ToolError("url contains control characters; pass a plain http(s) URL")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ToolError(f"url {url!r} is not a valid URL ({exc}); pass a full http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise ToolError(
            f"only http and https URLs can be fetched, not {shown!r}; pass a full URL such as https://{url}"
            if not parts.scheme
            else f"only http and https URLs can be fetched, not {shown!r}"
        )
    try:
        hostname = parts.hostname
    except ValueError as exc:
        raise ToolError(f"url {url!r} has an invalid host ({exc})") from None
    if not hostname:
        raise ToolError(f"url {url!r} has no host name")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ToolError(f"url {url!r} has an invalid port") from None
    import httpx

    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        # e.g. 0177.0.0.1: an IPv4 form that libraries read differently is refused outright.
        raise ToolError(f"url {url!r} is not a valid URL ({exc}); pass a full http(s) URL") from None
    return url


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself (no DNS): IPv6 or IPv4 in any form the C library
    accepts (``127.1``, ``2130706433``, ``0x7f000001``); None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_url_host(url: str, config: StoaConfig | None, what: str) -> None:
    """Refuse a URL whose host is written as a non-public address (loopback, private,
    link-local...) unless the configuration allows it. For URLs handed to someone else to
    fetch (view_image's URL sources): names are left to whoever resolves them."""
    host = urlsplit(url).hostname or ""
    ip = literal_address(host)
    if ip is None:
        return
    kind = address_refusal(ip)
    if kind is not None and not Allowance.from_config(config).allows(host, ip):
        raise ToolError(
            f"refused: {host} is {kind}; {what} only takes URLs of public addresses (to allow this "
            "host, add it to allow-private-hosts in the [web] table of .stoa/config.toml)"
        )


# ---- content --------------------------------------------------------------------------------


@dataclass
class Fetched:
    url: str
    status: int
    reason: str
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


def _media_type(content_type: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in content_type.split(";")]
    media = parts[0].lower() if parts else ""
    charset = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media, charset


def _decode(body: bytes, charset: str | None, html: bool) -> str:
    candidates = [charset] if charset else []
    if html and not charset:
        sniff = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", body[:4096], re.IGNORECASE)
        if sniff:
            candidates.append(sniff.group(1).decode("ascii", "ignore"))
    if body.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    for name in [*candidates, "utf-8"]:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return body.decode(name, errors="replace")
    return body.decode("utf-8", errors="replace")


def _is_textual(media: str) -> bool:
    return (
        media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+json") or media.endswith("+xml")
    )


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "title" and not self.done:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def html_to_text(html: str, base_url: str) -> tuple[str, str]:
    """(title, Markdown-ish text) of an HTML document, through html2text."""
    import html2text

    title_parser = _TitleParser()
    try:
        title_parser.feed(html[:200_000])
    except Exception:
        pass
    converter = html2text.HTML2Text(baseurl=base_url, bodywidth=0)
    converter.ignore_images = True
    converter.ignore_emphasis = False
    converter.skip_internal_links = True
    converter.unicode_snob = True
    converter.mark_code = False
    text = converter.handle(html)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return " ".join(title_parser.title.split()), text


def _looks_like_html(text: str) -> bool:
    head = text[:1024].lstrip().lower()
    return head.startswith(("<!doctype html", "<html")) or "<html" in head[:200]


# ---- web_fetch ------------------------------------------------------------------------------


class WebFetchArgs(BaseModel):
    model_config = ARGS_CONFIG

    url: str = Field(
        description="The full http or https URL to fetch, e.g. https://docs.python.org/3/library/os.html"
    )


class WebFetch(Tool):
    name = "web_fetch"
    description = (
        "Fetch one web page (http/https) and return it as readable Markdown-ish text (HTML converted; "
        "JSON, XML and plain text as they are). Public addresses only; follows up to "
        f"{caps.WEB_MAX_REDIRECTS} redirects; reads at most {caps.WEB_MAX_BYTES // (1024 * 1024)} MB. "
        "Not for images (use view_image with the URL) or binary downloads."
    )
    Args = WebFetchArgs
    effect = Effect.NETWORK

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        url = check_url(args.url)
        host = urlsplit(url).hostname or url
        return [
            Access(scope="network", target=url, effect=Effect.NETWORK, reason=f"fetches a page from {host}")
        ]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        url = check_url(args.url)
        allowance = Allowance.from_config(ctx.config)
        try:
            async with asyncio.timeout(caps.WEB_TOTAL_TIMEOUT):
                fetched = await self._fetch(url, allowance)
        except TimeoutError:
            raise ToolError(
                f"fetching {url} took longer than {caps.WEB_TOTAL_TIMEOUT:.0f} s and was stopped; "
                "try again later or another URL"
            ) from None
        return self._render(url, fetched)

    async def _fetch(self, url: str, allowance: Allowance) -> Fetched:
        import httpx

        current = url
        async with _client(allowance) as client:
            for _hop in range(caps.WEB_MAX_REDIRECTS + 1):
                try:
                    async with client.stream("GET", current) as response:
                        if response.status_code in _REDIRECTS and "location" in response.headers:
                            location = response.headers["location"]
                            current = check_url(urljoin(current, location))
                            continue
                        body, truncated = await _read_capped(response)
                        media = response.headers.get("content-type", "")
                        return Fetched(
                            url=current,
                            status=response.status_code,
                            reason=response.reason_phrase,
                            content_type=media,
                            charset=_media_type(media)[1],
                            body=body,
                            truncated=truncated,
                        )
                except BlockedAddress as exc:
                    raise ToolError(str(exc)) from None
                except ToolError:
                    raise
                except httpx.TimeoutException:
                    raise ToolError(
                        f"{current} did not answer within {caps.WEB_CONNECT_TIMEOUT:.0f} s; try again later"
                    ) from None
                except httpx.TooManyRedirects:
                    raise ToolError(f"too many redirects from {url}") from None
                except httpx.InvalidURL as exc:
                    raise ToolError(f"could not fetch {current}: not a valid URL ({exc})") from None
                except (httpx.HTTPError, OSError) as exc:
                    raise ToolError(f"could not fetch {current}: {_http_error(exc)}") from None
        raise ToolError(f"{url} redirected more than {caps.WEB_MAX_REDIRECTS} times; stopped at {current}")

    def _render(self, requested: str, fetched: Fetched) -> ToolOutput:
        media, charset = _media_type(fetched.content_type)
        size = len(fetched.body)
        if fetched.status >= 400:
            excerpt = _decode(fetched.body[:2000], charset, False)
            excerpt = " ".join(excerpt.split())[:300]
            raise ToolError(
                f"{fetched.url} answered HTTP {fetched.status} {fetched.reason}"
                + (f": {excerpt}" if excerpt else "")
            )
        html = media in _HTML_TYPES
        if not media:
            sniffed = fetched.body[:4096]
            if b"\x00" in sniffed:
                media = "application/octet-stream"
            else:
                html = _looks_like_html(sniffed.decode("utf-8", "replace"))
                media = "text/html" if html else "text/plain"
        if not html and not _is_textual(media):
            hint = "; to look at an image, use view_image with the URL" if media.startswith("image/") else ""
            raise ToolError(
                f"{fetched.url} is {media} ({_size(size)}), not text; web_fetch only returns text content{hint}"
            )
        text = _decode(fetched.body, charset, html)
        title = ""
        if html:
            title, text = html_to_text(text, fetched.url)
        header = [f"URL: {fetched.url}"]
        if fetched.url != requested:
            header.append(f"(redirected from {requested})")
        if title:
            header.append(f"Title: {title}")
        header.append(f"Content-Type: {media} ({_size(size)})")
        notes = []
        if fetched.truncated:
            notes.append(
                f"[the page is larger than {_size(caps.WEB_MAX_BYTES)}; only the first part was read]"
            )
        body = text.strip() or "(the page has no text content)"
        full = "\n".join(header) + "\n\n" + body + ("\n\n" + "\n".join(notes) if notes else "")
        model_text = caps.cap_text(full, caps.MODEL_OUTPUT_CHARS)
        display = {
            "kind": "text",
            "text": full[: caps.DISPLAY_CHARS],
            "language": "markdown" if html else None,
            "url": fetched.url,
        }
        return ToolOutput.text(model_text, display=display)


async def _read_capped(response: Any) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        total += len(chunk)
        if total > caps.WEB_MAX_BYTES:
            return b"".join(chunks)[: caps.WEB_MAX_BYTES], True
    return b"".join(chunks), False


def _http_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, BlockedAddress):
        return str(cause)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the server's TLS certificate could not be verified"
    return text


def _size(size: int) -> str:
    from stoa.core.tools.files import human_size

    return human_size(size)
