"""The one rule for a request's client address: throttles, lockout, security events, audit.

`X-Forwarded-For` is believed only when the connection comes from a proxy listed in
TRUSTED_PROXIES: anyone else can write that header. Behind trusted proxies the client
is the right-most address in the header that is not itself a trusted proxy (each proxy
appends the address it received the request from, so only the right end is reliable).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries) -> tuple[IPNetwork, ...]:
    """Addresses or CIDRs as networks; an invalid entry raises ValueError naming it."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(entries)


def in_networks(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def from_trusted_proxy(request) -> bool:
    """Whether the connection comes from a proxy in TRUSTED_PROXIES (its headers are believed)."""
    trusted = _trusted(tuple(settings.TRUSTED_PROXIES))
    return bool(trusted) and in_networks(request.META.get("REMOTE_ADDR", "") or "", trusted)


def client_address(request) -> str:
    """The client's IP address as this deployment can trust it ("" when unknown)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR", "") or ""
    if not _is_ip(remote):
        return ""  # e.g. a unix socket's peer: no address to count or store
    trusted = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not trusted or not in_networks(remote, trusted):
        return remote
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed hop: trust nothing to its left
        if not in_networks(hop, trusted):
            return hop
    return hops[0] if hops else remote
