"""web_fetch against a real HTTP server on loopback: the SSRF guard, redirects, content, caps."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.models import resolve_model
from stoa.core.tools import caps
from stoa.core.tools.base import Effect, ToolContext
from stoa.core.tools.web import Allowance, address_refusal, check_url, server_tools_for
from tests.unit.tools_harness import call, tool

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        status, headers, body = self.routes.get(
            self.path, (404, {"Content-Type": "text/plain"}, b"no such page")
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value.replace("{port}", str(self.server.server_address[1])))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    html = (
        b"<!doctype html><html><head><title>The  Title</title><style>p{color:red}</style>"
        b"<script>var secret = 'do not show';</script></head><body><h1>Heading</h1>"
        b"<p>Some <b>bold</b> text and a <a href='/other'>relative link</a>.</p><ul><li>one</li><li>two</li></ul>"
        b"</body></html>"
    )
    _Handler.routes = {
        "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, html),
        "/json": (200, {"Content-Type": "application/json"}, b'{"key": "value", "n": 1}'),
        "/latin": (200, {"Content-Type": "text/plain; charset=iso-8859-1"}, "café".encode("latin-1")),
        "/nocontenttype": (200, {}, b"<html><body><p>sniffed html</p></body></html>"),
        "/image": (200, {"Content-Type": "image/png"}, PNG_1PX),
        "/pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 binary"),
        "/big": (200, {"Content-Type": "text/plain"}, b"x" * 300_000 + b"END"),
        "/redirect": (302, {"Location": "/page"}, b""),
        "/to-loopback-ip": (302, {"Location": "http://127.0.0.1:{port}/json"}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/slow": (200, {"Content-Type": "text/plain"}, b"late"),
        "/error": (500, {"Content-Type": "text/plain"}, b"internal failure details"),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _ctx(tmp_path: Path, allow: list[str] | None = None) -> ToolContext:
    ws = tmp_path / "ws"
    (ws / ".stoa").mkdir(parents=True, exist_ok=True)
    if allow is not None:
        entries = ", ".join(f'"{a}"' for a in allow)
        (ws / ".stoa" / "config.toml").write_text(f"[web]\nallow-private-hosts = [{entries}]\n")
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home")})
    return ToolContext(workspace=ws, config=config)


def test_effect_and_access() -> None:
    assert tool("web_fetch").effect is Effect.NETWORK
    t = tool("web_fetch")
    (access,) = t.accesses(t.parse_args({"url": "https://example.com/x"}), ToolContext(workspace=Path(".")))
    assert access.scope == "network" and access.target == "https://example.com/x"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "gopher://x",
        "example.com/page",
        "",
    ],
)
def test_only_http_and_https(tmp_path: Path, url: str) -> None:
    result = call("web_fetch", _ctx(tmp_path), url=url)
    assert result.is_error
    assert "http and https" in result.text or "empty" in result.text


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]"]
)
def test_loopback_is_refused_by_default_in_every_spelling(tmp_path: Path, server: int, host: str) -> None:
    result = call("web_fetch", _ctx(tmp_path), url=f"http://{host}:{server}/json")
    assert result.is_error, result.text
    assert "refused to connect" in result.text and "allow-private-hosts" in result.text
    assert "value" not in result.text


def test_allowed_host_fetches_and_converts_html(tmp_path: Path, server: int) -> None:
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/page")
    assert not result.is_error, result.text
    text = result.text
    assert text.startswith(f"URL: http://127.0.0.1:{server}/page\nTitle: The Title\nContent-Type: text/html")
    assert "# Heading" in text and "**bold**" in text
    assert f"[relative link](http://127.0.0.1:{server}/other)" in text
    assert "* one" in text
    assert "do not show" not in text and "color:red" not in text
    assert result.display and result.display["kind"] == "text" and result.display["language"] == "markdown"


def test_allowance_by_network(tmp_path: Path, server: int) -> None:
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.0/8"]), url=f"http://127.0.0.1:{server}/json")
    assert not result.is_error and '{"key": "value", "n": 1}' in result.text


def test_redirects_are_followed_and_reported(tmp_path: Path, server: int) -> None:
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/redirect")
    assert not result.is_error
    assert (
        f"URL: http://127.0.0.1:{server}/page\n(redirected from http://127.0.0.1:{server}/redirect)"
        in result.text
    )


def test_every_redirect_hop_is_checked(tmp_path: Path, server: int) -> None:
    # localhost is allowed, 127.0.0.1 by name is not: the redirect must be refused at its hop.
    result = call("web_fetch", _ctx(tmp_path, ["localhost"]), url=f"http://localhost:{server}/to-loopback-ip")
    assert result.is_error and "refused to connect to 127.0.0.1" in result.text
    assert "value" not in result.text


def test_redirect_to_another_scheme_is_refused(tmp_path: Path, server: int) -> None:
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/to-file")
    assert result.is_error and "only http and https" in result.text


def test_redirect_loop_stops(tmp_path: Path, server: int) -> None:
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/loop")
    assert result.is_error and f"more than {caps.WEB_MAX_REDIRECTS} times" in result.text


def test_content_types(tmp_path: Path, server: int) -> None:
    ctx = _ctx(tmp_path, ["127.0.0.1"])
    base = f"http://127.0.0.1:{server}"
    assert "café" in call("web_fetch", ctx, url=f"{base}/latin").text
    assert "sniffed html" in call("web_fetch", ctx, url=f"{base}/nocontenttype").text
    image = call("web_fetch", ctx, url=f"{base}/image")
    assert image.is_error and "image/png" in image.text and "view_image" in image.text
    pdf = call("web_fetch", ctx, url=f"{base}/pdf")
    assert pdf.is_error and "application/pdf" in pdf.text and "not text" in pdf.text


def test_http_errors(tmp_path: Path, server: int) -> None:
    ctx = _ctx(tmp_path, ["127.0.0.1"])
    missing = call("web_fetch", ctx, url=f"http://127.0.0.1:{server}/missing")
    assert missing.is_error and "HTTP 404" in missing.text
    failing = call("web_fetch", ctx, url=f"http://127.0.0.1:{server}/error")
    assert failing.is_error and "HTTP 500" in failing.text and "internal failure" in failing.text


def test_body_size_cap(tmp_path: Path, server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps, "WEB_MAX_BYTES", 100_000)
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/big")
    assert not result.is_error
    assert "only the first part was read" in result.text and "END" not in result.text


def test_total_timeout(tmp_path: Path, server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps, "WEB_TOTAL_TIMEOUT", 1.0)
    started = time.monotonic()
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{server}/slow")
    assert result.is_error and "took longer than" in result.text
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = call("web_fetch", _ctx(tmp_path, ["127.0.0.1"]), url=f"http://127.0.0.1:{port}/")
    assert result.is_error and "could not fetch" in result.text


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "embedded"),
        ("2002:a00:1::1", "embedded"),
        ("64:ff9b::a00:1", "embedded"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "embedded"),
    ],
)
def test_address_classification(address: str, kind: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and kind in refusal, refusal


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_allowance_parsing() -> None:
    class Config:
        def section(self, name: str) -> list[tuple[object, object]]:
            return [(None, {"allow-private-hosts": ["Intranet.Example.", "10.0.0.0/8", "::1", 5]})]

    allowance = Allowance.from_config(Config())
    assert allowance.allows("intranet.example", ipaddress.ip_address("192.168.0.1"))
    assert allowance.allows("x", ipaddress.ip_address("10.9.9.9"))
    assert allowance.allows("x", ipaddress.ip_address("::1"))
    assert not allowance.allows("x", ipaddress.ip_address("192.168.0.1"))


def test_check_url() -> None:
    assert check_url("  https://example.com/a  ") == "https://example.com/a"
    with pytest.raises(Exception, match="no host"):
        check_url("http:///path")
    with pytest.raises(Exception, match="control characters"):
        check_url("https://example.com/\nHost: evil")
    with pytest.raises(Exception, match="invalid port"):
        check_url("http://example.com:99999/")


def test_web_search_declared_when_the_model_supports_it(tmp_path: Path) -> None:
    model = resolve_model("claude-sonnet-4-6", None)
    assert "web_search" in server_tools_for(model)
    ws = tmp_path / "p"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text("[web]\nsearch = false\n")
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home")})
    assert "web_search" not in server_tools_for(model, config)
