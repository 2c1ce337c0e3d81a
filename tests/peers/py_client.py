"""Scenario driver: the official Python SDK client (mcp==2.3.0) against
server-everything, directly or through the mcpgw gateway.

Usage:
    $MCPGW_PEERS_HOME/venv/bin/python py_client.py URL [--prefix PREFIX]
        [--mode legacy|auto|2026-07-28] [--step-timeout SECONDS] [--total-timeout SECONDS]
        [--token TOKEN] [--no-url-elicitation | --no-elicitation]
        [--scenario default|auth-elicitation|listen] [--tool NAME] [--arguments JSON]
        [--list-first] [--uri URI]

PREFIX is prepended to every tool name that is called ("" when talking to
server-everything directly, "everything__" through the gateway).

Options for every scenario:
  --token TOKEN          send "Authorization: Bearer TOKEN" on every HTTP request
                         (through an httpx2 client made by the SDK's
                         create_mcp_http_client(headers=...)); without it the
                         URL is handed to mcp.Client exactly as before.
  --no-url-elicitation   declare elicitation: {form: {}} only (no "url").
  --no-elicitation       declare no elicitation capability at all.
                         The SDK declares {form: {}, url: {}} whenever an
                         elicitation callback is set; these two flags keep the
                         (recording) callback but rewrite the declared
                         capability, so an elicitation/create that arrives
                         anyway is still recorded and answered.

Scenario "default" (the default) runs the server-everything steps below.
Scenario "listen" (2026-07-28 mode; needs --tool NAME and --uri URI) opens
subscriptions/listen for tool list changes and updates of URI, calls
PREFIX+NAME once with --arguments, and prints {"honored": {...acknowledged
filter...}, "result": {...}, "events": [{"type": "ToolsListChanged"},
{"type": "ResourceUpdated", "uri": ...}, ...], "errors": [...], "http_errors":
[...]} once both kinds of event came (or a step failed).
Scenario "auth-elicitation" (needs --tool NAME; --arguments JSON, default {})
connects (with --list-first, lists every tool page, reported as "tools", so
that the SDK sends the Mcp-Param-* headers the tools ask for), calls
PREFIX+NAME once, answers every elicitation/create with "accept" (a filled
form for form mode) and prints:

    {
      "elicitations": [{...wire params: mode, url, message, elicitationId...}, ...],
      "result": {...CallToolResult, wire names...} | null,
      "error":  {"code": int, "message": str, "data": ...} | null,   # JSON-RPC error of the call
      "errors": [step names that failed: "connect", "list", "call", "close", ...],
      "http_errors": [{"method": str, "status": int, "www_authenticate": str | null}, ...],
      "elapsed_s": float
    }

A JSON-RPC error answering the call (e.g. -32042 URLElicitationRequiredError)
is an outcome, not a failure: it goes to "error" and not to "errors".  A
failed step adds {"<step>": {"error": "..."}}.  "http_errors" lists every HTTP
response with status >= 400 in order (the SDK turns e.g. a 401 at initialize
into a bare JSON-RPC -32603, so the status and challenge are only seen here).

Scenario "default" prints exactly ONE JSON object on stdout (everything else
goes to stderr):

    {
      "url": str, "prefix": str, "mode": str,
      "negotiated_version": str | null,
      "server_info": {"name": ..., "version": ...} | null,
      "tools": [str, ...]                       # names exactly as listed
      "progress":              {"notifications": [{"progress", "total", "message"}...],
                                "result_text": str, "is_error": bool},
      "elicitation_form":      {"params": {...wire params...}, "received": int,
                                "response": {"action", "content"},
                                "result_text": str, "is_error": bool},
      "elicitation_url":       {"params": {...}, "received": int, "response": {"action"},
                                "result_text": str, "is_error": bool},
      "elicitation_url_error": {"code": int, "message": str, "elicitations": [...],
                                "data": {...}, "received": int},
      "sampling":              {"params": {...}, "received": int, "response": {...},
                                "result_text": str, "is_error": bool},
      "errors": [step names that failed],
      "elapsed_s": float
    }

A step that fails is recorded as {"error": "..."} (plus whatever it had
observed so far) and the others still run.  A connection failure is recorded
under "connect".  "params" are the server->client request params as received
(wire/camelCase field names, only the fields that were actually sent).
Every step is bounded (default 20 s) and so is the whole run (default 85 s).
Exit status: 0 whenever the JSON object was printed; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import sys
import threading
import time
import traceback
from typing import Any

import anyio
import httpx2
import mcp
from mcp import types
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.exceptions import MCPError

FORM_NAME = "Ada"
SAMPLING_REPLY = "hello from py_client"


def dump(model: Any) -> Any:
    """Pydantic model -> JSON-able dict with wire field names, only the fields
    the peer actually sent."""
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return model


def describe(e: BaseException) -> str:
    """One-line description, unwrapping single-member exception groups."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    if isinstance(e, MCPError):
        return f"MCPError {e.code}: {e.message}"
    return f"{type(e).__name__}: {e}"


