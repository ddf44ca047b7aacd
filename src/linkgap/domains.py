"""Hosts, URLs and user input → canonical registrable domains (SPEC section 1).

A *domain* is a registrable domain (eTLD+1) under the Public Suffix List bundled
with the ``publicsuffixlist`` package, private section included unless the
normaliser is built with ``icann_only=True``. Nothing is downloaded.

Canonical form: lowercase, no trailing dot, ASCII (non-ASCII labels become
``xn--`` labels via UTS-46 non-transitional), labels of letters, digits, ``-``
and ``_``, at most 63 characters a label and 253 a name. A Unicode label is
accepted when IDNA2008 accepts it or, failing that, when UTS-46 does as
browsers apply it (the WHATWG URL standard: CheckBidi and CheckJoiners on,
CheckHyphens and the STD3 rules off), so emoji and symbol names such as
``💩.la`` (``xn--ls8h.la``) are domains, as they are in a browser.

Choices the spec leaves open, made here and documented in ``docs/domains.md``:

- a host whose last label is all digits (``1.2.3``) is treated as an IP-like
  name and is not a domain;
- an ``xn--`` label that is not valid Punycode is not a domain;
- input with a scheme other than ``http``/``https`` (``ftp://``, ``mailto:``)
  is not a domain.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import idna
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from publicsuffixlist import PublicSuffixList

from linkgap.errors import InvalidDomain

__all__ = [
    "DOMAIN_INPUT_MAX_LENGTH",
    "DOMAIN_INPUT_PATTERN",
    "DomainNormalizer",
    "PSL_MODE_ALL",
    "PSL_MODE_ICANN",
    "psl_snapshot_version",
    "search_fold",
    "to_unicode",
]

PSL_MODE_ALL = "all"
PSL_MODE_ICANN = "icann"

_MAX_NAME = 253
_MAX_LABEL = 63
_ASCII_LABEL = re.compile(r"[a-z0-9_-]+\Z")
_URL_WITH_AUTHORITY = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
# "mailto:x", "javascript:x" — a scheme not followed by a port number.
_OTHER_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:(?![0-9]|$)")
_HOST_CACHE_SIZE = 1 << 20

#: Longest text accepted where a user types a domain (a URL may carry a path).
DOMAIN_INPUT_MAX_LENGTH = 2048

# What a typed domain looks like, as a regular expression that means the same in
# Python and in ECMA-262 (so OpenAPI tools read it as the server does). Every text
# :meth:`DomainNormalizer.normalize` accepts matches it (a test holds the two
# together); a text that matches can still be refused for what no pattern can say:
# a public suffix (``co.uk``), a Unicode label UTS-46 refuses, an ``xn--`` label that
# does not decode, a label over 63 or a name over 253 characters in ASCII form.
# Two corners are left out on purpose, as they read as a host only in some spellings
# (``a.com:/x`` and ``user:pw@a.com`` look like a scheme, ``1a.com:/x`` does not): an
# empty port before a path, and a colon in user info without ``http(s)://``.
_LABEL_CHAR = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\s\u3002\uff0e\uff61]"
_NON_DIGIT = r"[^\x00-\x2c\x2e-\x40\x5b-\x5e\x60\x7b-\x7f\s\u3002\uff0e\uff61]"
_DOT = r"[.\u3002\uff0e\uff61]"  # and the dots UTS-46 maps to "."
DOMAIN_INPUT_PATTERN = (
    r"^\s*"
    r"(?:[Hh][Tt][Tt][Pp][Ss]?://(?:[^/?#]*@)?|[^/?#:]*@)?"  # http(s)://, user@
    rf"(?:{_LABEL_CHAR}+{_DOT})+[0-9]*{_NON_DIGIT}{_LABEL_CHAR}*{_DOT}?"  # a.b.example
    r"(?::[0-9]+(?:[/?#].*)?|:|[/?#].*)?"  # :port, then /path?query#fragment
    r"\s*$"
)
_JOINERS = ("\u200c", "\u200d")  # ZERO WIDTH NON-JOINER and JOINER (UTS-46 CheckJoiners)


def psl_snapshot_version() -> str:
    """The version of the installed ``publicsuffixlist`` package (its snapshot date)."""
    try:
        return package_version("publicsuffixlist")
    except PackageNotFoundError:  # pragma: no cover - only in odd installs
        return "unknown"


def _uts46_alabel(label: str) -> str | None:
    """The ``xn--`` form of a Unicode label UTS-46 accepts as browsers apply it, or None.

    For labels IDNA2008 refuses but UTS-46 (non-transitional, CheckBidi and
    CheckJoiners on, CheckHyphens and STD3 rules off, as in the WHATWG URL
    standard) accepts: emoji and symbols such as ``💩`` or ``☃``. ``label``
    must be in mapped form (``idna.uts46_remap`` applied); ASCII characters
    in it are held to the ASCII label rule.
    """
    if label.startswith("xn--") or idna.uts46_remap(label, std3_rules=False,
                                                    transitional=False) != label:
        return None  # not in mapped form (upper case, compatibility characters …)
    if unicodedata.category(label[0]).startswith("M"):
        return None  # a label may not start with a combining mark
    if any(c.isascii() and not _ASCII_LABEL.match(c) for c in label):
        return None
    for i, char in enumerate(label):
        if char in _JOINERS and not idna.valid_contextj(label, i):
            return None
    idna.check_bidi(label)  # raises IDNAError
    encoded = "xn--" + label.encode("punycode").decode("ascii")
    return encoded if len(encoded) <= _MAX_LABEL else None


def _unicode_label(label: str) -> str | None:
    """The canonical ``xn--`` form of a non-ASCII label: IDNA2008 first, then UTS-46."""
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        pass
    try:
        return _uts46_alabel(label)
    except (idna.IDNAError, UnicodeError):
        return None


def _ulabel(alabel: str) -> str | None:
    """The Unicode label an ``xn--`` label stands for, if valid and canonical; else None."""
    try:
        return idna.ulabel(alabel)
    except (idna.IDNAError, UnicodeError):
        pass
    try:
        decoded = alabel[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return None
    if decoded.isascii() or _unicode_label(decoded) != alabel:
        return None  # not canonical: another spelling of a name, or plain ASCII
    return decoded


def _canonical_label(label: str) -> str | None:
    """One label in canonical ASCII form, or None when it cannot be one."""
    if not label:
        return None
    if label.isascii():
        if not _ASCII_LABEL.match(label):
            return None
        if label.startswith("xn--") and _ulabel(label) is None:
            return None
        return label if len(label) <= _MAX_LABEL else None
    encoded = _unicode_label(label)
    return encoded if encoded is not None and len(encoded) <= _MAX_LABEL else None


@lru_cache(maxsize=_HOST_CACHE_SIZE)
def canonical_host(host: str) -> str | None:
    """A host name in canonical form (not reduced to its registrable domain).

    Returns None for IP addresses, empty or over-long names and names with
    characters a host cannot have.
    """
    host = host.strip()
    if host.endswith("."):
        host = host[:-1]
    if not host or host.startswith("["):
        return None
    if host.isascii():
        host = host.lower()
    else:
        try:
            host = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except (idna.IDNAError, UnicodeError):
            return None
        if host.endswith("."):
            host = host[:-1]
    labels = host.split(".")
    out = []
    for label in labels:
        canonical = _canonical_label(label)
        if canonical is None:
            return None
        out.append(canonical)
    if out[-1].isdigit():
        return None  # an IPv4 address or an IP-like name, never a registrable domain
    name = ".".join(out)
    if len(name) > _MAX_NAME:
        return None
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    return name


def host_from_input(text: str) -> str | None:
    """The raw host part of user input that is a URL, ``host:port`` or a bare name."""
    text = text.strip()
    if not text:
        return None
    if _URL_WITH_AUTHORITY.match(text):
        scheme = text.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            return None
        rest = text.split("://", 1)[1]
    elif _OTHER_SCHEME.match(text):
        return None
    else:
        rest = text
    # authority ends at the first "/", "?" or "#"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    if authority.startswith("["):
        return None  # IPv6 literal
    if ":" in authority:
        authority, port = authority.rsplit(":", 1)
        if port and not port.isdigit():
            return None
    if any(c.isspace() for c in authority):
        return None
    return authority


class DomainNormalizer:
    """Maps hosts, URLs and typed names to canonical registrable domains.

    One instance per PSL mode; lookups are cached per host because hosts repeat
    a great deal in crawl data.
    """

    def __init__(self, icann_only: bool = False) -> None:
        self.icann_only = icann_only
        self.psl_mode = PSL_MODE_ICANN if icann_only else PSL_MODE_ALL
        self.psl_version = psl_snapshot_version()
        self._psl = PublicSuffixList(only_icann=icann_only)
        self.domain_of_host = lru_cache(maxsize=_HOST_CACHE_SIZE)(self._domain_of_host)

    def _domain_of_host(self, host: str) -> str | None:
        """Registrable domain of a raw host (any case, maybe Unicode), or None."""
        canonical = canonical_host(host)
        if canonical is None:
            return None
        return self.registrable(canonical)

    def registrable(self, canonical: str) -> str | None:
        """Registrable domain of a host already in canonical form, or None."""
        if "." not in canonical:
            return None
        return self._psl.privatesuffix(canonical)

    def try_normalize(self, text: str) -> str | None:
        """Canonical domain of what a user typed (URL, host, ``host:port``), or None."""
        host = host_from_input(text)
        if host is None:
            return None
        return self.domain_of_host(host)

    def normalize(self, text: str) -> str:
        """Canonical domain of what a user typed; raises InvalidDomain with the reason."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidDomain(text if isinstance(text, str) else repr(text), "is empty")
        if len(text) > DOMAIN_INPUT_MAX_LENGTH:
            raise InvalidDomain(f"{text[:40]}…", f"is longer than {DOMAIN_INPUT_MAX_LENGTH:,} "
                                "characters, too long to be a domain or a web address")
        host = host_from_input(text)
        if host is None:
            raise InvalidDomain(text, "is not a web address or host name")
        canonical = canonical_host(host)
        if canonical is None:
            raise InvalidDomain(
                text,
                "is not a valid domain name (IP addresses, and characters or xn-- labels that "
                "UTS-46 does not accept in a host name, are refused)",
            )
        domain = self.registrable(canonical)
        if domain is None:
            raise InvalidDomain(
                text, "is a public suffix or a single label, not a registrable domain"
            )
        return domain

    def registrable_array(self, hosts: pa.Array) -> pa.Array:
        """``registrable`` for a whole column of canonical hosts at once (null where None).

        Gives exactly what ``registrable`` gives for each host, with a few
        array operations per label depth instead of Python work per host
        (about 1 µs a host instead of 5). Hosts must be canonical
        (``canonical_host``); nulls stay null.
        """
        tables = _PslArrays.of(self)
        if isinstance(hosts, pa.ChunkedArray):
            hosts = hosts.combine_chunks()
        if len(hosts) <= _ARRAY_CHUNK:
            return tables.registrable(hosts)
        # chunks bound the temporaries (a gather index of 8 bytes per name byte)
        return pa.concat_arrays([tables.registrable(hosts.slice(i, _ARRAY_CHUNK))
                                 for i in range(0, len(hosts), _ARRAY_CHUNK)])


