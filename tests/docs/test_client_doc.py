"""docs/client.md covers the client's whole public surface: every method and every exception."""

from __future__ import annotations

import inspect
from pathlib import Path

from linkgap import client as lc

DOC = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text(encoding="utf-8")


def test_every_public_method_is_documented() -> None:
    methods = [name for name, _ in inspect.getmembers(lc.Client, inspect.isfunction)
               if not name.startswith("_") and name != "close"]
    assert methods
    for name in methods:
        assert f"`{name}(" in DOC, f"Client.{name} is not in docs/client.md"


def test_every_exception_is_in_the_tree() -> None:
    errors = [n for n in lc.__all__ if isinstance(getattr(lc, n), type)
              and issubclass(getattr(lc, n), Exception)]
    assert len(errors) >= 15
    for name in errors:
        assert f"{name} " in DOC or f"`{name}`" in DOC, f"{name} is not in docs/client.md"


def test_documented_defaults_match_the_signature() -> None:
    sig = inspect.signature(lc.Client.__init__)
    for param in ("timeout", "max_retries", "max_retry_wait"):
        assert f"{param}={sig.parameters[param].default}" in DOC
    wait = inspect.signature(lc.Client.wait)
    assert f"timeout={wait.parameters['timeout'].default:g}" in DOC
