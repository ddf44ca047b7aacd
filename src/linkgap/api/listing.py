"""What the prospect lists (a run's prospects, a run diff) share past their filters: the
choice between a JSON page and the CSV export, and the CSV attachment itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Request
from fastapi.responses import StreamingResponse

__all__ = ["csv_export", "wants_csv"]


def wants_csv(accept: str | None) -> bool:
    """True when the Accept header prefers text/csv over JSON (JSON wins ties)."""
    if not accept:
        return False
    best: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("text/csv", "application/json"):
            best[media] = max(best.get(media, 0.0), quality)
    return best.get("text/csv", 0.0) > best.get("application/json", 0.0)


def csv_export(request: Request, format: str | None, lines: Callable[[], Iterator[str]],
               filename: str) -> StreamingResponse | None:
    """The CSV attachment ``filename`` streaming ``lines()`` when the request asks for CSV
    (``format=csv``, or no format and an Accept header that prefers text/csv); None when
    it asks for a JSON page."""
    if format != "csv" and (format is not None or not wants_csv(request.headers.get("accept"))):
        return None
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
