//! `mcpgw-soak`: many MCP sessions held for minutes against real peers (the
//! time server behind mcp-proxy and the everything server) through one
//! gateway process, with the everything server killed and restarted on its
//! port halfway through. Prints a report: exchanges and errors (inside and
//! outside the restart window), p50/p99, the gateway's RSS, sessions and file
//! descriptors before, during and after. Run by `scripts/soak.sh`.
//!
//! Environment (defaults in brackets):
//!   MCPGW_SOAK_SESSIONS [1000]     concurrent sessions
//!   MCPGW_SOAK_SECONDS [300]       how long they run (sessions ramp up over the first fifth, at most 30 s)
//!   MCPGW_SOAK_THINK_MS [5000]     mean pause between a session's requests
//!   MCPGW_SOAK_STREAM_EVERY [4]    every N-th session holds a standalone GET stream
//!   MCPGW_SOAK_GATEWAY             the gateway binary [target/release/mcpgw-dataplane]
//!
//! Exit status: 0 when no exchange failed outside the restart window and the
//! gateway's sessions and descriptors came back to their baseline; 1 otherwise.

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

async fn soak_in(s: &Settings, dir: &std::path::Path) -> anyhow::Result<bool> {
    eprintln!("==> starting the time and everything peers and the gateway");
    let (_time, time_port) = processes::peer("time", 0)?;
    let (everything, everything_port) = processes::peer("everything", 0)?;
    let config = dir.join("config/gateway.yaml");
    std::fs::write(&config, gateway_yaml(time_port, everything_port))?;
    let (gateway, addr) = processes::gateway(&s.gateway, &config).with_context(|| {
        format!(
            "{} (build it with cargo build --release)",
            s.gateway.display()
        )
    })?;
    let pid = gateway.pid();
    let url = format!("http://{addr}/mcp");
    let probe = soak::http_client(4);
    let baseline = usage(pid);
    let baseline_gauges = gauges(&probe, &addr).await;
    drop(probe);

    let ramp = (s.duration / 5).min(Duration::from_secs(30));
    let restart_at = s.duration / 2;
    eprintln!(
        "==> {} sessions for {} s against {url}; everything restarted at {} s",
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
    let mut restarted: Option<(Duration, Duration, Group)> = None;
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
                let g = gauges(&watcher, &addr).await;
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
                    restarted = Some((killed, ready, back.0));
                }
            }
        }
    }
    let at_end = usage(pid);
    drop(client);

    // The clients are gone: wait (bounded) for the gateway to come back to its baseline.
    let left = Instant::now();
    let mut after = usage(pid);
    let mut after_gauges = gauges(&watcher, &addr).await;
    // NB: the watcher's own connection is one of the gateway's descriptors until it goes.
    while (after.fds > baseline.fds + 1 || after_gauges.0 > baseline_gauges.0)
        && left.elapsed() < Duration::from_secs(180)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = usage(pid);
        after_gauges = gauges(&watcher, &addr).await;
    }
    drop(watcher);
    let quiet = Instant::now();
    while after.fds > baseline.fds && quiet.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = usage(pid);
    }
    let settle = left.elapsed();

    // A gateway that died is no baseline reached.
    let mut gateway = gateway;
    let died = gateway.exited();
    if let Some(status) = died {
        println!("the gateway exited during the run ({status}); the end of its log:");
        for line in gateway.tail() {
            println!("  {line}");
        }
    }
    let window = restarted
        .as_ref()
        .map(|(killed, ready, _)| (*killed, *ready + GRACE));
    let exchanges = record.exchanges();
    let clean = report(
        s,
        &exchanges,
        window,
        &record,
        [baseline, peak, at_end, after],
        [baseline_gauges, peak_gauges, after_gauges],
        settle,
    );
    Ok(clean && died.is_none() && after.fds <= baseline.fds && after_gauges.0 == baseline_gauges.0)
}

#[allow(clippy::too_many_arguments)]
fn report(
    s: &Settings,
    exchanges: &[Exchange],
    window: Option<(Duration, Duration)>,
    record: &Record,
    [baseline, peak, at_end, after]: [Usage; 4],
    [g0, g_peak, g_after]: [(i64, i64); 3],
    settle: Duration,
) -> bool {
    let inside = |e: &Exchange| window.is_some_and(|(from, to)| e.start <= to && e.end >= from);
    println!(
        "mcpgw soak: {} sessions for {} s (ramp over the first {} s), think {} ms ± 50%, a GET stream on every {}th session",
        s.sessions,
        s.duration.as_secs(),
        (s.duration / 5).min(Duration::from_secs(30)).as_secs(),
        s.think.as_millis(),
        s.stream_every
    );
    match window {
        Some((from, to)) => println!(
            "restart window (everything killed → back + {} s): {:.1}–{:.1} s",
            GRACE.as_secs(),
            from.as_secs_f64(),
            to.as_secs_f64()
        ),
        None => println!("no restart happened (the run was shorter than its halfway point?)"),
    }
    println!(
        "{:<24}{:>9}{:>11}{:>12}{:>11}{:>11}",
        "exchange", "count", "errors in", "errors out", "p50", "p99"
    );
    let mut by_kind: BTreeMap<Kind, Vec<&Exchange>> = BTreeMap::new();
    for e in exchanges {
        by_kind.entry(e.kind).or_default().push(e);
    }
    let line = |label: &str, list: &[&Exchange]| {
        let errors_in = list
            .iter()
            .filter(|e| e.error.is_some() && inside(e))
            .count();
        let errors_out = list
            .iter()
            .filter(|e| e.error.is_some() && !inside(e))
            .count();
        let mut ok: Vec<Duration> = list
            .iter()
            .filter(|e| e.error.is_none())
            .map(|e| e.end - e.start)
            .collect();
        ok.sort();
        println!(
            "{label:<24}{:>9}{errors_in:>11}{errors_out:>12}{:>11}{:>11}",
            list.len(),
            ms(percentile(&ok, 50.0)),
            ms(percentile(&ok, 99.0))
        );
        errors_out
    };
    for kind in Kind::ALL {
        if let Some(list) = by_kind.get(&kind) {
            line(kind.label(), list);
        }
    }
    let requests: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| matches!(e.kind, Kind::List | Kind::CallTime | Kind::CallEverything))
        .collect();
    line("requests (list + call)", &requests);
    let all: Vec<&Exchange> = exchanges.iter().collect();
    let errors_out = line("all", &all);
    println!(
        "standalone streams the gateway ended early: {}",
        record
            .streams_cut
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "gateway RSS: start {}, peak {}, end of load {}, after the clients left {}",
        mib(baseline.rss_kib),
        mib(peak.rss_kib),
        mib(at_end.rss_kib),
        mib(after.rss_kib)
    );
    println!(
        "gateway sessions: baseline {}, peak {}, after {}; SSE streams: peak {}, after {}",
        g0.0, g_peak.0, g_after.0, g_peak.1, g_after.1
    );
    println!(
        "gateway file descriptors: baseline {}, peak {}, after {} (settled in {:.1} s)",
        baseline.fds,
        peak.fds,
        after.fds,
        settle.as_secs_f64()
    );
    let outside = exchanges.iter().filter(|e| e.error.is_some() && !inside(e));
    for e in outside.take(5) {
        println!(
            "error outside the window at {:.1} s, {}: {}",
            e.start.as_secs_f64(),
            e.kind.label(),
            e.error.as_deref().unwrap_or_default()
        );
    }
    errors_out == 0
}
