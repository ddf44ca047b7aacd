"""Benchmark the prospects read path over HTTP against a bare FastAPI app, side by side.

    nice -n 5 .venv/bin/python bench/bench_api.py                  # 700k-prospect run, wrk
    nice -n 5 .venv/bin/python bench/bench_api.py --prospects 100000 --duration 5
    nice -n 5 .venv/bin/python bench/bench_api.py --load python    # without wrk

What it does, all on free loopback ports:

1. builds a backlink index (cc-graph files written here: ``--prospects`` domains
   linking to three competitors), creates an account and a key with the CLI,
   starts ``linkgap serve`` and has it compute two runs through the API: a small
   one (``limit`` 1,000) and a big one (every prospect kept);
2. starts the baseline: a bare FastAPI app on the same uvicorn, answering the
   bytes linkgap answered for each benchmarked URL after the same bearer check
   (a constant-time comparison with the key);
3. drives both with ``wrk`` (``--load wrk``, the default when it is on PATH) or a
   bounded Python load generator (``--load python``), alternating linkgap and the
   baseline ``--repeat`` times, and prints req/s, p50 and p99 of each, the
   server's CPU time per request (steadier than req/s on a shared machine) and
   the ratio (linkgap / baseline req/s) as ranges over the repeats;
4. the cold-read check: a fresh server, 32 concurrent first reads of the big run
   (median latency, loads the server logged, RSS before and after);
5. the slow-client check: ``--slow`` connections that send half a request head
   and stop; then a normal client must still be answered, the half-open
   connections must be closed by the server's head timeout, and the server's log
   must not flood.

The machine running this is usually shared: run it with ``nice`` and read the
ranges, not one figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hmac
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

COMPETITORS = ["compa.com", "compb.com", "compc.com"]
TARGET = "mysite.com"
URL_LINE = re.compile(rb"serving on (http://\S+)")


# ---------------------------------------------------------------- the data


def write_graph(folder: Path, prospects: int, seed: int = 12) -> list[Path]:
    """cc-graph files: ``prospects`` domains linking to 1-3 of the competitors (none to
    the target) and, for varied authority, to each other."""
    rng = np.random.default_rng(seed)
    n = prospects + 4 + prospects // 10  # a tenth more domains that link nowhere useful
    names = [f"com.{c.split('.')[0]}" for c in COMPETITORS] + ["com.mysite"]
    names += [f"com.site{i:x}" for i in range(n - 4)]
    vertices = folder / "bench-vertices.txt.gz"
    edges = folder / "bench-edges.txt.gz"
    with gzip.open(vertices, "wt", compresslevel=1) as fh:
        fh.writelines(f"{i}\t{name}\t1\n" for i, name in enumerate(names))
    sources = np.arange(4, 4 + prospects)
    links = rng.integers(1, 8, prospects)  # bit j: links to competitor j
    pairs = [np.stack([sources[(links >> j) & 1 == 1],
                       np.full(int(((links >> j) & 1).sum()), j)], axis=1) for j in range(3)]
    popular = 4 + (rng.pareto(1.2, prospects * 2) * 50).astype(np.int64) % (n - 4)
    among = np.stack([rng.integers(4, n, prospects * 2), popular], axis=1)
    among = among[among[:, 0] != among[:, 1]]
    pairs.append(among)
    all_pairs = np.unique(np.concatenate(pairs), axis=0)
    with gzip.open(edges, "wt", compresslevel=1) as fh:
        for chunk in np.array_split(all_pairs, max(1, len(all_pairs) // 500_000)):
            fh.write("\n".join(f"{s}\t{t}" for s, t in chunk.tolist()) + "\n")
    return [vertices, edges]


def linkgap_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKGAP_")}
    env.update(LINKGAP_HOME=str(home), LINKGAP_MAX_RUN_LIMIT="1000000",
               LINKGAP_RATE_LIMIT="1000000", **extra)
    return env


def cli(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "linkgap", *args], env=linkgap_env(home),
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"linkgap {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


@dataclass
class State:
    home: Path
    key: str
    small: str  # run ids
    big: str
    big_count: int


def prepare(home: Path, prospects: int) -> State:
    """Index, account, key and the two runs in ``home`` (reused when already there)."""
    saved = home / "bench-state.json"
    if saved.is_file():
        data = json.loads(saved.read_text())
        if data.get("prospects") == prospects:
            return State(home, data["key"], data["small"], data["big"], data["big_count"])
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    started = time.perf_counter()
    files = write_graph(home, prospects)
    cli(home, "index", "build", *map(str, files))
    cli(home, "accounts", "create", "bench", "--credits", "1000000000")
    key = cli(home, "keys", "create", "--account", "bench")
    with Server.start("linkgap", linkgap_command(), linkgap_env(home), home) as server:
        small = server.create_run(key, 1000)
        big = server.create_run(key, 1_000_000)
        big_count = server.wait_completed(key, big)
        server.wait_completed(key, small)
    print(f"prepared {home} in {time.perf_counter() - started:.0f} s "
          f"(big run: {big_count:,} prospects)")
    saved.write_text(json.dumps({"prospects": prospects, "key": key, "small": small,
                                 "big": big, "big_count": big_count}))
    return State(home, key, small, big, big_count)


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def linkgap_command() -> list[str]:
    return [sys.executable, "-m", "linkgap", "serve", "--host", "127.0.0.1", "--port", "0"]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    @contextmanager
    def start(cls, name: str, command: list[str], env: dict[str, str], folder: Path
              ) -> Iterator[Server]:
        log = folder / f"{name}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while True:
                match = URL_LINE.search(log.read_bytes())
                if match:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start:\n{log.read_text()}")
                time.sleep(0.05)
            url = match.group(1).decode()
            host, port = url.removeprefix("http://").rsplit(":", 1)
            while True:  # the line may come just before the socket listens
                try:
                    socket.create_connection((host, int(port)), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield cls(name, proc, url, log)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def request(self, path: str, key: str | None = None, body: Any = None
                ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def create_run(self, key: str, limit: int) -> str:
        status, body = self.request("/v1/backlinks/gap", key, {
            "domain": TARGET, "competitors": COMPETITORS, "limit": limit})
        if status != 202:
            raise SystemExit(f"creating a run failed: {status} {body[:300]!r}")
        return str(json.loads(body)["data"]["id"])

    def wait_completed(self, key: str, run_id: str) -> int:
        while True:
            _, body = self.request(f"/v1/backlinks/gap/{run_id}", key)
            run = json.loads(body)["data"]
            if run["status"] == "completed":
                return int(run["prospect_count"])
            if run["status"] == "failed":
                raise SystemExit(f"run {run_id} failed: {run['error']}")
            time.sleep(0.5)

    def cpu_s(self) -> float:
        """CPU seconds (user + system, every thread) the server process has used."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def baseline_command(port: int, key: str, bodies: Path) -> list[str]:
    return [sys.executable, __file__, "--serve-baseline", str(port), key, str(bodies)]


