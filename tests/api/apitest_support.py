"""Helpers shared by the HTTP API tests (import as ``api.apitest_support``).

The test index has target ``mysite.com`` and competitors ``a.com``, ``b.com``, ``c.com``:

- ``hub0.com`` … ``hub3.com`` link (dofollow) to all three competitors and are
  linked to by the blogs, so they carry more authority;
- ``blog00.com`` … ``blog39.com`` link to ``a.com`` (dofollow); even ones also to
  ``b.com`` (nofollow when i % 4 == 0); every third to ``c.com`` with ``rel=ugc``;
  ``blog00``-``blog04`` also link to ``mysite.com`` and are therefore no prospects;
- ``-evil.com`` links to ``a.com`` (a CSV cell starting with ``-``);
- ``bücher.de`` (``xn--bcher-kva.de``) links to ``b.com``;
- ``quiet.org`` links to ``b.com`` (nofollow) and ``c.com`` (sponsored) only.

So a union run finds 35 blogs + 4 hubs + 3 = 42 prospects, with many exact ties.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.indexes import build_test_index

# Real servers: one implementation for every suite, in tests/support/serving.py.
from support.serving import WAIT_S, Server, start_server  # noqa: F401
from support.serving import linkgap_env as cli_env  # noqa: F401
from support.serving import run_linkgap as run_cli  # noqa: F401

from linkgap.api import create_app
from linkgap.service import LinkgapService
from linkgap.settings import Settings

with warnings.catch_warnings():
    # starlette.testclient prefers the httpx2 package and warns when it runs on httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TARGET = "mysite.com"
COMPETITORS = ["a.com", "b.com", "c.com"]
PROSPECT_COUNT = 42


def demo_links() -> list[tuple[str, str] | tuple[str, str, str]]:
    """The links of the test index (see the module docstring)."""
    links: list[tuple[str, str] | tuple[str, str, str]] = []
    for h in range(4):
        for comp in COMPETITORS:
            links.append((f"https://hub{h}.com/links", f"https://{comp}/"))
    for i in range(40):
        blog = f"https://blog{i:02d}.com/post"
        links.append((blog, "https://a.com/page"))
        if i % 2 == 0:
            links.append((blog, "https://b.com/", "nofollow" if i % 4 == 0 else ""))
        if i % 3 == 0:
            links.append((blog, "https://c.com/", "ugc"))
        if i < 5:
            links.append((blog, f"https://{TARGET}/"))
        links.append((blog, f"https://hub{i % 4}.com/"))
    links.append(("https://-evil.com/", "https://a.com/"))
    links.append(("https://bücher.de/", "https://b.com/"))
    links.append(("https://quiet.org/", "https://b.com/", "nofollow"))
    links.append(("https://quiet.org/", "https://c.com/", "sponsored"))
    return links


def build_index(path: Path, extra: list[tuple[str, str]] | None = None) -> str:
    """Build (or rebuild) the test index at ``path`` from a links-csv file; the new version id."""
    return build_test_index(path, demo_links() + list(extra or [])).version


@dataclass
class Api:
    """One server's worth of state: settings, service, app and an in-process client."""

    settings: Settings
    service: LinkgapService
    client: TestClient
    key: str
    other_key: str
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, url: str, **kw: Any) -> Any:
        """GET with the account's key."""
        kw.setdefault("headers", self.headers)
        return self.client.get(url, **kw)

    def post(self, url: str, body: Any = None, **kw: Any) -> Any:
        """POST JSON with the account's key."""
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.post(url, json=body, headers=headers, **kw)

    def create_run(self, **body: Any) -> dict[str, Any]:
        """POST a run (default: mysite.com vs a, b, c), answer asserted 202; the run."""
        payload = {"domain": TARGET, "competitors": COMPETITORS, **body}
        r = self.post("/v1/backlinks/gap", payload)
        assert r.status_code == 202, r.text
        return dict(r.json()["data"])

    def completed_run(self, **body: Any) -> str:
        """Create a run and execute it now; its id."""
        run = self.create_run(**body)
        assert self.service.run_pending_once()
        status = self.get(f"/v1/backlinks/gap/{run['id']}").json()["data"]["status"]
        assert status == "completed"
        return str(run["id"])


def make_api(tmp_path: Path, index: Path, **overrides: Any) -> Iterator[Api]:
    """An Api over a fresh state database in ``tmp_path`` and the index at ``index``."""
    values = {"home": tmp_path, "index": index,
              "database_url": f"sqlite:///{tmp_path / 'state.db'}", "rate_limit": 100_000}
    values.update(overrides)
    settings = Settings(values, environ={})
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    service = LinkgapService(settings)
    try:
        service.create_account("acme", credits=1000)
        service.create_account("rival", credits=1000)
        key, _ = service.create_key("acme", name="tests")
        other, _ = service.create_key("rival")
        app = create_app(service, settings)
        with TestClient(app, raise_server_exceptions=True) as client:
            yield Api(settings, service, client, key, other, {"Authorization": f"Bearer {key}"})
    finally:
        service.close()
