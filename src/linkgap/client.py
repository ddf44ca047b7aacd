"""A Python client for the linkgap HTTP API (SPEC section 5).

::

    from linkgap import Client

    with Client("http://127.0.0.1:8000", "lgk_…") as client:
        run = client.create_run("mysite.example", ["rivalone.example", "rivaltwo.example"])
        run = client.wait(run["id"])
        for prospect in client.prospects(run["id"], min_authority=20, dofollow=True):
            print(prospect["domain"], prospect["score"])

Every method returns plain JSON data (dicts and lists) as the API sends it.
Errors come back as typed exceptions, drawn here::

    ClientError                    base of everything this module raises
    ├── ApiError                   the API answered with an error (status, code, message,
    │   │                          param, details, request_id)
    │   ├── InvalidJson                 400 invalid_json
    │   ├── Unauthorized                401 unauthorized
    │   ├── InsufficientCredits         402 insufficient_credits
    │   ├── NotFound                    404 not_found
    │   ├── MethodNotAllowed            405 method_not_allowed
    │   ├── Conflict                    409 (any other conflict code)
    │   │   ├── RunNotCompleted             run_not_completed (details["status"])
    │   │   └── IdempotencyConflict         idempotency_conflict
    │   ├── PayloadTooLarge             413 payload_too_large
    │   ├── UnsupportedMediaType        415 unsupported_media_type
    │   ├── InvalidParameter            422 invalid_parameter (param names the culprit)
    │   ├── CompetitorsNotIndexed       422 competitors_not_indexed (details["missing"])
    │   ├── RateLimited                 429 rate_limited (retry_after in seconds)
    │   ├── IndexUnavailable            503 index_unavailable
    │   └── ServerError                 any other 5xx
    ├── ConnectionFailed           the server could not be reached (after the retries)
    ├── RunFailed                  wait(): the run ended as failed (run, code, message)
    └── WaitTimeout                wait(): the run did not finish in time (also a TimeoutError)

Retries: a 429 or 503 answer is retried up to ``max_retries`` times, waiting
what its ``Retry-After`` header says (capped at ``max_retry_wait`` seconds),
or an exponential backoff when it says nothing. Connection failures are
retried the same way for requests that are safe to repeat: every GET, and the
POSTs this client sends with an ``Idempotency-Key`` (``create_run`` always
sends one, generating it when the caller gives none, so a retried create can
never start or charge a second run).
"""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "ApiError",
    "Client",
    "ClientError",
    "CompetitorsNotIndexed",
    "Conflict",
    "ConnectionFailed",
    "IdempotencyConflict",
    "IndexUnavailable",
    "InsufficientCredits",
    "InvalidJson",
    "InvalidParameter",
    "MethodNotAllowed",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RateLimited",
    "RunFailed",
    "RunNotCompleted",
    "ServerError",
    "Unauthorized",
    "UnsupportedMediaType",
    "WaitTimeout",
]

#: Largest ``per_page`` the API accepts; the iterators use it to make few requests.
MAX_PER_PAGE = 100

#: Run statuses after which a run never changes.
FINAL_STATUSES = frozenset({"completed", "failed"})


class ClientError(Exception):
    """Base of every exception :class:`Client` raises on purpose."""


class ApiError(ClientError):
    """The API answered with an error (SPEC section 5, "Errors")."""

    #: The machine code this class stands for (``None`` on the catch-all class).
    code_name: str | None = None

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.details = details or {}
        self.request_id = request_id
        self.retry_after = retry_after


class InvalidJson(ApiError):
    """400: the request body was not valid JSON."""

    code_name = "invalid_json"


class Unauthorized(ApiError):
    """401: the API key is missing, malformed, unknown or revoked."""

    code_name = "unauthorized"


class InsufficientCredits(ApiError):
    """402: the request costs more credits than the account has."""

    code_name = "insufficient_credits"


class NotFound(ApiError):
    """404: unknown path, unknown run, or a run of another account."""

    code_name = "not_found"


class MethodNotAllowed(ApiError):
    """405: wrong method on a known path."""

    code_name = "method_not_allowed"


class Conflict(ApiError):
    """409: the request conflicts with the state of a resource."""


class RunNotCompleted(Conflict):
    """409: prospects or summary of a run that is not completed (``details["status"]``)."""

    code_name = "run_not_completed"


