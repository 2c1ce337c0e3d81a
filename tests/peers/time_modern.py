"""The `time-modern` test peer: mcp-server-time 2026.10.19 (on the Python SDK
mcp 2.3.0) served over Streamable HTTP at /mcp. It is dual-era: `initialize`
gets the 2025-11-25 handshake and a session; `server/discover` or a request
with a 2026-07-28 envelope is served statelessly (PEERS.md section 1.9).

The package itself only runs on stdio; this launcher builds the same server
with its `create_server` and serves it the way the project's other Python
peers are served (peer_http.py: 127.0.0.1 only, the readiness line).
"""

from __future__ import annotations

from mcp_server_time.server import create_server
from peer_http import LOOPBACK, argument_parser, serve


def main() -> None:
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--local-timezone", default="UTC")
    args = parser.parse_args()
    app = create_server(args.local_timezone).streamable_http_app(streamable_http_path="/mcp", host=LOOPBACK)
    serve("time_modern", app, args)


if __name__ == "__main__":
    main()
