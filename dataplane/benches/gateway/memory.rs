//! Memory per idle gateway session: the process RSS before and after opening
//! many sessions and leaving them idle.

use std::time::Duration;

use anyhow::Context;
use http::Uri;

use crate::load::{McpClient, Target};

/// What the memory run found.
#[derive(Debug)]
pub struct MemoryReport {
    pub sessions: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    /// `mcpgw_sessions` at the end, and what it should be.
    pub held: u64,
    pub expected: u64,
}

impl MemoryReport {
    pub fn kib_per_session(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / 1024.0 / self.sessions as f64
    }
}

/// Open `sessions` idle sessions on the gateway at `target` over `connections`
/// connections, after one warm-up session per connection (so that connection
/// buffers are in the baseline). The clients keep nothing of a session.
pub async fn idle_sessions(
    target: &Target,
    metrics: Uri,
    sessions: usize,
    connections: usize,
) -> anyhow::Result<MemoryReport> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(McpClient::connect(target.clone()).await?);
    }
    settle().await;
    let rss_before = rss_bytes()?;
    let mut tasks = Vec::with_capacity(connections);
    for (i, mut client) in clients.into_iter().enumerate() {
        let share = sessions / connections + usize::from(i < sessions % connections);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                client.open_session().await?;
            }
            anyhow::Ok(client)
        }));
    }
    let mut clients = Vec::with_capacity(connections);
    for task in tasks {
        clients.push(task.await??);
    }
    settle().await;
    let rss_after = rss_bytes()?;
    let text = clients[0].get(metrics).await?;
    let held = text
        .lines()
        .find_map(|l| l.strip_prefix("mcpgw_sessions "))
        .and_then(|n| n.trim().parse().ok())
        .context("no mcpgw_sessions in /metrics")?;
    Ok(MemoryReport {
        sessions,
        rss_before,
        rss_after,
        held,
        expected: (sessions + connections) as u64,
    })
}

/// Let spawned work (upstream `initialized` posts, connection returns) finish.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The resident set size of this process (`/proc/self/statm`).
pub fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .context("unexpected /proc/self/statm")?;
    Ok(pages * page_size())
}

/// The page size, from the auxiliary vector (`AT_PAGESZ`); 4 KiB if unreadable.
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 4096;
    };
    let words: Vec<u64> = auxv
        .chunks_exact(8)
        .filter_map(|w| w.try_into().ok().map(u64::from_ne_bytes))
        .collect();
    words
        .chunks_exact(2)
        .find(|pair| pair[0] == AT_PAGESZ)
        .map_or(4096, |pair| pair[1])
}
