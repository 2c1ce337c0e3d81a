"""Run mcp-proxy (0.13.0) in-process and announce the real listening port.

Usage (with the venv-proxy interpreter):
    venv-proxy/bin/python mcp_proxy_ready.py [mcp-proxy args...] -- CMD [ARGS...]
e.g.
    venv-proxy/bin/python mcp_proxy_ready.py --host 127.0.0.1 --port 0 -- \
        venv-proxy/bin/mcp-server-time --local-timezone UTC

Why: with `--port 0` mcp-proxy prints `http://127.0.0.1:0/sse`; only
uvicorn's own "Uvicorn running on ..." log line carries the real port.
Rather than scrape logs from a second process (which would stop the
launcher from exec'ing), this wrapper patches `uvicorn.Server.startup`: once
the original startup has bound and started serving the sockets
(`loop.create_server`, start_serving=True), it reads the bound address from
the server's own sockets and writes exactly one line to stderr:

    MCPGW_PEER_READY port=<actual port>

By then mcp-proxy has already spawned the stdio child and completed the MCP
initialize handshake with it (it does that before building the HTTP app), so
the peer is fully usable when the line appears.  Anything not bound to
127.0.0.1 is refused (exit 70).

The stdio child: mcp 1.x starts it with start_new_session=True, i.e. in its
*own* process group, so a killpg of our group does not reach it directly.
To make "kill the launcher's process group" sufficient even with SIGKILL, the
child command is wrapped so that it receives SIGKILL from the kernel when
this process dies (Linux PR_SET_PDEATHSIG, which survives exec).  On
SIGTERM/SIGINT mcp-proxy also shuts the child down itself.
"""

from __future__ import annotations

import os
import signal
import sys

READY_PREFIX = "MCPGW_PEER_READY"
LOOPBACK = "127.0.0.1"
CHILD_GUARD_FLAG = "--mcpgw-pdeathsig-exec"


def _child_guard_exec(argv: list[str]) -> None:
    """`python mcp_proxy_ready.py --mcpgw-pdeathsig-exec PPID CMD ARGS...`:
    arrange SIGKILL on parent death, then exec CMD."""
    import ctypes

    expected_parent = int(argv[0])
    cmd = argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        sys.stderr.write(f"mcp_proxy_ready: prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}\n")
    # The parent may have died between fork and prctl: then we are orphaned.
    if os.getppid() != expected_parent:
        sys.exit(1)
    os.execvp(cmd[0], cmd)


def _install_ready_hook() -> None:
    import uvicorn

    original_startup = uvicorn.Server.startup
    announced = False

    async def startup(self, sockets=None):  # type: ignore[no-untyped-def]
        nonlocal announced
        await original_startup(self, sockets=sockets)
        if announced or getattr(self, "should_exit", False):
            return
        bound = [
            sock.getsockname()
            for server in getattr(self, "servers", [])
            for sock in (server.sockets or [])
        ]
        if not bound:
            sys.stderr.write("mcp_proxy_ready: uvicorn started without TCP sockets\n")
            os._exit(70)
        for addr in bound:
            if addr[0] != LOOPBACK:
                sys.stderr.write(f"mcp_proxy_ready: refusing: bound to {addr[0]}, not {LOOPBACK}\n")
                os._exit(70)
        announced = True
        os.write(2, f"{READY_PREFIX} port={bound[0][1]}\n".encode())

    uvicorn.Server.startup = startup  # type: ignore[method-assign]


def _guard_child_command(argv: list[str]) -> list[str]:
    """Rewrite `... -- CMD ARGS` into `... -- PYTHON THIS_FILE FLAG PID CMD ARGS`."""
    if "--" not in argv:
        return argv
    i = argv.index("--")
    child = argv[i + 1 :]
    if not child:
        return argv
    guard = [sys.executable, os.path.abspath(__file__), CHILD_GUARD_FLAG, str(os.getpid())]
    return argv[: i + 1] + guard + child


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == CHILD_GUARD_FLAG:
        _child_guard_exec(args[1:])
        return
    _install_ready_hook()
    from mcp_proxy.__main__ import main as proxy_main

    sys.argv = ["mcp-proxy", *_guard_child_command(args)]
    proxy_main()


if __name__ == "__main__":
    main()