class IdempotencyConflict(Conflict):
    """409: an Idempotency-Key reused with a different body."""

    code_name = "idempotency_conflict"


class PayloadTooLarge(ApiError):
    """413: the request body is over the server's size limit."""

    code_name = "payload_too_large"


class UnsupportedMediaType(ApiError):
    """415: a POST body that is not JSON."""

    code_name = "unsupported_media_type"


class InvalidParameter(ApiError):
    """422: an invalid value; ``param`` names it (``competitors[1]`` for a list item)."""

    code_name = "invalid_parameter"


class CompetitorsNotIndexed(ApiError):
    """422: fewer than ``min_overlap`` of a run's competitors are in the index, so no
    prospect could exist; nothing was charged. ``details["missing"]`` names them."""

    code_name = "competitors_not_indexed"


class RateLimited(ApiError):
    """429: over the key's rate limit (after the client's own retries ran out)."""

    code_name = "rate_limited"


class IndexUnavailable(ApiError):
    """503: the server has no usable backlink index."""

    code_name = "index_unavailable"


class ServerError(ApiError):
    """Any other 5xx answer."""


_BY_CODE: dict[str, type[ApiError]] = {
    cls.code_name: cls
    for cls in (
        InvalidJson,
        Unauthorized,
        InsufficientCredits,
        NotFound,
        MethodNotAllowed,
        RunNotCompleted,
        IdempotencyConflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidParameter,
        CompetitorsNotIndexed,
        RateLimited,
        IndexUnavailable,
    )
    if cls.code_name is not None
}


class RunFailed(ClientError):
    """:meth:`Client.wait` saw the run end as ``failed``; ``code``/``message`` are its error."""

    def __init__(self, run: dict[str, Any]) -> None:
        error = run.get("error") or {}
        self.run = run
        self.code: str = str(error.get("code") or "run_failed")
        self.message: str = str(error.get("message") or "the run failed")
        super().__init__(f"run {run.get('id')} failed: {self.code}: {self.message}")


class ConnectionFailed(ClientError):
    """The server could not be reached, or the connection broke (after any retries)."""

    def __init__(self, base_url: str, cause: Exception) -> None:
        self.base_url = base_url
        self.cause = cause
        super().__init__(f"cannot reach linkgap at {base_url}: {cause}")


class WaitTimeout(ClientError, TimeoutError):
    """:meth:`Client.wait` gave up before the run finished; ``run`` is its last known state."""

    def __init__(self, run: dict[str, Any], waited: float) -> None:
        self.run = run
        self.waited = waited
        super().__init__(
            f"run {run.get('id')} still {run.get('status')} after {waited:.1f} s"
        )


@dataclass(frozen=True)
class Page:
    """One page of a paged list: its rows and the ``meta`` object the API sent."""

    data: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def page(self) -> int:
        """The 1-based page number."""
        return int(self.meta.get("page", 1))

    @property
    def per_page(self) -> int:
        """Rows asked for per page."""
        return int(self.meta.get("per_page", len(self.data)))

    @property
    def total(self) -> int:
        """Rows in all pages (after filters)."""
        return int(self.meta.get("total", len(self.data)))

    @property
    def total_pages(self) -> int:
        """How many pages there are (0 when there are no rows)."""
        return int(self.meta.get("total_pages", 1 if self.data else 0))


def _version() -> str:
    from linkgap import __version__

    return __version__


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _segment(value: str) -> str:
    """``value`` as one URL path segment (a run id can never reach another path)."""
    return quote(str(value), safe="")


