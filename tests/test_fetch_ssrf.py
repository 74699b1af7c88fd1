"""SSRF guard: private, loopback, link-local and metadata addresses are refused before any connect.

Non-loopback targets are only ever reached through the fetcher's resolver hook
or as IP literals, which the guard refuses before opening a socket; the autouse
tripwire fails the test if anything tried to leave 127.0.0.0/8 anyway.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import loopback_fetcher
from servers import BackgroundServer, HTTPServer

import worker.fetch.client as client_module
from worker.fetch import Fetcher, FetchError, blocked_reason
from worker.fetch.guard import blocked_reason as real_blocked_reason


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.9.10",
        "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0",
        "224.0.0.1", "239.255.255.250", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "240.0.0.1", "::1", "::", "fc00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0",
        "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1", "[::1]",
    ],
)
def test_blocked_addresses(address: str) -> None:
    assert blocked_reason(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111",
                                     "::ffff:93.184.216.34"])
def test_public_addresses_allowed(address: str) -> None:
    assert blocked_reason(address, allow_private=False) is None


def test_allow_private_networks_still_refuses_metadata_and_multicast() -> None:
    assert blocked_reason("10.0.0.1", allow_private=True) is None
    assert blocked_reason("127.0.0.1", allow_private=True) is None
    assert blocked_reason("169.254.169.254", allow_private=True)
    assert blocked_reason("fd00:ec2::254", allow_private=True)
    assert blocked_reason("224.0.0.1", allow_private=True)
    assert blocked_reason("0.0.0.0", allow_private=True)


class ResolverSpy:
    """The injected resolver: hostname -> addresses, recording what was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return self.table[host]


@pytest.fixture
def server():
    srv = HTTPServer(routes={"/feed": (200, {"Content-Type": "text/plain"}, b"ok")}).start()
    yield srv
    srv.stop()


def fetcher(allow_private: bool = False, resolver=None) -> Fetcher:
    """The guard as production runs it: private addresses refused unless `allow_private`."""
    return loopback_fetcher(allow_private_networks=allow_private, fetch_timeout=5, resolver=resolver)


def test_loopback_refused_without_allow_private_networks(server) -> None:
    with fetcher() as f, pytest.raises(FetchError) as caught:
        f.get(server.url("/feed"))
    assert caught.value.reason == "blocked address 127.0.0.1"
    assert caught.value.status is None
    assert server.requests == []


def test_loopback_allowed_with_allow_private_networks(server) -> None:
    with fetcher(allow_private=True) as f:
        assert f.get(server.url("/feed")).body == b"ok"


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/feed", "https://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/", "http://[::ffff:10.0.0.1]:8080/", "http://0.0.0.0:80/",
    "http://100.100.100.200/",
])
def test_url_naming_private_address_refused(url: str) -> None:
    spy = ResolverSpy({})
    with fetcher(resolver=spy) as f, pytest.raises(FetchError) as caught:
        f.get(url)
    assert caught.value.reason.startswith("blocked address")
    assert spy.asked == []  # an IP literal is never "resolved"


def test_hostname_resolving_to_private_address_refused() -> None:
    spy = ResolverSpy({"intranet.example": ["10.1.2.3"]})
    with fetcher(resolver=spy) as f, pytest.raises(FetchError) as caught:
        f.get("http://intranet.example/feed.xml")
    assert caught.value.reason == "blocked address 10.1.2.3"
    assert spy.asked == ["intranet.example"]


def test_every_resolved_address_is_checked() -> None:
    # A public first answer must not hide a private second one (round-robin / rebinding).
    spy = ResolverSpy({"mixed.example": ["93.184.216.34", "169.254.169.254"]})
    with fetcher(resolver=spy) as f, pytest.raises(FetchError) as caught:
        f.get("https://mixed.example/")
    assert "169.254.169.254" in caught.value.reason


def test_allow_private_networks_does_not_open_metadata() -> None:
    spy = ResolverSpy({"metadata.google.internal": ["169.254.169.254"]})
    with fetcher(allow_private=True, resolver=spy) as f, pytest.raises(FetchError) as caught:
        f.get("http://metadata.google.internal/computeMetadata/v1/")
    assert "cloud metadata" in caught.value.reason


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/",
                                 "javascript:alert(1)", "http:///nohost", "not a url"])
def test_only_http_and_https(url: str) -> None:
    with fetcher() as f, pytest.raises(FetchError):
        f.get(url)


def test_resolver_failure_is_a_fetch_error() -> None:
    with fetcher(resolver=ResolverSpy({})) as f, pytest.raises(FetchError) as caught:
        f.get("http://nowhere.example/")
    assert caught.value.reason == "dns error for nowhere.example"


def test_connection_goes_to_the_resolved_address_with_the_host_header_kept(server) -> None:
    spy = ResolverSpy({"feeds.example": ["127.0.0.1"]})
    with fetcher(allow_private=True, resolver=spy) as f:
        response = f.get(f"http://feeds.example:{server.port}/feed")
    assert response.body == b"ok"
    assert response.url == f"http://feeds.example:{server.port}/feed"
    assert server.requests[0].headers["Host"] == f"feeds.example:{server.port}"


# --------------------------------------------------------------------------- redirects


class PublicLookingServer(BackgroundServer):
    """A server on 127.0.0.2, which the tests below let the policy treat as public."""

    def __init__(self, location: str) -> None:
        owner = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(302)
                self.send_header("Location", owner.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.location = location
        self.serve(ThreadingHTTPServer(("127.0.0.2", 0), Handler))


@pytest.fixture
def treat_127_0_0_2_as_public(monkeypatch):
    def policy(address: str, *, allow_private: bool) -> str | None:
        if address == "127.0.0.2":
            return None
        return real_blocked_reason(address, allow_private=allow_private)

    monkeypatch.setattr(client_module, "blocked_reason", policy)


@pytest.mark.parametrize("target, reason", [
    ("http://127.0.0.1:{port}/feed", "blocked address 127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/iam/", "blocked address 169.254.169.254"),
    ("http://intranet.example/admin", "blocked address 10.1.2.3"),
    ("http://[::1]:{port}/", "blocked address ::1"),
    ("file:///etc/passwd", "scheme not allowed 'file'"),
])
def test_redirect_to_private_address_refused(treat_127_0_0_2_as_public, server, target,
                                             reason) -> None:
    spy = ResolverSpy({"intranet.example": ["10.1.2.3"]})
    public = PublicLookingServer(target.format(port=server.port))
    try:
        with fetcher(resolver=spy) as f, pytest.raises(FetchError) as caught:
            f.get(public.url("/start"))
    finally:
        public.stop()
    assert caught.value.reason.startswith(reason)
    assert public.hits == 1
    assert server.requests == []  # the loopback server behind the redirect was never reached
