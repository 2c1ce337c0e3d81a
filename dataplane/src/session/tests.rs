//! Unit tests of sessions and the session store.
use serde_json::json;

use super::*;

fn session() -> Arc<Session> {
    let hello = Hello {
        protocol_version: "2025-11-25".into(),
        capabilities: json!({}),
        client_info: json!({}),
        log_level: None,
    };
    let session = Session::new("2025-11-25", hello, None);
    session.set_id(format!("id-{}", rand::rng().next_u64()));
    Arc::new(session)
}

#[test]
fn idle_sessions_expire_unless_busy_or_streaming() {
    let store = SessionStore::default();
    let (idle, busy, streaming) = (session(), session(), session());
    for s in [&idle, &busy, &streaming] {
        store.insert(s.clone());
    }
    let _in_flight = busy.begin(RequestId::Number(1), None);
    let _stream = streaming.open_standalone().expect("the first stream opens");
    std::thread::sleep(Duration::from_millis(2));
    let expired = store.expire(Duration::from_millis(1));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id(), idle.id());
    assert!(idle.closed.is_cancelled(), "its streams are told to stop");
    assert!(
        store.get(idle.id()).is_none(),
        "an expired session is unknown (404)"
    );
    assert!(store.get(busy.id()).is_some() && store.get(streaming.id()).is_some());
}

#[test]
fn a_session_has_one_standalone_stream_at_a_time() {
    let s = session();
    let first = s.open_standalone().expect("opens");
    assert!(s.open_standalone().is_none());
    first.cancel();
    assert!(
        s.open_standalone().is_some(),
        "reopens once the first one closed"
    );
}

#[test]
fn an_ended_id_stays_ended() {
    let store = SessionStore::default();
    let s = session();
    store.insert(s.clone());
    assert!(!store.has_ended(s.id()));
    assert!(store.remove(s.id()).is_some());
    assert!(store.has_ended(s.id()));
    assert!(store.get(s.id()).is_none());
}

#[test]
fn a_session_survives_sealing_without_its_local_state() {
    let s = session();
    let state = s.sealed_state();
    let rebuilt = Session::from_sealed("sealed-id", state.clone()).expect("opens");
    assert_eq!(rebuilt.id(), "sealed-id");
    assert_eq!(rebuilt.protocol_version, s.protocol_version);
    assert_eq!(rebuilt.hello, s.hello);
    assert!(!rebuilt.issued_here);
    let unsupported = SealedState {
        protocol_version: "1999-01-01".into(),
        ..state
    };
    assert!(Session::from_sealed("x", unsupported).is_none());
}
