"""Where webhooks may go: public addresses only, unless the operator allows a network.

A webhook URL is chosen by a caller, and the server connects to it: without a check, the
delivery log becomes a scanner of the server's own network (loopback, the cluster's private
ranges, the cloud metadata service). Two checks:

- at dispatch, `refusal_of_url` reads the URL text (credentials, a literal address in any of
  the forms a resolver accepts: `127.0.0.1`, `2130706433`, `0x7f.1`, `0`, `[::ffff:127.0.0.1]`,
  or a `localhost` name) and refuses what it already shows;
- at delivery, `resolve_public` resolves the name and refuses unless *every* address is
  allowed (DNS may change between dispatch and delivery); the sender then connects to the
  address it checked, not to a second resolution of the name.

`allowed` networks (`BUREAU_WEBHOOK_ALLOWED_NETWORKS`, e.g. `["127.0.0.0/8"]` for local
development) are exempt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def refusal_of_address(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why a connection to `address` is refused, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    for kind, hit in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local (cloud metadata lives there)", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if hit:
            return f"{address} is a {kind} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def literal_address(host: str) -> Address | None:
    """`host` as an IP address if it is one in any form a resolver accepts, else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:  # the legacy forms: 2130706433, 0x7f.1, 0177.0.0.1, 127.1, 0
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal_of_url(url: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why a webhook to `url` is refused from its text alone, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "the webhook URL must be http or https"
    if parts.username is not None or parts.password is not None:
        return "the webhook URL must carry no credentials (deliveries are signed instead)"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the webhook URL has no host"
    address = literal_address(host)
    if address is not None:
        return refusal_of_address(address, allowed)
    if host == "localhost" or host.endswith(".localhost"):
        return refusal_of_address(ipaddress.ip_address("127.0.0.1"), allowed)
    return None


async def resolve_public(host: str, port: int, allowed: Sequence[Network] = ()) -> Address:
    """The address to connect to for `host`: every address it resolves to must be allowed.
    Raises `RefusedDestination` (a refused or unresolvable destination)."""
    address = literal_address(host)
    if address is None:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise RefusedDestination(f"{host} does not resolve ({exc.strerror or exc})") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    else:
        addresses = [address]
    for candidate in addresses:
        reason = refusal_of_address(candidate, allowed)
        if reason is not None:
            raise RefusedDestination(f"{host} resolves to a refused address: {reason}")
    if not addresses:
        raise RefusedDestination(f"{host} resolves to no address")
    return addresses[0]


class RefusedDestination(Exception):
    """A webhook destination that Bureau will not connect to; the message says why."""
