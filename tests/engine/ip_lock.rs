//! IP-locked orgs: per-instance tokens instead of refresh ping-pong.

use crate::support::*;

#[test]
fn ip_locked_workers_keep_their_own_tokens_instead_of_ping_ponging() {
    let w = world();
    w.sf.borrow_mut().ip_lock = true;
    let (a, b) = (
        engine(&w, "worker-a", "10.0.0.1"),
        engine(&w, "worker-b", "10.0.0.2"),
    );
    connect(&w, &a, "10.0.0.1");
    for _ in 0..10 {
        assert!(run(a.fetch("acme", "/x", "GET", &())).is_ok());
        assert!(run(b.fetch("acme", "/x", "GET", &())).is_ok());
    }
    assert_eq!(
        token_requests(&w),
        1,
        "only worker-b's first call needed a token"
    );
    let diagnosed = b
        .host()
        .events
        .borrow()
        .iter()
        .any(|e| e["type"] == "diagnosis" && e["cause"] == "IP_LOCKED");
    assert!(diagnosed);
    // After the sessions expire, each worker refreshes its own token once.
    expire_everything(&w);
    for _ in 0..5 {
        assert!(run(a.fetch("acme", "/x", "GET", &())).is_ok());
        assert!(run(b.fetch("acme", "/x", "GET", &())).is_ok());
    }
    assert_eq!(token_requests(&w), 3);
}

#[test]
fn reading_info_after_another_worker_found_the_ip_lock_keeps_this_workers_token() {
    let w = world();
    w.sf.borrow_mut().ip_lock = true;
    let (a, b) = (
        engine(&w, "worker-a", "10.0.0.1"),
        engine(&w, "worker-b", "10.0.0.2"),
    );
    connect_in_use(&w, &a, "10.0.0.1");
    assert!(run(b.fetch("acme", "/x", "GET", &())).is_ok());
    let info = run(a.info("acme")).unwrap();
    assert!(info.ip_locked);
    assert_eq!(info.minted_by, "worker-a");
    let asked = token_requests(&w);
    assert!(run(a.fetch("acme", "/x", "GET", &())).is_ok());
    assert_eq!(
        token_requests(&w),
        asked,
        "worker-a's own token still works"
    );
}

#[test]
fn a_worker_that_adopts_a_foreign_token_which_then_fails_detects_the_ip_lock() {
    let w = world();
    w.sf.borrow_mut().ip_lock = true;
    let (a, b) = (
        engine(&w, "worker-a", "10.0.0.1"),
        engine(&w, "worker-b", "10.0.0.2"),
    );
    connect(&w, &a, "10.0.0.1");
    // Twenty minutes on, worker-a's token is too old to tell an IP lock from an expiry.
    w.now.set(w.now.get() + 20 * 60_000);
    assert!(run(b.fetch("acme", "/x", "GET", &())).is_ok());
    assert!(!b
        .host()
        .events
        .borrow()
        .iter()
        .any(|e| e["cause"] == "IP_LOCKED"));
    // Sessions die; worker-a adopts worker-b's fresh stored token, which its address cannot use.
    expire_everything(&w);
    assert!(run(a.fetch("acme", "/x", "GET", &())).is_ok());
    assert!(a
        .host()
        .events
        .borrow()
        .iter()
        .any(|e| e["type"] == "diagnosis" && e["cause"] == "IP_LOCKED"));
    assert_eq!(token_requests(&w), 2);
    for _ in 0..5 {
        assert!(run(a.fetch("acme", "/x", "GET", &())).is_ok());
        assert!(run(b.fetch("acme", "/x", "GET", &())).is_ok());
    }
    assert_eq!(
        token_requests(&w),
        3,
        "worker-b mints its own token once, then no ping-pong"
    );
}