_ARRAY_CHUNK = 1 << 20

#: Kind bits of a suffix in the rule table: an exception (``!x``), the parent of a
#: wildcard (``*.x``), a plain rule (``x``). One suffix may be several.
_EXC, _WILD, _PLAIN = 1, 2, 4


class _PslArrays:
    """The rules of one ``PublicSuffixList`` as Arrow lookup tables, for whole columns.

    It follows ``publicsuffixlist``'s own algorithm (``_countpublic``): from
    the longest suffix a host can have (at most ``maxlabel + 1`` labels) to
    the shortest, the first suffix that is an exception, the parent of a
    wildcard or a rule decides the length of the public suffix; with none,
    the default rule ``*`` makes it one label.
    """

    _cache: dict[int, _PslArrays] = {}

    def __init__(self, psl: PublicSuffixList) -> None:
        kinds: dict[str, int] = {}
        for rule in psl._publicsuffix:
            if rule.startswith("!"):
                kinds[rule[1:]] = kinds.get(rule[1:], 0) | _EXC
            elif rule.startswith("*."):
                kinds[rule[2:]] = kinds.get(rule[2:], 0) | _WILD
            else:
                kinds[rule] = kinds.get(rule, 0) | _PLAIN
        self.keys = pa.array(list(kinds), pa.large_string())
        self.kinds = np.array(list(kinds.values()), dtype=np.uint8)
        self.maxlabel = int(psl._maxlabel)

    @classmethod
    def of(cls, normalizer: DomainNormalizer) -> _PslArrays:
        key = id(normalizer._psl)
        tables = cls._cache.get(key)
        if tables is None:
            tables = cls._cache[key] = cls(normalizer._psl)
        return tables

    def registrable(self, hosts: pa.Array) -> pa.Array:
        if isinstance(hosts, pa.ChunkedArray):
            hosts = hosts.combine_chunks()
        arr = hosts.cast(pa.large_string())
        k = len(arr)
        if k == 0:
            return pa.array([], pa.string())
        bufs = arr.buffers()
        offs = np.frombuffer(bufs[1], np.int64, k + 1, arr.offset * 8)
        data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        valid = np.asarray(arr.is_valid())
        base = int(offs[0])
        b = data[base : int(offs[-1])]
        starts, ends = offs[:-1] - base, offs[1:] - base
        dots = np.flatnonzero(b == ord("."))
        first_dot = np.searchsorted(dots, starts)  # index of each host's first dot
        end_dot = np.searchsorted(dots, ends)  # one past its last dot
        labels = end_dot - first_dot + 1
        publen = np.ones(k, dtype=np.int64)  # the default rule "*"
        decided = ~valid
        top = int(labels[valid].max()) if valid.any() else 0
        for depth in range(min(self.maxlabel + 1, top), 0, -1):
            cand = np.flatnonzero(~decided & (labels >= depth))
            if len(cand) == 0:
                continue
            sfx = _suffixes(b, dots, starts[cand], ends[cand], first_dot[cand],
                            end_dot[cand] - depth)
            pos = pc.index_in(sfx, value_set=self.keys).fill_null(-1)
            pos_np = np.asarray(pos)
            kind = np.where(pos_np >= 0, self.kinds[np.maximum(pos_np, 0)], 0)
            exc = (kind & _EXC) > 0
            wild = ((kind & _WILD) > 0) & ~exc
            hit = kind > 0
            length = np.where(exc, depth - 1,
                              np.where(wild & (labels[cand] > depth), depth + 1, depth))
            publen[cand[hit]] = length[hit]
            decided[cand[hit]] = True
        ok = valid & (labels >= 2) & (labels >= publen + 1)
        out = _suffixes(b, dots, starts, ends, first_dot, end_dot - (publen + 1), ok)
        return out.cast(pa.string())


