"""Which addresses a link may be fetched from: public internet addresses only, unless the operator allowed a
private network (ALLOW_PRIVATE_NETWORKS). A host name is judged by every address it resolves to."""

from __future__ import annotations

import ipaddress
import queue
import re
import socket
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import unquote

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str], list[str]]  # a host name -> its IP addresses; raises OSError when it has none

NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")  # 127.1, 0x7f000001, 2130706433, 017700000001: read by inet_aton


class UnsafeAddress(Exception):
    """A host the bot must not connect to; the message names the address and what kind it is."""


def system_resolver(host: str) -> list[str]:
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)))


def checked_addresses(host: str, allowed: tuple[IPNetwork, ...], resolve: Resolver, seconds: float) -> list[str]:
    """Every address `host` stands for, when all of them may be connected to; UnsafeAddress naming one that may
    not, OSError when it has none, TimeoutError when looking it up takes longer than `seconds`."""
    name = host.removesuffix(".")
    literal = ip_literal(name)
    if literal is not None:
        if kind := refusal(literal, allowed):
            effective = carried_ipv4(literal) or literal
            raise UnsafeAddress(f"{host} is {kind}" if host == str(effective) else f"{host} is {effective}, {kind}")
        return [str(literal)]
    addresses = [ipaddress.ip_address(address) for address in resolve_within(resolve, name, seconds)]
    if not addresses:
        raise OSError("it has no addresses")
    for address in addresses:
        if kind := refusal(address, allowed):
            raise UnsafeAddress(f"{host} resolves to {_shown(address)}, {kind}")
    return [str(address) for address in addresses]


def ip_literal(host: str) -> IPAddress | None:
    """`host` as an IP address when it is one, however spelt: 127.1, 0x7f000001 and 2130706433 are 127.0.0.1."""
    try:
        return ipaddress.ip_address(unquote(host))  # unquoted: an IPv6 zone comes as %25eth0 in a URL
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host)) if LEGACY_IPV4.fullmatch(host) else None
    except OSError:
        return None


def refusal(address: IPAddress, allowed: tuple[IPNetwork, ...]) -> str | None:
    """What kind of internal address `address` is (judged by the IPv4 address it carries, if any); None when
    it is public or in an allowed network."""
    effective = carried_ipv4(address) or address
    if any(effective in network or address in network for network in allowed):
        return None
    return address_kind(effective)


def address_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is; None for a globally routable one. (Python's own `is_global`
    misses some, e.g. multicast and site-local, hence the explicit checks.)"""
    kinds = [
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address in SHARED, "a shared (carrier-grade NAT) address"),
        (address.is_multicast, "a multicast address"),
        (address in UNIQUE_LOCAL, "an IPv6 unique-local address"),
        (getattr(address, "is_site_local", False), "an IPv6 site-local address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a globally routable address"),
    ]
    return next((kind for hit, kind in kinds if hit), None)


def carried_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002::/16) or NAT64."""
    if isinstance(address, IPv4Address):
        return None
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


def resolve_within(resolve: Resolver, host: str, seconds: float) -> list[str]:
    """`resolve(host)`, or TimeoutError after `seconds`. getaddrinfo cannot be given a timeout, so it runs in a
    daemon thread that is left behind when it hangs (a pool's threads would hold up the process's exit)."""
    outcome: queue.SimpleQueue[list[str] | Exception] = queue.SimpleQueue()
    threading.Thread(target=lambda: outcome.put(_attempt(resolve, host)), name=f"resolve {host}", daemon=True).start()
    try:
        result = outcome.get(timeout=seconds)
    except queue.Empty:
        raise TimeoutError(f"looking up {host} took longer than {seconds:g} s") from None
    if isinstance(result, Exception):
        raise result
    return result


def _attempt(resolve: Resolver, host: str) -> list[str] | Exception:
    try:
        return list(resolve(host))
    except Exception as error:  # handed to the waiting thread, which raises it
        return error


def _shown(address: IPAddress) -> str:
    effective = carried_ipv4(address)
    return f"{address} ({effective})" if effective else str(address)
