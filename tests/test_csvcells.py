"""One CSV cell writer for API exports and CLI output (SPEC 5 CSV rules)."""

from __future__ import annotations

import csv
import io

import pytest

from linkgap.cli.output import emit
from linkgap.csvcells import cell_text, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (["a.com", "b.com"], "a.com;b.com"),
        (42, "42"),
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-dash.com", "'-dash.com"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain.com", "plain.com"),
        (["-a.com", "b.com"], "'-a.com;b.com"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_cell_text_does_not_guard() -> None:
    assert cell_text("-dash.com") == "-dash.com"


def test_cli_csv_output_is_guarded(capsys: pytest.CaptureFixture[str]) -> None:
    emit([{"domain": "-dash.com", "found": False, "signals": ["a", "b"]}], "csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["domain", "found", "signals"], ["'-dash.com", "false", "a;b"]]
