//! The printed report: one table per measurement, then a verdict per target.

use crate::Mode;
use crate::jwt::JwtReport;
use crate::memory::MemoryReport;
use crate::reload::ReloadReport;
use crate::seal::SealReport;

#[derive(Debug)]
pub struct LatencyRow {
    pub name: &'static str,
    /// µs
    pub p50: f64,
    pub p99: f64,
    /// CPU time of the hop's or gateway's threads per call.
    pub sut_cpu: f64,
}

#[derive(Debug)]
pub struct ThroughputRow {
    pub name: &'static str,
    pub per_second: f64,
    pub sut_cpu: f64,
}

/// Everything one run measured. Rows are in path order: direct, bare hop, gateway.
#[derive(Debug)]
pub struct Results {
    pub mode: &'static Mode,
    pub cpus: usize,
    /// The share of the machine's CPU time other processes used meanwhile.
    pub others_cpu: Option<f64>,
    pub latency: Vec<LatencyRow>,
    pub throughput: Vec<ThroughputRow>,
    pub memory: MemoryReport,
    pub reload: ReloadReport,
    pub seal: SealReport,
    pub jwt: JwtReport,
    /// The TLS paths, per ALPN mode.
    pub tls: Vec<TlsRows>,
    /// `tools/list` answered from the listing cache.
    pub cached: CachedList,
}

/// `tools/list` at 16 connections: direct, through the bare hop (which asks
/// the upstream) and through the gateway (which answers from its cache).
#[derive(Debug)]
pub struct CachedList {
    pub throughput: Vec<ThroughputRow>,
    /// Hits over lookups of the gateway's listing cache during the run.
    pub hit_ratio: f64,
}

/// The TLS paths of one ALPN mode; rows in path order, as the plain ones.
#[derive(Debug)]
pub struct TlsRows {
    pub alpn: &'static str,
    pub latency: Vec<LatencyRow>,
    pub throughput: Vec<ThroughputRow>,
}

const DIRECT: usize = 0;
const HOP: usize = 1;
const GATEWAY: usize = 2;

/// More than this share of the machine used by others makes a run unreliable.
const NOISY: f64 = 0.05;

const MIB: f64 = 1024.0 * 1024.0;

/// Budget targets that need features not built yet.
const NOT_BUILT: [(&str, &str); 0] = [];

