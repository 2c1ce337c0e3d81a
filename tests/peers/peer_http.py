"""What the project's own Python peers (paging_server.py, auth_server.py) share:
their command line (--port, default $PORT else 0; --log-level), binding
127.0.0.1 only, serving an ASGI app with uvicorn, and writing the readiness
line once the port accepts connections (README.md, "Readiness protocol").

Exit codes: 1 when the port cannot be bound (no readiness line), 70 when the
server ended up bound anywhere but loopback, 2 on bad arguments (argparse).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Any

import uvicorn

READY_PREFIX = "MCPGW_PEER_READY"
LOOPBACK = "127.0.0.1"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def argument_parser(description: str) -> argparse.ArgumentParser:
    """--port (default $PORT, else 0) and --log-level (default info)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT") or "0")
    parser.add_argument("--log-level", default="info")
    return parser


class ReadyServer(uvicorn.Server):
    """uvicorn.Server that announces the bound port once it is serving."""

    def __init__(self, config: uvicorn.Config, name: str) -> None:
        super().__init__(config)
        self.name = name
        self.announced = False

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.announced or self.should_exit:
            return
        bound = [sock.getsockname() for server in self.servers for sock in (server.sockets or [])]
        if not bound or any(addr[0] != LOOPBACK for addr in bound):
            sys.stderr.write(f"{self.name}: refusing: bound to {bound}, not only {LOOPBACK}\n")
            os._exit(70)
        self.announced = True
        os.write(2, f"{READY_PREFIX} port={bound[0][1]}\n".encode())


def serve(name: str, app: Any, args: argparse.Namespace) -> None:
    """Log to stderr, bind 127.0.0.1:args.port and serve `app` until stopped."""
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, args.port))
    except OSError as exc:
        sys.stderr.write(f"{name}: cannot bind {LOOPBACK}:{args.port}: {exc}\n")
        sys.exit(1)
    sock.listen(128)
    sock.set_inheritable(False)
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        # An open GET stream would otherwise hold a graceful shutdown forever.
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    ReadyServer(config, name).run(sockets=[sock])
