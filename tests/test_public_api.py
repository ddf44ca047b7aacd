"""The curated public surface of ``import linkgap`` (SPEC section 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import linkgap


def test_all_names_resolve() -> None:
    for name in linkgap.__all__:
        assert getattr(linkgap, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        linkgap.NoSuchThing  # noqa: B018


def test_import_is_cheap() -> None:
    """``import linkgap`` must not pull in the web stack, DuckDB or SciPy."""
    code = (
        "import sys, linkgap; heavy = [m for m in ('fastapi', 'duckdb', 'scipy', 'pyarrow') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
