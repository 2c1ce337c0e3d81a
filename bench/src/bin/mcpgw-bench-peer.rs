//! `mcpgw-bench-peer upstream` | `mcpgw-bench-peer hop <upstream host:port>`:
//! one of the benchmark's peers as a process of its own, on an OS-chosen
//! loopback port. It prints `READY <host:port>` on stdout once it accepts
//! connections and runs until it is killed.
//!
//! `mcpgw-bench-peer config <upstream host:port>` prints the gateway's config
//! for the bench (one toolkit `bench` in front of the upstream) and exits.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use mcpgw_bench::{config, hop, upstream};

const USAGE: &str =
    "usage: mcpgw-bench-peer upstream | hop <upstream host:port> | config <upstream host:port>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["upstream"] => upstream::start().await,
        ["hop", target] => match target.parse::<SocketAddr>() {
            Ok(target) => hop::start(target).await,
            Err(e) => Err(anyhow::anyhow!("{target}: {e}")),
        },
        ["config", target] => {
            return match target.parse::<SocketAddr>() {
                Ok(target) => {
                    print!("{}", config::yaml(target, ["bench"]));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mcpgw-bench-peer: {target}: {e}");
                    ExitCode::from(2)
                }
            };
        }
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