def result_text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def fill_form(schema: dict[str, Any]) -> dict[str, Any]:
    """Build a valid form answer for an elicitation requestedSchema: name=Ada,
    defaults where given, otherwise a plausible value per type/format/enum."""
    content: dict[str, Any] = {}
    for key, prop in (schema.get("properties") or {}).items():
        if key == "name":
            content[key] = FORM_NAME
            continue
        if "default" in prop:
            content[key] = prop["default"]
            continue
        typ = prop.get("type")
        if typ == "boolean":
            content[key] = True
        elif typ == "integer":
            content[key] = int(prop.get("minimum", 1))
        elif typ == "number":
            content[key] = float(prop.get("minimum", 1))
        elif typ == "array":
            items = prop.get("items") or {}
            choices = items.get("enum") or [o.get("const") for o in items.get("anyOf") or items.get("oneOf") or []]
            content[key] = choices[:1]
        elif typ == "string":
            if prop.get("enum"):
                content[key] = prop["enum"][0]
            elif prop.get("oneOf") or prop.get("anyOf"):
                content[key] = (prop.get("oneOf") or prop.get("anyOf"))[0].get("const")
            else:
                content[key] = {
                    "email": "ada@example.com",
                    "uri": "https://example.com/ada",
                    "date": "1815-12-10",
                    "date-time": "1815-12-10T00:00:00Z",
                }.get(prop.get("format", ""), "Ada Lovelace")
    return content


class Recorder:
    """Collects the server->client requests seen during the current step."""

    def __init__(self) -> None:
        self.elicitations: list[dict[str, Any]] = []
        self.samplings: list[dict[str, Any]] = []
        self.elicit_responses: list[dict[str, Any]] = []
        self.sampling_responses: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.__init__()

    async def on_elicitation(self, _ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicitations.append(dump(params))
        if isinstance(params, types.ElicitRequestURLParams):
            result = types.ElicitResult(action="accept")
        else:
            schema = dump(params.requested_schema) if hasattr(params, "requested_schema") else {}
            result = types.ElicitResult(action="accept", content=fill_form(schema))
        self.elicit_responses.append(dump(result))
        return result

    async def on_sampling(self, _ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.samplings.append(dump(params))
        result = types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLING_REPLY),
            model="fake",
            stop_reason="endTurn",
        )
        self.sampling_responses.append(dump(result))
        return result


def first(items: list[Any]) -> Any:
    return items[0] if items else None


def http_client(args: argparse.Namespace, http_errors: list[dict[str, Any]] | None = None) -> httpx2.AsyncClient:
    """The SDK's default HTTP client, plus the bearer of --token on every
    request and, when asked, a note of every error response."""
    headers = {"Authorization": f"Bearer {args.token}"} if args.token is not None else None
    client = create_mcp_http_client(headers=headers)
    if http_errors is not None:

        async def note(response: httpx2.Response) -> None:
            if response.status_code >= 400:
                http_errors.append(
                    {
                        "method": response.request.method,
                        "status": response.status_code,
                        "www_authenticate": response.headers.get("www-authenticate"),
                    }
                )

        client.event_hooks["response"].append(note)
    return client


def narrow_elicitation(client: mcp.Client, declare: str) -> None:
    """Make `client` declare `declare` ("form" or "none") instead of the SDK's
    fixed {form, url}.  The SDK builds the capability from whether a callback
    is set (ClientSession._build_capabilities), so this wraps that method on
    the session the client builds; the callback stays, and records anything
    that arrives regardless of what was declared."""
    build_session = client._build_session  # noqa: SLF001 - no public hook in mcp 2.3.0

    async def patched(exit_stack: Any) -> Any:
        session = await build_session(exit_stack)
        build = session._build_capabilities  # noqa: SLF001

        def narrowed(version: str) -> types.ClientCapabilities:
            form_only = types.ElicitationCapability(form=types.FormElicitationCapability())
            return build(version).model_copy(update={"elicitation": form_only if declare == "form" else None})

        session._build_capabilities = narrowed  # noqa: SLF001
        return session

    client._build_session = patched  # type: ignore[method-assign]  # noqa: SLF001


