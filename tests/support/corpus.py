"""A many-file crawl corpus in every input format, and whether Spark can run here.

The corpus shares links across files and formats (so (page, target) pairs
repeat and must count once), mixes rel values, robots nofollow, dates and
internal links, and carries damage that the readers skip and count: the
material of the Spark-vs-embedded parity tests and of the Spark benchmark.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from support.crawlfiles import (
    Page,
    WatPage,
    html_page,
    truncate_file,
    write_cc_graph,
    write_links_csv,
    write_links_parquet,
    write_warc,
    write_wat,
)

__all__ = ["all_inputs", "require_spark_or_skip", "spark_missing", "write_corpus"]


def spark_missing() -> str | None:
    """Why the Spark tests cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        return "Java is not installed (Spark needs Java 17+)"
    return None


def require_spark_or_skip() -> None:
    """Skip (outside CI) or fail (in CI) when pyspark or Java is missing."""
    reason = spark_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the Spark tests: {reason}")
    pytest.skip(reason)


# A pool of domains the corpus links between: some subdomains (folding into
# one domain), an IDN, and a private-suffix pair, so normalisation matters.
_DOMAINS = [f"site{i}.com" for i in range(18)] + [
    "blog.site1.com", "www.site2.com", "alice.github.io", "bob.github.io", "bücher.de",
    "news.example.co.uk", "shop.example.co.uk", "x.org", "y.net",
]
_DATES = ["2023-03-04T10:00:00Z", "2024-01-15T12:00:00Z", "2024-07-30T08:30:00Z", None]
_RELS = [None, None, None, "nofollow", "ugc", "sponsored noopener", ""]


def _url(rng: random.Random, host: str | None = None) -> str:
    host = host or rng.choice(_DOMAINS)
    return f"https://{host}/{rng.choice(['', 'a', 'b/c', 'p?q=1'])}"


def _links(rng: random.Random, page_host: str, n: int) -> list[tuple[str, str, str | None]]:
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.15:
            href = "/internal" if rng.random() < 0.5 else f"https://{page_host}/self"
        elif kind < 0.2:
            href = rng.choice(["mailto:a@b.com", "#top", "javascript:void(0)", "http://10.0.0.1/"])
        else:
            href = _url(rng)
        out.append((href, f"anchor {rng.randrange(5)}", rng.choice(_RELS)))
    return out


def write_corpus(folder: Path, seed: int = 11) -> dict[str, list[str]]:
    """Many files of every input format sharing links (so pairs repeat across files and
    formats), with damage that is skipped and counted; returns the paths by format."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[str]] = {"warc": [], "wat": [], "links-csv": [], "cc-graph": []}
    for i in range(4):
        pages = []
        for _ in range(12):
            host = rng.choice(_DOMAINS)
            robots = "nofollow" if rng.random() < 0.08 else None
            pages.append(Page(_url(rng, host), html_page(_links(rng, host, 6), robots=robots),
                              warc_date=rng.choice(_DATES)))
        path = write_warc(folder / f"crawl-{i}.warc.gz", pages)
        out["warc"].append(str(path))
    truncate_file(out["warc"][-1], -30)  # a cut-off last record: skipped and counted
    for i in range(4):
        wat_pages = []
        for _ in range(12):
            host = rng.choice(_DOMAINS)
            wat_pages.append(WatPage(_url(rng, host), _links(rng, host, 5),
                                     warc_date=rng.choice(_DATES)))
        wat_pages.append(WatPage("https://site3.com/", raw_json=b"{broken"))
        out["wat"].append(str(write_wat(folder / f"crawl-{i}.warc.wat.gz", wat_pages)))
    for i in range(3):
        rows: list[Any] = []
        for _ in range(30):
            seen = rng.choice(["2022-05-01", "2024-02-02T03:04:05Z", ""])
            rows.append((_url(rng), _url(rng), rng.choice(_RELS) or "", "a", seen))
        rows.append(("https://site4.com/", "https://site5.com/", "", "", "not a date"))
        rows.append("broken,row,\"")
        name = f"links-{i}.csv.gz" if i else f"links-{i}.csv"
        out["links-csv"].append(str(write_links_csv(folder / name, rows)))
    parquet_rows = [(_url(rng), _url(rng), rng.choice(_RELS) or "", "p", None)
                    for _ in range(25)]
    out["links-csv"].append(str(write_links_parquet(folder / "links.parquet", parquet_rows)))
    for i in range(2):
        names = [f"com.site{k}" for k in range(12)] + ["com.site1.www", "io.github.alice",
                                                         "localhost", "co.uk"]
        vertices = [(k, name, 1) for k, name in enumerate(names)]
        edges = sorted({(rng.randrange(len(names) + 2), rng.randrange(len(names)))
                        for _ in range(60)})
        v, e = write_cc_graph(folder, f"graph-{i}", vertices, edges)
        out["cc-graph"] += [str(v), str(e)]
    return out


def all_inputs(corpus: dict[str, list[str]]) -> list[str]:
    """Every corpus file, formats mixed, in a fixed order."""
    return [p for fmt in ("warc", "wat", "links-csv", "cc-graph") for p in corpus[fmt]]
