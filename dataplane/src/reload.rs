//! Hot reload: watch the config file, and apply every new version that
//! compiles as one swap; keep serving the last good one when it does not.
//!
//! The watch is on the file's directory, not the file: a kubelet updates a
//! ConfigMap mount by writing a new timestamped directory and renaming the
//! `..data` symlink over the old one, which a watch on the file would miss.
//! Changes are recognised by content (SHA-256), so duplicate events, touches
//! and rewrites of the same bytes cost nothing. A slow poll backs the watch up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mcpgw_config::{ConfigError, Plan, config_sha256};
use notify::{EventKind, RecursiveMode, Watcher};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::north::EndpointError;
use crate::proxy::ProxyError;
use crate::runtime::{Inner, unix_now};

/// How often the file is read even without a change event (a safety net for
/// file systems that do not report changes).
const POLL: Duration = Duration::from_secs(5);

/// Why a config was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("reading {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    #[error(
        "the listeners (tcp server bindings, hosts, ports) differ from the running ones; changing them needs a restart"
    )]
    Listeners,
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

/// A config file that was refused: which one, why and when (for `/readyz`).
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    sha256: String,
    error: String,
    at: u64,
}

impl Failure {
    pub(crate) fn to_json(&self) -> Value {
        json!({"sha256": self.sha256, "error": self.error, "at": self.at})
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ReloadError> {
    std::fs::read(path).map_err(|e| ReloadError::Read {
        path: path.display().to_string(),
        reason: e.kind().to_string(),
    })
}

fn compile(bytes: &[u8]) -> Result<Plan, ReloadError> {
    let text = String::from_utf8_lossy(bytes);
    Ok(mcpgw_config::compile_yaml(&text)?)
}

/// Read and compile the config file: the plan and the file's SHA-256.
pub fn load(path: &Path) -> Result<(Plan, String), ReloadError> {
    let bytes = read(path)?;
    Ok((compile(&bytes)?, config_sha256(&bytes)))
}

/// Watch `path` until shutdown, applying each new version.
pub(crate) async fn watch(path: PathBuf, inner: Arc<Inner>) {
    let (tx, mut events) = mpsc::unbounded_channel();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let file_name = path.file_name().map(ToOwned::to_owned);
    // NB: notify calls back on its own thread; the channel hands events to this task.
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.as_ref().map_or(true, |e| {
            may_change_config(&e.kind, &e.paths, file_name.as_deref())
        }) {
            let _ = tx.send(());
        }
    })
    .and_then(|mut w| w.watch(&dir, RecursiveMode::NonRecursive).map(|()| w));
    let _watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the config directory; polling every {POLL:?}");
            None
        }
    };
    let mut poll = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            event = events.recv() => if event.is_none() { return },
            _ = poll.tick() => {}
            () = inner.shutdown_token().cancelled() => return,
        }
        check(&path, &inner);
    }
}

/// Whether an event of this kind on these paths of the config's directory can
/// change the config: a write, creation, removal or rename of the file itself
/// or of the kubelet's `..data` swap (names starting with `..`).
///
/// NB: reads are not changes. notify's inotify backend reports every open of a
/// watched file, and [`check`] opens the config: taking those for changes made
/// the watcher read the file again at once, forever, at most of a core. And
/// anything else written beside the config (a log file, say) would cost a read
/// and a SHA-256 per write. An event naming no path (a rescan) may concern
/// anything.
fn may_change_config(
    kind: &EventKind,
    paths: &[PathBuf],
    config: Option<&std::ffi::OsStr>,
) -> bool {
    !matches!(kind, EventKind::Access(_))
        && (paths.is_empty()
            || paths.iter().any(|p| {
                p.file_name().is_some_and(|name| {
                    Some(name) == config || name.as_encoded_bytes().starts_with(b"..")
                })
            }))
}

/// Read the file; apply it if its bytes are new.
fn check(path: &Path, inner: &Inner) {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(e) => {
            // Mid-swap or gone: keep serving; the next event or poll retries.
            tracing::debug!(error = %e, "config file not readable");
            return;
        }
    };
    let sha256 = config_sha256(&bytes);
    let served = inner.snapshot().applied.sha256.as_deref() == Some(&sha256);
    let refused = inner.last_failure().is_some_and(|f| f.sha256 == sha256);
    if served || refused {
        return;
    }
    let started = std::time::Instant::now();
    let outcome = compile(&bytes)
        .and_then(|plan| inner.apply(&plan, Some(sha256.clone())).map(|()| plan.name));
    match outcome {
        Ok(name) => {
            tracing::info!(config = %name, %sha256, took = ?started.elapsed(), "config applied");
            inner.set_last_failure(None);
            inner.metrics.config_reloaded(true);
        }
        Err(e) => {
            // NB: errors name config fields, never secret values (the config holds none).
            tracing::error!(%sha256, error = %e, "config rejected; still serving the last good one");
            inner.set_last_failure(Some(Failure {
                sha256,
                error: e.to_string(),
                at: unix_now(),
            }));
            inner.metrics.config_reloaded(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::PathBuf;

    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};

    use super::may_change_config;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names
            .iter()
            .map(|n| PathBuf::from("/etc/mcpgw").join(n))
            .collect()
    }

    #[test]
    fn the_file_and_the_kubelets_swap_concern_the_config_and_files_beside_it_do_not() {
        let config = Some(OsStr::new("config.yaml"));
        let written = EventKind::Modify(ModifyKind::Any);
        assert!(may_change_config(
            &written,
            &paths(&["config.yaml"]),
            config
        ));
        let swapped = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(may_change_config(&swapped, &paths(&["..data"]), config));
        let created = EventKind::Create(CreateKind::Folder);
        let timestamped = paths(&["..2026_12_07_05_00_00.123"]);
        assert!(may_change_config(&created, &timestamped, config));
        assert!(
            may_change_config(&EventKind::Any, &[], config),
            "a rescan names no path"
        );
        assert!(!may_change_config(
            &written,
            &paths(&["gateway.log"]),
            config
        ));
        let beside = paths(&["config.yaml.swp", "other.yaml"]);
        assert!(!may_change_config(&written, &beside, config));
    }

    #[test]
    fn reading_the_config_is_no_change_to_it() {
        let config = Some(OsStr::new("config.yaml"));
        for read in [
            AccessKind::Open(AccessMode::Any),
            AccessKind::Close(AccessMode::Read),
            AccessKind::Read,
        ] {
            let kind = EventKind::Access(read);
            assert!(!may_change_config(&kind, &paths(&["config.yaml"]), config));
        }
    }
}
