//! The soak's processes: real MCP peers from `tests/peers/run-peer.sh` and the
//! gateway binary, each in a process group of its own (ended whole on drop),
//! ready when its output says so, on a loopback port the OS chose.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// The workspace root (for `tests/peers/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A child process group, killed (SIGKILL to the group) and reaped on drop.
#[derive(Debug)]
pub struct Group {
    child: Child,
    /// The last lines of its stderr.
    tail: Arc<Mutex<VecDeque<String>>>,
}

/// How many lines of a process's stderr are kept for a report.
const TAIL: usize = 40;

impl Group {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it ended, if it did.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last lines it wrote to stderr.
    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.wait();
    }
}

/// Spawn `cmd` in its own group and wait (bounded) for a line of its stderr
/// for which `ready` gives a value; keep draining stderr afterwards.
fn spawn_until<T: Send + 'static>(
    mut cmd: Command,
    what: &str,
    ready: impl Fn(&str) -> Option<T> + Send + 'static,
) -> anyhow::Result<(Group, T)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let group = Group {
        child,
        tail: tail.clone(),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(value) = tx.is_some().then(|| ready(&line)).flatten() {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Ok(value));
                }
            } else if tx.is_some() {
                log.push(line);
            } else {
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
        if let Some(tx) = tx {
            let _ = tx.send(Err(log.join("\n")));
        }
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(value)) => Ok((group, value)),
        Ok(Err(log)) => bail!("{what} exited before it was ready:\n{log}"),
        Err(_) => bail!("{what} was not ready within 120 s"),
    }
}

/// A real peer (`time`, `everything`, …) on `port` (0: any); returns its port.
pub fn peer(name: &str, port: u16) -> anyhow::Result<(Group, u16)> {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace().join("tests/peers/run-peer.sh"))
        .arg(name)
        .env("PORT", port.to_string())
        .env("MCPGW_PEER_PARENT", std::process::id().to_string());
    spawn_until(cmd, &format!("peer {name}"), |line| {
        line.strip_prefix("MCPGW_PEER_READY port=")
            .and_then(|p| p.trim().parse::<u16>().ok())
    })
}

/// The gateway binary serving `config`; returns its listener's address.
pub fn gateway(binary: &Path, config: &Path) -> anyhow::Result<(Group, String)> {
    let mut cmd = Command::new(binary);
    cmd.arg("--config")
        .arg(config)
        .env("MCPGW_LOG", "warn,mcpgw_dataplane=info");
    spawn_until(cmd, "the gateway", |line| {
        if !line.contains("mcpgw ready") {
            return None;
        }
        let at = line.find("addr=")? + "addr=".len();
        let addr: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect();
        Some(addr)
    })
}

/// What `/proc` says about a process: resident memory and open descriptors.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub rss_kib: u64,
    pub fds: usize,
}

pub fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
    Usage { rss_kib, fds }
}
