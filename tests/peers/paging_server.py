"""A small MCP test server that paginates every list and can change its tools.

Usage (with the mcp 2.3.0 venv interpreter):
    venv/bin/python paging_server.py [--port N]      (default: $PORT, else 0)

Serves Streamable HTTP at http://127.0.0.1:<port>/mcp, on the low-level
`mcp.server.Server` of the Python SDK 2.3.0, which serves the legacy era
(initialize, `Mcp-Session-Id`, standalone GET stream) and the 2026-07-28 era.

What it offers (see README.md, "The paging peer"):
  * tools      tool-01 .. tool-NN (NN = 23 at start, 1..99 via set-tool-count),
               then set-tool-count; pages of 5.
  * prompts    prompt-01 .. prompt-12; pages of 5.
  * resources  paging://resource/01 .. /27 (text "resource NN"); pages of 10.
  * templates  paging://resource/{id}; a single page.
Cursors are opaque strings signed with a per-process random key. A cursor that
this process did not issue for the same list gets JSON-RPC -32602.

Once the port accepts connections it writes exactly one line to stderr:
    MCPGW_PEER_READY port=<actual port>
It binds 127.0.0.1 only (exit 70 otherwise) and exits 1 without the line when
it cannot bind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
from typing import Any

import anyio
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp.server import CacheHint, NotificationOptions, Server, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from peer_http import LOOPBACK, argument_parser, serve


TOOL_PAGE = 5
PROMPT_PAGE = 5
RESOURCE_PAGE = 10
PROMPT_COUNT = 12
RESOURCE_COUNT = 27
INITIAL_TOOL_COUNT = 23
MIN_TOOL_COUNT = 1
MAX_TOOL_COUNT = 99
SET_TOOL_COUNT = "set-tool-count"
RESOURCE_URI = "paging://resource/{:02d}"
RESOURCE_TEMPLATE = "paging://resource/{id}"
# Resource-not-found: -32002 up to 2025-11-25, -32602 from 2026-07-28 on.
LEGACY_RESOURCE_NOT_FOUND = -32002

log = logging.getLogger("paging_server")

# Server-wide state: the number of tool-NN tools. Every session sees it.
tool_count = INITIAL_TOOL_COUNT

# The latest ServerSession per Mcp-Session-Id. A ServerSession sends
# notifications without a related request on the session's standalone (GET)
# stream, so any of them will do for a broadcast.
live_sessions: dict[str, ServerSession] = {}

# --- cursors -------------------------------------------------------------------

_CURSOR_KEY = secrets.token_bytes(16)


def _sign(body: str) -> str:
    return hmac.new(_CURSOR_KEY, body.encode(), hashlib.sha256).hexdigest()[:16]


def make_cursor(kind: str, offset: int) -> str:
    body = f"{kind}:{offset}"
    raw = f"{body}:{_sign(body)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_offset(kind: str, cursor: str | None) -> int:
    """The offset a cursor stands for; -32602 for anything not issued by us for `kind`."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        got_kind, offset_text, sig = decoded.split(":")
        body = f"{got_kind}:{offset_text}"
        if got_kind == kind and hmac.compare_digest(sig, _sign(body)) and offset_text.isdigit():
            return int(offset_text)
    except (UnicodeError, ValueError, binascii.Error):
        pass
    raise MCPError(code=INVALID_PARAMS, message=f"Invalid cursor for {kind}/list", data={"cursor": cursor})


