"""Spam score: a weighted sum of named, explainable signals (SPEC section 3).

Each signal is a yes/no test on a domain's link counts or on its name. The
score is the sum of the points of the signals that fired, capped at 100.
``spam_signals.npy`` stores bit ``i`` set when ``SIGNALS[i]`` fired, in a
uint16 (index format 3: room for 16 signals); the order
of ``SIGNALS`` never changes (new signals are appended). ``docs/metrics.md``
lists every signal with its threshold and points.

The *name* is the registrable label: the first label of the canonical domain
(``cheap-pills-4u`` for ``cheap-pills-4u.co.uk``), read in its Unicode form for
``xn--`` labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linkgap.domains import to_unicode
from linkgap.index.metrics import DomainCounts

__all__ = [
    "ABUSED_TLDS",
    "SIGNALS",
    "Signal",
    "compute_spam",
    "signal_names",
    "SPAM_THRESHOLDS",
]


@dataclass(frozen=True)
class Signal:
    """One spam signal: stable name, points added when it fires, what it tests."""

    name: str
    points: int
    rule: str


#: Thresholds the rules below use (quoted in docs/metrics.md).
SPAM_THRESHOLDS = {
    "outlink_ratio_min_linked": 20,
    "outlink_ratio": 10,
    "dofollow_share_min_backlinks": 10,
    "dofollow_share_below": 0.10,
    "concentration_min_backlinks": 20,
    "concentration_share": 0.80,
    "name_digits": 3,
    "name_hyphens": 2,
    "name_length_over": 20,
}

SIGNALS: tuple[Signal, ...] = (
    Signal("high_outlink_ratio", 25,
           "links to at least 20 domains and to at least 10 times as many domains as link to it"),
    Signal("low_dofollow_share", 15,
           "at least 10 backlinks and under 10% of them dofollow"),
    Signal("concentrated_inlinks", 15,
           "at least 20 backlinks and 80% or more of them from one referring domain"),
    Signal("digits_in_name", 10, "3 or more digits in the name"),
    Signal("hyphens_in_name", 10, "2 or more hyphens in the name"),
    Signal("long_name", 10, "a name longer than 20 characters"),
    Signal("abused_tld", 15, "a top-level domain from ABUSED_TLDS"),
    Signal("no_referring_domains", 10, "no other domain in the index links to it"),
)

#: Top-level domains that abuse trackers (Spamhaus, SURBL, Interisle reports)
#: have long listed among the most abused; fixed here so scores are stable.
ABUSED_TLDS: tuple[str, ...] = (
    "bid", "buzz", "cam", "cf", "click", "country", "cyou", "date", "download", "faith",
    "ga", "gdn", "gq", "icu", "kim", "loan", "men", "ml", "mom", "party", "racing",
    "rest", "review", "science", "stream", "tk", "top", "trade", "win", "work", "xyz",
    "zip",
)


def signal_names(mask: int) -> list[str]:
    """Names of the signals whose bits are set in ``mask``, in ``SIGNALS`` order."""
    return [s.name for i, s in enumerate(SIGNALS) if mask >> i & 1]


def _name_features(names: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per domain: digits, hyphens and length of the name; whether its TLD is abused."""
    starts = np.asarray(offsets[:-1], dtype=np.int64)
    ends = np.asarray(offsets[1:], dtype=np.int64)
    base = int(offsets[0])
    b = np.asarray(names[base : int(offsets[-1])])
    starts, ends = starts - base, ends - base
    n = len(starts)
    dots = np.flatnonzero(b == ord("."))
    # every canonical domain has a dot: the label ends at the first dot after its start
    first_dot = dots[np.searchsorted(dots, starts)]
    last_dot = dots[np.searchsorted(dots, ends) - 1]
    digit_cum = np.concatenate(([0], np.cumsum((b >= ord("0")) & (b <= ord("9")))))
    hyphen_cum = np.concatenate(([0], np.cumsum(b == ord("-"))))
    digits = digit_cum[first_dot] - digit_cum[starts]
    hyphens = hyphen_cum[first_dot] - hyphen_cum[starts]
    length = first_dot - starts
    tld_start = last_dot + 1
    tld_len = ends - tld_start
    abused = np.zeros(n, dtype=bool)
    top = len(b) - 1
    for tld in ABUSED_TLDS:
        m = tld_len == len(tld)
        for k, ch in enumerate(tld.encode()):
            m &= b[np.minimum(tld_start + k, top)] == ch
        abused |= m
    # Punycode labels: count on the Unicode form, as a person reads the name.
    is_xn = (length >= 4) & (b[np.minimum(starts, top)] == ord("x")) & (
        b[np.minimum(starts + 1, top)] == ord("n")) & (b[np.minimum(starts + 2, top)] == ord("-")
    ) & (b[np.minimum(starts + 3, top)] == ord("-"))
    for i in np.flatnonzero(is_xn):
        label = to_unicode(bytes(b[starts[i] : first_dot[i]]).decode("ascii"))
        digits[i] = sum(c.isdigit() for c in label)
        hyphens[i] = label.count("-")
        length[i] = len(label)
    return digits, hyphens, length, abused


def compute_spam(counts: DomainCounts, names: np.ndarray, offsets: np.ndarray,
                 block: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Spam score (uint8 0-100) and signal bitmask (uint16) for every domain."""
    t = SPAM_THRESHOLDS
    n = len(offsets) - 1
    fired = np.zeros(n, dtype=np.uint16)
    linked, rd, bl = counts.linked_domains, counts.referring_domains, counts.backlinks
    tests = {
        "high_outlink_ratio": (linked >= t["outlink_ratio_min_linked"])
        & (linked >= t["outlink_ratio"] * np.maximum(rd, 1)),
        "low_dofollow_share": (bl >= t["dofollow_share_min_backlinks"])
        & (counts.dofollow_backlinks < t["dofollow_share_below"] * bl),
        "concentrated_inlinks": (bl >= t["concentration_min_backlinks"])
        & (counts.top_referrer_links >= t["concentration_share"] * bl),
        "no_referring_domains": rd == 0,
    }
    digits = np.zeros(n, dtype=np.int64)
    hyphens = np.zeros(n, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    abused = np.zeros(n, dtype=bool)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        d, h, ln, a = _name_features(names, offsets[i0 : i1 + 1])
        digits[i0:i1], hyphens[i0:i1], length[i0:i1], abused[i0:i1] = d, h, ln, a
    tests["digits_in_name"] = digits >= t["name_digits"]
    tests["hyphens_in_name"] = hyphens >= t["name_hyphens"]
    tests["long_name"] = length > t["name_length_over"]
    tests["abused_tld"] = abused
    score = np.zeros(n, dtype=np.int64)
    for bit, signal in enumerate(SIGNALS):
        hit = tests[signal.name]
        fired |= hit.astype(np.uint16) << np.uint16(bit)
        score += hit * signal.points
    return np.minimum(score, 100).astype(np.uint8), fired
