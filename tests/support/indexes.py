"""Build test indexes through the path real files take: links-csv files, then ``build_index``.

Suites that need a small real index (API, service, client, gap) describe it
as ``(source_url, target_url[, rel])`` tuples; :func:`build_test_index` writes
them as links-csv files (the format users export from SEO tools) and runs the
same ``linkgap.index.build.build_index`` that ``linkgap index build`` runs, so
format detection, the CSV reader, the link rules and the build report are
all exercised by every suite that uses an index.

Typical use::

    from support.indexes import build_test_index

    report = build_test_index(tmp_path / "index", [("https://a.com/", "https://b.com/")])
    report.version
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from linkgap.index.build import BuildReport, build_index
from support.crawlfiles import write_links_csv

__all__ = ["LinkTuple", "build_test_index"]

#: ``(source_url, target_url)`` or ``(source_url, target_url, rel)``.
LinkTuple = tuple[str, str] | tuple[str, str, str] | tuple[str, ...]


def build_test_index(
    index_dir: str | os.PathLike[str],
    links: Iterable[LinkTuple],
    *,
    files: int = 1,
    icann_only: bool = False,
    out_links: bool = True,
) -> BuildReport:
    """Write ``links`` as ``files`` links-csv inputs and build a new version at ``index_dir``.

    ``out_links=False`` builds it as ``index build --no-out-links`` does.

    The inputs are written to a temporary folder that is removed after the
    build (the manifest still names them, as it names any input).
    """
    rows = [(link[0], link[1], link[2] if len(link) > 2 else "") for link in links]
    per_file = max(1, -(-len(rows) // max(1, files)))
    with tempfile.TemporaryDirectory(prefix="linkgap-test-inputs-") as folder:
        paths = []
        for n, start in enumerate(range(0, max(len(rows), 1), per_file)):
            path = Path(folder) / f"links-{n}.csv"
            write_links_csv(path, rows[start : start + per_file],
                            columns=("source_url", "target_url", "rel"))
            paths.append(str(path))
        return build_index(index_dir, paths, icann_only=icann_only, out_links=out_links)
