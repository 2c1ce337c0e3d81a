"""The `mrtr` test peer: a server of the project's own on the Python SDK
mcp 2.3.0 whose tool `greet` asks the client for a name (tool `locate`
mirrors its `region` argument into `Mcp-Param-Region`; tool `chatter` logs at
two levels). In the 2026-07-28 era the SDK asks by a multi round-trip request
(an `input_required` result, answered by the client's retry with
`inputResponses`); in the 2025 era by an `elicitation/create` request on the
call's stream.

With `--subscriptions` it serves `subscriptions/listen` too, lets its tool
list be cached (public, 5 minutes), and has a tool `announce` that tells
every listener the tool list changed and the resource it names was updated.

With `--modern-only` it refuses every request that is not of the 2026-07-28
era (400 with a JSON-RPC error), `initialize` included: a server only a
2026-07-28 client can use, so that a gateway must bridge a 2025 client to it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import Context, MCPServer, Resolve
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field
from peer_http import LOOPBACK, argument_parser, serve

MODERN = "2026-07-28"


class Name(BaseModel):
    name: str


def ask_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


def build(subscriptions: bool = False) -> MCPServer:
    # With subscriptions its tool list may be cached (public, 5 minutes): a
    # listener hears when it changes.
    hints = {"tools/list": CacheHint(ttl_ms=300_000, scope="public")} if subscriptions else None
    server = MCPServer(
        "mrtr-peer", version="1.0.0", subscriptions=None if subscriptions else False, cache_hints=hints
    )

    @server.tool(name="greet", description="Greets the caller by the name it is asked for")
    def greet(who: Annotated[Name, Resolve(ask_name)]) -> str:
        return f"Hello, {who.name}!"

    # A tool whose `region` argument travels as the header `Mcp-Param-Region`
    # too (x-mcp-header): in the 2026-07-28 era the SDK refuses a call whose
    # header is missing or differs from the argument (400, -32020).
    @server.tool(name="locate", description="Says where a query runs")
    def locate(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], query: str) -> str:
        return f"{query} runs in {region}"

    # Logs one line at debug and one at warning: in the 2026-07-28 era the SDK
    # sends each only at or above the request's `_meta` logLevel (none without).
    @server.tool(name="chatter", description="Logs a debug and a warning line")
    async def chatter(ctx: Context) -> str:
        await ctx.debug("debug line")
        await ctx.warning("warning line")
        return "chattered"

    if subscriptions:

        @server.tool(name="announce", description="Tells listeners the tools changed and `uri` was updated")
        async def announce(uri: str, ctx: Context) -> str:
            await ctx.notify_tools_changed()
            await ctx.notify_resource_updated(uri)
            return f"announced {uri}"

    return server


def modern_only(app: Any) -> Any:
    """`app` refusing whatever is not a 2026-07-28 request."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if headers.get("mcp-protocol-version") != MODERN:
                body = json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32600, "message": f"this server speaks only {MODERN}"},
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    parser = argument_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--modern-only", action="store_true")
    parser.add_argument("--subscriptions", action="store_true")
    args = parser.parse_args()
    app = build(args.subscriptions).streamable_http_app(streamable_http_path="/mcp", host=LOOPBACK)
    serve("mrtr_server", modern_only(app) if args.modern_only else app, args)


if __name__ == "__main__":
    main()
