//! The gateway's performance budget (README, "Benchmark"), measured as ratios
//! in one run: the upstream called directly, through a bare hop (a trivial
//! hyper forwarder) and through mcpgw, all in this process on 127.0.0.1 with
//! OS-chosen ports.
//!
//! `cargo bench -p mcpgw-dataplane --bench gateway [-- --quick]`
//! (or `MCPGW_BENCH_QUICK=1`). It prints a table and a verdict per target
//! and exits 0 whatever the verdicts; 1 only when the run itself broke.

mod cpu;
mod jwt;
mod load;
mod memory;
mod reload;
mod report;
mod seal;

use std::net::SocketAddr;
use std::time::Duration;

use http::Uri;
use mcpgw_bench::{config, hop, upstream};
use mcpgw_dataplane::Gateway;
use tokio::runtime::Runtime;

use load::{McpClient, Target};
use mcpgw_bench::tls::{self, Alpn};
use report::{CachedList, LatencyRow, Results, ThroughputRow, TlsRows};

/// The name of the threads of the system under test (the bare hop or the gateway).
const SUT_THREADS: &str = "bench-sut";

/// How much of everything one run does.
#[derive(Debug)]
pub struct Mode {
    pub name: &'static str,
    /// Sequential calls per path, in `latency_rounds` interleaved rounds.
    pub latency_calls: usize,
    pub latency_rounds: usize,
    pub warmup_calls: usize,
    pub connections: usize,
    /// One throughput round per path lasts this long; rounds interleave paths.
    pub throughput_round: Duration,
    pub throughput_rounds: usize,
    pub idle_sessions: usize,
    /// Config reloads of a config with `reload_toolkits` toolkits.
    pub reloads: usize,
    pub reload_toolkits: usize,
    pub seal_iterations: usize,
    pub jwt_iterations: usize,
    /// The (lighter) mode of the TLS paths' latency and throughput runs.
    pub tls: Option<&'static Mode>,
}

const FULL: Mode = Mode {
    name: "full",
    latency_calls: 10_000,
    latency_rounds: 20,
    warmup_calls: 1_000,
    connections: 16,
    throughput_round: Duration::from_millis(750),
    throughput_rounds: 8,
    idle_sessions: 10_000,
    reloads: 10,
    reload_toolkits: 100,
    seal_iterations: 100_000,
    jwt_iterations: 20_000,
    tls: Some(&FULL_TLS),
};

const FULL_TLS: Mode = Mode {
    name: "full",
    latency_calls: 4_000,
    latency_rounds: 10,
    warmup_calls: 500,
    throughput_round: Duration::from_millis(500),
    throughput_rounds: 4,
    ..LIGHT
};

const QUICK: Mode = Mode {
    name: "quick",
    latency_calls: 2_000,
    latency_rounds: 10,
    warmup_calls: 300,
    connections: 16,
    throughput_round: Duration::from_millis(400),
    throughput_rounds: 4,
    idle_sessions: 2_000,
    reloads: 3,
    reload_toolkits: 100,
    seal_iterations: 20_000,
    jwt_iterations: 2_000,
    tls: Some(&QUICK_TLS),
};

const QUICK_TLS: Mode = Mode {
    latency_calls: 1_000,
    latency_rounds: 5,
    warmup_calls: 200,
    throughput_round: Duration::from_millis(300),
    throughput_rounds: 2,
    ..LIGHT
};

/// What the TLS modes do not use (they only run latency and throughput).
const LIGHT: Mode = Mode {
    name: "quick",
    latency_calls: 0,
    latency_rounds: 1,
    warmup_calls: 0,
    connections: 16,
    throughput_round: Duration::ZERO,
    throughput_rounds: 0,
    idle_sessions: 0,
    reloads: 0,
    reload_toolkits: 0,
    seal_iterations: 0,
    jwt_iterations: 0,
    tls: None,
};