pub fn print(r: &Results) {
    let m = r.mode;
    println!();
    println!(
        "mcpgw gateway benchmark ({} mode): {} CPUs, one process, all on 127.0.0.1",
        m.name, r.cpus
    );
    match r.others_cpu {
        Some(share) if share > NOISY => println!(
            "WARNING: other processes used {:.0}% of the CPU time during the run: \
             the numbers are skewed; run again on a quiet machine",
            share * 100.0
        ),
        Some(share) => println!(
            "Other processes used {:.0}% of the CPU time during the run.",
            share * 100.0
        ),
        None => {}
    }
    println!();
    println!(
        "Latency: tools/call on 1 connection, {} sequential calls per path \
         ({} interleaved rounds, after {} warm-up calls)",
        m.latency_calls, m.latency_rounds, m.warmup_calls
    );
    print_latency(&r.latency);
    println!();
    println!(
        "Throughput: tools/call on {} connections (one session each), {} x {:.2} s per path, interleaved",
        m.connections,
        m.throughput_rounds,
        m.throughput_round.as_secs_f64()
    );
    print_throughput(&r.throughput);
    println!("  (hop/gw CPU: on-CPU time of the bare hop's or the gateway's threads per call)");
    println!();
    println!(
        "Cached tools/list: {} connections (one session each), the gateway answering from its listing cache, the bare hop asking the upstream",
        m.connections
    );
    print_throughput(&r.cached.throughput);
    println!(
        "  listing cache hit ratio {:.4} (hits / lookups over the run)",
        r.cached.hit_ratio
    );
    println!();
    for tls in &r.tls {
        let light = m.tls.unwrap_or(m);
        println!(
            "TLS upstream, ALPN {}: direct over TLS, bare hop -> TLS, gateway -> TLS \
             ({} sequential calls per path; 16 connections, {} x {:.2} s)",
            tls.alpn,
            light.latency_calls,
            light.throughput_rounds,
            light.throughput_round.as_secs_f64()
        );
        print_latency(&tls.latency);
        print_throughput(&tls.throughput);
        println!();
    }
    let mem = &r.memory;
    println!(
        "Memory: {} idle gateway sessions (after {} warm-up sessions, one per connection)",
        mem.sessions, m.connections
    );
    println!("  RSS before      {:>8.1} MiB", mem.rss_before as f64 / MIB);
    println!("  RSS after       {:>8.1} MiB", mem.rss_after as f64 / MIB);
    println!(
        "  per session     {:>8.1} KiB  (an upper bound: the bench client and upstream share the process)",
        mem.kib_per_session()
    );
    println!(
        "  mcpgw_sessions  {:>8}      (expected {})",
        mem.held, mem.expected
    );
    println!();
    let reload = &r.reload;
    println!(
        "Config reload: {} toolkits, {} atomic file swaps (one toolkit replaced each time)",
        reload.toolkits,
        reload.took_ms.len()
    );
    println!(
        "  rename -> new toolkit answers  median {:.1} ms, max {:.1} ms",
        reload.median(),
        reload.max()
    );
    println!();
    let s = &r.seal;
    println!(
        "Session sealing: SealedState with 2 toolkits (token {} bytes), {} iterations each",
        s.token_len, s.iterations
    );
    println!(
        "  Sealer::seal    {:>8.0} ns/op ({:.1} µs)",
        s.seal_ns,
        s.seal_ns / 1e3
    );
    println!(
        "  Sealer::open    {:>8.0} ns/op ({:.1} µs)",
        s.open_ns,
        s.open_ns / 1e3
    );
    println!();
    let j = &r.jwt;
    println!("JWT verification (guarded endpoints): JwtGuard::verify, inline keys");
    println!(
        "  first use, RS256 (2048-bit) {:>8.0} ns/op ({:.1} µs), {} distinct tokens",
        j.rs256_ns,
        j.rs256_ns / 1e3,
        j.full_iterations
    );
    println!(
        "  first use, ES256 (P-256)    {:>8.0} ns/op ({:.1} µs), {} distinct tokens",
        j.es256_ns,
        j.es256_ns / 1e3,
        j.full_iterations
    );
    println!(
        "  a token seen before         {:>8.0} ns/op ({:.1} µs), {} iterations",
        j.repeat_ns,
        j.repeat_ns / 1e3,
        j.repeat_iterations
    );
    println!();
    let verdicts = verdicts(r);
    println!("Targets (the performance budget; ratios are within this run)");
    for v in &verdicts {
        println!(
            "  {}  {:<48} {}",
            if v.pass { "PASS" } else { "FAIL" },
            v.target,
            v.detail
        );
    }
    for (target, feature) in NOT_BUILT {
        println!("  ----  {target:<48} not measured: {feature} not built yet");
    }
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    println!();
    println!(
        "RESULT: {} PASS, {} FAIL, {} not measured{}",
        verdicts.len() - failed,
        failed,
        NOT_BUILT.len(),
        if failed == 0 {
            ""
        } else {
            "  <<< SOME TARGETS FAILED"
        }
    );
}

/// The latency table: p50/p99 per path, and what each adds to direct.
fn print_latency(rows: &[LatencyRow]) {
    println!(
        "  {:<10} {:>8} {:>8} {:>13} {:>13} {:>15}",
        "path", "p50 µs", "p99 µs", "added p50 µs", "added p99 µs", "hop/gw CPU µs"
    );
    let direct = &rows[DIRECT];
    for (i, row) in rows.iter().enumerate() {
        let (added50, added99, cpu) = if i == DIRECT {
            ("-".to_owned(), "-".to_owned(), "-".to_owned())
        } else {
            (
                format!("{:.1}", row.p50 - direct.p50),
                format!("{:.1}", row.p99 - direct.p99),
                format!("{:.1}", row.sut_cpu),
            )
        };
        println!(
            "  {:<10} {:>8.1} {:>8.1} {:>13} {:>13} {:>15}",
            row.name, row.p50, row.p99, added50, added99, cpu
        );
    }
}