def _query_value(value: Any) -> Any:
    # The API reads query booleans as true/false; Python's str(True) is "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters from keyword filters, dropping the ones left as ``None``."""
    return {k: _query_value(v) for k, v in filters.items() if v is not None}


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed :class:`ApiError` for an error ``response`` (any body, even non-JSON)."""
    code = f"http_{response.status_code}"
    message = response.reason_phrase or "request failed"
    param: str | None = None
    details: dict[str, Any] | None = None
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            param = error.get("param")
            details = error.get("details") if isinstance(error.get("details"), dict) else None
        meta = body.get("meta")
        if isinstance(meta, dict) and meta.get("request_id"):
            request_id = str(meta["request_id"])
    cls = _BY_CODE.get(code)
    if cls is None:
        if response.status_code == 409:
            cls = Conflict
        elif response.status_code >= 500:
            cls = ServerError
        else:
            cls = ApiError
    return cls(
        response.status_code,
        code,
        message,
        param=param,
        details=details,
        request_id=request_id,
        retry_after=_parse_retry_after(response.headers.get("retry-after")),
    )


class Client:
    """A client for one linkgap server and one API key.

    ``timeout`` is per HTTP request (seconds); ``max_retries`` bounds the
    retries of a 429, a 503 or a connection failure (see the module notes);
    ``max_retry_wait`` caps one wait between retries. ``transport`` passes any
    synchronous ``httpx`` transport (a mock, a proxy); ``http_client`` sends
    through an existing ``httpx.Client`` instead (for example one whose
    transport serves an in-process app). ``sleep`` is how the client waits
    between retries and polls (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key is empty: pass the key `linkgap keys create` printed")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        #: The ``meta`` object of the last successful JSON answer (``credits_charged`` …).
        self.last_meta: dict[str, Any] = {}
        self._sleep = sleep
        # Sent with every request (not set on the httpx client, so a borrowed
        # http_client gets them too).
        self._headers = {
            "Authorization": f"Bearer {api_key.strip()}",
            "User-Agent": f"linkgap-python-client/{_version()}",
            "Accept": "application/json",
        }
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, transport=transport)

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the underlying connections (a borrowed ``http_client`` is left open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        wait = retry_after if retry_after is not None else 0.5 * (2**attempt)
        return min(wait, self.max_retry_wait)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        charged: bool = False,
    ) -> httpx.Response:
        """Send one request with the bounded retries; raise :class:`ApiError` on an error answer.

        ``charged`` marks a GET that costs credits: after a network error nobody knows
        whether the server charged it, so it is not sent again (429/503 answers, which
        charge nothing, are still retried).
        """
        safe_to_repeat = ((method == "GET" and not charged)
                          or bool(headers and "Idempotency-Key" in headers))
        all_headers = {**self._headers, **(headers or {})}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, self.base_url + path, params=params, json=json, headers=all_headers
                )
            except httpx.TransportError as exc:
                if not safe_to_repeat or attempt >= self.max_retries:
                    raise ConnectionFailed(self.base_url, exc) from exc
                self._sleep(self._backoff(attempt, None))
                attempt += 1
                continue
            if response.status_code in (429, 503) and attempt < self.max_retries:
                retry_after = _parse_retry_after(response.headers.get("retry-after"))
                self._sleep(self._backoff(attempt, retry_after))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise error_from_response(response)
            return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        body = self._request(method, path, **kwargs).json()
        self.last_meta = dict(body.get("meta") or {})
        return body.get("data")

    # -- runs ------------------------------------------------------------------------

    def create_run(
        self,
        domain: str,
        competitors: Sequence[str],
        mode: str = "union",
        min_overlap: int | None = None,
        limit: int = 100,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        *,
        filters: Mapping[str, Any] | None = None,
        exclude: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Start a gap run (``POST /v1/backlinks/gap``); returns the queued run.

        ``filters`` (``min_authority``, ``max_spam``, ``dofollow``) and ``exclude``
        (up to 100 domains: a domain linking to one of them is no prospect) apply
        before ``limit``, so the run keeps the best ``limit`` prospects that pass
        them; the run echoes both. The credits it cost are in
        ``client.last_meta["credits_charged"]``. An ``Idempotency-Key`` is always
        sent (a fresh one unless given), so the client's retries never start a
        second run. With ``callback_url`` the server POSTs the run there, signed, when
        it completes or fails; the run's ``webhook`` field says how the delivery went
        (docs/webhooks.md).
        """
        if isinstance(competitors, str):
            # A bare string would be sent as a list of its characters' worth of intent.
            competitors = [competitors]
        body: dict[str, Any] = {
            "domain": domain,
            "competitors": list(competitors),
            "mode": mode,
            "limit": limit,
        }
        if min_overlap is not None:
            body["min_overlap"] = min_overlap
        if filters is not None:
            body["filters"] = dict(filters)
        if exclude is not None:
            # A bare string would be sent as one name, not as a list of its characters.
            body["exclude"] = [exclude] if isinstance(exclude, str) else list(exclude)
        if callback_url is not None:
            body["callback_url"] = callback_url
        key = idempotency_key or f"lgc-{uuid.uuid4()}"
        data: dict[str, Any] = self._json(
            "POST", "/v1/backlinks/gap", json=body, headers={"Idempotency-Key": key}
        )
        return data

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with every field (``GET /v1/backlinks/gap/{run_id}``)."""
        data: dict[str, Any] = self._json("GET", f"/v1/backlinks/gap/{_segment(run_id)}")
        return data

    def wait(
        self,
        run_id: str,
        timeout: float = 600.0,
        poll: float = 0.25,
        max_poll: float = 5.0,
    ) -> dict[str, Any]:
        """Poll a run until it is ``completed`` and return it.

        Polls start every ``poll`` seconds and back off exponentially (x1.5) to
        at most ``max_poll``. Raises :class:`RunFailed` when the run fails and
        :class:`WaitTimeout` after ``timeout`` seconds.
        """
        started = time.monotonic()
        delay = poll
        while True:
            run = self.get_run(run_id)
            if run.get("status") == "completed":
                return run
            if run.get("status") == "failed":
                raise RunFailed(run)
            waited = time.monotonic() - started
            if waited >= timeout:
                raise WaitTimeout(run, waited)
            self._sleep(min(delay, max(0.0, timeout - waited)))
            delay = min(delay * 1.5, max_poll)

    def run_gap(
        self,
        domain: str,
        competitors: Sequence[str],
        *,
        timeout: float = 600.0,
        **options: Any,
    ) -> dict[str, Any]:
        """Create a run and wait for it; returns the completed run (see :meth:`create_run`)."""
        run = self.create_run(domain, competitors, **options)
        return self.wait(run["id"], timeout=timeout)

    def runs_page(
        self, *, status: str | None = None, page: int = 1, per_page: int = 50
    ) -> Page:
        """One page of the account's runs, newest first (``GET /v1/backlinks/gap``)."""
        params = _filters({"status": status, "page": page, "per_page": per_page})
        body = self._request("GET", "/v1/backlinks/gap", params=params).json()
        self.last_meta = dict(body.get("meta") or {})
        return Page(list(body.get("data") or []), self.last_meta)

    def runs(
        self, status: str | None = None, *, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every run of the account, newest first, across all pages (``per_page`` a request).

        Runs created while iterating push older ones to later pages; a run
        already yielded is not yielded again.
        """
        seen: set[str] = set()
        page_no = 1
        while True:
            page = self.runs_page(status=status, page=page_no, per_page=per_page)
            for run in page.data:
                if run["id"] not in seen:
                    seen.add(run["id"])
                    yield run
            if not page.data or page_no >= page.total_pages:
                return
            page_no += 1

    # -- prospects -------------------------------------------------------------------

    def prospects_page(
        self, run_id: str, *, page: int = 1, per_page: int = 50, **filters: Any
    ) -> Page:
        """One page of a completed run's prospects.

        ``filters`` are the query parameters of SPEC section 5: ``min_authority``,
        ``max_spam``, ``dofollow`` (bool), ``competitor``, ``q``, ``sort``, ``order``.
        """
        params = _filters({**filters, "page": page, "per_page": per_page})
        body = self._request(
            "GET", f"/v1/backlinks/gap/{_segment(run_id)}/prospects", params=params
        ).json()
        self.last_meta = dict(body.get("meta") or {})
        return Page(list(body.get("data") or []), self.last_meta)

    def prospects(
        self, run_id: str, *, per_page: int = MAX_PER_PAGE, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every prospect of a completed run matching ``filters``, across all pages, in order.

        Pages are fetched lazily, ``per_page`` rows a request; a run's
        prospects are frozen, so the pages never overlap or skip.
        """
        filters.pop("page", None)  # the iterator walks the pages itself
        page_no = 1
        while True:
            page = self.prospects_page(run_id, page=page_no, per_page=per_page, **filters)
            yield from page.data
            if not page.data or page_no >= page.total_pages:
                return
            page_no += 1

    def prospect(self, run_id: str, domain: str) -> dict[str, Any]:
        """One prospect of a completed run with the links behind it
        (``GET /v1/backlinks/gap/{run_id}/prospects/{domain}``): every prospect field,
        ``links`` per competitor in run order (counts, dates, sample links),
        ``links_frozen`` and ``links_index_version``. The domain may be in any form;
        :class:`NotFound` when it is not a prospect of the run."""
        data: dict[str, Any] = self._json(
            "GET", f"/v1/backlinks/gap/{_segment(run_id)}/prospects/{_segment(domain)}")
        return data

    def prospects_csv(self, run_id: str, *, include: str | None = None,
                      **filters: Any) -> str:
        """Every filtered prospect of a completed run as CSV text (header row first);
        ``include="links"``: one row per sample link behind each prospect."""
        params = _filters({**filters, "format": "csv", "include": include})
        response = self._request(
            "GET",
            f"/v1/backlinks/gap/{_segment(run_id)}/prospects",
            params=params,
            headers={"Accept": "text/csv"},
        )
        return response.text

    def summary(self, run_id: str, **filters: Any) -> dict[str, Any]:
        """Counts over a completed run's prospects by rating band, overlap and dofollow."""
        data: dict[str, Any] = self._json(
            "GET", f"/v1/backlinks/gap/{_segment(run_id)}/summary", params=_filters(filters)
        )
        return data

    # -- run diffs ---------------------------------------------------------------------

    def diff_page(
        self, run_id: str, against: str, *, kind: str | None = None, page: int = 1,
        per_page: int = 50, **filters: Any
    ) -> Page:
        """One page of what changed between two completed runs of the same domain.

        Entries carry ``kind`` (``added``: in ``run_id`` only, ``removed``: in
        ``against`` only, ``changed``), the prospect fields and ``changes``
        (``{field: {"old", "new"}}``). ``meta["counts"]`` has the entries of each
        kind. ``filters`` are those of :meth:`prospects_page`.
        """
        params = _filters({**filters, "against": against, "kind": kind, "page": page,
                           "per_page": per_page})
        body = self._request(
            "GET", f"/v1/backlinks/gap/{_segment(run_id)}/diff", params=params
        ).json()
        self.last_meta = dict(body.get("meta") or {})
        return Page(list(body.get("data") or []), self.last_meta)

    def diff(
        self, run_id: str, against: str, *, kind: str | None = None,
        per_page: int = MAX_PER_PAGE, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every entry of the diff of ``run_id`` against ``against`` (usually an earlier
        run of the same domain), across all pages, in order (``GET …/{run_id}/diff``)."""
        filters.pop("page", None)
        page_no = 1
        while True:
            page = self.diff_page(run_id, against, kind=kind, page=page_no,
                                  per_page=per_page, **filters)
            yield from page.data
            if not page.data or page_no >= page.total_pages:
                return
            page_no += 1

    def diff_csv(self, run_id: str, against: str, *, kind: str | None = None,
                 **filters: Any) -> str:
        """Every filtered entry of a diff as CSV text (header row first)."""
        params = _filters({**filters, "against": against, "kind": kind, "format": "csv"})
        response = self._request(
            "GET", f"/v1/backlinks/gap/{_segment(run_id)}/diff", params=params,
            headers={"Accept": "text/csv"},
        )
        return response.text

    # -- domains and account -----------------------------------------------------------

    def domain_metrics(
        self, domains: Sequence[str], *, idempotency_key: str | None = None
    ) -> list[dict[str, Any]]:
        """Metrics of 1-10 domains, in input order (``POST /v1/domains/metrics``).

        Costs one credit per domain found unless the account already looked it
        up in the same index version.
        """
        if isinstance(domains, str):
            domains = [domains]
        key = idempotency_key or f"lgc-{uuid.uuid4()}"
        data: list[dict[str, Any]] = self._json(
            "POST",
            "/v1/domains/metrics",
            json={"domains": list(domains)},
            headers={"Idempotency-Key": key},
        )
        return data

    def competitors(self, domain: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Link competitors of ``domain``: the domains sharing the most referring domains
        with it, best first (``GET /v1/domains/{domain}/competitors``, ``limit`` 1-100).

        Rows have ``domain, shared_referring_domains, jaccard, domain_rating``.
        Costs one credit when the domain is in the index, nothing when it is not
        (then the list is empty and ``last_meta["found"]`` is False).
        ``last_meta["capped"]`` says whether only the strongest 50,000 of its
        referring domains were used. An index built without out-links answers
        :class:`ApiError` 501 ``out_links_missing``.
        """
        data: list[dict[str, Any]] = self._json(
            "GET", f"/v1/domains/{_segment(domain)}/competitors", params={"limit": limit},
            charged=True)
        return data

    def account(self) -> dict[str, Any]:
        """The account of the key: its name and credits (``GET /v1/account``)."""
        data: dict[str, Any] = self._json("GET", "/v1/account")
        return data
