"""HTTPS through the pinned connection: SNI, certificate check and Host header keep the name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import loopback_fetcher
from servers import serve_in_background, stop_serving

from worker.fetch import Fetcher, FetchError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=feeds.test", "-addext", "subjectAltName=DNS:feeds.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@pytest.fixture(scope="module")
def https_server(certificate):
    cert, key = certificate
    seen: dict[str, list] = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen["host"].append(self.headers.get("Host"))
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secure")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serve_in_background(server)
    yield server.server_address[1], seen
    stop_serving(server)


def fetcher(cert: Path) -> Fetcher:
    """A fetcher that trusts the test CA and resolves the test names to loopback."""
    context = ssl.create_default_context(cafile=str(cert))
    resolver = {"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}.__getitem__
    return loopback_fetcher(resolver=resolver, ssl_context=context)


@pytest.mark.timeout(60)
def test_https_to_pinned_address_keeps_the_name(certificate, https_server) -> None:
    port, seen = https_server
    with fetcher(certificate[0]) as f:
        response = f.get(f"https://feeds.test:{port}/feed")
        assert f.get(f"https://feeds.test:{port}/feed").body == b"secure"  # kept alive
    assert response.body == b"secure"
    assert seen["sni"][-1] == "feeds.test"
    assert seen["host"][-1] == f"feeds.test:{port}"


@pytest.mark.timeout(60)
def test_certificate_for_another_name_refused(certificate, https_server) -> None:
    port, _ = https_server
    with fetcher(certificate[0]) as f, pytest.raises(FetchError) as caught:
        f.get(f"https://other.test:{port}/feed")
    assert caught.value.reason == "tls error"


@pytest.mark.timeout(60)
def test_untrusted_certificate_refused(https_server) -> None:
    port, _ = https_server
    resolver = {"feeds.test": ["127.0.0.1"]}.__getitem__
    with loopback_fetcher(resolver=resolver) as f, pytest.raises(FetchError) as caught:
        f.get(f"https://feeds.test:{port}/feed")
    assert caught.value.reason == "tls error"
