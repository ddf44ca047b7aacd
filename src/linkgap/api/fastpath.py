"""The hot read: a page of prospects of a completed run, answered from memory.

``GET /v1/backlinks/gap/{run_id}/prospects`` is the endpoint clients hit most. Its
FastAPI route costs more in parameter solving and thread hops than the page
itself, so the gateway first offers each authenticated GET to
:meth:`ProspectsFastPath.body`, which answers only when everything it needs is
already in this process: the run's result, the order of the page (or a small
run) and valid parameters. Whenever anything is unusual (an invalid or repeated
parameter, CSV, a cold run, an unknown competitor, a first sort of a big run) it
declines and the route answers, with its validation and errors. Both build the
body with :func:`page_body`, so the bytes are the same whichever answers (the
tests hold them equal on random queries).
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from linkgap import prospects as pq
from linkgap.api.models import QUERY_BOUNDS
from linkgap.errors import LinkgapError

__all__ = ["ProspectsFastPath", "page_body"]

_PATH = re.compile(r"/v1/backlinks/gap/([^/]+)/prospects")
#: The route's query parameters: the fast path declines when one is repeated.
_PARAMS = ("min_authority", "max_spam", "dofollow", "competitor", "q", "sort", "order",
           "page", "per_page", "format")


def page_body(data: bytes, request_id: str, page: int, per_page: int, total: int) -> bytes:
    """The JSON body of a prospects page: ``data`` (a JSON array) and its ``meta``."""
    meta = {"page": page, "per_page": per_page, "total": total,
            "total_pages": math.ceil(total / per_page) if total else 0,
            "request_id": request_id, "credits_charged": 0}
    return b'{"data":' + data + b',"meta":' + orjson.dumps(meta) + b"}"


def _int(params: QueryParams, name: str, default: int | None) -> int | None:
    from linkgap.api.routes import _parse_int  # the route's own rule for query integers

    text = params.get(name)
    if text is None:
        return default
    value = _parse_int(text)  # raises for anything but an integer
    low, high = QUERY_BOUNDS[name]
    if not low <= value <= high:
        raise ValueError(name)
    return int(value)


class ProspectsFastPath:
    """Answers warm prospects pages for the gateway; declines (None) everything else."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def body(self, scope: Any, principal: Any, request_id: str) -> bytes | None:
        """The answer's JSON body, or None to let the route answer."""
        if scope["method"] != "GET":
            return None
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return None
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                return None
            if name == b"accept" and b"csv" in value.lower():
                return None  # the route decides between CSV and JSON
        result = self.service.cached_run_result(principal.account_id, match.group(1))
        if result is None:
            return None
        params = QueryParams(scope["query_string"])
        try:
            return self._page(result, params, request_id)
        except (ValueError, LinkgapError):
            return None  # the route gives the error its proper answer

    @staticmethod
    def _page(result: Any, params: QueryParams, request_id: str) -> bytes | None:
        from linkgap.api.routes import _parse_bool

        if any(len(params.getlist(name)) > 1 for name in _PARAMS if name in params):
            return None
        if params.get("format", "json") != "json" or "include" in params:
            return None  # CSV, or include (the route checks its value)
        page = _int(params, "page", 1)
        per_page = _int(params, "per_page", 50)
        assert page is not None and per_page is not None
        dofollow = params.get("dofollow")
        competitor = params.get("competitor")
        query = pq.ProspectQuery(
            min_authority=_int(params, "min_authority", None),
            max_spam=_int(params, "max_spam", None),
            dofollow=None if dofollow is None else _parse_bool(dofollow),
            competitor=pq.resolve_competitor(result, competitor) if competitor else None,
            q=params.get("q") or None,
            sort=params.get("sort", "score"), order=params.get("order", "desc"),
        )
        if not pq.order_is_ready(result, query, page, per_page):
            return None  # the first sort of a big run: the route does it off the loop
        data, total = pq.query_page_json(result, query, page, per_page)
        return page_body(data, request_id, page, per_page, total)
