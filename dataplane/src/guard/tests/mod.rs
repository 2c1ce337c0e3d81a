//! Tests of the JWT guard, with tokens minted by test keys.

mod cache;
mod fuzz;
mod keys;
mod verify;

// The integration tests' token minting, shared rather than copied.
#[path = "../../../tests/support/tokens.rs"]
#[allow(dead_code)]
mod tokens;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mcpgw_config::{JwtAlgorithm, JwtGuardPlan, KeySource};

use super::{JwtGuard, KeyFetcher};

/// The audience the test tokens are minted for.
const AUDIENCE: &str = "https://mcp.example.test/mcp";

/// A plan accepting the test issuer's tokens for [`AUDIENCE`] from `keys`.
fn plan(keys: KeySource) -> JwtGuardPlan {
    JwtGuardPlan {
        issuer: tokens::ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        keys,
        algorithms: JwtAlgorithm::ALL.to_vec(),
        leeway: Duration::from_secs(30),
        roles_claim: "scope".into(),
        identity_claim: "sub".into(),
        refresh_interval: Duration::from_secs(300),
        trust_files: Vec::new(),
    }
}

/// A guard with `jwks` written inline.
fn inline_guard(jwks: &str) -> JwtGuard {
    JwtGuard::new(&plan(KeySource::Inline(jwks.into())), KeyFetcher::new()).expect("guard builds")
}

/// A JWKS server on a loopback port that counts requests, serves a reply the
/// test can change, and can hold its replies until the test opens a gate.
struct JwksServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    reply: Arc<Mutex<(u16, String)>>,
    gate: Arc<(Mutex<bool>, Condvar)>,
    arrivals: tokio::sync::mpsc::UnboundedReceiver<()>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl JwksServer {
    fn start(body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let hits = Arc::new(AtomicUsize::new(0));
        let reply = Arc::new(Mutex::new((200, body.to_owned())));
        let gate = Arc::new((Mutex::new(true), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (arrived, arrivals) = tokio::sync::mpsc::unbounded_channel();
        let thread = {
            let (hits, reply, gate, stop) =
                (hits.clone(), reply.clone(), gate.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    if !read_request(&mut stream) {
                        continue;
                    }
                    hits.fetch_add(1, Ordering::SeqCst);
                    let _ = arrived.send(());
                    let (open, opened) = &*gate;
                    let mut is_open = open.lock().expect("gate");
                    while !*is_open {
                        is_open = opened.wait(is_open).expect("gate");
                    }
                    drop(is_open);
                    let (status, body) = reply.lock().expect("reply").clone();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            })
        };
        Self {
            addr,
            hits,
            reply,
            gate,
            arrivals,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> url::Url {
        format!("http://{}/jwks.json", self.addr)
            .parse()
            .expect("URL")
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn reply(&self, status: u16, body: &str) {
        *self.reply.lock().expect("reply") = (status, body.to_owned());
    }

    fn hold(&self, held: bool) {
        let (open, opened) = &*self.gate;
        *open.lock().expect("gate") = !held;
        opened.notify_all();
    }

    /// Waits until a request has reached the server.
    async fn arrival(&mut self) {
        self.arrivals.recv().await.expect("server is running");
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.hold(false);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads a request's head; `false` when the peer sent none.
fn read_request(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}
