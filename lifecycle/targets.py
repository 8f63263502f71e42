"""Where a webhook may be sent (API.md "Subscriptions"): the rules that keep
a subscription from turning the register into a probe of its own network.

A target is checked after DNS resolution, when it is subscribed and again
before every delivery, and the delivery connects to the address checked
(pinned), so a name that resolves elsewhere a moment later gains nothing:

- only http and https, no user name or password in the URL;
- an address that is not public (private, loopback, link-local, shared,
  reserved, multicast) is refused unless a network of LIFECYCLE_WEBHOOK_ALLOW
  holds it; cloud metadata addresses only if listed as that very address;
- a public target must use https.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from lifecycle.config import IPNetwork
from lifecycle.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL = 2000

# Instance metadata services, which hand out cloud credentials: AWS, GCP and
# Azure (169.254.169.254, and AWS's IPv6 one), AWS ECS tasks, Alibaba Cloud,
# Oracle Cloud.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200", "192.0.0.192"))

Resolver = Callable[[str, int], list[str]]


def refused(message: str) -> InvalidInput:
    """The URL is not one the register may send to (422 on `url`)."""
    return InvalidInput("url", message)


@dataclass(frozen=True)
class Target:
    """A checked URL and the address its connection must use."""

    url: str
    scheme: str
    host: str            # as written (without brackets), for Host and TLS
    port: int
    path: str            # path and query
    address: IPAddress   # resolved, checked, pinned

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the name."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check(url: str, allow: Sequence[IPNetwork], resolve: Resolver = system_resolver) -> Target:
    """The target of `url` if the rules above let the register send to it;
    else InvalidInput on `url` saying why."""
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    if port == 0:
        raise refused("port 0 is not a port to send to")
    try:
        found = resolve(host, port)
    except (OSError, UnicodeError) as e:
        raise refused(f"the host {host!r} does not resolve ({e})") from None
    addresses = [_plain(ipaddress.ip_address(a.split("%")[0])) for a in found]
    if not addresses:
        raise refused(f"the host {host!r} does not resolve")
    allowed = [a for a in addresses if permitted(a, allow)]
    if not allowed:
        raise refused(
            f"{host} resolves to {addresses[0]}, which is {kind_of(addresses[0])}: such targets need "
            "their network in LIFECYCLE_WEBHOOK_ALLOW")
    address = allowed[0]
    if address.is_global and parts.scheme != "https":
        raise refused(f"{host} is a public address ({address}): use https")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(url, parts.scheme, host, port, path, address)


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL:
        raise refused(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # a bad port raises here
    except ValueError as e:
        raise refused(f"not a URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise refused("the URL must start with https:// (or http:// inside an allowed network)")
    if not parts.hostname:
        raise refused("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise refused("no user name or password in the URL: the signature authenticates "
                            "the register to the receiver")
    if parts.fragment:
        raise refused("no #fragment in the URL: it is never sent")
    return parts


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4 address written as IPv6 (::ffff:127.0.0.1) is that IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def permitted(address: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    if address in METADATA:  # only when listed as that very address
        return any(n.num_addresses == 1 and address in n for n in allow)
    if address.is_global and not address.is_multicast:
        return True
    return any(address in n for n in allow)


def kind_of(address: IPAddress) -> str:
    if address in METADATA:
        return "a cloud metadata address"
    for kind, yes in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                      ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
                      ("private", address.is_private)):
        if yes:
            return f"a {kind} address"
    return "not a public address"
