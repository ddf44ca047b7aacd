"""``linkgap serve`` and ``linkgap worker`` (SPEC 7 and 11).

``serve`` answers on ``--host``/``--port`` (default ``LINKGAP_HOST``/``LINKGAP_PORT``),
prints its URL on stderr once it listens, and runs queued gap runs in
``--workers`` background threads (0: none). ``worker`` runs gap runs without
serving HTTP. Any number of both may share one state database; a run whose
worker died is taken over once its lease expires. A newly published index
version is used by runs that start after publication, without a restart (the
service reopens the index when ``CURRENT`` changes).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from linkgap.api import create_app
from linkgap.api.accesslog import AccessLog
from linkgap.api.connections import quiet_accept_errors, server_config
from linkgap.cli.output import say
from linkgap.errors import LinkgapError
from linkgap.service import LinkgapService
from linkgap.settings import Settings

__all__ = ["register", "serve", "work"]


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, telling us the address it actually bound (``--port 0`` works)."""

    def __init__(self, config: uvicorn.Config, on_listen: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listen = on_listen

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        quiet_accept_errors(asyncio.get_running_loop())
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        bound = [s.getsockname() for srv in self.servers for s in (srv.sockets or ())]
        host = str(self.config.host)
        port = int(bound[0][1]) if bound else int(self.config.port)
        self._on_listen(_url(host, port))


def _announce(url: str) -> None:
    say(f"linkgap: serving on {url}  (page: {url}/  API: {url}/v1  docs: {url}/docs)")


def _warn(text: str) -> None:
    say(text, label="warning", style="yellow")


def _open_service(settings: Settings) -> LinkgapService:
    """The service, its state database checked (a damaged one is a one-line error)."""
    service = LinkgapService(settings)
    try:
        service.verify_store()
    except BaseException:
        service.close()
        raise
    try:
        service.index()
    except LinkgapError as exc:
        # Still serve: the page, health and reads work, and a later build is picked up.
        _warn(exc.operator_message)
    return service


def work(settings: Settings, *, stop: threading.Event | None = None,
         on_start: Callable[[str], None] | None = None) -> None:
    """Run ``settings.workers`` (at least 1) worker threads until ``stop`` is set or the
    process gets SIGINT/SIGTERM; a run being computed finishes first."""
    service = _open_service(settings)
    stop = stop or threading.Event()
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        service.start_worker()
        message = (f"linkgap: worker running {int(settings.workers)} thread(s) on "
                   f"{service.store_where}")
        (on_start or say)(message)
        stop.wait()
    finally:
        service.close()


def serve(settings: Settings, *, on_listen: Callable[[str], None] = _announce,
          log_level: str = "info") -> None:
    """Serve the API and the page with ``settings`` until interrupted (SIGINT/SIGTERM).

    Opens the state database (UnsupportedDatabase for a URL linkgap cannot use),
    starts the worker, and stops it and closes the store on the way out. A server
    that cannot listen (the port is taken) raises LinkgapError.
    """
    sock = listen_socket(str(settings.host), int(settings.port))
    try:
        service = _open_service(settings)
    except BaseException:
        sock.close()
        raise
    access_log: AccessLog | None = None
    try:
        access_log = AccessLog() if settings.access_log else None
        app = create_app(service, settings, access_log=access_log)
        config = server_config(app, settings, host=str(settings.host), port=int(settings.port),
                               log_level=log_level, announce=_warn)
        service.start_worker()
        server = _Server(config, on_listen)
        try:
            server.run(sockets=[sock])
        except SystemExit as exc:
            # uvicorn exits with its own code (3) when it cannot start, after logging why.
            if not server.started:
                raise LinkgapError(f"could not serve on {_url(config.host, config.port)} "
                                   "(see the message above)") from exc
            raise
    finally:
        if access_log is not None:
            access_log.flush()
        sock.close()
        service.close()


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server (as uvicorn binds: SO_REUSEADDR).

    Binding here, before anything else starts, turns the usual failures into one
    line that says what to do: a busy port suggests ``--port``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, as getaddrinfo gives it: asyncio turns Nagle off (TCP_NODELAY) only on
    # connections of sockets that say they are TCP, and with Nagle on every keep-alive
    # answer written in two parts (head, body) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        where = _url(host, port)
        if exc.errno == errno.EADDRINUSE:
            raise LinkgapError(
                f"cannot listen on {where}: port {port} is already in use; choose another "
                "with --port N (or LINKGAP_PORT), or --port 0 for any free port") from None
        if exc.errno == errno.EACCES:
            raise LinkgapError(
                f"cannot listen on {where}: port {port} needs more privileges; choose a "
                "port above 1023 with --port N") from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise LinkgapError(
                f"cannot listen on {where}: {host} is not an address of this machine; "
                "choose another with --host") from None
        raise LinkgapError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve_command(
    index: Annotated[Path | None, typer.Option(
        "--index", metavar="DIR", show_default=False,
        help="Backlink index directory (default: LINKGAP_INDEX, else $LINKGAP_HOME/index).",
    )] = None,
    database: Annotated[str | None, typer.Option(
        "--database", metavar="URL", show_default=False,
        help="State database URL (default: LINKGAP_DATABASE_URL, else "
             "sqlite:///$LINKGAP_HOME/state.db).")] = None,
    host: Annotated[str | None, typer.Option(
        "--host", metavar="H", show_default=False,
        help="Address to listen on (default: LINKGAP_HOST, else 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", metavar="P", min=0, max=65535, show_default=False,
        help="Port to listen on (default: LINKGAP_PORT, else 8000; 0 picks a free one).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", metavar="N", min=0, show_default=False,
        help="Gap-run worker threads in this server (default: LINKGAP_WORKERS, else 1; "
             "0: none, leave runs to `linkgap worker`).")] = None,
) -> None:
    """Serve the HTTP API and the web page, and run queued gap runs."""
    overrides: dict[str, Any] = {"index": index, "database_url": database, "host": host,
                                 "port": port, "workers": workers}
    serve(Settings(overrides))


def worker_command(
    index: Annotated[Path | None, typer.Option(
        "--index", metavar="DIR", show_default=False,
        help="Backlink index directory (default: LINKGAP_INDEX, else $LINKGAP_HOME/index).",
    )] = None,
    database: Annotated[str | None, typer.Option(
        "--database", metavar="URL", show_default=False,
        help="State database URL (default: LINKGAP_DATABASE_URL, else "
             "sqlite:///$LINKGAP_HOME/state.db).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", metavar="N", min=1, show_default=False,
        help="Worker threads (default: LINKGAP_WORKERS, else 1).")] = None,
) -> None:
    """Run queued gap runs without serving HTTP (any number may share a database)."""
    settings = Settings({"index": index, "database_url": database, "workers": workers})
    if int(settings.workers) < 1:
        settings = Settings({"index": index, "database_url": database, "workers": 1})
    work(settings)


def register(app: typer.Typer) -> None:
    """Add ``linkgap serve`` and ``linkgap worker`` to the linkgap command."""
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)
