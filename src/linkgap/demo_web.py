"""A generated web for the demo, tests and measurements: deterministic, seeded, labelled.

Everything here is **generated demo data**: made-up (but plausible) domain
names on real-looking TLDs mixed with ``.example``, linked the way the web
is, so that ``linkgap demo`` has something worth exploring without a
download. The generator draws

- tens of thousands of domains (word combinations; digits and hyphens for the
  spammy ones; a few internationalised names),
- power-law in- and out-degrees (a few thousand hubs take most links),
- several pages per domain on a few host names (``www.``, ``blog.``),
- a niche where the target ``mysite.example`` and its competitors
  (``rivalone.example`` …) share referring sites, with nofollow/ugc/sponsored
  links mixed in,
- link farms: clusters of spammy domains linking densely to each other and to
  the niche.

:func:`generate_web` draws the model; writers turn it into real input files
of each format linkgap reads (links Parquet/CSV, WARC, WAT, Common Crawl
domain graph) so that the demo and the measurements run the real
``linkgap index build`` path. The same seed always gives the same files.

Run ``python -m linkgap.demo_web --help`` to write files by hand.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import NamedTuple

import numpy as np

from linkgap.domains import DomainNormalizer, canonical_host

__all__ = [
    "DEFAULT_SEED",
    "DEMO_COMPETITORS",
    "DEMO_LABEL",
    "DEMO_TARGET",
    "DemoWeb",
    "PageLink",
    "generate_web",
    "write_cc_graph",
    "write_demo_inputs",
    "write_links_csv",
    "write_links_parquet",
    "write_wat",
    "write_warc",
]

#: Printed and written wherever demo data shows up, so nobody mistakes it for the real web.
DEMO_LABEL = "generated demo data (made-up domains, not the real web)"
DEMO_TARGET = "mysite.example"
DEMO_COMPETITORS = ("rivalone.example", "rivaltwo.example", "rivalthree.example")
DEFAULT_SEED = 20250601
DEFAULT_DOMAINS = 30_000

_WORDS = (  # noqa: SIM905 - a word list reads better as text
    "acme alpine amber anchor apex apple arc arrow atlas aurora autumn azure bakery bamboo "
    "barn bay beacon bear bee berry birch bison blaze bloom blue bolt book bottle breeze brick "
    "bridge bright brook brush cabin cactus camp candle canyon cape cargo cedar chalk chef "
    "cherry circle city cliff cloud clover coast cobalt comet copper coral corner cotton craft "
    "crane creek crest crown crystal daily dash dawn delta desert dove dragon dream drift dune "
    "eagle echo edge elm ember falcon farm feather fern field fig finch fire fjord flame flint "
    "flora fox frost garden gem ginger glade glass globe gold granite grape green grove harbor "
    "hawk hazel heart hearth hill hive honey horizon ivy jade jasmine journal kettle kite lake "
    "lantern lark laurel leaf lemon light lily lime linen lotus lunar maple marble meadow mesa "
    "mill mint mist moon moss mountain nest north nova oak ocean olive orbit orchid otter owl "
    "palm paper peak pearl pebble pepper pine pixel plum polar pond poppy prairie prism quartz "
    "quill rain raven reef ridge river robin rock rose ruby rust sage sail salt sand sapphire "
    "scout sea shadow shore sierra silver sky slate snow solar spark spice spring spruce star "
    "stone storm stream summit sun swift thistle tide timber trail tulip tundra valley velvet "
    "vine violet wave willow wind winter wolf wood wren zen"
).split()
_SUFFIXES = ("", "", "", "", "hub", "blog", "daily", "lab", "works", "guide", "news", "co",
             "studio", "review", "shop", "life", "notes", "press", "world", "times")
_IDN_WORDS = ("bücher", "küche", "grün", "straße", "café", "garçon", "señor", "mañana",
              "smørrebrød", "åbo", "größe", "élan", "über", "fröhlich", "crème")
_SPAM_WORDS = ("cheap", "best", "free", "seo", "links", "casino", "loans", "pills", "deal",
               "promo", "bonus", "win", "top", "rank", "traffic", "backlink", "cash", "fast")
# (tld, weight) for ordinary domains; the spam farms prefer the abused ones.
_TLDS = (("com", 34), ("example", 18), ("net", 7), ("org", 7), ("io", 4), ("co.uk", 6),
         ("de", 6), ("fr", 3), ("nl", 2), ("blog", 2), ("info", 2), ("co", 2), ("dev", 2),
         ("com.au", 2), ("ca", 2), ("es", 1))
_SPAM_TLDS = ("xyz", "top", "click", "info", "biz", "example")
_RELS = (("", 80), ("nofollow", 11), ("ugc", 3), ("sponsored", 3), ("noopener nofollow", 3))
_PAGE_PATHS = ("/", "/about", "/resources", "/links", "/blog/", "/partners", "/tools")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_DAYS = 660


class PageLink(NamedTuple):
    """One link on one page: the rows every writer serialises."""

    source_url: str
    target_url: str
    rel: str  # "" for a plain (dofollow) link
    anchor: str
    seen_at: datetime
    source: int  # index of the source domain in DemoWeb.domains
    target: int  # index of the target domain


@dataclass
class DemoWeb:
    """The generated web: domain names (Unicode form for IDNs) and page links between them."""

    seed: int
    domains: list[str]
    links: list[PageLink]
    target: str
    competitors: tuple[str, ...]
    spam: frozenset[str]  # the link-farm domains

    def summary(self) -> dict[str, object]:
        """What was generated, for the demo's ``inputs.json`` and messages."""
        return {
            "label": DEMO_LABEL,
            "seed": self.seed,
            "domains": len(self.domains),
            "page_links": len(self.links),
            "target": self.target,
            "competitors": list(self.competitors),
        }


