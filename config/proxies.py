"""The client's address, as the sign-in lockout and the audit log both record it.

``X-Forwarded-For`` is a header anyone can send. It is read only when the
request's socket peer (``REMOTE_ADDR``) is one of ``settings.TRUSTED_PROXIES``,
and then from the right: each trusted proxy appends the address it received
the request from, so the first address, walking right to left, that is not a
trusted proxy is the client. Whatever a client wrote further left is ignored,
so a proxy that appends (nginx's ``$proxy_add_x_forwarded_for``) is as safe
as one that overwrites. With no trusted proxy (the default) the header is
never read: the address is the socket's.
"""

import functools
import ipaddress

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` as networks; ValueError on anything else."""
    return tuple(ipaddress.ip_network(str(value).strip(), strict=False) for value in values)


@functools.lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(value: str | None):
    """One address as a header or the socket gives it; None when it is not one."""
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def is_trusted_proxy(request) -> bool:
    peer = _address(request.META.get("REMOTE_ADDR"))
    networks = _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return peer is not None and _is_trusted(peer, networks)


def client_address(request) -> str | None:
    """The address a request came from (see the module's docstring); None when unknown."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    networks = _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    client = peer
    if _is_trusted(peer, networks):
        forwarded = request.headers.get("X-Forwarded-For", "")
        for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
            address = _address(hop)
            if address is None:
                break  # not an address: nothing left of it can be believed
            client = address
            if not _is_trusted(address, networks):
                break
    return client.compressed
