//! `mcpgw-operator`: watch McpGateway and McpToolkit resources and run the
//! data plane for them.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kube::runtime::events::{Recorder, Reporter};
use mcpgw_operator::admin::{self, AdminState};
use mcpgw_operator::controller::Context;
use mcpgw_operator::leader::LeaderElection;
use mcpgw_operator::served::HttpProbe;
use mcpgw_operator::watches;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// mcpgw operator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Data-plane image for gateways that do not name one.
    #[arg(long, env = "MCPGW_DATAPLANE_IMAGE", default_value = concat!("ghcr.io/mcpgw/mcpgw-dataplane:", env!("CARGO_PKG_VERSION")))]
    dataplane_image: String,
    /// Namespaces to watch, comma-separated; empty: all namespaces.
    #[arg(
        long,
        env = "MCPGW_WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    watch_namespaces: Vec<String>,
    /// Take a Lease before reconciling, so that several replicas are safe.
    #[arg(long, env = "MCPGW_LEADER_ELECTION", default_value_t = false)]
    leader_election: bool,
    #[arg(long, env = "MCPGW_LEASE_NAME", default_value = "mcpgw-operator")]
    lease_name: String,
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME", default_value = "mcpgw-operator")]
    identity: String,
    /// Address of the health and metrics server.
    #[arg(long, env = "MCPGW_ADMIN_ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_env("MCPGW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_writer(std::io::stderr)
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "mcpgw-operator failed");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let shutdown = CancellationToken::new();
    let admin = Arc::new(AdminState::default());
    let listener = tokio::net::TcpListener::bind(&args.admin_addr).await?;
    let admin_server = tokio::spawn(admin::serve(listener, admin.clone(), shutdown.clone()));
    let signals = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            shutdown.cancel();
        }
    });

    let leadership = if args.leader_election {
        let election = LeaderElection::new(
            client.clone(),
            &args.lease_namespace,
            &args.lease_name,
            &args.identity,
        );
        match election.acquire(shutdown.clone()).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::info!(error = %e, "not leading");
                let _ = admin_server.await;
                return Ok(());
            }
        }
    } else {
        None
    };
    // Losing the lease stops reconciling: the process exits and restarts as a follower.
    let work = shutdown.child_token();
    if let Some(l) = &leadership {
        let (lost, work) = (l.lost(), work.clone());
        tokio::spawn(async move {
            lost.cancelled().await;
            work.cancel();
        });
    }
    admin.set_ready(true);
    let reporter = Reporter {
        controller: "mcpgw-operator".into(),
        instance: Some(args.identity.clone()),
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        dataplane_image: args.dataplane_image.clone(),
        probe: Arc::new(HttpProbe::default()),
        recorder: Recorder::new(client, reporter),
        admin: admin.clone(),
        failures: Default::default(),
        references: Default::default(),
    });
    let namespaces: Vec<String> = args
        .watch_namespaces
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    tracing::info!(namespaces = ?namespaces, "reconciling");
    if namespaces.is_empty() {
        watches::run(ctx, None, work.clone()).await;
    } else {
        let runs = namespaces
            .into_iter()
            .map(|ns| watches::run(ctx.clone(), Some(ns), work.clone()));
        futures_util::future::join_all(runs).await;
    }
    admin.set_ready(false);
    if let Some(l) = leadership {
        l.release().await;
    }
    let lost = !shutdown.is_cancelled();
    shutdown.cancel();
    signals.abort();
    let _ = admin_server.await;
    if lost {
        anyhow::bail!("lost the leader lease");
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