def _weighted(rng: np.random.Generator, table: Sequence[tuple[str, int]], n: int) -> list[str]:
    names = [t for t, _ in table]
    weights = np.array([w for _, w in table], dtype=float)
    picks = rng.choice(len(names), size=n, p=weights / weights.sum())
    return [names[i] for i in picks]


def _is_own_domain(name: str, normalizer: DomainNormalizer) -> bool:
    """True when ``name`` is a registrable domain by itself (not a suffix, not a subdomain)."""
    # Generated ASCII names are already canonical; only IDNs need the full path.
    canonical = name if name.isascii() else canonical_host(name)
    return canonical is not None and normalizer.registrable(canonical) == canonical


def _names(rng: np.random.Generator, n_plain: int, n_spam: int, n_idn: int,
           taken: set[str], normalizer: DomainNormalizer) -> tuple[list[str], list[str]]:
    """Draw unique plain (incl. IDN) and spammy names that are registrable domains."""
    words = _WORDS
    plain: list[str] = []
    while len(plain) < n_plain:
        batch = n_plain - len(plain) + 64
        w1 = rng.integers(0, len(words), batch)
        w2 = rng.integers(0, len(words), batch)
        suffix = rng.integers(0, len(_SUFFIXES), batch)
        style = rng.random(batch)
        tlds = _weighted(rng, _TLDS, batch)
        for i in range(batch):
            a, b, s = words[w1[i]], words[w2[i]], _SUFFIXES[suffix[i]]
            if a == b:
                continue
            base = f"{a}-{b}" if style[i] < 0.15 else (a + s if style[i] < 0.3 else a + b + s)
            name = f"{base}.{tlds[i]}"
            if name not in taken and _is_own_domain(name, normalizer):
                taken.add(name)
                plain.append(name)
                if len(plain) == n_plain:
                    break
    idn: list[str] = []
    while len(idn) < n_idn:
        u = _IDN_WORDS[int(rng.integers(0, len(_IDN_WORDS)))]
        w = words[int(rng.integers(0, len(words)))]
        tld = ("de", "fr", "es", "example", "com")[int(rng.integers(0, 5))]
        name = f"{u}{w}.{tld}" if rng.random() < 0.5 else f"{w}-{u}.{tld}"
        if name not in taken and _is_own_domain(name, normalizer):
            taken.add(name)
            idn.append(name)
    spam: list[str] = []
    while len(spam) < n_spam:
        parts = [_SPAM_WORDS[int(i)] for i in rng.choice(len(_SPAM_WORDS), 3, replace=False)]
        digits = int(rng.integers(1, 999))
        shape = rng.random()
        if shape < 0.4:
            base = f"{parts[0]}-{parts[1]}-{parts[2]}-{digits}"
        elif shape < 0.7:
            base = f"{parts[0]}{digits}{parts[1]}"
        else:
            base = f"{parts[0]}-{parts[1]}{digits}"
        name = f"{base}.{_SPAM_TLDS[int(rng.integers(0, len(_SPAM_TLDS)))]}"
        if name not in taken and _is_own_domain(name, normalizer):
            taken.add(name)
            spam.append(name)
    return plain + idn, spam


