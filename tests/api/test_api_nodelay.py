"""Answers are not held back by Nagle's algorithm: every connection ``linkgap serve``
accepts has TCP_NODELAY on. (With it off, a keep-alive answer written as head then body
waits for the client's delayed ACK, ~40 ms per request.)"""

from __future__ import annotations

import asyncio
import socket

from support.asyncrun import run_coroutine

from linkgap.cli.serve_cmd import listen_socket


def test_connections_accepted_on_the_serve_socket_have_nagle_off() -> None:
    sock = listen_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    port = sock.getsockname()[1]
    seen: list[int] = []

    class Accept(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Accept, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    run_coroutine(main)
    assert seen and seen[0] != 0
