"""Client addresses as the network gives them: parsed once, and grouped for throttling."""

from __future__ import annotations

import functools
import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN_CLIENT = "unknown"
"""The one bucket shared by every request whose client address is unknown or not an IP."""


def parse_ip(text: str | None) -> IPAddress | None:
    """The address ``text`` names, or ``None`` when it names none (a forwarded header can
    carry anything)."""
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def canonical_ip(text: str | None) -> str | None:
    """``text`` as a canonical address (``::1``, not ``0:0::1``), or ``None`` when it names
    none or is longer than a stored address may be (a long IPv6 zone id). Cached: the same
    few clients call again and again, and every authenticated request asks."""
    address = parse_ip(text)
    ip = None if address is None else str(address)
    return ip if ip is None or len(ip) <= 45 else None


def client_bucket(ip: str | None) -> str:
    """The throttling key of a client address.

    IPv6 addresses count by their /64 (one subscriber usually holds a whole /64, so single
    addresses would cost an attacker nothing); IPv4-mapped addresses count as the IPv4
    address. Anything that is not an IP address shares ``UNKNOWN_CLIENT``, so a request
    cannot escape the throttle by hiding its address.
    """
    address = parse_ip(ip)
    if address is None:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