class _Pages:
    """Page URLs of one domain: a few host names and several paths, drawn on demand."""

    def __init__(self, name: str, n_pages: int, use_www: bool, has_blog: bool) -> None:
        self.name = name
        self.n_pages = n_pages
        self.host = f"www.{name}" if use_www else name
        self.has_blog = has_blog

    def url(self, k: int) -> str:
        if k < len(_PAGE_PATHS):
            return f"https://{self.host}{_PAGE_PATHS[k]}"
        word = _WORDS[(k * 7919) % len(_WORDS)]
        if self.has_blog and k % 3 == 0:
            return f"https://blog.{self.name}/{2024 + k % 2}/{word}-{k}"
        return f"https://{self.host}/articles/{word}-{k}.html"


def generate_web(
    seed: int = DEFAULT_SEED,
    n_domains: int = DEFAULT_DOMAINS,
    *,
    links_per_domain: float = 5.0,
    target: str = DEMO_TARGET,
    competitors: Sequence[str] = DEMO_COMPETITORS,
) -> DemoWeb:
    """Draw the demo web: about ``n_domains`` domains and ``links_per_domain`` page links each.

    Deterministic: the same arguments give the same web, link for link.
    """
    if n_domains < 200:
        raise ValueError("n_domains must be at least 200")
    rng = np.random.default_rng(seed)
    normalizer = DomainNormalizer()
    special = [target, *competitors]
    taken = set(special)
    n_spam = max(60, n_domains // 40)
    n_idn = max(5, n_domains // 1000)
    plain, spam = _names(rng, n_domains - len(special) - n_spam - n_idn, n_spam, n_idn,
                         taken, normalizer)
    # Shuffle so that "plain" names of each style and TLD spread over all ranks.
    order = rng.permutation(len(plain))
    plain = [plain[i] for i in order]
    domains = special + plain + spam
    n = len(domains)
    first_spam = len(special) + len(plain)

    pages = [
        _Pages(name, int(min(40, 1 + rng.geometric(0.25))), bool(rng.random() < 0.55),
               bool(rng.random() < 0.2))
        for name in domains
    ]
    for i in range(first_spam, n):  # link farms publish page after page of links
        pages[i].n_pages = 60
    rels = _weighted(rng, _RELS, 1 << 16)
    rel_cursor = [0]

    def next_rel() -> str:
        rel_cursor[0] = (rel_cursor[0] + 1) & 0xFFFF
        return rels[rel_cursor[0]]

    days = [_EPOCH + timedelta(days=int(d)) for d in rng.integers(0, _SPAN_DAYS, 1 << 16)]
    links: list[PageLink] = []

    def add(src: int, dst: int, count: int, rel: str | None = None, anchor: str | None = None,
            src_page: int | None = None) -> None:
        if src == dst:  # a site's links to itself are internal: not part of the web graph
            return
        ps, pd = pages[src], pages[dst]
        for j in range(count):
            k = src_page if src_page is not None else (src * 31 + dst * 17 + j) % ps.n_pages
            t = (dst * 13 + j) % pd.n_pages if j else 0
            links.append(PageLink(
                ps.url(k), pd.url(t), next_rel() if rel is None else rel,
                anchor if anchor is not None else pd.name.split(".")[0],
                days[(src * 131 + dst + j) & 0xFFFF], src, dst,
            ))

    # -- the power-law background web ------------------------------------------------
    ranks = np.arange(1, n + 1, dtype=float)
    in_weight = np.zeros(n)
    out_weight = np.zeros(n)
    in_weight[len(special):] = 1.0 / ranks[: n - len(special)] ** 1.05
    out_weight[len(special):] = 1.0 / rng.permutation(ranks[: n - len(special)]) ** 0.8
    in_weight[first_spam:] *= 0.02  # spam farms attract few honest links
    # About links_per_domain page links per domain in all: the background
    # pairs carry ~1.7 links each; the floor, niche and farms add the rest.
    n_edges = int(n * max(0.0, links_per_domain - 2.0) * 0.6)
    src = rng.choice(n, size=n_edges, p=out_weight / out_weight.sum())
    dst = rng.choice(n, size=n_edges, p=in_weight / in_weight.sum())
    pairs = np.unique(np.stack([src, dst], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    multiplicity = np.minimum(rng.geometric(0.6, len(pairs)), 12)
    for (s, d), m in zip(pairs.tolist(), multiplicity.tolist(), strict=True):
        add(s, d, m)
    # Every domain links at least somewhere, so none is isolated.
    for s in range(len(special), n):
        add(s, int(rng.integers(len(special), n)), 1)

    # -- the niche: sites linking to the competitors (and some to the target) ---------
    t_id = 0
    comp_ids = list(range(1, len(special)))
    niche_size = max(60, n // 30)
    # Sites that write about a niche tend to be established ones: draw them
    # leaning towards the better-linked half of the web, not uniformly.
    lean = in_weight[len(special):first_spam] ** 0.35
    niche = rng.choice(np.arange(len(special), first_spam), size=niche_size, replace=False,
                       p=lean / lean.sum())
    overlap_p = np.array([0.5, 0.28, 0.15, 0.07])[: len(comp_ids)]
    overlap_p = overlap_p / overlap_p.sum()
    for p in niche.tolist():
        k = 1 + int(rng.choice(len(overlap_p), p=overlap_p))
        for c in rng.choice(comp_ids, size=k, replace=False).tolist():
            add(p, c, int(1 + rng.geometric(0.6)), anchor=domains[c].split(".")[0])
        if rng.random() < 0.22:
            add(p, t_id, 1, anchor="mysite")
    # The strongest hubs mention the competitors too (high-authority prospects).
    for h in range(len(special), len(special) + 40):
        add(h, comp_ids[h % len(comp_ids)], 1)
        if h % 4 == 0:
            add(h, t_id, 1)
    # Competitors and the target link out a little, like real sites.
    for c in [t_id, *comp_ids]:
        for d in rng.integers(len(special), first_spam, 6).tolist():
            add(c, d, 1)

    # -- link farms: groups of spammy domains selling links -----------------------------
    # Each farm's hub floods its members with links (their inbound links come
    # almost all from one domain), the members link in a ring, and every member
    # links out to many unrelated sites (far more domains than link to it); a
    # third of them sell links to the niche.
    farm_ids = np.arange(first_spam, n)
    rng.shuffle(farm_ids)
    honest = np.arange(len(special), first_spam)
    for farm in np.array_split(farm_ids, max(1, len(farm_ids) // 12)):
        members = farm.tolist()
        hub = members[0]
        for i, a in enumerate(members):
            if a != hub:
                add(hub, a, 20, rel="", anchor="best deal")
            add(a, members[(i + 1) % len(members)], 1, rel="", anchor="partner")
            for d in rng.choice(honest, size=21, replace=False).tolist():
                add(a, d, 1, rel="", anchor="click here")
            if a % 3 == 0:
                add(a, comp_ids[a % len(comp_ids)], 2, rel="", anchor="click here")
    return DemoWeb(seed, domains, links, target, tuple(competitors), frozenset(spam))


# -- writers -------------------------------------------------------------------------


def write_links_parquet(path: Path, links: Sequence[PageLink]) -> Path:
    """Write ``links`` as a links Parquet file (source_url, target_url, rel, anchor, seen_at)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "source_url": pa.array([lk.source_url for lk in links], pa.string()),
        "target_url": pa.array([lk.target_url for lk in links], pa.string()),
        "rel": pa.array([lk.rel or None for lk in links], pa.string()),
        "anchor": pa.array([lk.anchor for lk in links], pa.string()),
        "seen_at": pa.array([lk.seen_at for lk in links], pa.timestamp("s", tz="UTC")),
    })
    pq.write_table(table, path, compression="zstd")
    return path


def write_links_csv(path: Path, links: Iterable[PageLink]) -> Path:
    """Write ``links`` as a links-csv file (gzip when the name ends in ``.gz``)."""
    raw = io.StringIO()
    writer = csv.writer(raw, lineterminator="\n")
    writer.writerow(["source_url", "target_url", "rel", "anchor", "seen_at"])
    for lk in links:
        writer.writerow([lk.source_url, lk.target_url, lk.rel, lk.anchor,
                         lk.seen_at.strftime("%Y-%m-%d")])
    data = raw.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def _group_by_page(links: Iterable[PageLink]) -> dict[str, list[PageLink]]:
    pages: dict[str, list[PageLink]] = {}
    for lk in links:
        pages.setdefault(lk.source_url, []).append(lk)
    return pages


def _warc_record(warc_type: str, url: str, date: datetime, content_type: str, block: bytes,
                 number: int) -> bytes:
    # Record ids derive from the record number, so files are byte-for-byte repeatable.
    head = (
        f"WARC/1.0\r\nWARC-Type: {warc_type}\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{number:012d}>\r\n"
        f"WARC-Date: {date.strftime('%Y-%m-%dT%H:%M:%SZ')}\r\n"
        + (f"WARC-Target-URI: {url}\r\n" if url else "")
        + f"Content-Type: {content_type}\r\nContent-Length: {len(block)}\r\n\r\n"
    ).encode("utf-8")
    # One gzip member per record, as crawlers write them.
    return gzip.compress(head + block + b"\r\n\r\n", mtime=0)


def _warcinfo(number: int) -> bytes:
    info = f"software: linkgap demo generator\r\ndescription: {DEMO_LABEL}\r\n".encode()
    return _warc_record("warcinfo", "", _EPOCH, "application/warc-fields", info, number)


def _internal(url: str, n: int) -> list[str]:
    """``n`` links to other pages of the same site (navigation), as real pages have."""
    site = url.split("/", 3)
    root = f"{site[0]}//{site[2]}"
    return [f"{root}/section/{_WORDS[(k * 37) % len(_WORDS)]}-{k}" for k in range(n)]


def _html(url: str, links: Sequence[PageLink], internal: int = 0) -> bytes:
    body = [f"<p>Notes from {escape(url)}.</p>"]
    body += [f'<a href="{escape(href)}">more</a>' for href in _internal(url, internal)]
    for lk in links:
        rel = f' rel="{escape(lk.rel)}"' if lk.rel else ""
        body.append(f'<p>See <a href="{escape(lk.target_url)}"{rel}>{escape(lk.anchor)}</a>.</p>')
    doc = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>generated demo page"
           "</title></head><body>" + "\n".join(body) + "</body></html>")
    return doc.encode("utf-8")


def write_warc(path: Path, links: Iterable[PageLink], internal_links: int = 0) -> Path:
    """Write the pages holding ``links`` as a gzipped WARC of HTML responses.

    ``internal_links`` adds that many same-site navigation links to every page
    (the build drops them, but must still read them, as with real pages).
    """
    with path.open("wb") as fh:
        fh.write(_warcinfo(0))
        for number, (url, page_links) in enumerate(sorted(_group_by_page(links).items()), 1):
            html = _html(url, page_links, internal_links)
            http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    + f"Content-Length: {len(html)}\r\n\r\n".encode() + html)
            fh.write(_warc_record("response", url, page_links[0].seen_at,
                                  "application/http; msgtype=response", http, number))
    return path


def write_wat(path: Path, links: Iterable[PageLink], internal_links: int = 0) -> Path:
    """Write the pages holding ``links`` as a Common Crawl style WAT file (JSON metadata).

    ``internal_links`` adds that many same-site links to every page, as in :func:`write_warc`.
    """
    with path.open("wb") as fh:
        fh.write(_warcinfo(0))
        for number, (url, page_links) in enumerate(sorted(_group_by_page(links).items()), 1):
            date = page_links[0].seen_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            wat_links = [{"path": "A@/href", "url": lk.target_url, "text": lk.anchor,
                          **({"rel": lk.rel} if lk.rel else {})} for lk in page_links]
            wat_links += [{"path": "A@/href", "url": href, "text": "more"}
                          for href in _internal(url, internal_links)]
            envelope = {
                "Format": "WARC",
                "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Date": date,
                                         "WARC-Target-URI": url},
                "Payload-Metadata": {
                    "Actual-Content-Type": "application/http; msgtype=response",
                    "HTTP-Response-Metadata": {
                        "Response-Message": {"Version": "HTTP/1.1", "Status": "200",
                                             "Reason": "OK"},
                        "Headers": {"Content-Type": "text/html; charset=utf-8"},
                        "HTML-Metadata": {"Head": {"Title": "generated demo page",
                                                   "Metas": []},
                                          "Links": wat_links},
                    },
                },
            }
            payload = json.dumps({"Container": {"Filename": path.name, "Compressed": True},
                                  "Envelope": envelope}, ensure_ascii=False).encode("utf-8")
            fh.write(_warc_record("metadata", url, page_links[0].seen_at, "application/json",
                                  payload, number))
    return path


def write_cc_graph(directory: Path, prefix: str, web: DemoWeb) -> tuple[Path, Path]:
    """Write ``web`` as a Common Crawl domain graph: ``<prefix>-vertices/-edges.txt.gz``.

    Vertices are ``id \\t reversed-domain \\t n_hosts`` sorted by reversed name,
    edges ``from_id \\t to_id`` sorted, both gzip text, as Common Crawl publishes them.
    """
    canonical = [canonical_host(d) or d for d in web.domains]
    names = sorted(canonical, key=lambda d: ".".join(reversed(d.split("."))))
    position = {name: i for i, name in enumerate(names)}
    vid = [position[name] for name in canonical]
    edges = {(vid[lk.source], vid[lk.target]) for lk in web.links if lk.source != lk.target}
    vertices_path = directory / f"{prefix}-vertices.txt.gz"
    edges_path = directory / f"{prefix}-edges.txt.gz"
    vertices = "".join(f"{i}\t{'.'.join(reversed(n.split('.')))}\t1\n" for i, n in enumerate(names))
    vertices_path.write_bytes(gzip.compress(vertices.encode("utf-8"), mtime=0))
    edge_text = "".join(f"{a}\t{b}\n" for a, b in sorted(edges))
    edges_path.write_bytes(gzip.compress(edge_text.encode("utf-8"), mtime=0))
    return vertices_path, edges_path


def _split(links: list[PageLink], predicate: list[bool]) -> tuple[list[PageLink], list[PageLink]]:
    yes = [lk for lk, p in zip(links, predicate, strict=True) if p]
    no = [lk for lk, p in zip(links, predicate, strict=True) if not p]
    return yes, no


def write_demo_inputs(directory: Path, web: DemoWeb) -> list[Path]:
    """Write the demo's input files into ``directory``; returns them in build order.

    Most links go to a Parquet file; the niche's links to the target and
    competitors also appear as HTML pages in a small WARC (the same pages
    twice, so the build's de-duplication is exercised), and the spam farms'
    links as a gzipped CSV. ``inputs.json`` records what was generated.
    """
    directory.mkdir(parents=True, exist_ok=True)
    spam_ids = {i for i, d in enumerate(web.domains) if d in web.spam}
    niche_ids = {web.domains.index(d) for d in (web.target, *web.competitors)}
    farm_links, rest = _split(web.links, [lk.source in spam_ids for lk in web.links])
    niche_links = [lk for lk in rest if lk.target in niche_ids]
    out = [
        write_links_parquet(directory / "links.parquet", rest),
        write_links_csv(directory / "linkfarms.csv.gz", farm_links),
        write_warc(directory / "niche-pages.warc.gz", niche_links[:1500]),
    ]
    summary = {**web.summary(), "files": [p.name for p in out]}
    (directory / "inputs.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m linkgap.demo_web``: write generated crawl files of one format."""
    parser = argparse.ArgumentParser(
        prog="python -m linkgap.demo_web",
        description=f"Write {DEMO_LABEL} as crawl files linkgap can index.",
    )
    parser.add_argument("out", type=Path, help="folder to write into (created)")
    parser.add_argument("--format", choices=("demo", "links-csv", "parquet", "warc", "wat",
                                             "cc-graph"), default="demo",
                        help="demo: the inputs `linkgap demo` builds from (default)")
    parser.add_argument("--domains", type=int, default=DEFAULT_DOMAINS)
    parser.add_argument("--links-per-domain", type=float, default=5.0,
                        help="about how many page links each domain has on average")
    parser.add_argument("--files", type=int, default=1,
                        help="split warc/wat/links output over this many files")
    parser.add_argument("--internal-links", type=int, default=0,
                        help="warc/wat: same-site links added to every page")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    web = generate_web(args.seed, args.domains, links_per_domain=args.links_per_domain)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if args.format == "demo":
        written = write_demo_inputs(out, web)
    elif args.format == "cc-graph":
        written = list(write_cc_graph(out, "demo-domain", web))
    else:
        chunks = [web.links[i :: args.files] for i in range(args.files)]
        for i, chunk in enumerate(chunks):
            stem = f"demo-{i:05d}"
            if args.format == "links-csv":
                written.append(write_links_csv(out / f"{stem}.csv.gz", chunk))
            elif args.format == "parquet":
                written.append(write_links_parquet(out / f"{stem}.parquet", chunk))
            elif args.format == "warc":
                written.append(write_warc(out / f"{stem}.warc.gz", chunk, args.internal_links))
            else:
                written.append(write_wat(out / f"{stem}.warc.wat.gz", chunk,
                                         args.internal_links))
    for path in written:
        print(path)
    print(f"{DEMO_LABEL}: {len(web.domains)} domains, {len(web.links)} page links "
          f"(seed {args.seed})", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
