"""Which addresses watcher may connect to: public ones, unless WATCHER_FETCH_ALLOW says more.

A page, a redirect or a link in a feed can name any host, and watcher runs next to things
a stranger must not reach through it: the machine itself (127.0.0.1, ::1), the private
network (10/8, 172.16/12, 192.168/16, fc00::/7), link-local addresses with the cloud
metadata service (169.254.169.254, fe80::/10) and 0.0.0.0. Only addresses that are
globally reachable (``ipaddress``'s ``is_global``) and not multicast are allowed, after
DNS (``allowed_addresses``, which the connection pool asks for every new connection:
watcher.fetch.connect); an IPv6 address that carries an IPv4 one (``::ffff:a.b.c.d``,
NAT64, 6to4, Teredo) is judged by the IPv4 address it carries.

``AddressPolicy.parse("127.0.0.0/8,intranet.example")`` allows more: the networks (CIDR)
by address, the host names by name whatever they resolve to. Tests and local deployments
set it through ``WATCHER_FETCH_ALLOW``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# A resolver: (host, port) -> the addresses it names, as strings. Tests give their own.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressNotAllowed(Exception):
    """A connection refused by the address policy; ``str()`` is the one line to show."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        named = f"{address} is" if host == address else f"{host} resolves to {address},"
        super().__init__(f"address not allowed: {named} {kind} "
                         "(WATCHER_FETCH_ALLOW can allow it)")


def ip_of(host: str) -> IPAddress | None:
    """The address a URL's host names literally (``[::1]`` too), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries, if it carries one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not public ("loopback"), or None when it is."""
    ip = _embedded(ip)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)"
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip.packed[0] == 0):
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Public addresses, plus ``networks`` and ``hosts`` (lower case, no trailing dot)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> AddressPolicy:
        """``"127.0.0.0/8, ::1, intranet.example"``; a bad entry is a ValueError naming it."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if "/" in name or ":" in name or not all(
                    part.replace("-", "").replace("_", "").isalnum() for part in name.split(".")):
                raise ValueError(f"{entry!r} is neither a CIDR network nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_name(self, host: str) -> bool:
        """The host is allowed by name, whatever it resolves to."""
        return host.lower().rstrip(".") in self.hosts

    def check(self, host: str, ip: IPAddress) -> None:
        """Raise AddressNotAllowed unless ``ip`` (which ``host`` resolved to) may be used."""
        reason = refusal(ip)
        if reason is None or any(ip.version == net.version and ip in net
                                 for net in self.networks):
            return
        raise AddressNotAllowed(host, str(ip), reason)

    def check_url_host(self, host: str) -> None:
        """Before any connection: a literal address in a URL is judged at once (no DNS
        is needed to know it), also when a proxy will make the connection."""
        ip = ip_of(host)
        if ip is not None and not self.allows_name(host):
            self.check(host, ip)


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver (getaddrinfo, in a worker thread), addresses in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def allowed_addresses(policy: AddressPolicy, host: str, port: int,
                            resolver: Resolver = resolve) -> list[str]:
    """The addresses ``host`` may be connected at, resolved once, so that the check and
    the connection use the same address (a name cannot pass with a public address and
    connect to 127.0.0.1). Raises AddressNotAllowed when it names only refused ones, and
    socket.gaierror when it names none."""
    literal = ip_of(host)
    if literal is not None:
        if not policy.allows_name(host):
            policy.check(host, literal)
        return [str(literal)]
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise socket.gaierror(socket.EAI_NONAME, f"host name not found: {host}") from exc
    if not policy.allows_name(host):
        refused: AddressNotAllowed | None = None
        kept = []
        for address in addresses:
            ip = ip_of(address)
            try:
                if ip is not None:
                    policy.check(host, ip)
                    kept.append(address)
            except AddressNotAllowed as exc:
                refused = refused or exc
        if not kept and refused is not None:
            raise refused
        addresses = kept
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"host name not found: {host}")
    return addresses
