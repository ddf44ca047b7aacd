"""linkgap: open backlink-gap analysis.

The public API is what ``__all__`` lists; everything else is private and may
change. Heavy modules load on first use, so ``import linkgap`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "BacklinkIndex",
    "Client",
    "DomainMetrics",
    "EdgeEvidence",
    "GapResult",
    "LinkCompetitors",
    "LinkSample",
    "LinkgapError",
    "__version__",
]

_LAZY = {
    "BacklinkIndex": "linkgap.index.reader",
    "DomainMetrics": "linkgap.index.reader",
    "EdgeEvidence": "linkgap.index.evidence",
    "LinkSample": "linkgap.index.evidence",
    "GapResult": "linkgap.gap",
    "LinkCompetitors": "linkgap.competitors",
    "Client": "linkgap.client",
    "ApiError": "linkgap.client",
    "LinkgapError": "linkgap.errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.client import ApiError, Client
    from linkgap.competitors import LinkCompetitors
    from linkgap.errors import LinkgapError
    from linkgap.gap import GapResult
    from linkgap.index.evidence import EdgeEvidence, LinkSample
    from linkgap.index.reader import BacklinkIndex, DomainMetrics


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'linkgap' has no attribute {name!r}")
    return getattr(import_module(module), name)
