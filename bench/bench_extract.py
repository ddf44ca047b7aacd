"""Measure link extraction from WARC files: pages per second, against baselines of the same run.

    python bench/bench_extract.py                 # 1,500 generated pages, about a minute
    python bench/bench_extract.py --pages 5000 --keep /tmp/bench.warc.gz

Generates realistic HTML pages (navigation, article text with inline links,
sidebar and footer, scripts and comments holding link-like text, 50-150 real
links a page with mixed ``rel``) into a gzip WARC with request and response
records and a few non-HTML responses, then times, in one process:

- baseline F: FastWARC iterating every record and reading its bytes (no parsing);
- baseline N: a naive loop, warcio + selectolax, ``css("a")`` with attribute dicts;
- (a) extraction: linkgap's record reader, HTTP parsing, HTML parsing and link
  extraction (href, rel, anchor text of every link), without URL work;
- (b) the whole ``read_input``: extraction plus resolution, normalisation,
  domain mapping, the rules and Arrow batching;
- (c) the whole ``index build`` (``build_index``): (b) plus de-duplication and
  aggregation in DuckDB, the CSR, the metrics and the atomic publish, as CPU
  time of the process (DuckDB's threads included) and as wall time;

and prints pages/s, the ratios (a)/N, (b)/N, (b)/(a), a cProfile top-15 of
(b), and whether the goals (extraction ≥ 1,200 pages/s per core, whole read
≥ 600 pages/s per core, whole ``index build`` ≥ 1,500 pages/s per core) are met.
Each timing is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fastwarc.warc import ArchiveIterator, WarcRecordType  # noqa: E402
from selectolax.lexbor import LexborHTMLParser  # noqa: E402
from support.crawlfiles import Page, request_record, write_warc  # noqa: E402
from warcio.archiveiterator import ArchiveIterator as WarcioIterator  # noqa: E402

from linkgap.domains import DomainNormalizer  # noqa: E402
from linkgap.index.build import build_index  # noqa: E402
from linkgap.ingest import InputSpec, InputStats, read_input  # noqa: E402
from linkgap.ingest.html import anchor_text, extract_links, parse_html  # noqa: E402
from linkgap.ingest.rules import charset_of, is_html_content_type  # noqa: E402
from linkgap.ingest.warc import decode_body, parse_http_response  # noqa: E402
from linkgap.ingest.warcfile import iter_records  # noqa: E402

GOAL_EXTRACT = 1_200
GOAL_WHOLE = 600
#: pages/s per core of the whole ``index build`` of this benchmark
GOAL_BUILD = 1_500

WORDS = [
    "link",
    "building",
    "backlink",
    "audit",
    "domain",
    "authority",
    "anchor",
    "text",
    "outreach",
    "guest",
    "post",
    "content",
    "marketing",
    "keyword",
    "research",
    "technical",
    "crawl",
    "index",
    "ranking",
    "search",
    "engine",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "with",
    "on",
    "by",
    "from",
    "about",
    "this",
    "that",
    "which",
    "more",
    "most",
]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


class PageMaker:
    """Realistic HTML pages of a few hundred sites linking to a Zipf-popular set of domains."""

    def __init__(self, seed: int, page_bytes: int = 40_000) -> None:
        self.rng = random.Random(seed)
        self.page_bytes = page_bytes
        tlds = ["com", "org", "net", "de", "co.uk", "io", "fr", "com.au", "github.io", "es"]
        self.externals = [f"site{i}.{tlds[i % len(tlds)]}" for i in range(3_000)]
        weights = [1.0 / (i + 1) ** 0.9 for i in range(len(self.externals))]
        self.cum_weights = list(itertools.accumulate(weights))
        self.sites = [f"www.pub{i}.{tlds[(i * 3) % len(tlds)]}" for i in range(300)]

    def _external_href(self) -> str:
        rng = self.rng
        host = rng.choices(self.externals, cum_weights=self.cum_weights)[0]
        if rng.random() < 0.3:
            host = "www." + host
        path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
        query = f"?utm_source=x&id={rng.randint(1, 999)}" if rng.random() < 0.2 else ""
        scheme = "https://" if rng.random() < 0.8 else ("http://" if rng.random() < 0.5 else "//")
        return f"{scheme}{host}/{path}{query}"

    def _internal_href(self, site: str) -> str:
        rng = self.rng
        path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        roll = rng.random()
        if roll < 0.5:
            return f"/{path}"
        if roll < 0.7:
            return f"{path}.html"
        return f"https://{site}/{path}"

    def _rel(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            return ""
        return (
            ' rel="'
            + self.rng.choice(
                [
                    "nofollow",
                    "noopener",
                    "ugc nofollow",
                    "sponsored",
                    "noopener noreferrer",
                    "NoFollow",
                ]
            )
            + '"'
        )

    def page(self, index: int) -> tuple[str, bytes]:
        """One page: its URL and HTML (UTF-8), 50-150 links of which about a third external."""
        rng = self.rng
        site = self.sites[index % len(self.sites)]
        url = f"https://{site}/{'/'.join(rng.choice(WORDS) for _ in range(2))}/{index}"
        n_links = rng.randint(50, 150)
        nav = [
            f'<li><a href="{self._internal_href(site)}">{rng.choice(WORDS).title()}</a></li>'
            for _ in range(n_links // 4)
        ]
        inline_left = n_links // 2
        paragraphs = []
        while inline_left > 0:
            parts = [_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(3, 6))]
            for _ in range(min(inline_left, rng.randint(1, 4))):
                href = self._external_href() if rng.random() < 0.5 else self._internal_href(site)
                anchor = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
                pos = rng.randrange(len(parts))
                parts[pos] += f' <a href="{href}"{self._rel()}>{anchor}</a>'
                inline_left -= 1
            paragraphs.append("<p>" + " ".join(parts) + "</p>")
        rest = n_links - len(nav) - n_links // 2
        footer = []
        for _ in range(rest):
            roll = rng.random()
            if roll < 0.1:
                href = "mailto:hello@" + site
            elif roll < 0.15:
                href = "#top"
            elif roll < 0.2:
                href = "javascript:void(0)"
            else:
                href = self._external_href()
            footer.append(f'<a href="{href}"{self._rel()}><span>{rng.choice(WORDS)}</span></a>')
        # Text without links (comments, related posts, cookie banners …) up to the page size.
        filler = []
        size = 6_000 + sum(map(len, nav)) + sum(map(len, paragraphs)) + sum(map(len, footer))
        while size < self.page_bytes:
            block = f"<div class=c><p>{_sentence(rng, 40)}</p><p>{_sentence(rng, 30)}</p></div>"
            filler.append(block)
            size += len(block)
        script = (
            "<script>var t='<a href=\"https://tracker.example.com/\">';"
            + "function f(a){return a*2;}" * 40
            + "</script>"
        )
        html = (
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width">'
            f'<meta name="description" content="{_sentence(rng, 20)}">'
            '<meta property="og:type" content="article">'
            '<link rel="stylesheet" href="/static/site.css">'
            f"<title>{_sentence(rng, 6)}</title>"
            "<style>" + "body{margin:0;padding:0}.c{color:#333}" * 60 + "</style>"
            f"{script}</head><body><header><nav><ul>{''.join(nav)}</ul></nav></header>"
            "<!-- <a href='https://commented-out.example.org/'>old</a> -->"
            f"<main><article><h1>{_sentence(rng, 8)}</h1>{''.join(paragraphs)}</article>"
            f"<aside>{''.join(f'<div class=widget>{_sentence(rng, 30)}</div>' for _ in range(6))}"
            f"{''.join(filler)}</aside></main><footer>{' | '.join(footer)}</footer>"
            f"{script}</body></html>"
        )
        return url, html.encode("utf-8")


def write_bench_warc(path: Path, pages: int, seed: int, page_bytes: int) -> int:
    """Write ``pages`` HTML responses, with requests and some images; returns the record count."""
    maker = PageMaker(seed, page_bytes)
    records: list[Page] = []
    for i in range(pages):
        url, body = maker.page(i)
        charset = "text/html; charset=utf-8" if i % 10 else "text/html"
        records.append(request_record(url))
        records.append(Page(url, body, {"Content-Type": charset, "Server": "bench"}))
        if i % 20 == 0:
            image = b"\x89PNG" + bytes(2000)
            records.append(Page(url + ".png", image, {"Content-Type": "image/png"}))
    write_warc(path, records)
    return len(records)


def best_of(repeat: int, fn: Callable[[], tuple[int, int]]) -> tuple[float, int, int]:
    """Best CPU time of ``repeat`` runs of ``fn`` and the counts it returned.

    CPU time of this process, not wall time: the rates are "per core" and do
    not drop when other programs share the machine.
    """
    best = float("inf")
    counts = (0, 0)
    for _ in range(repeat):
        started = time.process_time()
        counts = fn()
        best = min(best, time.process_time() - started)
    return best, counts[0], counts[1]


def baseline_fastwarc(path: Path) -> tuple[int, int]:
    """Every record's bytes, no parsing: (records, 0)."""
    n = 0
    for record in ArchiveIterator(str(path), parse_http=False):
        record.reader.read()
        n += 1
    return n, 0


