"""API keys: ``lgk_<public id>_<secret>``.

The public id (12 hex characters) names the key in listings and revocation;
the secret (160 random bits from :mod:`secrets`) is shown once and only its
SHA-256 is stored. A slow password hash is unnecessary: the secret is a
uniformly random 160-bit value, so a stolen hash cannot be brute-forced.
Hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["KEY_PREFIX", "NewKey", "hash_secret", "new_key", "parse_key", "secret_matches"]

KEY_PREFIX = "lgk_"
_ID_BYTES = 6
_SECRET_BYTES = 20
_KEY_RE = re.compile(
    rf"{KEY_PREFIX}([0-9a-f]{{{2 * _ID_BYTES}}})_([0-9a-f]{{{2 * _SECRET_BYTES}}})\Z"
)
_ID_RE = re.compile(rf"(?:{KEY_PREFIX})?([0-9a-f]{{{2 * _ID_BYTES}}})\Z")


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: the full text (shown once), its public id and secret hash."""

    full: str
    key_id: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a key's secret part."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_key() -> NewKey:
    """Generate a key with a fresh public id and secret."""
    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_hex(_SECRET_BYTES)
    return NewKey(f"{KEY_PREFIX}{key_id}_{secret}", key_id, hash_secret(secret))


def parse_key(raw: str | None) -> tuple[str, str] | None:
    """(public id, secret) of a well-formed key, or None for anything else."""
    if not isinstance(raw, str):
        return None
    match = _KEY_RE.match(raw.strip())
    if match is None:
        return None
    return match.group(1), match.group(2)


def parse_key_id(text: str) -> str | None:
    """The public id from ``abc123…`` or ``lgk_abc123…`` (what ``keys revoke`` accepts)."""
    match = _ID_RE.match(text.strip().lower())
    return match.group(1) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time check of a secret against the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
