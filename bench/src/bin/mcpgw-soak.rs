//! `mcpgw-soak`: many MCP sessions held for minutes against real peers (the
//! time server behind mcp-proxy and the everything server) through one
//! gateway process, with the everything server killed and restarted on its
//! port halfway through. Prints a report: exchanges and errors (inside and
//! outside the restart window), p50/p99, the gateway's RSS, sessions and file
//! descriptors before, during and after. Run by `scripts/soak.sh`.
//!
//! The load can run in rounds against the same gateway process: each round is
//! the whole scenario (ramp, load, the restart halfway, every session's
//! `DELETE`, the wait for the gateway's baseline), so the rounds are alike and
//! what the gateway holds once the clients left can be compared round over
//! round: a leak grows with the rounds, an allocator's retention does not.
//! NB: the restart is in every round, so that a leak on its path (retries, the
//! circuit breaker, upstream connections cut) grows with the rounds too.
//!
//! Environment (defaults in brackets):
//!   MCPGW_SOAK_SESSIONS [1000]     concurrent sessions
//!   MCPGW_SOAK_SECONDS [300]       how long they run (sessions ramp up over the first fifth, at most 30 s)
//!   MCPGW_SOAK_ROUNDS [1]          how many times the load runs against the same gateway
//!   MCPGW_SOAK_THINK_MS [5000]     mean pause between a session's requests
//!   MCPGW_SOAK_STREAM_EVERY [4]    every N-th session holds a standalone GET stream
//!   MCPGW_SOAK_GATEWAY             the gateway binary [target/release/mcpgw-dataplane]
//!
//! Exit status: 0 when no exchange failed outside a restart window, the
//! gateway's sessions and descriptors came back to their baseline after every
//! round and (with two rounds or more) its RSS after the last round stayed
//! within the bound of `soak::rss_bound` of its RSS after the first; 1 otherwise.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use mcpgw_bench::processes::{self, Group, Usage, usage};
use mcpgw_bench::soak::{self, Exchange, Kind, Plan, Record, percentile};

/// After the restarted upstream is ready, errors still count as the restart's for this long.
const GRACE: Duration = Duration::from_secs(5);

struct Settings {
    sessions: usize,
    duration: Duration,
    rounds: usize,
    think: Duration,
    stream_every: usize,
    gateway: PathBuf,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Settings {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| processes::workspace().join("target"), PathBuf::from);
    Settings {
        sessions: env_or("MCPGW_SOAK_SESSIONS", 1000).max(1),
        duration: Duration::from_secs(env_or("MCPGW_SOAK_SECONDS", 300).max(5)),
        rounds: env_or("MCPGW_SOAK_ROUNDS", 1).max(1),
        think: Duration::from_millis(env_or("MCPGW_SOAK_THINK_MS", 5000)),
        stream_every: env_or("MCPGW_SOAK_STREAM_EVERY", 4).max(1),
        gateway: std::env::var_os("MCPGW_SOAK_GATEWAY")
            .map_or_else(|| target.join("release/mcpgw-dataplane"), PathBuf::from),
    }
}
fn gateway_yaml(time: u16, everything: u16) -> String {
    format!(
        r#"name: soak
stores: {{ cache: {{ type: memory }} }}
bindings:
  north_tcp_server: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: 0 }}, exit: north_http_server }}
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ {{ headers: {{ ":path": /mcp }} }} ]
        exit: north_mcp_server
  north_mcp_server:
    type: mcp
    kind: server
    # Every soak client is the same anonymous caller (127.0.0.1).
    options: {{ max_sessions_per_caller: 100000, max_streams_per_caller: 100000, initialize_timeout: PT30S }}
    exit: north_mcp_proxy
  north_mcp_proxy:
    type: mcp
    kind: proxy
    options: {{ prefix: always, cache: {{ store: cache, ttl: PT1M }} }}
    routes:
      - when: [ {{ toolkit: time }} ]
        exit: south_time
      - when: [ {{ toolkit: everything }} ]
        exit: south_everything
  south_time: {{ type: mcp, kind: client, options: {{ server: "http://127.0.0.1:{time}/mcp", timeout: PT30S }}, exit: sys:http_client }}
  south_everything:
    type: mcp
    kind: client
    options:
      server: "http://127.0.0.1:{everything}/mcp"
      timeout: PT30S
      retries: {{ attempts: 2 }}
      circuit_breaker: {{ failures: 5, cool_down: PT2S }}
    exit: sys:http_client
"#
    )
}

