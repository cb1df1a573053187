"""Who is asking: the client address that rate limits and bans apply to.

The socket peer is the client, unless the peer is one of the configured
trusted proxies: then the forwarding header is walked from the right, hop by
hop, for as long as each hop is itself a trusted proxy. The first untrusted
address is the client. A header sent by anyone else changes nothing, so it
cannot be forged to escape a limit.

Addresses are then bucketed: IPv4 exactly, IPv6 by its network prefix (a
home or phone gets a whole /64 and could otherwise walk through it), and
IPv4 carried inside IPv6 (IPv4-mapped, NAT64, 6to4, Teredo) as that IPv4
address: a 6to4 host owns a whole /48 and a Teredo client can pick any of
65,536 ports and flags, so bucketing those by prefix would hand one IPv4
host thousands of buckets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64 = ipaddress.ip_network("64:ff9b::/96")
UNKNOWN = "unknown"
_FORWARDED_FOR = re.compile(r'(?:^|[;,])\s*for=("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]:port`, `v4:port`, quoted."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None


def forwarded_hops(forwarded: str | None, forwarded_for: str | None) -> list[str]:
    """The hops a request claims, nearest the client first. RFC 7239
    `Forwarded` wins over `X-Forwarded-For` when both are sent."""
    if forwarded:
        return [m.group(1) for m in _FORWARDED_FOR.finditer(forwarded)]
    if forwarded_for:
        return [hop for hop in forwarded_for.split(",") if hop.strip()]
    return []


def resolve(
    peer: str | None,
    forwarded: str | None,
    forwarded_for: str | None,
    trusted: Sequence[Network],
) -> Address | None:
    client = parse_address(peer) if peer else None
    if client is None:
        return None
    for hop in reversed(forwarded_hops(forwarded, forwarded_for)):
        if not _within(client, trusted):
            break
        previous = parse_address(hop)
        if previous is None:
            break  # an unreadable hop: the last trusted proxy is all we know
        client = previous
    return client


def bucket(address: Address | None, ipv6_prefix: int) -> str:
    """The subject a per-client limit or ban applies to."""
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if address in NAT64:
            return str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:  # 2002:AABB:CCDD::/48 carries A.B.C.D
            return str(address.sixtofour)
        if address.teredo is not None:  # 2001::/32: (server, client), client unobfuscated
            return str(address.teredo[1])
        return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))
    return str(address)


def _within(address: Address, networks: Sequence[Network]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)
