"""How linkgap writes one value into a CSV cell (API exports and CLI output alike).

Lists are joined with ``;``, booleans are ``true``/``false``, None is empty,
and a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
is prefixed with ``'`` so that spreadsheet programs do not run it as a formula.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "cell_text", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> str:
    """A value as CSV text, without the formula guard."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(cell_text(v) for v in value)
    return str(value)


def safe_cell(value: Any) -> str:
    """A value as CSV text with a leading formula character neutralised."""
    text = cell_text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
