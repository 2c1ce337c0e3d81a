//! `mcpgw-bench-peer upstream` | `mcpgw-bench-peer hop <upstream host:port>`:
//! one of the benchmark's peers as a process of its own, on an OS-chosen
//! loopback port. It prints `READY <host:port>` on stdout once it accepts
//! connections and runs until it is killed.
//!
//! `mcpgw-bench-peer config <upstream host:port>` prints the gateway's config
//! for the bench (one toolkit `bench` in front of the upstream) and exits.
//!
//! The TLS paths: `tls-upstream <h2|http/1.1> <ca file>` makes a CA and a
//! `localhost` certificate, writes the CA to the file and serves MCP over TLS
//! speaking only that protocol; `tls-hop <upstream> <ca file> <h2|http/1.1>`
//! is the bare hop to it; `tls-config <upstream> <ca file> <h2|http/1.1>`
//! prints the gateway's config for it (the explicit south chain).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use mcpgw_bench::tls::{Alpn, Pki};
use mcpgw_bench::{config, hop, upstream};

const USAGE: &str =
    "usage: mcpgw-bench-peer upstream | hop <upstream host:port> | config <upstream host:port>
       | tls-upstream <h2|http/1.1> <ca file> | tls-hop <upstream> <ca file> <h2|http/1.1>
       | tls-config <upstream> <ca file> <h2|http/1.1>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // NB: the TLS upstream's PKI lives as long as the process.
    let mut pki = None;
    let started = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["upstream"] => upstream::start().await,
        ["hop", target] => match address(target) {
            Ok(target) => hop::start(target).await,
            Err(e) => Err(e),
        },
        ["config", target] => {
            return printed(address(target).map(|target| config::yaml(target, ["bench"])));
        }
        ["tls-upstream", alpn, ca_file] => {
            let made = alpn_of(alpn).and_then(|alpn| {
                let made = Pki::with_ca_file(PathBuf::from(ca_file))?;
                let server = made.server(alpn)?;
                Ok((made, server))
            });
            match made {
                Ok((made, server)) => {
                    pki = Some(made);
                    upstream::start_tls(server).await
                }
                Err(e) => Err(e),
            }
        }
        ["tls-hop", target, ca_file, alpn] => match tls_client(target, ca_file, alpn) {
            Ok((target, client, alpn)) => hop::start_tls(target, client, alpn).await,
            Err(e) => Err(e),
        },
        ["tls-config", target, ca_file, alpn] => {
            let yaml = address(target)
                .and_then(|target| Ok(config::yaml_tls(target, ca_file.as_ref(), alpn_of(alpn)?)));
            return printed(yaml);
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
            drop(pki);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcpgw-bench-peer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn address(text: &str) -> anyhow::Result<SocketAddr> {
    text.parse().map_err(|e| anyhow!("{text}: {e}"))
}

fn alpn_of(text: &str) -> anyhow::Result<Alpn> {
    match text {
        "h2" => Ok(Alpn::H2),
        "http/1.1" => Ok(Alpn::Http11),
        other => Err(anyhow!("{other}: the protocol is h2 or http/1.1")),
    }
}

/// What the bare hop to the TLS upstream needs: its address, a client config
/// trusting the CA in `ca_file`, and the protocol to offer.
fn tls_client(
    target: &str,
    ca_file: &str,
    alpn: &str,
) -> anyhow::Result<(SocketAddr, rustls::ClientConfig, Alpn)> {
    let pem = std::fs::read(ca_file).map_err(|e| anyhow!("{ca_file}: {e}"))?;
    Ok((
        address(target)?,
        Pki::client_trusting(&pem)?,
        alpn_of(alpn)?,
    ))
}

fn printed(text: anyhow::Result<String>) -> ExitCode {
    match text {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcpgw-bench-peer: {e:#}");
            ExitCode::from(2)
        }
    }
}
