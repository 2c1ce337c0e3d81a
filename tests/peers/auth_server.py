"""An MCP test server that records the headers of every HTTP request it gets.

Usage (with the mcp 2.3.0 venv interpreter):
    venv/bin/python auth_server.py [--port N]      (default: $PORT, else 0)

Serves Streamable HTTP at http://127.0.0.1:<port>/mcp on the low-level
`mcp.server.Server` of the Python SDK 2.3.0: stateful sessions
(`Mcp-Session-Id`), SSE replies (the SDK default), the 2026-07-28 era too.
It exists so that the gateway's tests can assert, on the upstream side, which
Authorization header (if any) a toolkit received, and to play an upstream that
answers with an OAuth challenge (see README.md, "The auth peer").

Tools:
  * whoami   returns the Authorization header this call arrived with, or "none".
  * echo     {message} -> the message.

Plain HTTP, not MCP (never recorded, never challenged):
  * GET /records     JSON list of the recorded requests, oldest first:
                     {"method", "path", "authorization": str|null,
                      "headers": {name: str|null}, "rpc_method": str|null,
                      "status": int|null}
  * DELETE /records  clears the list (204).

Environment:
  * AUTH_SERVER_RECORD_HEADERS   comma list of extra header names to record
                                 (e.g. "x-api-key"), under "headers".
  * AUTH_SERVER_REQUIRE          a bearer token: requests to /mcp whose
                                 Authorization is not exactly "Bearer <it>" get
                                 the challenge below (and are still recorded).
                                 Unset: everything is accepted.
  * AUTH_SERVER_CHALLENGE        the WWW-Authenticate value (default
                                 Bearer realm="x", scope="repo", error="invalid_token").
  * AUTH_SERVER_CHALLENGE_STATUS 401 (default) or 403.
  * AUTH_SERVER_LIST_PER_CALLER  "1": tools/list also lists a tool `for-<caller>`,
                                 <caller> the `sub` claim of the bearer JWT
                                 (not verified), "anonymous" without a bearer,
                                 "opaque" for a bearer that is no JWT, so that
                                 what each caller was listed shows in the items.
                                 Unset or "0": every caller gets the same list.

Once the port accepts connections it writes exactly one line to stderr:
    MCPGW_PEER_READY port=<actual port>
It binds 127.0.0.1 only (exit 70 otherwise), exits 1 without the line when it
cannot bind, and 2 on a bad environment.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from typing import Any

from mcp_types import INVALID_PARAMS

from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from peer_http import LOOPBACK, argument_parser, serve

MCP_PATH = "/mcp"
RECORDS_PATH = "/records"
DEFAULT_CHALLENGE = 'Bearer realm="x", scope="repo", error="invalid_token"'
# Bodies larger than this are still passed on, but not parsed for rpc_method.
MAX_PARSED_BODY = 1 << 20

log = logging.getLogger("auth_server")

Scope = dict[str, Any]
Message = dict[str, Any]


class Settings:
    """What the environment asked for; a bad value is a usage error (exit 2)."""

    def __init__(self, env: dict[str, str]) -> None:
        names = env.get("AUTH_SERVER_RECORD_HEADERS", "")
        self.record_headers = [n.strip().lower() for n in names.split(",") if n.strip()]
        required = env.get("AUTH_SERVER_REQUIRE")
        self.expected_authorization = f"Bearer {required}" if required else None
        self.challenge = env.get("AUTH_SERVER_CHALLENGE") or DEFAULT_CHALLENGE
        status = env.get("AUTH_SERVER_CHALLENGE_STATUS") or "401"
        if status not in ("401", "403"):
            raise ValueError(f"AUTH_SERVER_CHALLENGE_STATUS must be 401 or 403, got {status!r}")
        self.challenge_status = int(status)
        per_caller = env.get("AUTH_SERVER_LIST_PER_CALLER") or "0"
        if per_caller not in ("0", "1"):
            raise ValueError(f"AUTH_SERVER_LIST_PER_CALLER must be 0 or 1, got {per_caller!r}")
        self.list_per_caller = per_caller == "1"


def header(scope: Scope, name: str) -> str | None:
    """The header's value; repeated headers are joined with ", " so that a
    duplicate never passes for the single value a test expects."""
    wanted = name.encode("latin-1")
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == wanted]
    return ", ".join(values) if values else None


def rpc_method(body: bytes) -> str | None:
    """The JSON-RPC method of a request body (the first one of a batch), if any."""
    if not body or len(body) > MAX_PARSED_BODY:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if isinstance(message, list):
        message = message[0] if message else None
    if isinstance(message, dict) and isinstance(message.get("method"), str):
        return message["method"]
    return None


async def send_json(send: Any, status: int, payload: Any, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    if payload is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


class RecordingApp:
    """ASGI wrapper: serves /records, records every other request, and
    answers the challenge on /mcp when a bearer is required."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.records: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: starts the SDK's session manager
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == RECORDS_PATH:
            await self.serve_records(scope, send)
            return

        # Read the whole body up front (MCP POSTs are small) to note the
        # JSON-RPC method, then replay it to the SDK.
        buffered: list[Message] = []
        body = b""
        if scope["method"] == "POST":
            while True:
                message = await receive()
                buffered.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break

        record: dict[str, Any] = {
            "method": scope["method"],
            "path": path,
            "authorization": header(scope, "authorization"),
            "headers": {name: header(scope, name) for name in self.settings.record_headers},
            "rpc_method": rpc_method(body),
            "status": None,
        }
        self.records.append(record)

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            await send(message)

        expected = self.settings.expected_authorization
        is_mcp = path == MCP_PATH or path.startswith(MCP_PATH + "/")
        if is_mcp and expected is not None and record["authorization"] != expected:
            await send_json(
                noting_send,
                self.settings.challenge_status,
                {"error": "invalid_token", "error_description": "this test server requires another bearer token"},
                [(b"www-authenticate", self.settings.challenge.encode("latin-1"))],
            )
            return
        await self.app(scope, replay, noting_send)

    async def serve_records(self, scope: Scope, send: Any) -> None:
        if scope["method"] == "GET":
            await send_json(send, 200, self.records)
        elif scope["method"] == "DELETE":
            self.records.clear()
            await send_json(send, 204, None)
        else:
            await send_json(send, 405, {"error": "GET or DELETE only"}, [(b"allow", b"GET, DELETE")])