def make_client(args: argparse.Namespace, rec: Recorder, http: httpx2.AsyncClient | None) -> mcp.Client:
    """mcp.Client for args.url: over `http` when given, else from the bare URL
    (exactly what the default scenario always did)."""
    client = mcp.Client(
        streamable_http_client(args.url, http_client=http) if http is not None else args.url,
        mode=args.mode,
        elicitation_callback=rec.on_elicitation,
        sampling_callback=rec.on_sampling,
        client_info=types.Implementation(name="mcpgw-py-client", version="0.1.0"),
        read_timeout_seconds=args.step_timeout,
    )
    if args.elicitation != "form+url":
        narrow_elicitation(client, args.elicitation)
    return client


async def run(args: argparse.Namespace, report: dict[str, Any]) -> None:
    rec = Recorder()
    step_timeout = args.step_timeout
    prefix = args.prefix

    async def step(name: str, body: Any) -> None:
        """Run one step with a timeout; store its observations or an error."""
        rec.reset()
        observed: dict[str, Any] = {}
        report[name] = observed
        try:
            with anyio.fail_after(step_timeout):
                await body(observed)
            if observed.get("is_error"):
                observed["error"] = "tool result has isError=true: " + str(observed.get("result_text", ""))[:200]
        except TimeoutError:
            observed["error"] = f"timeout after {step_timeout}s"
        except MCPError as e:
            observed["error"] = describe(e)
            observed.setdefault("code", e.code)
        except Exception as e:  # noqa: BLE001 - a step must never abort the run
            observed["error"] = describe(e)
            traceback.print_exc(file=sys.stderr)
        if "error" in observed:
            report["errors"].append(name)

    async def call(name: str, arguments: dict[str, Any], **kw: Any) -> types.CallToolResult:
        return await client.call_tool(prefix + name, arguments, read_timeout_seconds=step_timeout, **kw)

    http = http_client(args) if args.token is not None else None
    client = make_client(args, rec, http)

    connected = False
    try:
        # One cancel scope around the whole session: its deadline first bounds
        # the connect/initialize, is lifted while the (individually bounded)
        # steps run, and then bounds the close.  (The client must be entered
        # and exited in the same task and scope, hence no separate scopes.)
        with anyio.fail_after(step_timeout) as scope:
            async with client:
                connected = True
                scope.deadline = math.inf
                report["negotiated_version"] = client.protocol_version
                info = client.server_info
                report["server_info"] = dump(info) if info is not None else None

                async def list_tools(obs: dict[str, Any]) -> None:
                    obs["names"] = await tool_names(client)

                await step("tools", list_tools)
                if "error" not in report["tools"]:
                    report["tools"] = report["tools"]["names"]

                async def progress(obs: dict[str, Any]) -> None:
                    notes: list[dict[str, Any]] = []
                    obs["notifications"] = notes

                    async def on_progress(p: float, total: float | None, message: str | None) -> None:
                        notes.append({"progress": p, "total": total, "message": message})

                    res = await call("trigger-long-running-operation", {"duration": 1, "steps": 3}, progress_callback=on_progress)
                    obs["result_text"] = result_text(res)
                    obs["is_error"] = res.is_error

                async def elicited(obs: dict[str, Any], tool: str, args: dict[str, Any]) -> None:
                    """Call a tool that elicits: its result, and what the client was asked and answered."""
                    try:
                        res = await call(tool, args)
                        obs["result_text"] = result_text(res)
                        obs["is_error"] = res.is_error
                    finally:
                        obs["params"] = first(rec.elicitations)
                        obs["received"] = len(rec.elicitations)
                        obs["response"] = first(rec.elicit_responses)

                async def elicitation_form(obs: dict[str, Any]) -> None:
                    await elicited(obs, "trigger-elicitation-request", {})

                async def elicitation_url(obs: dict[str, Any]) -> None:
                    await elicited(
                        obs, "trigger-url-elicitation", {"url": "https://example.com/connect", "errorPath": False}
                    )

                async def elicitation_url_error(obs: dict[str, Any]) -> None:
                    try:
                        res = await call("trigger-url-elicitation", {"url": "https://example.com/connect2", "errorPath": True})
                    except MCPError as e:
                        data = e.data if isinstance(e.data, dict) else dump(e.data)
                        obs["code"] = e.code
                        obs["message"] = e.message
                        obs["data"] = data
                        obs["elicitations"] = data.get("elicitations") if isinstance(data, dict) else None
                        obs["exception"] = type(e).__name__
                        return
                    finally:
                        obs["received"] = len(rec.elicitations)
                    obs["result_text"] = result_text(res)
                    obs["is_error"] = res.is_error
                    raise RuntimeError("expected a JSON-RPC error (-32042), got a result")

                async def sampling(obs: dict[str, Any]) -> None:
                    try:
                        res = await call("trigger-sampling-request", {"prompt": "say hi", "maxTokens": 20})
                        obs["result_text"] = result_text(res)
                        obs["is_error"] = res.is_error
                    finally:
                        obs["params"] = first(rec.samplings)
                        obs["received"] = len(rec.samplings)
                        obs["response"] = first(rec.sampling_responses)

                await step("progress", progress)
                await step("elicitation_form", elicitation_form)
                await step("elicitation_url", elicitation_url)
                await step("elicitation_url_error", elicitation_url_error)
                await step("sampling", sampling)
                scope.deadline = anyio.current_time() + 5
    except Exception as e:  # noqa: BLE001
        where = "close" if connected else "connect"
        if isinstance(e, TimeoutError):
            msg = f"timeout after {step_timeout if not connected else 5}s"
        else:
            msg = describe(e)
        report[where] = {"error": msg}
        report["errors"].append(where)
        traceback.print_exc(file=sys.stderr)
    finally:
        if http is not None:
            await http.aclose()