def _suffixes(b: np.ndarray, dots: np.ndarray, starts: np.ndarray, ends: np.ndarray,
              first_dot: np.ndarray, dot_before: np.ndarray,
              keep: np.ndarray | None = None) -> pa.LargeStringArray:
    """The tail of each name after the dot ``dots[dot_before]`` (the whole name when that
    dot is before the name's first); null where ``keep`` is False."""
    begin = np.where(dot_before >= first_dot, dots[np.clip(dot_before, 0, max(len(dots) - 1,
                                                                               0))] + 1
                     if len(dots) else starts, starts)
    lengths = ends - begin if keep is None else np.where(keep, ends - begin, 0)
    new_offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    gather = np.repeat(begin - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
    values = pa.py_buffer(np.ascontiguousarray(b[gather]))
    if keep is None:
        return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(new_offsets), values)
    validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(new_offsets), values,
                                            validity, null_count=int((~keep).sum()))


def to_unicode(domain: str) -> str:
    """The Unicode form of a canonical domain, for display; ASCII names come back unchanged."""
    if "xn--" not in domain:
        return domain
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                labels.append(idna.ulabel(label))
                continue
            except (idna.IDNAError, UnicodeError):
                pass
        labels.append(label)
    return ".".join(labels)


def search_fold(text: str) -> str:
    """``text`` folded for a case- and form-insensitive search: NFKC, then case-folded.

    Decomposed (``bu\u0308cher``), fullwidth (``ＢÜＣＨ``) and upper-case forms fold to
    the same text as the Unicode form of a domain (``bücher``); ``ß`` folds to ``ss``.
    Applied to both the search text and the names searched.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