def page(kind: str, items: list[dict[str, Any]], cursor: str | None, size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of `items` and the `nextCursor` field (empty on the last page).

    A valid cursor past the end (the list shrank since it was issued) yields an
    empty last page.
    """
    start = cursor_offset(kind, cursor)
    end = start + size
    extra = {"nextCursor": make_cursor(kind, end)} if end < len(items) else {}
    return items[start:end], extra


# --- catalogue -------------------------------------------------------------------


def tool_name(n: int) -> str:
    return f"tool-{n:02d}"


def all_tools() -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = [
        {
            "name": tool_name(n),
            "description": f"Paging test tool {n:02d}: echoes its arguments.",
            "inputSchema": {"type": "object", "additionalProperties": True},
        }
        for n in range(1, tool_count + 1)
    ]
    tools.append(
        {
            "name": SET_TOOL_COUNT,
            "description": (
                f"Set how many tool-NN tools exist ({MIN_TOOL_COUNT}..{MAX_TOOL_COUNT}), "
                "then send notifications/tools/list_changed."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {"count": {"type": "integer", "minimum": MIN_TOOL_COUNT, "maximum": MAX_TOOL_COUNT}},
                "required": ["count"],
            },
        }
    )
    return tools


def all_prompts() -> list[dict[str, Any]]:
    return [
        {"name": f"prompt-{n:02d}", "description": f"Paging test prompt {n:02d}."}
        for n in range(1, PROMPT_COUNT + 1)
    ]


def all_resources() -> list[dict[str, Any]]:
    return [
        {"uri": RESOURCE_URI.format(n), "name": f"resource-{n:02d}", "mimeType": "text/plain"}
        for n in range(1, RESOURCE_COUNT + 1)
    ]


def as_json(arguments: Any) -> str:
    return json.dumps(arguments if arguments is not None else {}, sort_keys=True, separators=(",", ":"))


def text(s: str) -> dict[str, Any]:
    return {"type": "text", "text": s}


def result(**fields: Any) -> dict[str, Any]:
    """A result with the 2026-07-28 `resultType`; the SDK drops it on older versions."""
    return {"resultType": "complete", **fields}


# --- handlers -----------------------------------------------------------------


async def list_tools(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    tools, extra = page("tools", all_tools(), params.cursor, TOOL_PAGE)
    return result(tools=tools, **extra)


async def list_prompts(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    prompts, extra = page("prompts", all_prompts(), params.cursor, PROMPT_PAGE)
    return result(prompts=prompts, **extra)


async def list_resources(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    resources, extra = page("resources", all_resources(), params.cursor, RESOURCE_PAGE)
    return result(resources=resources, **extra)


async def list_resource_templates(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    templates = [{"uriTemplate": RESOURCE_TEMPLATE, "name": "resource-by-id", "mimeType": "text/plain"}]
    # A single page: no cursor was ever issued, so any cursor is invalid.
    templates, extra = page("resources/templates", templates, params.cursor, len(templates))
    return result(resourceTemplates=templates, **extra)


async def broadcast_tool_list_changed() -> None:
    for sid, session in list(live_sessions.items()):
        try:
            with anyio.move_on_after(2) as scope:
                await session.send_tool_list_changed()
            if scope.cancelled_caught:
                log.warning("session %s: list_changed not delivered within 2 s", sid)
        except Exception as exc:  # a closed or deleted session
            log.info("session %s: dropped from broadcast (%s)", sid, type(exc).__name__)
            live_sessions.pop(sid, None)


async def call_tool(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    global tool_count
    name = params.name
    arguments = params.arguments or {}
    if name == SET_TOOL_COUNT:
        count = arguments.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not MIN_TOOL_COUNT <= count <= MAX_TOOL_COUNT:
            return result(
                content=[text(f"count must be an integer in {MIN_TOOL_COUNT}..{MAX_TOOL_COUNT}, got {json.dumps(count)}")],
                isError=True,
            )
        tool_count = count
        # Every legacy session (the caller included, via RememberSessions)
        # gets the notification on its standalone GET stream. A 2026-07-28
        # caller has no such stream and this server does not serve
        # subscriptions/listen, so it only sees the new list when it lists.
        await broadcast_tool_list_changed()
        return result(content=[text(f"now {count} tools")])
    match = re.fullmatch(r"tool-(\d\d)", name)
    if match is None or not 1 <= int(match.group(1)) <= tool_count:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
    content = [text(f"{name} called with {as_json(arguments)}")]
    if name == tool_name(1):
        content.append(
            {
                "type": "resource_link",
                "uri": RESOURCE_URI.format(3),
                "name": "resource-03",
                "mimeType": "text/plain",
            }
        )
    return result(content=content)


async def get_prompt(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    match = re.fullmatch(r"prompt-(\d\d)", params.name)
    if match is None or not 1 <= int(match.group(1)) <= PROMPT_COUNT:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
    return result(
        description=f"Paging test prompt {match.group(1)}.",
        messages=[{"role": "user", "content": text(f"{params.name} with arguments {as_json(params.arguments)}")}],
    )


async def read_resource(ctx: ServerRequestContext, params: Any) -> dict[str, Any]:
    uri = str(params.uri)
    match = re.fullmatch(r"paging://resource/(\d\d)", uri)
    if match is None or not 1 <= int(match.group(1)) <= RESOURCE_COUNT:
        modern = ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS
        code = INVALID_PARAMS if modern else LEGACY_RESOURCE_NOT_FOUND
        raise MCPError(code=code, message="Resource not found", data={"uri": uri})
    return result(contents=[{"uri": uri, "mimeType": "text/plain", "text": f"resource {match.group(1)}"}])


def _session_id(ctx: ServerRequestContext) -> str | None:
    request = ctx.request
    headers = getattr(request, "headers", None)
    return headers.get("mcp-session-id") if headers is not None else None


class RememberSessions:
    """Middleware: remember each legacy session so set-tool-count can notify it."""

    async def __call__(self, ctx: ServerRequestContext, call_next: Any) -> Any:
        sid = _session_id(ctx)
        if sid is not None:
            live_sessions[sid] = ctx.session
        return await call_next(ctx)


class PagingServer(Server):
    def create_initialization_options(self, notification_options=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The streamable-HTTP manager calls this without arguments: declare
        # listChanged for tools, prompts and resources.
        if notification_options is None:
            notification_options = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)
        return super().create_initialization_options(notification_options, *args, **kwargs)


def build_server() -> PagingServer:
    server = PagingServer(
        "mcpgw-paging",
        version="1.0.0",
        title="mcpgw paging test server",
        # 2026-07-28 list/read results need ttlMs/cacheScope: the lists change
        # (set-tool-count), so nothing may be cached.
        cache_hints={
            method: CacheHint(ttl_ms=0, scope="private")
            for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read")
        },
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
    )
    server.middleware.append(RememberSessions())
    return server


# --- startup ------------------------------------------------------------------


def main() -> None:
    args = argument_parser("mcpgw paging test MCP server").parse_args()
    app = build_server().streamable_http_app(streamable_http_path="/mcp", host=LOOPBACK)
    serve("paging_server", app, args)


if __name__ == "__main__":
    main()