def baseline_naive(path: Path) -> tuple[int, int]:
    """warcio + selectolax, the straightforward way: (pages, links)."""
    pages = links = 0
    with path.open("rb") as fh:
        for record in WarcioIterator(fh):
            if record.rec_type != "response":
                continue
            ctype = record.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype:
                continue
            tree = LexborHTMLParser(record.content_stream().read())
            pages += 1
            for node in tree.css("a"):
                attrs = node.attributes
                if attrs.get("href") is not None:
                    attrs.get("rel")
                    node.text()
                    links += 1
    return pages, links


def extraction(path: Path) -> tuple[int, int]:
    """(a): linkgap's reader up to raw links with anchor text, no URL work: (pages, links)."""
    spec = InputSpec("warc", (path,))
    stats = InputStats(spec)
    pages = links = 0
    for _record, block in iter_records(path, stats, WarcRecordType.response):
        response = parse_http_response(block)
        if response is None or not is_html_content_type(response.header("content-type")):
            continue
        body = decode_body(response)
        if body is None:
            continue
        page = extract_links(parse_html(body, charset_of(response.header("content-type"))))
        pages += 1
        for _href, _rel, node in page.links:
            anchor_text(node)
            links += 1
    return pages, links


def whole(path: Path, normalizer: DomainNormalizer) -> tuple[int, int]:
    """(b): the whole read_input: (pages, links counted)."""
    spec = InputSpec("warc", (path,))
    stats = InputStats(spec)
    rows = 0
    for batch in read_input(spec, normalizer, stats):
        rows += batch.num_rows
    return stats.pages, rows


