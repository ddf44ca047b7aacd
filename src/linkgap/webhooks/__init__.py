"""Signed webhooks (SPEC 13): when a run with a ``callback_url`` completes or fails,
the server POSTs it there, signed with the account's webhook secret, retrying
with exponential backoff for up to 24 hours.

``signing`` (the signature), ``addresses`` (where a delivery may go, checked
again at send time), ``sender`` (one attempt), ``schedule`` (the backoff).
"""

from __future__ import annotations

from linkgap.webhooks.signing import SIGNATURE_HEADER, new_secret, signature_header, verify

__all__ = ["SIGNATURE_HEADER", "new_secret", "signature_header", "verify"]
