"""The small web the page tests run against, and a real ``linkgap serve`` to run it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from support.serving import linkgap_env, running_server

from linkgap.index.build import build_from_links

TARGET = "mysite.com"
COMPETITORS = ("rival-one.com", "rival-two.com", "rival-three.com")
WORDS = ("garden", "travel", "recipes", "gadget", "music", "outdoor")
#: Unicode prospects, to check the page shows them decoded (canonical: xn--...).
IDN_PROSPECTS = ("bücher.de", "straße.de")


def prospect_names() -> list[str]:
    """The ASCII prospect domains of the test web (36 of them)."""
    return [f"{WORDS[i % len(WORDS)]}{'-' if i % 7 == 3 else ''}hub{i}.com" for i in range(36)]


def links_rows() -> list[dict[str, str]]:
    """A small web where some domains link to the competitors and not to TARGET.

    Prospect i links to rival-one always, rival-two when i % 3 != 2, rival-three
    when i % 3 == 0; all its links are nofollow when i % 4 == 0, and only its
    link to rival-two is nofollow when i % 5 == 0. Blogrolls link to the
    prospects unevenly so their domain ratings spread out. Some domains link to
    TARGET too and so are not prospects.
    """
    rows: list[dict[str, str]] = []

    def link(src: str, dst: str, rel: str = "", page: str = "post") -> None:
        rows.append({"source_url": f"https://www.{src}/{page}",
                     "target_url": f"https://{dst}/", "rel": rel, "anchor": dst})

    for i, name in enumerate(prospect_names()):
        rels = {c: ("nofollow" if i % 4 == 0 else "") for c in COMPETITORS}
        if i % 5 == 0:
            rels[COMPETITORS[1]] = "nofollow"
        link(name, COMPETITORS[0], rels[COMPETITORS[0]])
        if i % 3 != 2:
            link(name, COMPETITORS[1], rels[COMPETITORS[1]])
        if i % 3 == 0:
            link(name, COMPETITORS[2], rels[COMPETITORS[2]])
    for name in IDN_PROSPECTS:
        link(name, COMPETITORS[0])
    # Blogrolls: roll j links to every prospect whose number is a multiple of j+1.
    names = prospect_names()
    for j in range(14):
        for i in range(0, len(names), j + 1):
            link(f"blogroll{j}.net", names[i], page=f"links-{i}")
        link(f"blogroll{j}.net", f"blogroll{(j + 1) % 14}.net", page="friends")
    # Domains that already link to TARGET: never prospects.
    for j in range(4):
        link(f"already-linking{j}.org", TARGET)
        link(f"already-linking{j}.org", COMPETITORS[0])
        link(f"already-linking{j}.org", COMPETITORS[1], "nofollow")
    link("blogroll0.net", TARGET, page="mine")
    return rows


@dataclass
class Server:
    """A running ``linkgap serve`` and the keys made for it."""

    url: str
    key: str           # account "web": plenty of credits
    poor_key: str      # account "poor": 12 credits (enough for one 3-competitor run of 100)
    home: Path

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client for the API with the given key (the rich account's by default)."""
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {key or self.key}"})


def linkgap_cli(env: dict[str, str], *args: str) -> str:
    """Run the linkgap CLI; returns stdout, fails the test with stderr on a non-zero exit."""
    proc = subprocess.run([sys.executable, "-m", "linkgap", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"linkgap {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def serve_env(home: Path) -> dict[str, str]:
    """The environment that points every linkgap command at ``home``."""
    return linkgap_env(home)


@contextmanager
def serving(home: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``linkgap serve`` over ``home`` on a free port (with ``extra_env`` on top of the
    environment of :func:`serve_env`); yields its base URL, then stops it."""
    with running_server(home, extra_env) as server:
        yield server.url


@contextmanager
def serving_test_web(home: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """The test web's index, two accounts and their keys in ``home``, and a ``linkgap serve``
    over them (started with ``extra_env``)."""
    env = serve_env(home)
    # The index is built in-process (the same code `linkgap index build` runs).
    build_from_links(home / "index", [(r["source_url"], r["target_url"], r["rel"])
                                      for r in links_rows()])
    linkgap_cli(env, "accounts", "create", "web", "--credits", "1000")
    linkgap_cli(env, "accounts", "create", "poor", "--credits", "12")
    key = linkgap_cli(env, "keys", "create", "--account", "web").strip()
    poor_key = linkgap_cli(env, "keys", "create", "--account", "poor").strip()
    with serving(home, extra_env) as url:
        yield Server(url=url, key=key, poor_key=poor_key, home=home)
