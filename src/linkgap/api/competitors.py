"""``GET /v1/domains/{domain}/competitors?limit=N`` (SPEC 13): a thin adapter over
``LinkgapService.link_competitors`` (:mod:`linkgap.competitors`).

One credit (``LINKGAP_COMPETITORS_COST``) for a domain in the index, nothing for
one that is not (``meta.found`` false, empty ``data``), all or nothing: a domain
that is not a domain or a bad ``limit`` is a 422, an index without out-links a
501 ``out_links_missing``, a balance that cannot pay a 402 — each before
anything is charged. What the rows were computed from, the 50,000 cap among
it, is in ``meta``.

The domain is one path segment, or several, of any characters (the
``linkgap_domain`` convertor: Starlette's ``path`` one stops at a line break,
which the document's pattern allows around a domain), so a typed web address
works whether the client percent-encodes its slashes or not.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from linkgap.api.models import DOMAIN_INPUT_SCHEMA, ErrorEnvelope, Meta
from linkgap.api.routes import _ERROR_TEXT, _account, _errors, _meta, _parse_int, _service
from linkgap.competitors import DEFAULT_LIMIT, MAX_LIMIT
from linkgap.index.competitors import DEFAULT_CAP

__all__ = ["CompetitorsEnvelope", "router"]

router = APIRouter()


class _AnyText(Convertor[str]):
    """A path parameter of one or more of any characters, slashes and line breaks too."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("linkgap_domain", _AnyText())

LimitInt = Annotated[int, Interval(ge=1, le=MAX_LIMIT), BeforeValidator(_parse_int)]


class Competitor(BaseModel):
    """A domain sharing referring domains with the requested one."""

    domain: str = Field(description="Canonical form.", examples=["rival.com"])
    shared_referring_domains: int = Field(
        description="Referring domains of the requested domain (of those used, see "
                    "meta.capped) that link to this one too.", examples=[412])
    jaccard: float = Field(
        ge=0, le=1, description="shared / (used referring domains of the requested domain "
                                "+ referring domains of this one − shared), rounded to 6 "
                                "decimals.", examples=[0.183])
    domain_rating: int = Field(ge=0, le=100, examples=[54])


class CompetitorsMeta(Meta):
    """What the competitors were computed from."""

    domain: str = Field(description="The requested domain, in canonical form.",
                        examples=["mysite.com"])
    found: bool = Field(description="False when the domain is not in the index: no rows, "
                                    "nothing charged.")
    referring_domains: int = Field(description="The domain's referring domains in the "
                                               "index (0 when not found).")
    referring_domains_used: int = Field(
        description="Those the overlap was computed from: all of them, or the strongest "
                    f"{DEFAULT_CAP:,} by PageRank when capped.")
    capped: bool = Field(description=f"True when the domain has more than {DEFAULT_CAP:,} "
                                     "referring domains and only the strongest were used.")
    referring_domains_cap: int = Field(description="The cap.", examples=[DEFAULT_CAP])
    limit: int
    index_version: str = Field(description="The index version read.")


class CompetitorsEnvelope(BaseModel):
    """Link competitors, best first: by shared referring domains, then Jaccard (both
    descending), then domain name."""

    data: list[Competitor]
    meta: CompetitorsMeta


_501 = ("The index was built without out-links by source (`index build --no-out-links`, "
        "or by an older linkgap): `out_links_missing`; nothing is charged.")


_431 = ("The request head is over LINKGAP_MAX_HEADER_BYTES (`headers_too_large`): a "
        "domain in the path counts toward it, percent-encoded.")


@router.get(
    "/v1/domains/{domain:linkgap_domain}/competitors", response_model=CompetitorsEnvelope,
    tags=["domains"], summary="Link competitors: the domains sharing your referring domains",
    responses={**_errors(402, 422, 503),
               422: {"model": ErrorEnvelope, "description": _ERROR_TEXT[422]
                     + " `param` is domain or limit; nothing is charged."},
               501: {"model": ErrorEnvelope, "description": _501},
               431: {"model": ErrorEnvelope, "description": _431}},
)
async def link_competitors(
    request: Request,
    domain: Annotated[str, Path(
        description="Your domain (a host name or web address is normalised; "
                    "percent-encode the slashes of a web address, or not).",
        json_schema_extra=DOMAIN_INPUT_SCHEMA)],
    limit: Annotated[LimitInt, Query(description="How many competitors.")] = DEFAULT_LIMIT,
) -> Response:
    """The domains whose referring domains overlap most with the domain's own; one
    credit for a domain in the index, nothing for one that is not."""
    service = _service(request)
    result, charged = await run_in_threadpool(
        service.link_competitors, _account(request), domain, limit)
    return JSONResponse({"data": result.rows,
                         "meta": _meta(request, charged, **result.about(), limit=limit)})
