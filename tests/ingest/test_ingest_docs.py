"""docs/inputs.md lists exactly the skip reasons the readers count."""

from __future__ import annotations

import re
from pathlib import Path

from linkgap.ingest.reasons import SKIP_REASONS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "inputs.md"
SOURCES = ROOT / "src" / "linkgap" / "ingest"


def _documented_reasons() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## What is skipped and counted", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def test_every_skip_reason_is_documented_and_nothing_else():
    assert _documented_reasons() == set(SKIP_REASONS)


def test_every_reason_named_in_the_reader_sources_is_declared():
    patterns = [
        r'skip\(\s*"([a-z_]+)"',  # stats.skip("reason")
        r'_Skip\("([a-z_]+)"\)',  # wat's internal skip exception
        r'\(\s*"([a-z_]+)",\s*[a-z_]+\s*\),',  # cc-graph's (reason, mask) pairs
        r'"([a-z_]+)" if ',  # "reason_a" if cond else "reason_b"
        r' else "([a-z_]+)"',
    ]
    named: set[str] = set()
    for path in SOURCES.glob("*.py"):
        if path.name in ("reasons.py", "detect.py", "__init__.py"):  # they count nothing
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            named |= set(re.findall(pattern, text))
    assert len(named) > 20, "the scan found few reasons: the patterns no longer match the code"
    assert named <= set(SKIP_REASONS), named - set(SKIP_REASONS)
