"""Refuse every connection that would leave 127.0.0.0/8.

Installed by ``tests/conftest.py`` for the test process and, through
``sitecustomize.py`` in this folder (put on PYTHONPATH), for every subprocess a
test starts (``newswatch once``, ``celery worker`` …). A broken SSRF guard or a
test that forgot to point at a local server then fails loudly instead of
sending a packet to the outside world. Name lookups are refused too: a DNS
query for a public name is itself a packet leaving the machine.
"""

from __future__ import annotations

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
violations: list[str] = []


class LeftLoopback(ConnectionRefusedError):
    """A connect or lookup to a non-loopback address (subclass so callers see a network error)."""


def _is_loopback_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").split("%", 1)[0]
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    violations.append(what)
    raise LeftLoopback(f"tripwire: refused {what} (tests may only reach 127.0.0.0/8)")


def install() -> None:
    if getattr(socket, "_newswatch_tripwire", False):
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def _check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if not _is_loopback_host(host):
                _refuse(f"connect to {address!r}")

    def connect(self, address):
        _check(self, address)
        return original_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return original_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback_host(host):
            _refuse(f"name lookup of {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket._newswatch_tripwire = True
