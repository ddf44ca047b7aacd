"""linkgap's HTTP API (SPEC section 5): ``create_app(service, settings)``."""

from __future__ import annotations

from linkgap.api.app import create_app

__all__ = ["create_app"]
