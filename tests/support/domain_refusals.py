"""Which refusals of a typed domain no schema pattern can state (used by the OpenAPI tests).

``linkgap.domains.DOMAIN_INPUT_PATTERN`` carries what a pattern can: characters,
separators, scheme, port, at least two labels, a last label that is not all
digits. What is left is decided by data a pattern does not have: the Public
Suffix List, UTS-46 for Unicode labels, Punycode for ``xn--`` labels, and
lengths counted in the ASCII form.
"""

from __future__ import annotations

import re

from linkgap.domains import DomainNormalizer
from linkgap.errors import InvalidDomain

__all__ = ["NORMALIZERS", "inexpressible_refusal"]

NORMALIZERS = (DomainNormalizer(), DomainNormalizer(icann_only=True))


def inexpressible_refusal(text: str) -> bool:
    """True when the server refuses ``text`` for a reason a pattern cannot state
    (or does not refuse it at all)."""
    try:
        NORMALIZERS[0].normalize(text)
    except InvalidDomain as exc:
        if "public suffix" in exc.reason:
            return True
        if not text.isascii() or "xn--" in text.lower():
            return True  # UTS-46 and Punycode decide
        host = re.sub(r"^\s*(https?://)?([^/?#]*@)?", "", text, flags=re.I)
        labels = re.split(r"[/?#]", host, maxsplit=1)[0].rsplit(":", 1)[0].split(".")
        return any(len(label) > 63 for label in labels) or len(".".join(labels)) > 253
    return True
