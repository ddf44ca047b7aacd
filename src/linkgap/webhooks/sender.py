"""One webhook delivery attempt: resolve, check, connect to the checked address, POST.

Redirects are not followed (the next hop would escape the address check); a
2xx answer is a success, anything else — another status, a refused address, a
connection error, a timeout — a failure with a short reason that the run shows
as ``webhook.last_error``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


class _Deadline:
    """Cuts the attempt's connection ``seconds`` after it starts, whatever it is doing.

    httpx's timeouts bound each wait (connect, each read, each write), so a receiver
    that trickles its answer a byte at a time never trips them; this bounds the whole
    attempt. The socket is taken from httpcore's trace events as it is connected (and
    again once TLS wraps it); shutting it down wakes the blocked read at once."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            with self._lock:
                self._sock = sock if isinstance(sock, socket.socket) else self._sock
                fired = self.fired
            if fired:
                self._cut()

    def _cut(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket call, also on a TLS socket: no TLS goodbye to wait for.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def send_once(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
              allow_private: bool, resolver: Resolver = system_resolver,
              verify: ssl.SSLContext | bool = True) -> AttemptResult:
    """POST ``body`` to ``url`` once, with ``headers`` (the signature among them).

    ``timeout`` bounds the whole attempt once the address is checked: connecting,
    sending and the receiver's answer, so a receiver that accepts and never answers
    (or answers a byte at a time) costs at most about that long.
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
    deadline = _Deadline(timeout)
    extensions: dict[str, Any] = {"trace": deadline.trace}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    timed_out = AttemptResult(False, None, f"no answer within {timeout:g} s (timed out)")
    try:
        with deadline, httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                                    trust_env=False, verify=verify) as client, \
                client.stream("POST", target.connect_url, content=body, headers=sent,
                              extensions=extensions) as response:
            status = response.status_code
    except httpx.TimeoutException:
        return timed_out
    except httpx.HTTPError as exc:
        if deadline.fired:
            return timed_out
        reason = str(exc) or type(exc).__name__
        return AttemptResult(False, None, f"could not deliver to {target.host}: {reason}")
    if 200 <= status < 300:
        return AttemptResult(True, status, None)
    note = " (redirects are not followed)" if 300 <= status < 400 else ""
    return AttemptResult(False, status, f"the receiver answered {status}{note}")
