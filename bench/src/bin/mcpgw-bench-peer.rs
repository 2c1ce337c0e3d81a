//! `mcpgw-bench-peer upstream` | `mcpgw-bench-peer hop <upstream host:port>`:
//! one of the benchmark's peers as a process of its own, on an OS-chosen
//! loopback port. It prints `READY <host:port>` on stdout once it accepts
//! connections and runs until it is killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use mcpgw_bench::{hop, upstream};

const USAGE: &str = "usage: mcpgw-bench-peer upstream | hop <upstream host:port>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["upstream"] => upstream::start().await,
        ["hop", target] => match target.parse::<SocketAddr>() {
            Ok(target) => hop::start(target).await,
            Err(e) => Err(anyhow::anyhow!("{target}: {e}")),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match started {
        Ok(addr) => {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "READY {addr}").and_then(|()| out.flush());
            std::future::pending::<()>().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcpgw-bench-peer: {e:#}");
            ExitCode::FAILURE
        }
    }
}