def index_build(path: Path, workdir: Path) -> tuple[int, int]:
    """(c): the whole ``index build`` into a fresh index folder: (pages, distinct links)."""
    report = build_index(workdir / f"index-{time.monotonic_ns()}", [str(path)])
    return report.inputs[0].pages, int(report.manifest.counts["links"])


def main() -> None:
    """Command line: generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1_500, help="HTML pages to generate")
    parser.add_argument("--page-kb", type=int, default=40, help="about this many kB of HTML a page")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing (best is kept)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the WARC here and keep it")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.warc.gz"
        started = time.perf_counter()
        n_records = write_bench_warc(path, args.pages, args.seed, args.page_kb * 1000)
        size = path.stat().st_size
        print(
            f"generated {args.pages:,} pages of ~{args.page_kb} kB, 50-150 links each"
            f" ({n_records:,} records, {size / 1e6:.1f} MB gzip)"
            f" in {time.perf_counter() - started:.1f} s"
        )
        normalizer = DomainNormalizer()
        whole(path, normalizer)  # warm the caches the way a long build would have them

        f_time, f_records, _ = best_of(args.repeat, lambda: baseline_fastwarc(path))
        n_time, n_pages, n_links = best_of(args.repeat, lambda: baseline_naive(path))
        a_time, a_pages, a_links = best_of(args.repeat, lambda: extraction(path))
        b_time, b_pages, b_rows = best_of(args.repeat, lambda: whole(path, normalizer))
        wall_started = time.perf_counter()
        c_time, c_pages, c_links = best_of(1, lambda: index_build(path, Path(tmp)))
        c_wall = time.perf_counter() - wall_started

        def rate(count: int, seconds: float) -> str:
            return f"{count / seconds:>10,.0f}"

        header = f"{'measurement (per CPU second)':<44}{'pages/s':>10}"
        print(f"\n{header}{'records/s':>12}{'links/s':>12}")
        print(f"{'F  FastWARC, read every record':<44}{'':>10}{rate(f_records, f_time):>12}")
        print(
            f"{'N  naive warcio + selectolax':<44}{rate(n_pages, n_time)}"
            f"{rate(n_records, n_time):>12}{rate(n_links, n_time):>12}"
        )
        print(
            f"{'a  linkgap extraction (no URL work)':<44}{rate(a_pages, a_time)}"
            f"{rate(n_records, a_time):>12}{rate(a_links, a_time):>12}"
        )
        print(
            f"{'b  linkgap read_input (whole path)':<44}{rate(b_pages, b_time)}"
            f"{rate(n_records, b_time):>12}{rate(b_rows, b_time):>12}  (links counted)"
        )
        print(
            f"{'c  linkgap index build (CPU, all threads)':<44}{rate(c_pages, c_time)}"
            f"{rate(n_records, c_time):>12}{rate(c_links, c_time):>12}  (distinct links;"
            f" wall {c_wall:.1f} s = {c_pages / c_wall:,.0f} pages/s)"
        )
        print(
            f"\nratios: (a)/N = {n_time / a_time:.2f}x   (b)/N = {n_time / b_time:.2f}x   "
            f"(b)/(a) = {a_time / b_time:.2f}   F/(a) = {a_time / f_time:.1f}x faster than (a)"
        )
        a_rate, b_rate, c_rate = a_pages / a_time, b_pages / b_time, c_pages / c_time
        print(
            f"goals (one core): extraction {a_rate:,.0f} pages/s "
            f"{'meets' if a_rate >= GOAL_EXTRACT else 'MISSES'} {GOAL_EXTRACT:,}; "
            f"whole read {b_rate:,.0f} pages/s "
            f"{'meets' if b_rate >= GOAL_WHOLE else 'MISSES'} {GOAL_WHOLE:,}; "
            f"whole index build {c_rate:,.0f} pages/s "
            f"{'meets' if c_rate >= GOAL_BUILD else 'MISSES'} {GOAL_BUILD:,}"
        )
        print(f"index build beyond reading: {max(c_time - b_time, 0):.2f} CPU s of {c_time:.2f}"
              " (de-duplication, aggregation, CSR, metrics, publish)")

        if not args.no_profile:
            profiler = cProfile.Profile()
            profiler.enable()
            whole(path, normalizer)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
            print("\ncProfile of (b), top 15 by own time:")
            print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


if __name__ == "__main__":
    main()
