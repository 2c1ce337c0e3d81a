//! The gateway as users run it: the `mcpgw-dataplane` binary in a process of
//! its own, with its own environment (e.g. `SSL_CERT_FILE`, which changes what
//! "the system's roots" are), killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

/// A running `mcpgw-dataplane` process.
pub struct GatewayProcess {
    child: Child,
    pub addr: std::net::SocketAddr,
    config: PathBuf,
    /// Every log line so far (JSON), and a signal for each new one.
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl GatewayProcess {
    /// Start the binary on `yaml` (its listener on port 0) with `env`, and
    /// wait for its "listening" line.
    pub fn start(yaml: &str, env: &[(&str, &str)]) -> Self {
        let config = std::env::temp_dir().join(format!(
            "mcpgw-process-{}-{}.yaml",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::write(&config, yaml).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcpgw-dataplane"))
            .arg("--config")
            .arg(&config)
            .arg("--log-json")
            .env("MCPGW_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gateway binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        let log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                let fields = &value["fields"];
                if fields["message"] == "listening"
                    && let Some(addr) = fields["addr"].as_str()
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(Ok(addr.parse().expect("addr")));
                }
                lines.0.lock().unwrap().push(line);
                lines.1.notify_all();
            }
            if let Some(tx) = tx {
                let _ = tx.send(Err(lines.0.lock().unwrap().join("\n")));
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(addr)) => Self {
                child,
                addr,
                config,
                log,
            },
            Ok(Err(log)) => panic!("the gateway exited before listening:\n{log}"),
            Err(_) => {
                let _ = child.kill();
                panic!("the gateway was not listening within 30 s");
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The log lines (JSON) whose message contains `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        let lines = self.log.0.lock().unwrap();
        lines.iter().filter(|l| l.contains(text)).cloned().collect()
    }

    /// Wait (up to `within`) for a log line containing every one of `texts`,
    /// and return it: the log is read on a thread of its own, so a line
    /// written just before a reply may not be here yet when the reply is.
    pub fn await_logged(&self, texts: &[&str], within: Duration) -> Option<String> {
        let find = |lines: &Vec<String>| {
            lines
                .iter()
                .find(|l| texts.iter().all(|t| l.contains(t)))
                .cloned()
        };
        let (lines, logged) = &*self.log;
        let lines = lines.lock().unwrap();
        let (lines, _) = logged
            .wait_timeout_while(lines, within, |lines| find(&*lines).is_none())
            .unwrap();
        find(&lines)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        // A failing test shows what the gateway said.
        if std::thread::panicking() {
            eprintln!("gateway log:\n{}", self.logged("").join("\n"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}
