"""One webhook delivery attempt: resolve, check, connect to the checked address, POST.

Redirects are not followed (the next hop would escape the address check); a
2xx answer is a success, anything else — another status, a refused address, a
connection error, a timeout — a failure with a short reason that the run shows
as ``webhook.last_error``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from linkgap.webhooks.addresses import Resolver, TargetRefused, resolve_target, system_resolver

__all__ = ["AttemptResult", "send_once"]


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to: ``ok``, the receiver's HTTP status (if it answered)
    and the reason it failed (None when ok)."""

    ok: bool
    status: int | None = None
    error: str | None = None


def _version() -> str:
    from linkgap import __version__

    return __version__


def send_once(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
              allow_private: bool, resolver: Resolver = system_resolver,
              verify: ssl.SSLContext | bool = True) -> AttemptResult:
    """POST ``body`` to ``url`` once, with ``headers`` (the signature among them).

    ``timeout`` bounds connecting, sending and each wait for the receiver, so a
    receiver that accepts and never answers costs at most about that long.
    """
    try:
        target = resolve_target(url, allow_private=allow_private, resolver=resolver)
    except TargetRefused as exc:
        return AttemptResult(False, None, str(exc))
    sent = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": f"linkgap-webhooks/{_version()}",
    }
    # The connection goes to the checked address; the name is the TLS server name,
    # so the certificate is still verified against it.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                          trust_env=False, verify=verify) as client, \
                client.stream("POST", target.connect_url, content=body, headers=sent,
                              extensions=extensions) as response:
            status = response.status_code
    except httpx.TimeoutException:
        return AttemptResult(False, None, f"no answer within {timeout:g} s (timed out)")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return AttemptResult(False, None, f"could not deliver to {target.host}: {reason}")
    if 200 <= status < 300:
        return AttemptResult(True, status, None)
    note = " (redirects are not followed)" if 300 <= status < 400 else ""
    return AttemptResult(False, status, f"the receiver answered {status}{note}")
