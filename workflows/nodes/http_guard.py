"""Which addresses an HttpRequest node may connect to.

A workflow author must not reach the platform's own network through a node: the cloud
metadata service (169.254.169.254), the database, Redis, the admin on loopback. Every
address a host name resolves to (all A and AAAA records) must be globally routable, or the
host name or the address must be in `WORKFLOW_HTTP_ALLOWED_HOSTS` (host names or CIDR
ranges). The check runs when a connection is opened, on the addresses actually connected
to, so it covers every redirect and a name that resolves differently the second time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from django.conf import settings

from workflows.nodes.faults import ValidationFault

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")


def address_problem(address: IPAddress) -> str | None:
    """Why an address may not be called without an allow-list entry, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flagged in (("unspecified", address.is_unspecified),
                          ("loopback", address.is_loopback),
                          ("link-local", address.is_link_local),
                          ("multicast", address.is_multicast),
                          ("private", address.is_private),
                          ("reserved", address.is_reserved)):
        if flagged:
            return kind
    if not address.is_global:
        return "not globally routable"
    return None


def parse_allow_list(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Split allow-list entries into host names (lower case) and address ranges."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in (item.strip() for item in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return frozenset(names), tuple(networks)


def refusal(host: str, addresses: Sequence[IPAddress], allowed: Iterable[str]) -> str | None:
    """Why `host` resolving to `addresses` may not be called, or None when it may."""
    names, networks = parse_allow_list(allowed)
    if host.lower().rstrip(".") in names:
        return None
    for address in addresses:
        if any(address in network for network in networks):
            continue
        problem = address_problem(address)
        if problem:
            return (f"Refusing to connect to {host}: it resolves to {address}, a {problem} "
                    "address; allow it with WORKFLOW_HTTP_ALLOWED_HOSTS")
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        records = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFault(f"Cannot resolve host {host}: {exc}") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in records:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def vetted_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host` to connect to; a ValidationFault when any of them is refused."""
    addresses = resolve(host, port)
    problem = refusal(host, addresses, settings.WORKFLOW_HTTP_ALLOWED_HOSTS)
    if problem:
        raise ValidationFault(problem, details={"host": host})
    return addresses


def check_url(url: str) -> None:
    """Refuse a URL that is not absolute http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValidationFault(
            f"Refusing URL scheme '{parts.scheme}': only http and https may be called")
    if not parts.hostname:
        raise ValidationFault("The URL has no host")
