"""The domain vectors of SPEC section 1, carried in the repository (tests/data/domains.tsv).

The file is a verbatim copy of the project's shared vectors, so the suite runs
from a clone with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

DOMAIN_VECTORS = Path(__file__).resolve().parents[1] / "data" / "domains.tsv"


def domain_vectors() -> list[tuple[str, str]]:
    """Each ``(input, expected)`` row; ``expected`` is ``-`` when the input is not a domain."""
    rows = []
    for line in DOMAIN_VECTORS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip("\n"):
            continue
        text, expected = line.split("\t")
        rows.append((text, expected))
    return rows
