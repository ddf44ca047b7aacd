"""`index build --memory-limit` / LINKGAP_BUILD_MEMORY_LIMIT bound the aggregation's memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.crawlfiles import write_links_csv

from linkgap.cli import main
from linkgap.index.reader import BacklinkIndex


def _csv(tmp_path: Path) -> Path:
    return write_links_csv(
        tmp_path / "links.csv",
        [("https://a.com/", "https://b.com/"), ("https://c.org/x", "https://b.com/y")],
        columns=("source_url", "target_url"),
    )


def test_memory_limit_flag_and_setting_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_path = _csv(tmp_path)
    assert main(["index", "build", "--index", str(tmp_path / "i1"), "--memory-limit", "300MB",
                 str(csv_path)]) == 0
    monkeypatch.setenv("LINKGAP_BUILD_MEMORY_LIMIT", "256MB")
    assert main(["index", "build", "--index", str(tmp_path / "i2"), str(csv_path)]) == 0
    for name in ("i1", "i2"):
        assert BacklinkIndex.open(tmp_path / name).domain("b.com").referring_domains == 2


def test_bad_memory_limit_is_a_clear_error_and_publishes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["index", "build", "--index", str(tmp_path / "idx"), "--memory-limit", "lots",
                 str(_csv(tmp_path))])
    assert code == 1
    err = capsys.readouterr().err
    assert "--memory-limit 'lots' is not valid" in err and "a size such as" in err
    assert BacklinkIndex.current_version(tmp_path / "idx") is None