def serve_baseline(port: int, key: str, bodies_file: str) -> None:
    """The baseline: bare FastAPI on uvicorn's defaults, the same bearer check, then the
    bytes linkgap answered for the same URL."""
    bodies = {k: v.encode() for k, v in json.loads(Path(bodies_file).read_text()).items()}
    expected = f"Bearer {key}".encode()
    app = FastAPI()

    @app.get("/v1/backlinks/gap/{run_id}/prospects")
    def prospects(request: Request, run_id: str) -> Response:
        given = (request.headers.get("authorization") or "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
        url = request.url.path + ("?" + request.url.query if request.url.query else "")
        return Response(bodies[url], media_type="application/json")

    print(f"baseline: serving on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- load


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = float("nan")  # the server's CPU time per answered request


def measured(server: Server, drive: Any, path: str, key: str, conns: int,
             seconds: float) -> Load:
    """One load run against ``server``, with the server's CPU time per request: on a
    shared machine req/s follows the scheduler's share, CPU per request much less."""
    before = server.cpu_s()
    load = drive(server.url + path, key, conns, seconds)
    used = server.cpu_s() - before
    load.cpu_us = used / max(1.0, load.rps * seconds) * 1e6
    return load


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk_load(url: str, key: str, connections: int, seconds: float) -> Load:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
         "--timeout", "10s", "-H", f"Authorization: Bearer {key}", url],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    return Load(rps, p50, p99, (int(bad.group(1)) if bad else 0)
                + (int(errors.group(1)) if errors else 0))


async def _python_load(url: str, key: str, connections: int, seconds: float) -> Load:
    """Keep-alive GETs on ``connections`` connections for ``seconds`` (bounded: it stops
    at the deadline whatever the server does)."""
    parsed = urllib.parse.urlsplit(url)
    target = parsed.path + ("?" + parsed.query if parsed.query else "")
    head = (f"GET {target} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
            f"Authorization: Bearer {key}\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                writer.write(head)
                status_line = await asyncio.wait_for(reader.readline(), 10)
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if b" 200 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Load(len(latencies) / elapsed, q[49] * 1000, q[98] * 1000, errors)


def python_load(url: str, key: str, connections: int, seconds: float) -> Load:
    return asyncio.run(_python_load(url, key, connections, seconds))


# ---------------------------------------------------------------- checks


def span(values: Sequence[float], digits: int = 0) -> str:
    lo, hi = min(values), max(values)
    fmt = f"{{:,.{digits}f}}"
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else (
        f"{fmt.format(lo)}-{fmt.format(hi)}")


def compare(state: State, cases: list[tuple[str, str, int]], load: str, seconds: float,
            repeat: int) -> None:
    drive = wrk_load if load == "wrk" else python_load
    env = linkgap_env(state.home)
    with Server.start("linkgap", linkgap_command(), env, state.home) as lg:
        bodies: dict[str, str] = {}
        for _, path, _ in cases:
            status, body = lg.request(path, state.key)
            if status != 200:
                raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
            bodies[path] = body.decode()
        bodies_file = state.home / "baseline-bodies.json"
        bodies_file.write_text(json.dumps(bodies))
        port = free_port()
        with Server.start("baseline", baseline_command(port, state.key, bodies_file),
                          dict(os.environ), state.home) as base:
            print(f"\nload: {load}, {seconds:g} s per measurement, {repeat} repeats, "
                  "linkgap and baseline alternating\n")
            print("| request | conns | linkgap req/s | p50 ms | p99 ms | CPU µs/req "
                  "| baseline req/s | p50 ms | p99 ms | CPU µs/req | ratio |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for label, path, conns in cases:
                drive(lg.url + path, state.key, conns, min(2.0, seconds))  # warm both
                drive(base.url + path, state.key, conns, min(2.0, seconds))
                ours: list[Load] = []
                theirs: list[Load] = []
                for _ in range(repeat):
                    ours.append(measured(lg, drive, path, state.key, conns, seconds))
                    theirs.append(measured(base, drive, path, state.key, conns, seconds))
                ratios = [a.rps / b.rps for a, b in zip(ours, theirs, strict=True)]
                errs = sum(x.errors for x in ours + theirs)
                print(f"| {label} | {conns} | {span([x.rps for x in ours])} "
                      f"| {span([x.p50_ms for x in ours], 1)} "
                      f"| {span([x.p99_ms for x in ours], 1)} "
                      f"| {span([x.cpu_us for x in ours])} "
                      f"| {span([x.rps for x in theirs])} | {span([x.p50_ms for x in theirs], 1)} "
                      f"| {span([x.p99_ms for x in theirs], 1)} "
                      f"| {span([x.cpu_us for x in theirs])} | {span(ratios, 2)}x |"
                      + (f" ({errs} errors)" if errs else ""))


def cold_reads(state: State, readers: int = 32) -> None:
    """``readers`` concurrent first reads of the big run on a fresh server."""
    path = f"/v1/backlinks/gap/{state.big}/prospects?per_page=50"
    with Server.start("linkgap-cold", linkgap_command(), linkgap_env(state.home),
                      state.home) as lg:
        lg.request("/healthz")
        before = lg.rss_mb()

        async def one() -> float:
            t0 = time.perf_counter()
            await asyncio.to_thread(lg.request, path, state.key)
            return time.perf_counter() - t0

        async def all_of() -> list[float]:
            return list(await asyncio.gather(*(one() for _ in range(readers))))

        times = asyncio.run(all_of())
        after = lg.rss_mb()
        print(f"\ncold reads: {readers} concurrent first reads of the {state.big_count:,}-"
              f"prospect run: median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms; RSS {before:.0f} -> {after:.0f} MB")


def slow_clients(state: State, count: int, wait: float) -> None:
    """``count`` connections that send half a request head and stop; then a normal
    request; then how many of them the server closed within ``wait`` seconds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 256)), hard))
    with Server.start("linkgap-slow", linkgap_command(), linkgap_env(state.home),
                      state.home) as lg:
        host, port = lg.url.removeprefix("http://").split(":")
        log_before = lg.log.stat().st_size
        socks: list[socket.socket] = []
        refused = 0
        for _ in range(count):
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect((host, int(port)))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            except OSError:
                refused += 1
                s.close()
                continue
            socks.append(s)
        t0 = time.perf_counter()
        try:
            status, _ = lg.request("/healthz")
        except OSError as exc:
            status = f"failed ({exc})"  # type: ignore[assignment]
        answered = time.perf_counter() - t0
        deadline = time.monotonic() + wait
        closed = 0
        for s in socks:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                while s.recv(65536):  # an error answer (408) may come before the close
                    pass
                closed += 1
            except TimeoutError:
                pass
            except OSError:
                closed += 1  # reset by the server
            finally:
                s.close()
        try:
            after_status, _ = lg.request("/healthz")
        except OSError as exc:
            after_status = f"failed ({exc})"  # type: ignore[assignment]
        grown = lg.log.stat().st_size - log_before
        print(f"\nslow clients: {count} half-open connections ({refused} refused at connect); "
              f"a normal request during them: {status} in {answered * 1000:.0f} ms; "
              f"closed by the server within {wait:g} s: {closed}/{len(socks)}; "
              f"afterwards: {after_status}; server log grew {grown:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prospects", type=int, default=700_000,
                        help="prospects of the big run (default 700,000)")
    parser.add_argument("--home", type=Path, default=None,
                        help="folder for the index and state (reused when it matches; "
                             "default: a temporary folder)")
    parser.add_argument("--load", choices=["wrk", "python"], default=None,
                        help="load generator (default: wrk when on PATH)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slow", type=int, default=2000,
                        help="half-open connections of the slow-client check (0: skip)")
    parser.add_argument("--slow-wait", type=float, default=30.0,
                        help="seconds the slow-client check waits for the server to close them")
    parser.add_argument("--only", choices=["compare", "cold", "slow"], action="append")
    args = parser.parse_args()
    load = args.load or ("wrk" if shutil.which("wrk") else "python")
    home = args.home or Path(tempfile.mkdtemp(prefix="linkgap-bench-api-"))
    state = prepare(home, args.prospects)
    only = set(args.only or ["compare", "cold", "slow"])
    if "compare" in only:
        runs = [("big run", state.big), ("1,000-prospect run", state.small)]
        filtered = "?per_page=100&sort=domain_rating&min_authority=1&dofollow=true"
        cases = [(f"prospects, per_page=50, {name}", f"/v1/backlinks/gap/{run}/prospects",
                  conns) for conns in (16, 64) for name, run in runs]
        cases += [(f"per_page=100, sort and filter, {name}",
                   f"/v1/backlinks/gap/{run}/prospects{filtered}", 64) for name, run in runs]
        compare(state, cases, load, args.duration, args.repeat)
    if "cold" in only:
        cold_reads(state)
    if "slow" in only and args.slow:
        slow_clients(state, args.slow, args.slow_wait)
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-baseline":
        serve_baseline(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main()
