"""``GET /v1/backlinks/gap/{run_id}/diff?against=RUN_ID`` (SPEC 13): a thin adapter
over :mod:`linkgap.service.diffs` and :mod:`linkgap.diff`.

Free to read. Filters, sorts, paging and CSV work as for prospects; the filters
apply to the values each entry shows (the run's for added and changed entries,
the other run's for removed ones).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from linkgap.api.listing import csv_export
from linkgap.api.models import ErrorEnvelope, PageMeta, Prospect
from linkgap.api.routes import (
    Filters,
    FormatParam,
    OrderParam,
    Page,
    PerPage,
    SortParam,
    _account,
    _errors,
    _page_meta,
    _query,
    _service,
)
from linkgap.diff import DIFF_KINDS, diff_counts, diff_page, iter_diff_csv
from linkgap.service.diffs import run_diff

__all__ = ["DiffPage", "router"]

router = APIRouter()


class FieldChange(BaseModel):
    """A field's value in the other run (``old``) and in this one (``new``)."""

    old: int | bool | list[str]
    new: int | bool | list[str]


class DiffEntry(Prospect):
    """A prospect added, removed or changed between two runs.

    The prospect fields are the run's for ``added`` and ``changed`` entries, the
    other run's for ``removed`` ones. ``changes`` lists the fields that differ
    (``competitors`` compared as a set); null unless ``kind`` is changed.
    """

    kind: Literal["added", "removed", "changed"]
    changes: dict[str, FieldChange] | None = Field(
        description="Field name → {old, new}, only the fields whose values differ.")


class DiffCounts(BaseModel):
    """Entries of each kind after the filters (whatever ``kind`` asks for)."""

    added: int
    removed: int
    changed: int


class DiffMeta(PageMeta):
    """Paging metadata of a diff, with the counts per kind."""

    counts: DiffCounts
    against: str = Field(description="The run compared with.")


class DiffPage(BaseModel):
    """A page of a run diff."""

    data: list[DiffEntry]
    meta: DiffMeta


_DIFF_ERRORS = {
    **_errors(404, 409, 410, 422),
    404: {"model": ErrorEnvelope,
          "description": "Either run unknown or another account's (`not_found`)."},
    409: {"model": ErrorEnvelope,
          "description": "Either run not completed (`run_not_completed`; details.status "
                         "and details.run_id name it)."},
    422: {"model": ErrorEnvelope,
          "description": "Invalid parameter (`invalid_parameter`); `param` against when the "
                         "other run is of another domain."},
}


@router.get(
    "/v1/backlinks/gap/{run_id}/diff", response_model=DiffPage, tags=["runs"],
    summary="What changed since another run of the same domain",
    responses={
        200: {"description": "A page of added, removed and changed prospects, or with "
                             "format=csv (or Accept: text/csv) every filtered entry as CSV.",
              "content": {"text/csv": {"schema": {"type": "string"}}}},
        **_DIFF_ERRORS,
    },
)
def run_diff_page(
    request: Request,
    run_id: str,
    against: Annotated[str, Query(
        min_length=1, description="The run to compare with (usually an earlier run of the "
                                  "same domain): its prospects are the old values.")],
    filters: Annotated[Filters, Depends()],
    kind: Annotated[Literal[DIFF_KINDS] | None, Query(  # type: ignore[valid-type]
        description="Only entries of this kind (default: all three).")] = None,
    sort: SortParam = "score",
    order: OrderParam = "desc",
    page: Page = 1,
    per_page: PerPage = 50,
    format: FormatParam = None,
) -> Response:
    """Prospects added, removed and changed between the run and ``against``."""
    diff = run_diff(_service(request), _account(request), run_id, against)
    query = _query(diff.entries, filters, sort, order)
    csv = csv_export(request, format, lambda: iter_diff_csv(diff, query, kind),
                     f"linkgap-{run_id}-diff.csv")
    if csv is not None:
        return csv
    rows, total = diff_page(diff, query, kind, page, per_page)
    meta: dict[str, Any] = _page_meta(request, page, per_page, total)
    meta = {**meta, "counts": diff_counts(diff, query), "against": against}
    return JSONResponse({"data": rows, "meta": meta})