async def tool_names(client: mcp.Client) -> list[str]:
    """The names of every tool, every page listed (at most 50)."""
    names: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        page = await client.list_tools(cursor=cursor, cache_mode="bypass")
        names.extend(t.name for t in page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return names


async def run_auth_elicitation(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Call one tool and record the elicitations it brings (scenario auth-elicitation)."""
    rec = Recorder()
    http = http_client(args, report["http_errors"])
    client = make_client(args, rec, http)
    step = "connect"
    try:
        with anyio.fail_after(args.step_timeout) as scope:
            async with client:
                if args.list_first:
                    step = "list"
                    report["tools"] = await tool_names(client)
                step = "call"
                scope.deadline = anyio.current_time() + args.step_timeout
                try:
                    res = await client.call_tool(
                        args.prefix + args.tool, args.arguments, read_timeout_seconds=args.step_timeout
                    )
                    report["result"] = dump(res)
                except MCPError as e:
                    report["error"] = {"code": e.code, "message": e.message, "data": dump(e.data)}
                step = "close"
                scope.deadline = anyio.current_time() + 5
    except Exception as e:  # noqa: BLE001 - always print the report
        msg = f"timeout after {args.step_timeout if step != 'close' else 5}s" if isinstance(e, TimeoutError) else describe(e)
        report[step] = {"error": msg}
        report["errors"].append(step)
        traceback.print_exc(file=sys.stderr)
    finally:
        report["elicitations"] = list(rec.elicitations)
        await http.aclose()


async def run_listen(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Listen (subscriptions/listen, 2026-07-28) for tool list changes and
    updates of --uri, call the tool once, and record the events until both
    kinds came (scenario listen)."""
    rec = Recorder()
    http = http_client(args, report["http_errors"])
    client = make_client(args, rec, http)
    step = "connect"
    try:
        with anyio.fail_after(args.step_timeout):
            async with client:
                step = "listen"
                async with client.listen(tools_list_changed=True, resource_subscriptions=[args.uri]) as sub:
                    report["honored"] = dump(sub.honored)
                    step = "call"
                    report["result"] = dump(await client.call_tool(args.prefix + args.tool, args.arguments))
                    step = "events"
                    async for event in sub:
                        report["events"].append({"type": type(event).__name__, **dataclasses.asdict(event)})
                        if {"ToolsListChanged", "ResourceUpdated"} <= {e["type"] for e in report["events"]}:
                            break
    except Exception as e:  # noqa: BLE001 - always print the report
        report[step] = {"error": "timeout" if isinstance(e, TimeoutError) else describe(e)}
        report["errors"].append(step)
        traceback.print_exc(file=sys.stderr)
    finally:
        await http.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="MCP endpoint, e.g. http://127.0.0.1:3001/mcp")
    parser.add_argument("--prefix", default="", help='prepended to tool names (e.g. "everything__")')
    parser.add_argument(
        "--mode",
        default="legacy",
        choices=["legacy", "auto", "2026-07-28"],
        help='mcp.Client mode: "legacy" (default, initialize handshake), "auto", or a modern version',
    )
    parser.add_argument("--step-timeout", type=float, default=20.0, help="seconds per step (default 20)")
    parser.add_argument("--total-timeout", type=float, default=85.0, help="seconds for the whole run (default 85)")
    parser.add_argument("--token", help='send "Authorization: Bearer TOKEN" on every request')
    declared = parser.add_mutually_exclusive_group()
    declared.add_argument(
        "--no-url-elicitation",
        dest="elicitation",
        action="store_const",
        const="form",
        help="declare elicitation {form: {}} only",
    )
    declared.add_argument(
        "--no-elicitation", dest="elicitation", action="store_const", const="none", help="declare no elicitation"
    )
    parser.set_defaults(elicitation="form+url")
    parser.add_argument("--scenario", default="default", choices=["default", "auth-elicitation", "listen"])
    parser.add_argument("--uri", help="resource URI to subscribe to (scenario listen)")
    parser.add_argument("--tool", help="tool to call (scenario auth-elicitation; PREFIX is prepended)")
    parser.add_argument("--arguments", default="{}", help="tool arguments as a JSON object (default {})")
    parser.add_argument(
        "--list-first",
        action="store_true",
        help="list the tools before the call (scenario auth-elicitation): the SDK then mirrors"
        " x-mcp-header arguments into Mcp-Param-* headers",
    )
    args = parser.parse_args()  # exits 2 with usage on bad arguments
    if args.scenario in ("auth-elicitation", "listen") and not args.tool:
        parser.error(f"--scenario {args.scenario} needs --tool NAME")
    if args.scenario == "listen" and not args.uri:
        parser.error("--scenario listen needs --uri URI")
    try:
        args.arguments = json.loads(args.arguments)
    except ValueError as e:
        parser.error(f"--arguments: not JSON: {e}")
    if not isinstance(args.arguments, dict):
        parser.error("--arguments: must be a JSON object")

    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the one JSON object

    started = time.monotonic()
    report: dict[str, Any]
    if args.scenario == "auth-elicitation":
        report = {"elicitations": [], "result": None, "error": None, "errors": [], "http_errors": []}
        scenario = run_auth_elicitation
    elif args.scenario == "listen":
        report = {"honored": None, "result": None, "events": [], "errors": [], "http_errors": []}
        scenario = run_listen
    else:
        report = {
            "url": args.url,
            "prefix": args.prefix,
            "mode": args.mode,
            "negotiated_version": None,
            "server_info": None,
            "tools": None,
            "errors": [],
        }
        scenario = run

    async def bounded() -> None:
        try:
            await asyncio.wait_for(scenario(args, report), timeout=args.total_timeout)
        except asyncio.TimeoutError:
            report["errors"].append("total_timeout")
            report["total_timeout"] = {"error": f"run exceeded {args.total_timeout}s"}

    printed = threading.Lock()

    def emit() -> None:
        if printed.acquire(blocking=False):
            report["elapsed_s"] = round(time.monotonic() - started, 3)
            real_stdout.write(json.dumps(report) + "\n")
            real_stdout.flush()

    def watchdog() -> None:
        # Last resort if cancellation itself hangs: print what we have and go.
        report["errors"].append("watchdog")
        report["watchdog"] = {"error": f"hard stop after {args.total_timeout + 5}s"}
        emit()
        os._exit(0)

    timer = threading.Timer(args.total_timeout + 5, watchdog)
    timer.daemon = True
    timer.start()

    try:
        asyncio.run(bounded())
    except BaseException as e:  # noqa: BLE001 - always print the report
        if isinstance(e, KeyboardInterrupt):
            raise
        report["errors"].append("internal")
        report["internal"] = {"error": describe(e)}
        traceback.print_exc(file=sys.stderr)
    timer.cancel()
    emit()
    sys.stdout = real_stdout
    return 0


if __name__ == "__main__":
    sys.exit(main())
