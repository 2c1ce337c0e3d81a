-- wrk script: one MCP session per thread (run wrk with as many threads as
-- connections, so that each connection is one session). The first request is
-- `initialize`, the second `notifications/initialized`, and every later one a
-- `tools/call` of MCP_TOOL (default `echo`). With MCP_ERA=2026-07-28 there is no
-- session: every request is a stateless `tools/call` of that revision (its
-- headers and its `_meta` envelope). At the end it prints one line,
--   MCPGW_WRK requests=N duration_us=N p50_us=N p99_us=N errors=N
-- that scripts/bench.sh reads (percentiles from wrk's own histogram, in µs).

local tool = os.getenv("MCP_TOOL") or "echo"
local era = os.getenv("MCP_ERA")
if era == "" then
  era = nil
end
local step = 0
local session = nil
local id = 0

local initialize = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":'
  .. '{"protocolVersion":"2025-11-25","capabilities":{},'
  .. '"clientInfo":{"name":"mcpgw-bench-wrk","version":"0"}}}'
local initialized = '{"jsonrpc":"2.0","method":"notifications/initialized"}'

local function header(headers, wanted)
  for name, value in pairs(headers) do
    if string.lower(name) == wanted then
      return value
    end
  end
  return nil
end

function request()
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }
  local body
  if era then
    id = id + 1
    headers["MCP-Protocol-Version"] = era
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = tool
    body = '{"jsonrpc":"2.0","id":' .. id .. ',"method":"tools/call","params":'
      .. '{"name":"' .. tool .. '","arguments":{"text":"hello"},"_meta":{'
      .. '"io.modelcontextprotocol/protocolVersion":"' .. era .. '",'
      .. '"io.modelcontextprotocol/clientCapabilities":{},'
      .. '"io.modelcontextprotocol/clientInfo":{"name":"mcpgw-bench-wrk","version":"0"}}}}'
    return wrk.format("POST", nil, headers, body)
  end
  if step == 0 then
    body = initialize
  else
    headers["Mcp-Session-Id"] = session
    headers["MCP-Protocol-Version"] = "2025-11-25"
    if step == 1 then
      body = initialized
    else
      id = id + 1
      body = '{"jsonrpc":"2.0","id":' .. id .. ',"method":"tools/call","params":'
        .. '{"name":"' .. tool .. '","arguments":{"text":"hello"}}}'
    end
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if step == 0 then
    session = header(headers, "mcp-session-id") or ""
  end
  if step < 2 then
    step = step + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "MCPGW_WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
