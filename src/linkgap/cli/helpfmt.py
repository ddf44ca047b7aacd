"""How ``linkgap --help`` reads: conventional value names and wrapping that never cuts a word.

linkgap uses typer's plain (click-style) help, which wraps text at word
boundaries at any terminal width. Recent typer releases label every value
with its Python type in angle brackets (``<int range>``, ``<list[str]>``,
``<str>`` after an argument, ``{DOMAIN}`` in the usage line); the help reads
better with the usual conventions instead: ``--limit N``, ``DOMAIN...``,
choices as ``table|json|csv``. And the wrapper may break a line at a hyphen
(``cc-`` / ``graph``, ``--min-`` / ``overlap``), which cuts names a reader
copies. ``apply()`` adjusts those two things, once, for the whole CLI; on a
typer without type labels it changes nothing. ``tests/test_cli_surface.py``
checks the result on the real commands at 80 columns.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["apply", "value_label"]

_TYPE_LABEL = re.compile(r"<(?P<label>[^<>]*)>\Z")
#: typer's type labels → the conventional value names of command-line help.
_NAMES = {
    "int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER",
    "str": "TEXT", "path": "PATH", "file": "FILE", "directory": "DIR", "bool": "",
}
_applied = False


def value_label(typer_label: str) -> str:
    """The conventional name for one of typer's value labels (``<int range>`` → ``N``)."""
    match = _TYPE_LABEL.match(typer_label.strip())
    if match is None:
        return typer_label
    label = match.group("label")
    inner = re.fullmatch(r"list\[(.*)\]", label)
    if inner:
        label = inner.group(1)
    if label in _NAMES:
        return _NAMES[label]
    return label  # choices: "table|json|csv"


def _no_hyphen_breaks(wrapper_cls: Any) -> Any:
    class Wrapper(wrapper_cls):
        """typer's text wrapper, breaking lines only at spaces."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["break_on_hyphens"] = False
            kwargs["break_long_words"] = False
            super().__init__(*args, **kwargs)

    return Wrapper


def apply() -> None:
    """Adjust typer's plain help formatter (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True
    try:
        from typer import core
        from typer._click import _textwrap  # typer's own copy of click
    except ImportError:  # pragma: no cover - typer on stock click: nothing to adjust
        return
    base = getattr(core, "_TyperParameter", None)
    original = getattr(base, "display_type", None)
    if base is not None and original is not None:
        def display_type(self: Any, ctx: Any) -> str:
            return value_label(str(original(self, ctx)))

        base.display_type = display_type

    argument = getattr(core, "TyperArgument", None)
    if argument is not None and hasattr(argument, "_usage_display_name"):
        def no_type(self: Any, ctx: Any) -> None:
            return None  # an argument's name (its metavar) says what it is

        def usage_name(self: Any) -> str:
            name = str(self.display_name_raw)
            if self.nargs != 1 and not name.endswith("..."):
                name += "..."
            return name if self.required else f"[{name}]"

        argument.display_type_rich = no_type
        argument._usage_display_name = usage_name
    setattr(_textwrap, "TextWrapper", _no_hyphen_breaks(_textwrap.TextWrapper))  # noqa: B010
