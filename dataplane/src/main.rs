//! `mcpgw-dataplane`: run the gateway described by a binding config file.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mcpgw_dataplane::{Gateway, reload, telemetry};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

// NB: mimalloc (its 2.x line, feature `v2`: see README, "Benchmark", for why not
// 3.x) instead of the system allocator: a relayed call allocates a few
// dozen small objects (JSON values, headers, futures) and frees them on another
// worker thread; glibc's malloc spent about a tenth of the data plane's
// instructions per call on that (callgrind, README's benchmark section), and its
// arena trimming shows up as system time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// MCP gateway data plane.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The binding config (YAML).
    #[arg(long, short, env = "MCPGW_CONFIG")]
    config: PathBuf,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "MCPGW_LOG_JSON")]
    log_json: bool,
    /// Threads serving requests (default: one when the process may use at
    /// most 2 CPUs, otherwise one per CPU). 1 runs everything on one thread,
    /// with no hand-offs between threads.
    #[arg(long, env = "MCPGW_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    worker_threads: Option<u16>,
}

/// The default number of threads: one when the process may use at most 2 CPUs
/// (its cgroup quota counts), else `None`, one per CPU (tokio's default).
// NB: a request's body reaches the handler through a channel inside its
// connection's own task, so the task wakes itself; tokio's multi-thread
// scheduler re-queues a self-woken task and wakes an idle worker for it, which
// then takes over the I/O driver: two futex calls and a hand-off between cores
// per request (strace; a bare hop that reads the body the same way does the
// same). On 2 CPUs one thread served more calls with lower latency than two in
// every run of the benchmark (README, "Benchmark"); bigger pods are for throughput.
fn default_worker_threads() -> Option<u16> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    (cpus <= 2).then_some(1)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match args.worker_threads.or_else(default_worker_threads) {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(n))
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    match runtime {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(e) => {
            eprintln!("mcpgw-dataplane: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> ExitCode {
    let tracing = match install_logs_and_traces(&args) {
        Ok(tracing) => tracing,
        Err(e) => {
            eprintln!("mcpgw-dataplane: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = run(args).await;
    if let Some(provider) = tracing {
        // Send what is still buffered before the process ends.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcpgw-dataplane: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs to standard error; traces over OTLP when the config's `telemetry`
/// or the `OTEL_*` variables ask for it (read once: a reload that changes
/// `telemetry` takes effect at the next start).
fn install_logs_and_traces(args: &Args) -> anyhow::Result<Option<SdkTracerProvider>> {
    // NB: a config that does not load is reported by `run`, with its path.
    let plan = reload::load(&args.config).ok().map(|(plan, _)| plan);
    let destination =
        telemetry::destination(plan.as_ref().and_then(|p| p.telemetry.as_ref()), |name| {
            std::env::var(name).ok()
        });
    let provider = destination
        .as_ref()
        .map(telemetry::tracer_provider)
        .transpose()?;
    let filter = || EnvFilter::try_from_env("MCPGW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let json = args.log_json.then(|| {
        fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    let text = (!args.log_json).then(|| {
        fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    // NB: spans are exported whatever the log level says.
    let traces = provider.as_ref().map(|p| {
        telemetry::layer(p).with_filter(Targets::new().with_target("mcpgw_dataplane", Level::INFO))
    });
    tracing_subscriber::registry()
        .with(json)
        .with(text)
        .with(traces)
        .init();
    if let Some(destination) = &destination {
        tracing::info!(?destination, "exporting traces");
    }
    Ok(provider)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let gateway = Gateway::start_from_file(args.config.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    for addr in gateway.local_addrs() {
        tracing::info!(%addr, config = %args.config.display(), "mcpgw ready");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    gateway.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
