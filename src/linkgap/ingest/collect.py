"""Turn the raw links of one page (or one CSV row) into LINK_SCHEMA rows, batched as columns.

This is the hot path of the page formats (``warc``, ``wat``): a page carries
~100 links, most of them internal, so the collector decides "internal" from
the host alone before it pays for URL normalisation, normalises an absolute
URL with a plain host by hand from that same match (``linkgap.urls.plain_url``,
no ``urlsplit``), and caches what repeats (hosts through
``DomainNormalizer.domain_of_host`` and ``canonical_host``, other URLs in a
bounded dict).

Most hrefs of crawled pages are clean absolute URLs, ``https://host/path``:
written in lowercase, with no white space, no control character and a plain
host name. The collector's loop reads those with a few string operations and
one dict lookup of the host as written (``_plain_hosts``: its domain and
canonical form, or "not plain"), without the regular expression or a function
call; every other href takes the general path (``classify_href``,
``PLAIN_HTTP_AUTHORITY``, ``normalize_url``). Both give the same rows and skip
reasons (tests/ingest/test_ingest_collect_model.py).

The rules applied (SPEC section 2) and the skip reasons counted:

==================== =======================================================
``not_http_target``  empty or ``#fragment`` href, or a scheme other than http(s)
                     (``mailto:``, ``javascript:``, ``data:``, ``tel:``, ``ftp:`` …)
``bad_url``          the target does not parse as a URL with a host
``target_not_domain`` the target host is not a registrable domain (IP address,
                     single label, bare public suffix, bad characters)
``internal_link``    source and target are in the same registrable domain
``bad_page_url``     the page URL is not an http(s) URL with a host (page skipped)
``page_not_domain``  the page host is not a registrable domain (page skipped)
``bad_source_url``   (rows) the source is not an http(s) URL with a host
``source_not_domain`` (rows) the source host is not a registrable domain
==================== =======================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from linkgap.domains import DomainNormalizer, canonical_host
from linkgap.ingest.base import BATCH_ROWS, LINK_SCHEMA, InputStats
from linkgap.ingest.rules import rel_is_nofollow
from linkgap.urls import (
    HREF_ABSOLUTE,
    HREF_NOT_HTTP,
    PLAIN_HTTP_AUTHORITY,
    classify_href,
    join_href,
    normalize_url,
    plain_url,
    resolve_href,
)

__all__ = ["MAX_ANCHOR_CHARS", "LinkCollector", "RawLink"]

#: Anchor texts longer than this are cut (a link wrapping a whole article is not an anchor;
#: the evidence samples keep anchors of up to this length, SPEC 12).
MAX_ANCHOR_CHARS = 200

#: (href, rel, anchor source): the anchor source is handed to the collector's
#: ``anchor_of`` function only for links that are counted.
RawLink = tuple[str, str | None, Any]

_EXTERNAL_CACHE_MAX = 200_000
#: Hosts as written in hrefs (the fast path's cache) before that cache is emptied.
_PLAIN_HOSTS_MAX = 200_000
# A host name as PLAIN_HTTP_AUTHORITY reads one: ASCII letters, digits, ".", "-", "_".
_PLAIN_HOST = re.compile(r"[A-Za-z0-9._-]+")
# What may not follow a leading "/" for the fast path to read an href as relative.
_NOT_AFTER_SLASH = ("/", "\t", "\n", "\r")
#: ``_plain_hosts`` value of an authority that is not a plain host name.
_NOT_PLAIN: tuple[str | None, str | None] = ("", "")


def _has_web_host(url: str) -> bool:
    """True when ``url`` is a well-formed http(s) URL whose host is just not a domain.

    ``normalize_url`` returns None for both bad URLs and hosts such as IP
    addresses; this tells the two apart for the skip counts (called only then).
    """
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https"):
            return False
        _ = parts.port  # raises ValueError for a port out of range or not a number
        return bool(parts.hostname)
    except ValueError:
        return False


class LinkCollector:
    """Applies the link rules to pages and gathers the counted links into Arrow batches.

    Call :meth:`add_page` (or :meth:`add_link` for formats without pages), and
    :meth:`take_batch` whenever :attr:`full` is true and once at the end
    (:meth:`ready_batches` does both).
    """

    def __init__(self, normalizer: DomainNormalizer, stats: InputStats) -> None:
        self.normalizer = normalizer
        self.stats = stats
        self._domain_of_host = normalizer.domain_of_host
        # external absolute URL -> (normalised URL, domain) or a skip reason
        self._external: dict[str, tuple[str, str] | str] = {}
        # an href's authority as written -> (domain, canonical host), or _NOT_PLAIN
        self._plain_hosts: dict[str, tuple[str | None, str | None]] = {}
        self._last_source: tuple[str | None, tuple[str, str] | str] = (None, "")
        self._clear_columns()

    def _clear_columns(self) -> None:
        self.source_url: list[str] = []
        self.target_url: list[str] = []
        self.source_domain: list[str] = []
        self.target_domain: list[str] = []
        self.dofollow: list[bool] = []
        self.anchor: list[str | None] = []
        self.seen_at: list[int | None] = []

    @property
    def full(self) -> bool:
        """True when a batch of about ``BATCH_ROWS`` rows is ready."""
        return len(self.source_url) >= BATCH_ROWS

    def __len__(self) -> int:
        return len(self.source_url)

    def ready_batches(self, *, final: bool = False) -> Iterator[pa.RecordBatch]:
        """The gathered rows as a batch when one is full, or (``final``) whatever is left."""
        if final or self.full:
            batch = self.take_batch()
            if batch is not None:
                yield batch

    def take_batch(self) -> pa.RecordBatch | None:
        """The gathered rows as one LINK_SCHEMA batch (None when empty); starts a new batch."""
        if not self.source_url:
            return None
        batch = pa.record_batch(
            [
                pa.array(self.source_url, pa.string()),
                pa.array(self.target_url, pa.string()),
                pa.array(self.source_domain, pa.string()),
                pa.array(self.target_domain, pa.string()),
                pa.array(self.dofollow, pa.bool_()),
                pa.array(self.anchor, pa.string()),
                pa.array(self.seen_at, pa.timestamp("s", tz="UTC")),
            ],
            schema=LINK_SCHEMA,
        )
        self.stats.links_counted += batch.num_rows
        self._clear_columns()
        return batch

    def page_source(self, page_url: str) -> tuple[str, str, str] | None:
        """``(normalised URL, canonical host, domain)`` of a page, or None (skip counted)."""
        page = normalize_url(page_url)
        if page is None:
            self.stats.skip("page_not_domain" if _has_web_host(page_url) else "bad_page_url")
            return None
        domain = self._domain_of_host(page.host)
        if domain is None:
            self.stats.skip("page_not_domain")
            return None
        return page.url, page.host, domain

    def _external_target(self, absolute: str) -> tuple[str, str] | str:
        """Normalised URL and domain of an absolute http(s) URL, or the reason it is skipped."""
        cached = self._external.get(absolute)
        if cached is not None:
            return cached
        result: tuple[str, str] | str
        norm = normalize_url(absolute)
        if norm is None:
            result = "target_not_domain" if _has_web_host(absolute) else "bad_url"
        else:
            domain = self._domain_of_host(norm.host)  # cached; norm.host is canonical
            result = (norm.url, domain) if domain is not None else "target_not_domain"
        if len(self._external) >= _EXTERNAL_CACHE_MAX:
            self._external.clear()
        self._external[absolute] = result
        return result

    def _plain_host(self, authority: str) -> tuple[str | None, str | None]:
        """Domain and canonical form of an href's authority when it is a plain host name
        (either may be None), else ``_NOT_PLAIN``; cached in ``_plain_hosts``."""
        if _PLAIN_HOST.fullmatch(authority):
            entry = (self._domain_of_host(authority), canonical_host(authority))
        else:
            entry = _NOT_PLAIN
        hosts = self._plain_hosts
        if len(hosts) >= _PLAIN_HOSTS_MAX:
            hosts.clear()
        hosts[authority] = entry
        return entry

    def add_page(
        self,
        page_url: str,
        links: Iterable[RawLink],
        *,
        base_href: str | None = None,
        page_nofollow: bool = False,
        seen_at: int | None = None,
        anchor_of: Callable[[Any], str | None] | None = None,
    ) -> None:
        """Apply the rules to the raw links of one page and keep the counted ones.

        ``links`` are ``(href, rel, anchor source)``; hrefs resolve against
        ``base_href`` (itself resolved against the page URL) or the page URL.
        """
        stats = self.stats
        source = self.page_source(page_url)
        if source is None:
            return
        src_url, src_host, src_domain = source
        base_url, base_host = src_url, src_host
        if base_href:
            resolved = resolve_href(base_href, src_url)
            base = normalize_url(resolved) if resolved else None
            if base is not None:
                base_url, base_host = base.url, base.host
        base_domain = self._domain_of_host(base_host)
        relative_internal = base_domain == src_domain
        base_scheme = base_url.split(":", 1)[0]

        domain_of_host = self._domain_of_host
        external_target = self._external_target
        classify = classify_href
        absolute_kind, not_http_kind = HREF_ABSOLUTE, HREF_NOT_HTTP
        plain_authority = PLAIN_HTTP_AUTHORITY.match
        canonical = canonical_host
        is_nofollow = rel_is_nofollow
        out_src, out_tgt = self.source_url, self.target_url
        out_sd, out_td = self.source_domain, self.target_domain
        out_follow, out_anchor, out_seen = self.dofollow, self.anchor, self.seen_at
        seen = not_http = internal = 0
        skipped: dict[str, int] = {}

        plain_hosts = self._plain_hosts.get
        plain_host = self._plain_host
        not_plain = _NOT_PLAIN

        for href, rel, anchor_src in links:
            seen += 1
            # The fast path: an href that classify_href would keep as it is (it starts
            # with a lowercase scheme, has no tab, line break or other non-printable
            # character and no white space at its end; isprintable() is False for
            # every white space but " ") and whose authority, up to the first "/",
            # is a plain host name, which also means it holds no "?", "#", "@", ":"
            # or "[". Then it is split here exactly as plain_url splits it.
            if href.startswith("https://"):
                start = 8
            elif href.startswith("http://"):
                start = 7
            else:
                if relative_internal:
                    # A relative reference on a page whose base is in its own domain is
                    # internal. Sure to be one (classify_href would say so): "/…" not
                    # followed by "/" (nor by a tab or line break that, dropped, would
                    # make it "//host"), or a letter or digit first and no ":" at all.
                    first = href[:1]
                    if first == "/":
                        if href[1:2] not in _NOT_AFTER_SLASH:
                            internal += 1
                            continue
                    elif first.isalnum() and ":" not in href:
                        internal += 1
                        continue
                start = 0
            if start and href.isprintable() and href[-1] != " ":
                slash = href.find("/", start)
                authority = href[start:slash] if slash >= 0 else href[start:]
                host_entry = plain_hosts(authority)
                if host_entry is None:
                    host_entry = plain_host(authority)
                if host_entry is not not_plain:
                    tgt_domain, tgt_host = host_entry
                    if tgt_domain == src_domain:
                        internal += 1
                        continue
                    if tgt_domain is None or tgt_host is None:
                        skipped["target_not_domain"] = skipped.get("target_not_domain", 0) + 1
                        continue
                    if slash < 0:
                        tail = "/"
                    else:
                        tail = href[slash:]
                        if "#" in tail:
                            tail = tail[: tail.find("#")]
                        if "?" in tail:
                            path, _, query = tail.partition("?")
                            tail = f"{path}?{query}" if query else path
                    tgt_url = ("https://" if start == 8 else "http://") + tgt_host + tail
                    out_tgt.append(tgt_url)
                    out_td.append(tgt_domain)
                    out_follow.append(not page_nofollow and not (rel and is_nofollow(rel)))
                    out_anchor.append(None if anchor_of is None else anchor_of(anchor_src))
                    continue
            kind, absolute = classify(href, base_scheme)
            if kind == absolute_kind:
                # Decide "internal" from the host alone when the authority is plain
                # (no user, port or IPv6 brackets), and split such a URL by hand:
                # no urlsplit for most links. ``absolute`` is stripped, without tabs
                # or line breaks (classify_href), as plain_url requires.
                plain = plain_authority(absolute)
                if plain is not None:
                    host = plain.group(2)
                    tgt_domain = domain_of_host(host)
                    if tgt_domain == src_domain:
                        internal += 1
                        continue
                    tgt_host = canonical(host)  # cached, as domain_of_host is
                    if tgt_domain is None or tgt_host is None:
                        # a well-formed URL: only its host is no registrable domain
                        skipped["target_not_domain"] = skipped.get("target_not_domain", 0) + 1
                        continue
                    tgt_url = plain_url(absolute, plain, tgt_host)
                else:
                    target = external_target(absolute)
                    if isinstance(target, str):
                        skipped[target] = skipped.get(target, 0) + 1
                        continue
                    tgt_url, tgt_domain = target
            elif kind == not_http_kind:
                not_http += 1  # empty, #fragment, mailto:, javascript:, data:, tel: …
                continue
            elif relative_internal:
                # A relative reference keeps the base's host: internal when the base is.
                internal += 1
                continue
            else:
                joined = join_href(base_url, absolute)
                target = external_target(joined) if joined is not None else "bad_url"
                if isinstance(target, str):
                    skipped[target] = skipped.get(target, 0) + 1
                    continue
                tgt_url, tgt_domain = target
            if tgt_domain == src_domain:
                internal += 1
                continue
            out_tgt.append(tgt_url)
            out_td.append(tgt_domain)
            out_follow.append(not page_nofollow and not (rel and is_nofollow(rel)))
            if anchor_of is None:
                out_anchor.append(None)
            else:
                out_anchor.append(anchor_of(anchor_src))

        # the page's own columns, once for all its counted links
        counted = len(out_tgt) - len(out_src)
        if counted:
            out_src.extend([src_url] * counted)
            out_sd.extend([src_domain] * counted)
            out_seen.extend([seen_at] * counted)
        stats.links_seen += seen
        if not_http:
            stats.skip("not_http_target", not_http)
        if internal:
            stats.skip("internal_link", internal)
        for reason, n in skipped.items():
            stats.skip(reason, n)

    def _source_of(self, source_url: str) -> tuple[str, str] | str:
        """Normalised URL and domain of a row's source, or the reason it is skipped."""
        src = normalize_url(source_url)
        if src is None:
            return "source_not_domain" if _has_web_host(source_url) else "bad_source_url"
        domain = self._domain_of_host(src.host)
        return (src.url, domain) if domain is not None else "source_not_domain"

    def add_link(
        self,
        source_url: str,
        target_url: str,
        *,
        dofollow: bool,
        anchor: str | None,
        seen_at: int | None,
    ) -> bool:
        """Apply the rules to one absolute link (a links-csv row); True when it was counted."""
        self.stats.links_seen += 1
        if source_url == self._last_source[0]:  # rows of one page often follow each other
            source = self._last_source[1]
        else:
            source = self._source_of(source_url)
            self._last_source = (source_url, source)
        if isinstance(source, str):
            self.stats.skip(source)
            return False
        src_url, src_domain = source
        # Rows carry absolute URLs: "example.com/x" is not read as a relative path, and a
        # scheme-relative "//host/x" has no scheme to take (it fails as a bad URL).
        kind, absolute = classify_href(target_url, "")
        if kind != HREF_ABSOLUTE:
            self.stats.skip("not_http_target" if kind == HREF_NOT_HTTP else "bad_url")
            return False
        target = self._external_target(absolute)
        if isinstance(target, str):
            self.stats.skip(target)
            return False
        tgt_url, tgt_domain = target
        if tgt_domain == src_domain:
            self.stats.skip("internal_link")
            return False
        self.source_url.append(src_url)
        self.target_url.append(tgt_url)
        self.source_domain.append(src_domain)
        self.target_domain.append(tgt_domain)
        self.dofollow.append(dofollow)
        self.anchor.append(clean_anchor(anchor))
        self.seen_at.append(seen_at)
        return True


def clean_anchor(text: str | None) -> str | None:
    """Anchor text, whitespace runs collapsed, cut to ``MAX_ANCHOR_CHARS`` (None if empty)."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    return text[:MAX_ANCHOR_CHARS]
