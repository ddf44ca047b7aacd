"""Webhook signatures (SPEC 13): ``Linkgap-Signature: t=<unix>,v1=<hex>``.

``v1`` is the hex HMAC-SHA256, keyed with the account's webhook secret, of the
bytes ``"<t>." + body``. The timestamp is signed with the body, so a receiver
that refuses old timestamps cannot be fed a recorded delivery again.
docs/webhooks.md has the receiver's side in a few lines of standard Python.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

__all__ = ["SECRET_PREFIX", "SIGNATURE_HEADER", "new_secret", "sign", "signature_header",
           "verify"]

SIGNATURE_HEADER = "Linkgap-Signature"
#: Secrets carry a recognisable prefix, like API keys.
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh webhook secret: the prefix and 256 random bits."""
    return SECRET_PREFIX + secrets.token_hex(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the ``Linkgap-Signature`` header for ``body`` signed now (or at
    ``timestamp``)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={sign(secret, t, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` under ``secret`` with a timestamp at most
    ``tolerance`` seconds from ``now`` (any ``v1`` entry may match)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        return False
    expected = sign(secret, t, body)
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))
