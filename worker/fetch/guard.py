"""Address policy: which IPs a fetch may connect to.

The check runs on the addresses a host name resolves to, right before the
connection is made to one of exactly those addresses (see ``client.py``), so a
name that resolves to a private address, or a DNS answer that changes between
check and connect (rebinding), cannot reach the inside network.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints. Refused even with allow_private_networks: a local
# test never needs them and reaching one leaks credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64, compat)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64 or ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(address: str, *, allow_private: bool) -> str | None:
    """Why connecting to ``address`` is refused, or None when it is allowed."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return f"not an ip address {address!r}"
    inner = _embedded_ipv4(ip)
    if inner is not None:
        reason = blocked_reason(str(inner), allow_private=allow_private)
        return f"blocked address {ip} ({reason})" if reason else None
    if ip in METADATA_ADDRESSES:
        return f"blocked address {ip} (cloud metadata)"
    if ip.is_unspecified or ip.is_multicast:
        return f"blocked address {ip}"  # never a valid HTTP peer, even locally
    if allow_private:
        return None
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or not ip.is_global  # CGNAT 100.64/10, documentation ranges, 192.0.0/24…
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    ):
        return f"blocked address {ip}"
    return None


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class SystemResolver:
    """getaddrinfo with a short cache: 10,000 polls per 5 minutes hit few hosts."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 4096) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, host: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(host)
            if hit and hit[0] > now:
                return hit[1]
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[host] = (now + self._ttl, addresses)
        return addresses
