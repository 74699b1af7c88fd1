"""Hostile servers: gzip bombs, huge bodies, drips, header floods, cut-off bodies.

Each server is a real socket on 127.0.0.1 whose handler writes raw bytes, so
the fetcher sees exactly what a malicious server could send.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from socketserver import BaseRequestHandler, ThreadingTCPServer
from typing import Any

import pytest
from helpers import loopback_fetcher
from servers import BackgroundServer

from worker.fetch import FetchError

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
MiB = 1024 * 1024


class RawServer(BackgroundServer):
    """Reads one request per connection and hands the socket to ``script``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        class Handler(BaseRequestHandler):
            def handle(self) -> None:
                buffered = b""
                while b"\r\n\r\n" not in buffered:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    buffered += data
                with contextlib.suppress(OSError):  # the client hung up: the point of most tests
                    script(self.request)

        ThreadingTCPServer.allow_reuse_address = True
        self.serve(ThreadingTCPServer(("127.0.0.1", 0), Handler))


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def start(script: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def head(status: str = "200 OK", *headers: str) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


def failure(server: RawServer, **settings: Any) -> str:
    """The reason of the FetchError a fetch of the server's URL must end in; `settings` as
    for loopback_fetcher."""
    with loopback_fetcher(**settings) as f, pytest.raises(FetchError) as caught:
        f.get(server.url())
    return caught.value.reason


@pytest.mark.timeout(30)
def test_gzip_bomb_cut_off(raw_server) -> None:
    bomb = (HOSTILE / "bomb.gz").read_bytes()  # 64 KiB on the wire, 64 MiB inflated

    def script(sock: socket.socket) -> None:
        sock.sendall(head("200 OK", "Content-Encoding: gzip", f"Content-Length: {len(bomb)}",
                          "Content-Type: application/rss+xml") + bomb)

    server = raw_server(script)
    assert failure(server, max_body_bytes=MiB) == f"decompressed body over {MiB} bytes"
    assert failure(server) == "decompressed body over 10485760 bytes"  # the default 10 MiB cap too


@pytest.mark.timeout(30)
@pytest.mark.parametrize("start, cap", [
    # a Content-Length over the cap is refused before the body is read
    pytest.param(head("200 OK", f"Content-Length: {200 * MiB}"), MiB, id="length-refused-early"),
    pytest.param(head("200 OK", "Connection: close"), MiB, id="no-length"),
    pytest.param(head("200 OK", "Transfer-Encoding: chunked"), 2 * MiB, id="chunked"),
])
def test_huge_body_cut_off(raw_server, start: bytes, cap: int) -> None:
    """200 MiB offered, one MiB at a time (each a chunk of its own when chunked)."""
    mebibyte = b"x" * MiB
    if b"chunked" in start:
        mebibyte = b"%x\r\n" % MiB + mebibyte + b"\r\n"

    def script(sock: socket.socket) -> None:
        sock.sendall(start)
        for _ in range(200):
            sock.sendall(mebibyte)

    assert failure(raw_server(script), max_body_bytes=cap) == f"body over {cap} bytes"


# A dripping server sends a byte every DRIP_PACE seconds: each read gets a byte well within the
# socket timeout, so only the fetch's wall-clock deadline (DRIP_TIMEOUT, a few paces) can end it.
DRIP_PACE = 0.1
DRIP_TIMEOUT = 4 * DRIP_PACE


def drip(sock: socket.socket, data: bytes) -> None:
    for byte in data:
        sock.sendall(bytes([byte]))
        time.sleep(DRIP_PACE)  # the hostile server's pace, not test synchronisation


@pytest.mark.timeout(20)
def test_body_drip_cut_off_by_wall_clock(raw_server) -> None:
    def script(sock: socket.socket) -> None:
        sock.sendall(head("200 OK", "Content-Length: 1000"))
        drip(sock, b"<" * 1000)

    server = raw_server(script)
    assert failure(server, fetch_timeout=DRIP_TIMEOUT) == "timeout"


@pytest.mark.timeout(20)
def test_status_line_drip_cut_off_by_wall_clock(raw_server) -> None:
    server = raw_server(lambda sock: drip(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert failure(server, fetch_timeout=DRIP_TIMEOUT) == "timeout"


@pytest.mark.timeout(20)
def test_header_drip_cut_off_by_wall_clock(raw_server) -> None:
    def script(sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        drip(sock, b"X-Slow: " + b"z" * 100)

    server = raw_server(script)
    assert failure(server, fetch_timeout=DRIP_TIMEOUT) == "timeout"


@pytest.mark.timeout(20)
def test_silent_server_times_out(raw_server) -> None:
    release = threading.Event()
    server = raw_server(lambda sock: release.wait(15))
    try:
        assert failure(server, fetch_timeout=DRIP_TIMEOUT) == "timeout"
    finally:
        release.set()


@pytest.mark.timeout(20)
def test_fetcher_still_works_after_a_timeout(raw_server) -> None:
    calls = []

    def script(sock: socket.socket) -> None:
        calls.append(1)
        if len(calls) == 1:
            sock.sendall(head("200 OK", "Content-Length: 10"))
            drip(sock, b"0123456789")
        else:
            sock.sendall(head("200 OK", "Content-Length: 2") + b"ok")

    server = raw_server(script)
    with loopback_fetcher(fetch_timeout=DRIP_TIMEOUT) as f:
        with pytest.raises(FetchError, match="timeout"):
            f.get(server.url())
        assert f.get(server.url()).body == b"ok"


@pytest.mark.timeout(20)
def test_too_many_headers(raw_server) -> None:
    headers = [f"X-H{i}: v" for i in range(500)]
    server = raw_server(lambda sock: sock.sendall(head("200 OK", *headers, "Content-Length: 0")))
    assert failure(server) == "headers too large"


@pytest.mark.timeout(20)
def test_header_line_too_long(raw_server) -> None:
    server = raw_server(lambda sock: sock.sendall(head("200 OK", "X-Big: " + "b" * 200_000)))
    assert failure(server) == "headers too large"


@pytest.mark.timeout(20)
def test_header_bytes_total_capped(raw_server) -> None:
    headers = [f"X-H{i}: " + "v" * 1000 for i in range(90)]  # 90 KB, under http.client's limits
    server = raw_server(lambda sock: sock.sendall(head("200 OK", *headers, "Content-Length: 0")))
    assert failure(server) == "headers too large"


@pytest.mark.timeout(20)
def test_body_cut_short(raw_server) -> None:
    def script(sock: socket.socket) -> None:
        sock.sendall(head("200 OK", "Content-Length: 1000") + b"only ten b")
        sock.shutdown(socket.SHUT_RDWR)

    server = raw_server(script)
    assert failure(server) == "connection error"


@pytest.mark.timeout(20)
def test_garbage_instead_of_http(raw_server) -> None:
    server = raw_server(lambda sock: sock.sendall(b"\x00\x01SSH-2.0-nope\r\n\r\n"))
    with loopback_fetcher() as f, pytest.raises(FetchError):
        f.get(server.url())


@pytest.mark.timeout(20)
def test_corrupt_gzip(raw_server) -> None:
    body = b"\x1f\x8b\x08\x00garbage-not-deflate-data"
    server = raw_server(lambda sock: sock.sendall(
        head("200 OK", "Content-Encoding: gzip", f"Content-Length: {len(body)}") + body))
    assert failure(server) == "bad gzip data"
