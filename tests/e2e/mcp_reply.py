#!/usr/bin/env python3
"""Read the gateway's HTTP replies for tests/e2e/run.sh (curl does the HTTP).

usage:
  mcp_reply.py response BODY HEADERS ID   the JSON-RPC response with id ID, from a
                                          JSON or an SSE (text/event-stream) body;
                                          printed as one JSON line
  mcp_reply.py tool-names RESPONSE        one tool name per line, then `NEXT <cursor>`
                                          if the list goes on
  mcp_reply.py call-text RESPONSE         the text content of a tools/call result;
                                          exit 1 on a JSON-RPC error or isError
  mcp_reply.py readyz-sha BODY            config.sha256 of a /readyz answer

RESPONSE is a file holding what `response` printed. Exit 1 with a message on
stderr when the reply is not what is asked for.
"""

from __future__ import annotations

import json
import sys


def fail(message: str) -> None:
    print(f"mcp_reply.py: {message}", file=sys.stderr)
    sys.exit(1)


def content_type(headers_path: str) -> str:
    """The last Content-Type in a `curl -D` dump (after any 1xx or redirect)."""
    found = ""
    with open(headers_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-type":
                found = value.strip().lower()
    return found


def sse_messages(text: str):
    data: list[str] = []
    for line in text.splitlines() + [""]:
        if line == "":
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def response(body_path: str, headers_path: str, want_id: str) -> None:
    with open(body_path, encoding="utf-8") as f:
        body = f.read()
    ctype = content_type(headers_path)
    if ctype.startswith("text/event-stream"):
        candidates = list(sse_messages(body))
    elif ctype.startswith("application/json"):
        candidates = [body]
    else:
        fail(f"unexpected content-type {ctype!r}; body: {body[:500]!r}")
    for raw in candidates:
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(msg, dict) and str(msg.get("id")) == want_id and ("result" in msg or "error" in msg):
            print(json.dumps(msg))
            return
    fail(f"no JSON-RPC response with id {want_id}; body: {body[:500]!r}")


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def tool_names(path: str) -> None:
    msg = load(path)
    if "error" in msg:
        fail(f"tools/list failed: {msg['error']}")
    result = msg.get("result") or {}
    for tool in result.get("tools") or []:
        print(tool.get("name"))
    if result.get("nextCursor"):
        print(f"NEXT {result['nextCursor']}")


def call_text(path: str) -> None:
    msg = load(path)
    if "error" in msg:
        fail(f"tools/call failed: {msg['error']}")
    result = msg.get("result") or {}
    texts = [c.get("text", "") for c in result.get("content") or [] if c.get("type") == "text"]
    if result.get("isError"):
        fail(f"tools/call returned isError: {texts}")
    if not texts and "structuredContent" not in result:
        fail(f"tools/call returned no content: {result}")
    print("\n".join(texts) if texts else json.dumps(result["structuredContent"]))


def readyz_sha(path: str) -> None:
    sha = ((load(path).get("config")) or {}).get("sha256")
    if not sha:
        fail("no config.sha256 in /readyz")
    print(sha)


def main(argv: list[str]) -> None:
    commands = {
        "response": (response, 3),
        "tool-names": (tool_names, 1),
        "call-text": (call_text, 1),
        "readyz-sha": (readyz_sha, 1),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    func, _ = commands[argv[1]]
    func(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