/// The gateway's `mcpgw_sessions` and `mcpgw_sse_streams` gauges.
async fn gauges(client: &soak::HttpClient, addr: &str) -> (i64, i64) {
    let Ok(req) = http::Request::get(format!("http://{addr}/metrics")).body(Full::default()) else {
        return (-1, -1);
    };
    let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(10), client.request(req)).await
    else {
        return (-1, -1);
    };
    let body = match resp.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return (-1, -1),
    };
    let text = String::from_utf8_lossy(&body);
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(-1)
    };
    (gauge("mcpgw_sessions"), gauge("mcpgw_sse_streams"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("mcpgw-soak: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<bool> {
    let s = settings();
    let dir = std::env::temp_dir().join(format!("mcpgw-soak-{}", std::process::id()));
    // NB: the config in a directory of its own: the gateway watches its config's directory.
    std::fs::create_dir_all(dir.join("config"))?;
    let result = soak_in(&s, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What the gateway and its clients did in one round.
struct Round {
    exchanges: Vec<Exchange>,
    /// From the kill of everything to `GRACE` after it was back (from the round's start).
    window: Option<(Duration, Duration)>,
    streams_cut: u64,
    peak: Usage,
    /// Sessions and SSE streams at their highest.
    peak_gauges: (i64, i64),
    /// Right after the clients' final `DELETE` burst.
    at_end: Usage,
    /// Once the clients left and the gateway settled (or the wait ran out).
    after: Usage,
    after_gauges: (i64, i64),
    settle: Duration,
}

impl Round {
    fn inside(&self, e: &Exchange) -> bool {
        self.window
            .is_some_and(|(from, to)| e.start <= to && e.end >= from)
    }

    fn errors_out(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|e| e.error.is_some() && !self.inside(e))
            .count()
    }
}

/// The gateway under soak and what it looked like before any load.
struct Gateway {
    pid: u32,
    addr: String,
    baseline: Usage,
    baseline_gauges: (i64, i64),
}

async fn soak_in(s: &Settings, dir: &std::path::Path) -> anyhow::Result<bool> {
    eprintln!("==> starting the time and everything peers and the gateway");
    let (_time, time_port) = processes::peer("time", 0)?;
    let (mut everything, everything_port) = processes::peer("everything", 0)?;
    let config = dir.join("config/gateway.yaml");
    std::fs::write(&config, gateway_yaml(time_port, everything_port))?;
    let (mut process, addr) = processes::gateway(&s.gateway, &config).with_context(|| {
        format!(
            "{} (build it with cargo build --release)",
            s.gateway.display()
        )
    })?;
    let pid = process.pid();
    let baseline = settled_usage(pid).await;
    let probe = soak::http_client(4);
    let gateway = Gateway {
        pid,
        baseline,
        baseline_gauges: gauges(&probe, &addr).await,
        addr,
    };
    drop(probe);

    let mut rounds = Vec::with_capacity(s.rounds);
    for n in 1..=s.rounds {
        let (round, back) = round(s, n, &gateway, everything, everything_port).await?;
        everything = back;
        rounds.push(round);
        // A gateway that died is no baseline reached, and no later round can run against it.
        if process.exited().is_some() {
            break;
        }
    }

    let died = process.exited();
    if let Some(status) = died {
        println!("the gateway exited during the run ({status}); the end of its log:");
        for line in process.tail() {
            println!("  {line}");
        }
    }
    let clean = report(s, &gateway, &rounds);
    Ok(clean && died.is_none())
}

/// The gateway's usage once its descriptors stopped changing (for 2 s, within
/// 15 s). NB: it opens some (its config watcher's) only after it said it was
/// ready; a baseline read before them is one the gateway never comes back to.
async fn settled_usage(pid: u32) -> Usage {
    let start = Instant::now();
    let mut last = usage(pid);
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_secs(2) && start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = usage(pid);
        if now.fds != last.fds {
            since = Instant::now();
        }
        last = now;
    }
    last
}

/// One round of load: the sessions' whole lives, with everything killed and
/// restarted halfway, then the wait (bounded) for the gateway's baseline.
/// Takes the running everything server and gives back the one left running.
async fn round(
    s: &Settings,
    n: usize,
    gateway: &Gateway,
    everything: Group,
    everything_port: u16,
) -> anyhow::Result<(Round, Group)> {
    let (pid, addr) = (gateway.pid, &gateway.addr);
    let url = format!("http://{addr}/mcp");
    let ramp = (s.duration / 5).min(Duration::from_secs(30));
    let restart_at = s.duration / 2;
    eprintln!(
        "==> round {n}/{}: {} sessions for {} s against {url}; everything restarted at {} s",
        s.rounds,
        s.sessions,
        s.duration.as_secs(),
        restart_at.as_secs()
    );
    let record = Arc::new(Record::new());
    let client = soak::http_client(s.sessions);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..s.sessions {
        let plan = Plan {
            url: url.clone(),
            start_at: ramp.mul_f64(i as f64 / s.sessions as f64),
            stop_at: s.duration,
            think: s.think,
            stream: i % s.stream_every == 0,
            seed: 0x9e37_79b9_7f4a_7c15 ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        };
        tasks.spawn(soak::session(client.clone(), plan, record.clone()));
    }

    // Watch the gateway while the sessions run; restart everything halfway.
    let mut peak = Usage::default();
    let mut peak_gauges = (0, 0);
    let mut restarted: Option<(Duration, Duration)> = None;
    let mut everything = Some(everything);
    let watcher = soak::http_client(4);
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            done = tasks.join_next() => if done.is_none() { break },
            _ = tick.tick() => {
                let now = usage(pid);
                peak.rss_kib = peak.rss_kib.max(now.rss_kib);
                peak.fds = peak.fds.max(now.fds);
                let g = gauges(&watcher, addr).await;
                peak_gauges = (peak_gauges.0.max(g.0), peak_gauges.1.max(g.1));
                if restarted.is_none() && record.epoch.elapsed() >= restart_at {
                    let killed = record.epoch.elapsed();
                    drop(everything.take());
                    let back = tokio::task::spawn_blocking(move || {
                        processes::peer("everything", everything_port)
                    })
                    .await??;
                    let ready = record.epoch.elapsed();
                    eprintln!(
                        "==> everything killed at {:.1} s, back at {:.1} s",
                        killed.as_secs_f64(),
                        ready.as_secs_f64()
                    );
                    restarted = Some((killed, ready));
                    everything = Some(back.0);
                }
            }
        }
    }
    let at_end = usage(pid);
    drop(client);

    // The clients are gone: wait (bounded) for the gateway to come back to its baseline.
    let left = Instant::now();
    let mut after = usage(pid);
    let mut after_gauges = gauges(&watcher, addr).await;
    // NB: the watcher's own connection is one of the gateway's descriptors until it goes.
    while (after.fds > gateway.baseline.fds + 1 || after_gauges.0 > gateway.baseline_gauges.0)
        && left.elapsed() < Duration::from_secs(180)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = usage(pid);
        after_gauges = gauges(&watcher, addr).await;
    }
    drop(watcher);
    let quiet = Instant::now();
    while after.fds > gateway.baseline.fds && quiet.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = usage(pid);
    }
    let settle = left.elapsed();
    let everything = match everything {
        Some(group) => group,
        // NB: not reached: a restart that failed returned its error above.
        None => anyhow::bail!("round {n}: the everything server was lost"),
    };
    let round = Round {
        exchanges: record.exchanges(),
        window: restarted.map(|(killed, ready)| (killed, ready + GRACE)),
        streams_cut: record
            .streams_cut
            .load(std::sync::atomic::Ordering::Relaxed),
        peak,
        peak_gauges,
        at_end,
        after,
        after_gauges,
        settle,
    };
    Ok((round, everything))
}

