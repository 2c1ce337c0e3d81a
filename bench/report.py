#!/usr/bin/env python3
"""The multi-process benchmark's report (scripts/bench.sh): medians over the
rounds per path and connection count, ratios to the bare hop, the gateway's
CPU per call, and a verdict per target. Exit status 1
when a run had errors (a broken run, not a slow one)."""

import statistics
import sys
from collections import defaultdict


def parse(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split())
            key = (int(fields["conns"]), fields["path"])
            runs[key].append({k: int(v) for k, v in fields.items() if k not in ("path",)})
    return runs


def main():
    runs = parse(sys.argv[1])
    with open(sys.argv[2]) as f:
        idle = int(f.read().split("=", 1)[1])
    wrk = sys.argv[3] if len(sys.argv) > 3 else "wrk"
    broken = False
    rows = {}
    for (conns, path), rs in sorted(runs.items()):
        errors = sum(r["errors"] for r in rs)
        broken |= errors > 0
        requests = sum(r["requests"] for r in rs)
        rows[(conns, path)] = {
            "p50": statistics.median(r["p50_us"] for r in rs),
            "p99": statistics.median(r["p99_us"] for r in rs),
            "rps": statistics.median(r["requests"] * 1e6 / r["duration_us"] for r in rs),
            "cpu": sum(r["cpu_us"] for r in rs) / requests if requests else 0.0,
            "errors": errors,
            "rounds": len(rs),
        }
    print(f"\nMulti-process: tools/call of echo, one MCP session per connection, {wrk}")
    print("(medians over the rounds; added = path - direct; CPU = on-CPU time of the path's own process per call)")
    verdicts = []
    for conns in sorted({c for c, p in rows if p == "direct"}):
        direct, hop, gw = (rows.get((conns, p)) for p in ("direct", "hop", "gateway"))
        print(f"\n{conns} connection(s), {direct['rounds']} rounds")
        print(f"  {'path':<9}{'p50 µs':>9}{'p99 µs':>9}{'added p50':>11}{'req/s':>9}{'x hop':>7}{'CPU µs':>8}")
        shown = [("direct", direct), ("bare hop", hop), ("gateway", gw)]
        # The gateway again, called by a client of the 2026-07-28 revision (stateless).
        gateways = [("gateway", gw, "")]
        if (conns, "gateway-2026") in rows:
            shown.append(("gw 2026", rows[(conns, "gateway-2026")]))
            gateways.append(("gw 2026", rows[(conns, "gateway-2026")], "2026 era: "))
        if (conns, "mcp-proxy") in rows:
            shown.append(("mcp-proxy", rows[(conns, "mcp-proxy")]))
        for name, row in shown:
            added = "-" if name == "direct" else f"{row['p50'] - direct['p50']:.0f}"
            cpu = "-" if name == "direct" else f"{row['cpu']:.1f}"
            print(f"  {name:<9}{row['p50']:>9.0f}{row['p99']:>9.0f}{added:>11}{row['rps']:>9.0f}"
                  f"{row['rps'] / hop['rps']:>7.2f}{cpu:>8}"
                  + (f"  ({row['errors']} errors)" if row["errors"] else ""))
        for _, gw, era in gateways:
            if conns == 1:
                hop_added = hop["p50"] - direct["p50"]
                gw_added = gw["p50"] - direct["p50"]
                ratio = gw_added / hop_added if hop_added > 0 else float("inf")
                verdicts.append((ratio <= 1.1, f"{era}added p50, 1 connection <= 1.1x hop's",
                                 f"{gw_added:.0f} / {hop_added:.0f} µs = {ratio:.2f}x"))
                ratio = gw["p99"] / hop["p99"]
                verdicts.append((ratio <= 2.0, f"{era}p99, 1 connection <= 2x hop's",
                                 f"{gw['p99']:.0f} / {hop['p99']:.0f} µs = {ratio:.2f}x"))
            else:
                ratio = gw["rps"] / hop["rps"]
                verdicts.append((ratio >= 0.9, f"{era}throughput, {conns} connections >= 0.9x hop's",
                                 f"{gw['rps']:.0f} / {hop['rps']:.0f} req/s = {ratio:.2f}x"))
    tls = sorted({(c, p.removeprefix("gateway-tls-")) for c, p in rows if p.startswith("gateway-tls-")})
    for conns, tag in tls:
        direct, hop, gw = (rows[(conns, f"{p}-tls-{tag}")] for p in ("direct", "hop", "gateway"))
        protocol = {"h2": "h2", "h1": "HTTP/1.1"}.get(tag, tag)
        print(f"\nTLS upstream speaking {protocol} only, {conns} connection(s), {direct['rounds']} rounds")
        print(f"  {'path':<9}{'p50 µs':>9}{'p99 µs':>9}{'added p50':>11}{'req/s':>9}{'x hop':>7}{'CPU µs':>8}")
        for name, row in (("direct", direct), ("bare hop", hop), ("gateway", gw)):
            added = "-" if name == "direct" else f"{row['p50'] - direct['p50']:.0f}"
            cpu = "-" if name == "direct" else f"{row['cpu']:.1f}"
            print(f"  {name:<9}{row['p50']:>9.0f}{row['p99']:>9.0f}{added:>11}{row['rps']:>9.0f}"
                  f"{row['rps'] / hop['rps']:>7.2f}{cpu:>8}"
                  + (f"  ({row['errors']} errors)" if row["errors"] else ""))
        hop_added, gw_added = hop["p50"] - direct["p50"], gw["p50"] - direct["p50"]
        ratio = gw_added / hop_added if hop_added > 0 else float("inf")
        verdicts.append((ratio <= 1.25, f"TLS {tag}: added p50, {conns} conns <= 1.25x hop's",
                         f"{gw_added:.0f} / {hop_added:.0f} µs = {ratio:.2f}x"))
        ratio = gw["rps"] / hop["rps"]
        verdicts.append((ratio >= 0.8, f"TLS {tag}: throughput, {conns} conns >= 0.8x hop's",
                         f"{gw['rps']:.0f} / {hop['rps']:.0f} req/s = {ratio:.2f}x"))
    print(f"\nGateway idle, before any load: {idle / 1e4:.1f}% of a core")
    verdicts.append((idle <= 10_000, "gateway idle CPU <= 1% of a core", f"{idle / 1e4:.1f}%"))
    print("\nTargets (ratios within this run)")
    for ok, what, how in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {what:<54} {how}")
    passed = sum(ok for ok, _, _ in verdicts)
    print(f"\nRESULT: {passed} PASS, {len(verdicts) - passed} FAIL" + ("  (BROKEN: wrk saw errors)" if broken else ""))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
