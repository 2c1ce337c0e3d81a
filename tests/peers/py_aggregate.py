"""Walk an aggregating MCP endpoint with the Python SDK client (mcp 2.3.0).

    venv/bin/python py_aggregate.py URL [--call NAME=JSON_ARGS ...]

Lists tools, prompts, resources and resource templates to the end (following
nextCursor), calls each --call tool, reads every resource a call's result
linked to, and prints one JSON object:

    {"tools": [...], "pages": {"tools": N, ...}, "prompts": [...], "resources": [...],
     "templates": [...], "calls": {NAME: {"text": ..., "links": [...], "is_error": ...}},
     "reads": {URI: TEXT}}

Exits non-zero (with the error on stderr) when anything fails: the caller
asserts on the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import mcp
from mcp import types

MAX_PAGES = 100


async def walk(fetch: Any, field: str, key: str) -> tuple[list[str], int]:
    """Every item's `key` over all pages, and the number of pages."""
    names: list[str] = []
    cursor: str | None = None
    for pages in range(1, MAX_PAGES + 1):
        page = await fetch(cursor=cursor, cache_mode="bypass")
        names.extend(getattr(item, key) for item in getattr(page, field))
        cursor = page.next_cursor
        if not cursor:
            return names, pages
    raise RuntimeError(f"{field}: more than {MAX_PAGES} pages")


async def run(url: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"pages": {}, "calls": {}, "reads": {}}
    client = mcp.Client(
        url,
        mode="legacy",
        client_info=types.Implementation(name="mcpgw-py-aggregate", version="0.1.0"),
        read_timeout_seconds=30,
    )
    async with client:
        for field, fetch, attr, key in [
            ("tools", client.list_tools, "tools", "name"),
            ("prompts", client.list_prompts, "prompts", "name"),
            ("resources", client.list_resources, "resources", "uri"),
            ("templates", client.list_resource_templates, "resource_templates", "uri_template"),
        ]:
            names, pages = await walk(fetch, attr, key)
            out[field] = [str(n) for n in names]
            out["pages"][field] = pages
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
            links = [str(c.uri) for c in result.content if isinstance(c, types.ResourceLink)]
            out["calls"][name] = {"text": "\n".join(texts), "links": links, "is_error": result.is_error}
            for uri in links:
                read = await client.read_resource(uri)
                out["reads"][uri] = "\n".join(
                    c.text for c in read.contents if isinstance(c, types.TextResourceContents)
                )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--call", action="append", default=[], metavar="NAME=JSON_ARGS")
    args = parser.parse_args()
    calls = []
    for spec in args.call:
        name, _, raw = spec.partition("=")
        calls.append((name, json.loads(raw or "{}")))
    try:
        out = asyncio.run(asyncio.wait_for(run(args.url, calls), timeout=90))
    except BaseException as e:  # noqa: BLE001 - report anything, including task groups
        print(f"py_aggregate: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