/// Print the report; whether the run was clean.
fn report(s: &Settings, gateway: &Gateway, rounds: &[Round]) -> bool {
    let rounds_label = if s.rounds > 1 {
        format!(" × {} rounds", s.rounds)
    } else {
        String::new()
    };
    println!(
        "mcpgw soak: {} sessions for {} s{rounds_label} (ramp over the first {} s), think {} ms ± 50%, a GET stream on every {}th session",
        s.sessions,
        s.duration.as_secs(),
        (s.duration / 5).min(Duration::from_secs(30)).as_secs(),
        s.think.as_millis(),
        s.stream_every
    );
    let windows: Vec<String> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let round = if rounds.len() > 1 {
                format!("round {}: ", i + 1)
            } else {
                String::new()
            };
            match r.window {
                Some((from, to)) => {
                    format!("{round}{:.1}–{:.1} s", from.as_secs_f64(), to.as_secs_f64())
                }
                None => format!("{round}none (shorter than its halfway point?)"),
            }
        })
        .collect();
    println!(
        "restart window (everything killed → back + {} s): {}",
        GRACE.as_secs(),
        windows.join(", ")
    );
    exchange_table(rounds);
    let errors_out: usize = rounds.iter().map(Round::errors_out).sum();
    println!(
        "standalone streams the gateway ended early: {}",
        rounds.iter().map(|r| r.streams_cut).sum::<u64>()
    );

    let (baseline, g0) = (gateway.baseline, gateway.baseline_gauges);
    println!(
        "gateway at start: RSS {}, sessions {}, file descriptors {}",
        mib(baseline.rss_kib),
        g0.0,
        baseline.fds
    );
    println!(
        "{:<7}{:>11}{:>13}{:>14}{:>10}{:>13}{:>11}{:>11}{:>11}{:>10}",
        "round",
        "RSS peak",
        "end of load",
        "clients left",
        "sessions",
        "SSE streams",
        "fds peak",
        "fds after",
        "settled",
        "errors"
    );
    let mut settled = true;
    for (i, r) in rounds.iter().enumerate() {
        println!(
            "{:<7}{:>11}{:>13}{:>14}{:>10}{:>13}{:>11}{:>11}{:>11}{:>10}",
            i + 1,
            mib(r.peak.rss_kib),
            mib(r.at_end.rss_kib),
            mib(r.after.rss_kib),
            format!("{}/{}", r.after_gauges.0, r.peak_gauges.0),
            format!("{}/{}", r.after_gauges.1, r.peak_gauges.1),
            r.peak.fds,
            r.after.fds,
            format!("{:.1} s", r.settle.as_secs_f64()),
            r.errors_out()
        );
        settled &= r.after.fds <= baseline.fds && r.after_gauges.0 == g0.0;
    }
    println!(
        "(sessions and SSE streams: after the clients left / at the highest; errors: outside the restart window)"
    );
    let bounded = memory_verdict(rounds);

    for r in rounds {
        let outside = r
            .exchanges
            .iter()
            .filter(|e| e.error.is_some() && !r.inside(e));
        for e in outside.take(5) {
            println!(
                "error outside the window at {:.1} s, {}: {}",
                e.start.as_secs_f64(),
                e.kind.label(),
                e.error.as_deref().unwrap_or_default()
            );
        }
    }
    errors_out == 0 && settled && bounded
}

