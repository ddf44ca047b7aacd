"""Where a webhook may go (SPEC 13): https (http when the server allows it), and
never a loopback, private, link-local or otherwise non-public address unless
``LINKGAP_WEBHOOK_ALLOW_PRIVATE`` is set.

A name is checked twice. When a run is created, :func:`check_callback_url`
refuses malformed URLs and literal addresses that are not public (a clear 422
at once). At every delivery attempt, :func:`resolve_target` resolves the name
again and checks **every** address it resolves to; the delivery then connects
to exactly the address that was checked (the name is kept for the Host
header, TLS SNI and certificate check). So a name that resolved to a public
address when the run was made and to 10.0.0.5 later (DNS rebinding) is
refused at send time, and there is no second lookup between the check and the
connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from linkgap.errors import InvalidInput

__all__ = ["MAX_URL_LENGTH", "Resolver", "Target", "TargetRefused", "callback_url_pattern",
           "check_callback_url", "is_public", "resolve_target"]

MAX_URL_LENGTH = 2048

# What a callback URL looks like, as a regular expression that means the same in Python
# and in ECMA-262, so the OpenAPI document states the rule the server applies (the server
# matches it first): http(s)://, a host name of ASCII labels or a bracketed IPv6 address,
# an optional port 1-65535, then a path, query or fragment without spaces or control
# characters. Surrounding white space is allowed and dropped. A URL that matches can still
# be refused for what no pattern says well: an address (or ``localhost``) that is not public.
_HEX4 = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join([
    f"(?:{_HEX4}:){{7}}{_HEX4}",
    f"(?:{_HEX4}:){{1,7}}:",
    f"(?:{_HEX4}:){{1,6}}:{_HEX4}",
    *[f"(?:{_HEX4}:){{1,{n}}}(?::{_HEX4}){{1,{7 - n}}}" for n in range(5, 0, -1)],
    f":(?:(?::{_HEX4}){{1,7}}|:)",
    r"::(?:[Ff]{4}:)?(?:[0-9]{1,3}\.){3}[0-9]{1,3}",  # IPv4-mapped (and -compatible)
])
_HOST = rf"(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[(?:{_IPV6})\])"
_PORT = (r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
         r"|[1-9][0-9]{0,3}))?")
_REST = r"(?:[/?#][^\x00-\x20\x7f]*)?"


def callback_url_pattern(*, allow_http: bool) -> str:
    """The pattern a ``callback_url`` matches on a server that does (or does not) allow
    http:// receivers."""
    scheme = "[Hh][Tt][Tt][Pp][Ss]?" if allow_http else "[Hh][Tt][Tt][Pp][Ss]"
    return rf"^\s*{scheme}://{_HOST}{_PORT}{_REST}\s*$"


_PATTERNS = {flag: re.compile(callback_url_pattern(allow_http=flag)) for flag in (False, True)}

#: getaddrinfo-shaped: (host, port) -> the IP address strings the host resolves to.
Resolver = Callable[[str, int], list[str]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A delivery that must not be sent (a non-public address, a name that does not
    resolve); the message is recorded as the attempt's error."""


@dataclass(frozen=True)
class Target:
    """Where one delivery attempt connects: the checked ``address`` and the URL parts."""

    scheme: str
    host: str        # the name, for Host, SNI and the certificate
    port: int
    path: str        # path and query, at least "/"
    address: str     # the resolved, checked IP address the connection goes to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the name."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}{self.path}"


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, if it is one, including the forms the C resolver reads
    as IPv4 (``127.1``, ``2130706433``, ``0x7f.0.0.1``), which would otherwise pass for names."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9A-Fa-fXx.]+", host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an absolute http(s) URL; ValueError otherwise."""
    split = urlsplit(url)
    scheme = split.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("it must be an https:// URL")
    if split.username is not None or split.password is not None:
        raise ValueError("it must not carry a user name or password")
    host = (split.hostname or "").rstrip(".")
    if not host:
        raise ValueError("it has no host name")
    try:
        port = split.port
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None
    if port == 0:
        raise ValueError("its port is not a number from 1 to 65535")
    path = split.path or "/"
    if split.query:
        path += "?" + split.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_callback_url(url: Any, *, allow_http: bool, allow_private: bool) -> str:
    """``url`` if a run may carry it as ``callback_url``; InvalidInput (``param``
    callback_url) saying why not."""
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"callback_url is not acceptable: {why}", param="callback_url")

    if not isinstance(url, str) or not url.strip():
        raise refuse("it must be a URL")
    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"it is longer than {MAX_URL_LENGTH} characters")
    if not _PATTERNS[allow_http].search(url):
        raise refuse(_why_not(url.strip(), allow_http))
    url = url.strip()
    scheme, host, _, _ = _parts(url)
    literal = _literal(host)
    if literal is not None and not allow_private and not is_public(literal):
        raise refuse(f"{host} is a loopback, private or link-local address")
    lowered = host.lower()
    if not allow_private and (lowered == "localhost" or lowered.endswith(".localhost")):
        raise refuse(f"{host} is a loopback name")
    return url


def _why_not(url: str, allow_http: bool) -> str:
    """Why ``url`` does not match the pattern, in words."""
    wanted = "an http:// or https:// URL" if allow_http else "an https:// URL"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "it contains spaces or control characters"
    try:
        scheme, host, _, _ = _parts(url)
    except ValueError as exc:
        return str(exc) if "https" not in str(exc) else f"it must be {wanted}"
    if scheme == "http" and not allow_http:
        return "it must use https (this server does not send webhooks over plain http)"
    return f"it must be {wanted} with a host name (ASCII labels) or an IP address"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (for TCP), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in out:
            out.append(address)
    return out


def resolve_target(url: str, *, allow_private: bool,
                   resolver: Resolver = system_resolver) -> Target:
    """Resolve ``url``'s host now and check every address; TargetRefused otherwise."""
    try:
        scheme, host, port, path = _parts(url)
    except ValueError as exc:
        raise TargetRefused(f"callback_url is not acceptable: {exc}") from None
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"{host} could not be resolved: {exc}") from None
        if not addresses:
            raise TargetRefused(f"{host} resolves to no address")
    if not allow_private:
        for text in addresses:
            address = _literal(text)
            if address is None or not is_public(address):
                raise TargetRefused(
                    f"{host} resolves to {text}, a loopback, private or link-local address: "
                    "delivery refused")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
