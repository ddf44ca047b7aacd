"""The demo's generated web and index: deterministic, labelled, safe for a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkgap.demo import DemoNotSafe, build_demo_index, demo_settings, ensure_demo_key
from linkgap.demo_web import (
    DEMO_COMPETITORS,
    DEMO_LABEL,
    DEMO_TARGET,
    generate_web,
    write_demo_inputs,
)
from linkgap.domains import DomainNormalizer
from linkgap.index.build import build_from_links
from linkgap.index.reader import BacklinkIndex
from linkgap.service import LinkgapService

SMALL = 3000


def test_same_seed_same_files_other_seed_other_web(tmp_path: Path) -> None:
    a = write_demo_inputs(tmp_path / "a", generate_web(7, SMALL))
    b = write_demo_inputs(tmp_path / "b", generate_web(7, SMALL))
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    other = generate_web(8, SMALL)
    assert other.links != generate_web(7, SMALL).links


def test_generated_web_has_the_promised_shape() -> None:
    web = generate_web(11, SMALL)
    normalizer = DomainNormalizer()
    assert len(web.domains) == len(set(web.domains)) == SMALL
    # every name is a registrable domain by itself
    assert all(normalizer.try_normalize(d) is not None for d in web.domains)
    assert any(not d.isascii() for d in web.domains), "a few internationalised names"
    assert any(d.endswith(".example") for d in web.domains)
    assert any(not d.endswith(".example") for d in web.domains)
    assert web.spam and all(any(ch.isdigit() for ch in d) for d in web.spam)
    rels = {lk.rel for lk in web.links}
    assert {"", "nofollow", "ugc", "sponsored"} <= rels
    in_degree: dict[int, set[int]] = {}
    for lk in web.links:
        in_degree.setdefault(lk.target, set()).add(lk.source)
    sizes = sorted((len(v) for v in in_degree.values()), reverse=True)
    assert sizes[0] > 20 * sizes[len(sizes) // 2], "power-law: hubs far above the median"
    comp_ids = {web.domains.index(c) for c in DEMO_COMPETITORS}
    target_id = web.domains.index(DEMO_TARGET)
    linkers = {lk.source for lk in web.links if lk.target in comp_ids}
    to_target = {lk.source for lk in web.links if lk.target == target_id}
    assert len(linkers - to_target) > 50 and linkers & to_target


@pytest.mark.slow
def test_two_demo_builds_give_identical_counts_and_a_labelled_manifest(tmp_path: Path) -> None:
    first = build_demo_index(demo_settings(tmp_path / "one"), n_domains=SMALL)
    second = build_demo_index(demo_settings(tmp_path / "two"), n_domains=SMALL)
    assert first.built and second.built
    assert first.counts == second.counts
    assert first.counts["domains"] == SMALL
    inputs = json.loads((tmp_path / "one" / "demo" / "demo-inputs" / "inputs.json").read_text())
    assert inputs["label"] == DEMO_LABEL
    index = BacklinkIndex.open(tmp_path / "one" / "demo" / "index")
    assert index.domain(DEMO_TARGET) is not None
    result = index.gap(DEMO_TARGET, list(DEMO_COMPETITORS))
    assert len(result) > 0

    again = build_demo_index(demo_settings(tmp_path / "one"), n_domains=SMALL)
    assert not again.built and again.index_version == first.index_version
    rebuilt = build_demo_index(demo_settings(tmp_path / "one"), n_domains=SMALL, rebuild=True)
    assert rebuilt.built and rebuilt.index_version != first.index_version


def test_the_demo_never_replaces_a_real_index(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    build_from_links(settings.index, [("https://a.com/", "https://b.com/")])
    before = BacklinkIndex.current_version(settings.index)
    with pytest.raises(DemoNotSafe) as info:
        build_demo_index(settings, n_domains=SMALL)
    assert "--home" in info.value.message
    assert BacklinkIndex.current_version(settings.index) == before


def test_demo_settings_ignore_index_and_database_variables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKGAP_INDEX", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LINKGAP_DATABASE_URL", "sqlite:////nowhere/state.db")
    settings = demo_settings(tmp_path / "home", port=9999)
    demo = (tmp_path / "home" / "demo").resolve()
    assert Path(settings.home) == demo
    assert Path(settings.index) == demo / "index"
    assert settings.database_url == f"sqlite:///{demo / 'state.db'}"
    assert settings.port == 9999


def test_demo_key_works_and_the_account_is_reused(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    with LinkgapService(settings) as service:
        first = ensure_demo_key(service)
        second = ensure_demo_key(service)
        assert first != second
        assert service.authenticate(first).account_id == service.authenticate(second).account_id
        assert [a.name for a in service.list_accounts()] == ["demo"]
        assert service.list_accounts()[0].credits.available >= 1000


@pytest.mark.parametrize("fmt", ["wat", "warc", "links-csv", "parquet", "cc-graph"])
def test_every_generated_format_builds_the_same_domain_graph(
        tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m linkgap.demo_web`` writes files the real build reads, in every format,
    and they all describe the same web: same domains, same domain edges."""
    from linkgap.demo_web import main
    from linkgap.index.build import build_index

    assert main([str(tmp_path / "files"), "--format", fmt, "--domains", "300",
                 "--files", "2", "--internal-links", "3"]) == 0
    written = [line for line in capsys.readouterr().out.splitlines() if line]
    assert written and all(Path(p).is_file() for p in written)
    report = build_index(tmp_path / "index", written)
    web = generate_web(n_domains=300)
    edges = {(lk.source, lk.target) for lk in web.links if lk.source != lk.target}
    assert report.manifest.counts["domains"] == 300
    assert report.manifest.counts["edges"] == len(edges)
    skipped = {reason for s in report.inputs for reason in s.skipped}
    # only the navigation links of warc/wat pages are dropped, as internal
    assert skipped <= ({"internal_link"} if fmt in ("wat", "warc") else set())
