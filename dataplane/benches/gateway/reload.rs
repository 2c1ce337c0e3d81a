//! Config reload: a gateway started from a file with 100 toolkits; the file
//! is replaced the way a kubelet does it (write beside, rename over), each
//! time swapping one toolkit for a new one, and the time from the rename to
//! the new toolkit answering a `tools/call` in an existing session is taken.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::StatusCode;
use mcpgw_dataplane::Gateway;
use tokio::runtime::Runtime;

use crate::load::{self, McpClient, Target};
use crate::run_on;
use mcpgw_bench::config;

/// A reload not served within this long is recorded as never served (∞).
const GIVE_UP: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct ReloadReport {
    pub toolkits: usize,
    /// Milliseconds from the rename to serving, sorted; ∞ when not served.
    pub took_ms: Vec<f64>,
}

impl ReloadReport {
    pub fn median(&self) -> f64 {
        load::percentile(&self.took_ms, 0.5)
    }

    pub fn max(&self) -> f64 {
        self.took_ms.last().copied().unwrap_or(f64::NAN)
    }
}

/// The config of version `version`: `toolkits - 1` fixed toolkits and one
/// named after the version.
fn version(upstream: SocketAddr, toolkits: usize, version: usize) -> (String, String) {
    let fresh = format!("v{version}");
    let names: Vec<String> = (1..toolkits)
        .map(|i| format!("t{i:03}"))
        .chain([fresh.clone()])
        .collect();
    (
        config::yaml(upstream, names.iter().map(String::as_str)),
        format!("{fresh}__echo"),
    )
}

/// Replace `path` in one step, as a kubelet's symlink swap does.
fn swap_in(path: &Path, contents: &str) -> anyhow::Result<()> {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, contents)?;
    std::fs::rename(&staged, path)?;
    Ok(())
}

/// `reloads` reloads of a `toolkits`-toolkit config; the gateway runs on `sut`,
/// the client on `client`.
pub fn measure(
    sut: &Runtime,
    client: &Runtime,
    upstream: SocketAddr,
    toolkits: usize,
    reloads: usize,
) -> anyhow::Result<ReloadReport> {
    let dir = std::env::temp_dir().join(format!("mcpgw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure_in(&dir, sut, client, upstream, toolkits, reloads);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure_in(
    dir: &Path,
    sut: &Runtime,
    client: &Runtime,
    upstream: SocketAddr,
    toolkits: usize,
    reloads: usize,
) -> anyhow::Result<ReloadReport> {
    let path: PathBuf = dir.join("config.yaml");
    let (yaml, tool) = version(upstream, toolkits, 0);
    swap_in(&path, &yaml)?;
    let gateway = sut.block_on(Gateway::start_from_file(path.clone()))?;
    let (_, target) = Target::gateway(&gateway, Some("t001__echo"))?;
    let took_ms = run_on(client, async move {
        let mut client = McpClient::connect(target).await?;
        client.call().await?;
        let (status, _) = client.call_tool(&tool).await?;
        anyhow::ensure!(status == StatusCode::OK, "{tool} answered {status}");
        let mut took_ms = Vec::with_capacity(reloads);
        for v in 1..=reloads {
            let (yaml, tool) = version(upstream, toolkits, v);
            let start = Instant::now();
            swap_in(&path, &yaml)?;
            let served = loop {
                let (status, body) = client.call_tool(&tool).await?;
                if status == StatusCode::OK && load::answered_ok(&body) {
                    break true;
                }
                if start.elapsed() > GIVE_UP {
                    break false;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            };
            took_ms.push(if served {
                start.elapsed().as_secs_f64() * 1e3
            } else {
                f64::INFINITY
            });
        }
        took_ms.sort_by(f64::total_cmp);
        anyhow::Ok(took_ms)
    })?;
    sut.block_on(async move { drop(gateway) });
    Ok(ReloadReport { toolkits, took_ms })
}