# --- MCP ------------------------------------------------------------------------

TOOLS = [
    {
        "name": "whoami",
        "description": 'The Authorization header this call arrived with, or "none".',
        "inputSchema": {"type": "object", "properties": {}},
    },
    {
        "name": "echo",
        "description": "Returns the message.",
        "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
    },
]


def text_result(s: str) -> dict[str, Any]:
    # `resultType` is the 2026-07-28 field; the SDK drops it on older versions.
    return {"resultType": "complete", "content": [{"type": "text", "text": s}]}


def caller_of(authorization: str | None) -> str:
    """The `sub` of a bearer JWT, read without verifying it (a test peer)."""
    if not authorization:
        return "anonymous"
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) != 3:
        return "opaque"
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        sub = json.loads(payload).get("sub")
    except (binascii.Error, ValueError, AttributeError):
        return "opaque"
    return sub if isinstance(sub, str) and sub else "opaque"


def list_tools_handler(settings: Settings) -> Any:
    async def list_tools(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
        tools = list(TOOLS)
        if settings.list_per_caller:
            headers = getattr(ctx.request, "headers", None)
            values = headers.getlist("authorization") if headers is not None else []
            caller = caller_of(", ".join(values) if values else None)
            tools.append(
                {
                    "name": f"for-{caller}",
                    "description": "Listed only to this caller.",
                    "inputSchema": {"type": "object", "properties": {}},
                }
            )
        return {"resultType": "complete", "tools": tools}

    return list_tools


async def call_tool(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    arguments = params.arguments or {}
    if params.name == "whoami":
        headers = getattr(ctx.request, "headers", None)
        values = headers.getlist("authorization") if headers is not None else []
        return text_result(", ".join(values) if values else "none")
    if params.name == "echo":
        message = arguments.get("message")
        if not isinstance(message, str):
            raise MCPError(code=INVALID_PARAMS, message="echo: message must be a string")
        return text_result(message)
    raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")


def build_app(settings: Settings) -> RecordingApp:
    server = Server(
        "mcpgw-auth",
        version="1.0.0",
        title="mcpgw header-recording test server",
        # 2026-07-28 lists need ttlMs/cacheScope. What a caller sees may
        # depend on its credentials, so nothing is shared or kept.
        cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
        on_list_tools=list_tools_handler(settings),
        on_call_tool=call_tool,
    )
    # host=127.0.0.1 keeps the SDK's DNS-rebinding protection on, as for paging.
    return RecordingApp(server.streamable_http_app(streamable_http_path=MCP_PATH, host=LOOPBACK), settings)


# --- startup ------------------------------------------------------------------


def main() -> None:
    parser = argument_parser("mcpgw header-recording test MCP server")
    args = parser.parse_args()
    try:
        settings = Settings(dict(os.environ))
    except ValueError as exc:
        parser.error(str(exc))
    serve("auth_server", build_app(settings), args)


if __name__ == "__main__":
    main()