/// Counts, errors and latencies of every exchange of every round, by kind.
fn exchange_table(rounds: &[Round]) {
    println!(
        "{:<24}{:>9}{:>11}{:>12}{:>11}{:>11}",
        "exchange", "count", "errors in", "errors out", "p50", "p99"
    );
    // Each exchange with whether it overlaps its own round's restart window.
    let all: Vec<(&Exchange, bool)> = rounds
        .iter()
        .flat_map(|r| r.exchanges.iter().map(move |e| (e, r.inside(e))))
        .collect();
    let line = |label: &str, list: &[(&Exchange, bool)]| {
        let errors_in = list
            .iter()
            .filter(|(e, inside)| e.error.is_some() && *inside)
            .count();
        let errors_out = list
            .iter()
            .filter(|(e, inside)| e.error.is_some() && !*inside)
            .count();
        let mut ok: Vec<Duration> = list
            .iter()
            .filter(|(e, _)| e.error.is_none())
            .map(|(e, _)| e.end - e.start)
            .collect();
        ok.sort();
        println!(
            "{label:<24}{:>9}{errors_in:>11}{errors_out:>12}{:>11}{:>11}",
            list.len(),
            ms(percentile(&ok, 50.0)),
            ms(percentile(&ok, 99.0))
        );
    };
    let mut by_kind: BTreeMap<Kind, Vec<(&Exchange, bool)>> = BTreeMap::new();
    for &(e, inside) in &all {
        by_kind.entry(e.kind).or_default().push((e, inside));
    }
    for kind in Kind::ALL {
        if let Some(list) = by_kind.get(&kind) {
            line(kind.label(), list);
        }
    }
    let requests: Vec<(&Exchange, bool)> = all
        .iter()
        .copied()
        .filter(|(e, _)| matches!(e.kind, Kind::List | Kind::CallTime | Kind::CallEverything))
        .collect();
    line("requests (list + call)", &requests);
    line("all", &all);
}

/// The memory verdict: the RSS the last round left behind against the first's.
fn memory_verdict(rounds: &[Round]) -> bool {
    let (Some(first), Some(last)) = (rounds.first(), rounds.last()) else {
        return true;
    };
    // NB: no RSS to read: the gateway was gone (reported, and failed, on its own).
    if rounds.iter().any(|r| r.after.rss_kib == 0) {
        println!("memory bound: not checked (the gateway was gone)");
        return true;
    }
    if rounds.len() < 2 {
        println!("memory bound: not checked (one round; MCPGW_SOAK_ROUNDS=3 compares the rounds)");
        return true;
    }
    let bound = soak::rss_bound(first.after.rss_kib);
    let ok = last.after.rss_kib <= bound;
    println!(
        "memory bound: RSS after round {} {} {} after round 1 {} × {:.2} + {} = {}: {}",
        rounds.len(),
        mib(last.after.rss_kib),
        if ok { "≤" } else { ">" },
        mib(first.after.rss_kib),
        soak::RSS_GROWTH,
        mib(soak::RSS_SLACK_KIB),
        mib(bound),
        if ok {
            "ok"
        } else {
            "FAILED (grows round over round: a leak?)"
        }
    );
    ok
}