fn main() {
    // `cargo bench` passes `--bench`; anything but `--quick` is ignored.
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("MCPGW_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mode = if quick { &QUICK } else { &FULL };
    if let Ok(spec) = std::env::var("MCPGW_BENCH_PROFILE") {
        if let Err(e) = profile(&spec) {
            eprintln!("benchmark broke: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    match run(mode) {
        Ok(results) => report::print(&results),
        Err(e) => {
            eprintln!("benchmark broke: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(mode: &'static Mode) -> anyhow::Result<Results> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "mcpgw bench ({} mode, {cpus} CPUs): memory, latency, throughput, reload, sealing, JWT…",
        mode.name
    );
    let cpu_start = cpu::CpuTimes::now();
    let rt = Runtimes::new()?;
    let upstream = rt.upstream.block_on(upstream::start())?;
    // First, on a gateway of its own, so that nothing freed by the other runs
    // is reused and hides growth.
    let memory = {
        let (gateway, target, metrics) = rt.sut.block_on(start_gateway(upstream))?;
        let (sessions, connections) = (mode.idle_sessions, mode.connections);
        let report = run_on(&rt.client, async move {
            memory::idle_sessions(&target, metrics, sessions, connections).await
        })?;
        // NB: dropped, not shut down: shutting down would DELETE every
        // upstream session at once.
        rt.sut.block_on(async move { drop(gateway) });
        report
    };
    let paths = Paths::start(&rt, upstream)?;
    let targets = paths.targets();
    let latency = run_on(&rt.client, latency(mode, targets.clone()))?;
    let throughput = run_on(&rt.client, throughput(mode, targets))?;
    rt.sut.block_on(async move { drop(paths) });
    let cached = cached_list(&rt, mode, upstream)?;
    let tls = match mode.tls {
        Some(light) => tls_paths(&rt, light)?,
        None => Vec::new(),
    };
    let reload = reload::measure(
        &rt.sut,
        &rt.client,
        upstream,
        mode.reload_toolkits,
        mode.reloads,
    )?;
    let seal = seal::measure(mode.seal_iterations)?;
    let jwt = jwt::measure(&rt.sut, mode.jwt_iterations)?;
    let others_cpu = cpu_start
        .zip(cpu::CpuTimes::now())
        .map(|(start, end)| start.others_since(&end));
    Ok(Results {
        mode,
        cpus,
        others_cpu,
        latency,
        throughput,
        memory,
        reload,
        seal,
        jwt,
        tls,
        cached,
    })
}

/// `tools/list` at 16 connections: the bare hop forwarding it to the upstream,
/// and the gateway answering it from its listing cache; with the cache's hit
/// ratio over the run (from the gateway's `/metrics`).
fn cached_list(
    rt: &Runtimes,
    mode: &'static Mode,
    upstream: SocketAddr,
) -> anyhow::Result<CachedList> {
    let hop = rt.sut.block_on(hop::start(upstream))?;
    let yaml = config::yaml_cached(upstream);
    let (gateway, target, metrics) = rt.sut.block_on(start_gateway_from(yaml))?;
    let targets = vec![
        Target {
            name: "direct",
            url: format!("http://{upstream}/mcp").parse()?,
            tool: None,
            tls: None,
        },
        Target {
            name: "bare hop",
            url: format!("http://{hop}/mcp").parse()?,
            tool: None,
            tls: None,
        },
        Target {
            tool: None,
            ..target.clone()
        },
    ];
    let throughput = run_on(&rt.client, throughput(mode, targets))?;
    let probe = target;
    let text = run_on(&rt.client, async move {
        McpClient::new(probe).get(metrics).await
    })?;
    rt.sut.block_on(async move { drop(gateway) });
    let count = |event: &str| -> f64 {
        let series = format!(
            "mcpgw_listing_cache_total{{toolkit=\"bench\",list=\"tools/list\",event=\"{event}\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let (hits, misses) = (count("hit"), count("miss"));
    Ok(CachedList {
        throughput,
        hit_ratio: hits / (hits + misses).max(1.0),
    })
}

/// Per ALPN mode: the TLS upstream called directly, through a bare hop that
/// speaks TLS to it (hyper-rustls), and through the gateway (its `tls client`
/// trusting the bench's CA). The client's leg to the hop and the gateway is
/// plain HTTP, as in the plain paths: what differs is only the upstream leg.
fn tls_paths(rt: &Runtimes, mode: &'static Mode) -> anyhow::Result<Vec<TlsRows>> {
    let pki = tls::Pki::new()?;
    let mut rows = Vec::new();
    for alpn in [Alpn::H2, Alpn::Http11] {
        let upstream = rt
            .upstream
            .block_on(upstream::start_tls(pki.server(alpn)?))?;
        let hop = rt
            .sut
            .block_on(hop::start_tls(upstream, pki.client()?, alpn))?;
        let yaml = config::yaml_tls(upstream, &pki.ca_file, alpn);
        let (gateway, target) = rt.sut.block_on(async {
            let plan = mcpgw_config::compile_yaml(&yaml).map_err(|e| anyhow::anyhow!("{e}"))?;
            let gateway = Gateway::start(&plan).await?;
            let (_, target) = Target::gateway(&gateway, Some("bench__echo"))?;
            anyhow::Ok((gateway, target))
        })?;
        let targets = vec![
            Target {
                name: "direct",
                url: format!("https://localhost:{}/mcp", upstream.port()).parse()?,
                tool: Some("echo"),
                tls: Some(pki.client()?),
            },
            Target {
                name: "bare hop",
                url: format!("http://{hop}/mcp").parse()?,
                tool: Some("echo"),
                tls: None,
            },
            target,
        ];
        let latency = run_on(&rt.client, latency(mode, targets.clone()))?;
        let throughput = run_on(&rt.client, throughput(mode, targets))?;
        rt.sut.block_on(async move { drop(gateway) });
        rows.push(TlsRows {
            alpn: alpn.id(),
            latency,
            throughput,
        });
    }
    Ok(rows)
}

/// The client, the system under test (the bare hop or the gateway) and the
/// upstream each run on a runtime of their own, as they would in separate
/// processes: no path gets to run a whole exchange as one chain of tasks on
/// one worker thread, and the client's own work is not done on the
/// gateway's threads.
struct Runtimes {
    client: Runtime,
    sut: Runtime,
    upstream: Runtime,
}

impl Runtimes {
    fn new() -> std::io::Result<Self> {
        let runtime = |name: &str| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name(name)
                .enable_all()
                .build()
        };
        Ok(Self {
            client: runtime("bench-client")?,
            sut: runtime(SUT_THREADS)?,
            upstream: runtime("bench-upstream")?,
        })
    }
}

/// Run `work` as a task of `rt` (on its worker threads, not on this one).
fn run_on<T: Send + 'static>(
    rt: &Runtime,
    work: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    rt.block_on(async { tokio::spawn(work).await? })
}

/// The three ways to the upstream.
struct Paths {
    direct: Target,
    hop: Target,
    gateway: Target,
    _running: Gateway,
}

impl Paths {
    fn start(rt: &Runtimes, upstream: SocketAddr) -> anyhow::Result<Self> {
        let hop = rt.sut.block_on(hop::start(upstream))?;
        let (running, gateway, _) = rt.sut.block_on(start_gateway(upstream))?;
        Ok(Self {
            direct: Target {
                name: "direct",
                url: format!("http://{upstream}/mcp").parse()?,
                tool: Some("echo"),
                tls: None,
            },
            hop: Target {
                name: "bare hop",
                url: format!("http://{hop}/mcp").parse()?,
                tool: Some("echo"),
                tls: None,
            },
            gateway,
            _running: running,
        })
    }

    /// In report order: direct, bare hop, gateway.
    fn targets(&self) -> Vec<Target> {
        vec![self.direct.clone(), self.hop.clone(), self.gateway.clone()]
    }
}

/// `MCPGW_BENCH_PROFILE=<direct|hop|gateway>[:<connections>]`: only load one
/// path, for 10 s (e.g. under `perf record`), and print the calls per second.
fn profile(spec: &str) -> anyhow::Result<()> {
    let (path, connections) = spec.split_once(':').unwrap_or((spec, "1"));
    let connections: usize = connections.parse()?;
    let rt = Runtimes::new()?;
    let upstream = rt.upstream.block_on(upstream::start())?;
    let paths = Paths::start(&rt, upstream)?;
    let target = match path {
        "direct" => paths.direct.clone(),
        "hop" => paths.hop.clone(),
        "gateway" => paths.gateway.clone(),
        other => anyhow::bail!("MCPGW_BENCH_PROFILE: unknown path `{other}`"),
    };
    let (calls, took) = run_on(&rt.client, async move {
        let mut clients = Vec::new();
        for _ in 0..connections {
            clients.push(McpClient::connect(target.clone()).await?);
        }
        let (_, calls, took) = load::saturate(clients, Duration::from_secs(10)).await?;
        anyhow::Ok((calls, took))
    })?;
    println!(
        "{path}: {connections} connections, {calls} calls in {:.1} s: {:.0} calls/s",
        took.as_secs_f64(),
        calls as f64 / took.as_secs_f64()
    );
    Ok(())
}

/// A gateway with one toolkit `bench` in front of `upstream`: the gateway,
/// its MCP endpoint and its `/metrics`.
async fn start_gateway(upstream: SocketAddr) -> anyhow::Result<(Gateway, Target, Uri)> {
    start_gateway_from(config::yaml(upstream, ["bench"])).await
}

/// A gateway of `yaml` (a toolkit `bench`): as [`start_gateway`].
async fn start_gateway_from(yaml: String) -> anyhow::Result<(Gateway, Target, Uri)> {
    let plan = mcpgw_config::compile_yaml(&yaml).map_err(|e| anyhow::anyhow!("{e}"))?;
    let gateway = Gateway::start(&plan).await?;
    let (addr, target) = Target::gateway(&gateway, Some("bench__echo"))?;
    let metrics = format!("http://{addr}/metrics").parse()?;
    Ok((gateway, target, metrics))
}

/// One connection per path; calls timed one at a time, paths interleaved by round.
async fn latency(mode: &Mode, targets: Vec<Target>) -> anyhow::Result<Vec<LatencyRow>> {
    let mut clients = Vec::new();
    for target in &targets {
        let mut client = McpClient::connect(target.clone()).await?;
        load::calls(&mut client, mode.warmup_calls).await?;
        clients.push((client, Vec::with_capacity(mode.latency_calls)));
    }
    let per_round = mode.latency_calls / mode.latency_rounds;
    let mut sut_ns = vec![0; clients.len()];
    for _ in 0..mode.latency_rounds {
        for ((client, samples), sut_ns) in clients.iter_mut().zip(&mut sut_ns) {
            let before = cpu::threads_ns(SUT_THREADS);
            load::timed_calls(client, per_round, samples).await?;
            *sut_ns += cpu::threads_ns(SUT_THREADS) - before;
        }
    }
    Ok(targets
        .iter()
        .zip(clients)
        .zip(sut_ns)
        .map(|((target, (_, mut samples)), sut_ns)| {
            let calls = samples.len();
            samples.sort_by(f64::total_cmp);
            LatencyRow {
                name: target.name,
                p50: load::percentile(&samples, 0.50),
                p99: load::percentile(&samples, 0.99),
                sut_cpu: sut_ns as f64 / 1e3 / calls as f64,
            }
        })
        .collect())
}

/// `connections` sessions per path, saturated in turns.
async fn throughput(mode: &Mode, targets: Vec<Target>) -> anyhow::Result<Vec<ThroughputRow>> {
    let mut fleets = Vec::new();
    for target in &targets {
        let mut clients = Vec::with_capacity(mode.connections);
        for _ in 0..mode.connections {
            clients.push(McpClient::connect(target.clone()).await?);
        }
        // Warm-up, concurrently: connections, pools and buffers at full load.
        let (clients, _, _) = load::saturate(clients, mode.throughput_round / 2).await?;
        fleets.push((clients, 0u64, Duration::ZERO, 0u64));
    }
    for _ in 0..mode.throughput_rounds {
        for (clients, calls, elapsed, sut_ns) in &mut fleets {
            let before = cpu::threads_ns(SUT_THREADS);
            let (back, done, took) =
                load::saturate(std::mem::take(clients), mode.throughput_round).await?;
            *sut_ns += cpu::threads_ns(SUT_THREADS) - before;
            *clients = back;
            *calls += done;
            *elapsed += took;
        }
    }
    Ok(targets
        .iter()
        .zip(fleets)
        .map(|(target, (_, calls, elapsed, sut_ns))| ThroughputRow {
            name: target.name,
            per_second: calls as f64 / elapsed.as_secs_f64(),
            sut_cpu: sut_ns as f64 / 1e3 / calls as f64,
        })
        .collect())
}