/// The throughput table: requests per second per path, against direct.
fn print_throughput(rows: &[ThroughputRow]) {
    println!(
        "  {:<10} {:>8} {:>8} {:>15}",
        "path", "req/s", "x direct", "hop/gw CPU µs"
    );
    let direct_rps = rows[DIRECT].per_second;
    for (i, row) in rows.iter().enumerate() {
        let cpu = if i == DIRECT {
            "-".to_owned()
        } else {
            format!("{:.1}", row.sut_cpu)
        };
        println!(
            "  {:<10} {:>8.0} {:>8.2} {:>15}",
            row.name,
            row.per_second,
            row.per_second / direct_rps,
            cpu
        );
    }
}

struct Verdict {
    target: String,
    pass: bool,
    detail: String,
}

/// A ratio target: `value / reference <= limit` (or `>=` when `at_least`).
fn ratio(
    target: impl Into<String>,
    value: f64,
    reference: f64,
    limit: f64,
    unit: &str,
    at_least: bool,
) -> Verdict {
    let ratio = value / reference;
    let pass = if at_least {
        ratio >= limit
    } else {
        ratio <= limit
    };
    let sign = if at_least { ">=" } else { "<=" };
    // Whole requests per second; µs to a tenth.
    let decimals = usize::from(unit != "req/s");
    Verdict {
        target: target.into(),
        pass,
        detail: format!(
            "{value:.decimals$} / {reference:.decimals$} {unit} = {ratio:.3}x (need {sign} {limit:.2}x)"
        ),
    }
}

/// The gateway's added p50 within 1.25x the bare hop's.
fn added_p50(target: impl Into<String>, rows: &[LatencyRow]) -> Verdict {
    let (direct, hop, gateway) = (&rows[DIRECT], &rows[HOP], &rows[GATEWAY]);
    ratio(
        target,
        gateway.p50 - direct.p50,
        hop.p50 - direct.p50,
        1.25,
        "µs",
        false,
    )
}

/// The gateway's throughput at least `limit` times the bare hop's.
fn throughput_at_least(target: impl Into<String>, rows: &[ThroughputRow], limit: f64) -> Verdict {
    ratio(
        target,
        rows[GATEWAY].per_second,
        rows[HOP].per_second,
        limit,
        "req/s",
        true,
    )
}

fn verdicts(r: &Results) -> Vec<Verdict> {
    let (hop, gateway) = (&r.latency[HOP], &r.latency[GATEWAY]);
    let mem = &r.memory;
    let per_session = mem.kib_per_session();
    let tls = r.tls.iter().flat_map(|tls| {
        [
            added_p50(
                format!("TLS {}: added p50 <= 1.25x bare TLS hop's", tls.alpn),
                &tls.latency,
            ),
            throughput_at_least(
                format!("TLS {}: throughput >= 0.8x bare TLS hop's", tls.alpn),
                &tls.throughput,
                0.8,
            ),
        ]
    });
    let mut verdicts = vec![
        added_p50("tools/call added p50 <= 1.25x bare hop's", &r.latency),
        ratio(
            "tools/call p99 <= 2x bare hop's",
            gateway.p99,
            hop.p99,
            2.0,
            "µs",
            false,
        ),
        throughput_at_least(
            "throughput, 16 connections >= 0.8x bare hop's",
            &r.throughput,
            0.8,
        ),
        Verdict {
            target: "memory per idle session <= 16 KiB".into(),
            pass: per_session <= 16.0 && mem.held == mem.expected,
            detail: format!(
                "{per_session:.1} KiB per session; {} of {} sessions held",
                mem.held, mem.expected
            ),
        },
        Verdict {
            target: "config reload of 100 toolkits <= 50 ms".into(),
            pass: r.reload.median() <= 50.0,
            detail: format!(
                "median {:.1} ms, max {:.1} ms (verdict on the median)",
                r.reload.median(),
                r.reload.max()
            ),
        },
        Verdict {
            target: "Sealer::seal <= 50 µs".into(),
            pass: r.seal.seal_ns <= 50_000.0,
            detail: format!("{:.1} µs", r.seal.seal_ns / 1e3),
        },
        Verdict {
            target: "Sealer::open <= 50 µs".into(),
            pass: r.seal.open_ns <= 50_000.0,
            detail: format!("{:.1} µs", r.seal.open_ns / 1e3),
        },
    ];
    verdicts.extend(tls);
    verdicts.push(throughput_at_least(
        "cached tools/list >= 1.5x bare hop throughput",
        &r.cached.throughput,
        1.5,
    ));
    verdicts
}
