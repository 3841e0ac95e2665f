//! Failed refreshes and failing stores: nothing stored is lost, the new token is kept.

use crate::support::*;

#[test]
fn a_failed_refresh_never_overwrites_the_stored_credential() {
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    let before = w.store.borrow().get("sfs:conn:acme").cloned();
    expire_everything(&w);
    w.sf.borrow_mut().token_endpoint_down = true;
    let Err(FetchError::Session(err)) =
        run(e.fetch("acme", "/services/data/v62.0/limits", "GET", &()))
    else {
        panic!("must fail")
    };
    assert_eq!(err.code, ErrorCode::RefreshFailed);
    assert_eq!(err.status, Some(503));
    assert!(err.retryable);
    // The credential stays as it was; only the fleet's cooldown is added to the record.
    let stored = |text: Option<String>| -> serde_json::Value {
        serde_json::from_str(&text.expect("a record")).expect("JSON")
    };
    let (before, after) = (
        stored(before),
        stored(w.store.borrow().get("sfs:conn:acme").cloned()),
    );
    for member in [
        "accessToken",
        "refreshToken",
        "issuedAt",
        "expiresAt",
        "mintedBy",
    ] {
        assert_eq!(before[member], after[member], "{member}");
    }
    assert!(after["cooldownUntil"].as_u64().unwrap() > w.now.get());
    // Meanwhile no worker sends another token request; afterwards one may.
    let requests = token_requests(&w);
    let Err(FetchError::Session(again)) = run(e.fetch("acme", "/x", "GET", &())) else {
        panic!("must fail")
    };
    assert_eq!(again.code, ErrorCode::RefreshFailed);
    assert!(again.evidence.iter().any(|e| e.contains("cooldown")));
    let other = engine(&w, "w2", "10.0.0.2");
    assert!(run(other.fetch("acme", "/x", "GET", &())).is_err());
    assert_eq!(
        token_requests(&w),
        requests,
        "no token request during the cooldown"
    );
    w.now.set(w.now.get() + 5_000);
    w.sf.borrow_mut().token_endpoint_down = false;
    assert!(run(e.fetch("acme", "/x", "GET", &())).is_ok());
}

#[test]
fn a_store_that_fails_on_write_keeps_the_refreshed_token_in_memory() {
    let w = world();
    w.sf.borrow_mut().rotate = true;
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    expire_everything(&w);
    w.store_broken.set(true);
    let Err(FetchError::Session(err)) = run(e.fetch("acme", "/x", "GET", &())) else {
        panic!("must fail")
    };
    assert_eq!(err.code, ErrorCode::StoreFailed);
    // The rotated-out refresh token is not presented again: the next call uses the new access token.
    w.store_broken.set(false);
    assert!(run(e.fetch("acme", "/x", "GET", &())).is_ok());
    assert_eq!(token_requests(&w), 1);
}

#[test]
fn a_renewal_dropped_midway_releases_its_waiters_and_the_next_call_renews() {
    use std::task::{Context, Poll};
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect_in_use(&w, &e, "10.0.0.1");
    // Past the session timeout: the next call renews before sending.
    w.now.set(w.now.get() + 3 * 3600 * 1000);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut first = Box::pin(e.fetch("acme", "/services/data/v62.0/limits", "GET", &()));
    assert!(
        first.as_mut().poll(&mut cx).is_pending(),
        "the renewal is under way"
    );
    let mut waiter = Box::pin(e.fetch("acme", "/services/data/v62.0/limits", "GET", &()));
    assert!(
        waiter.as_mut().poll(&mut cx).is_pending(),
        "the second call waits for it"
    );
    drop(first);
    let outcome = loop {
        if let Poll::Ready(r) = waiter.as_mut().poll(&mut cx) {
            break r;
        }
    };
    // The waiter is not stranded: it goes on with the current token or a clear error.
    match outcome {
        Ok(_) => {}
        Err(FetchError::Session(err)) => assert_eq!(err.code, ErrorCode::RefreshFailed),
        Err(FetchError::Transport(t)) => panic!("transport error {t}"),
    }
    assert_eq!(
        token_requests(&w),
        0,
        "the dropped renewal never reached the token endpoint"
    );
    // The flight is gone: a new renewal runs instead of joining the abandoned one.
    run(e.refresh("acme")).unwrap();
    assert_eq!(token_requests(&w), 1);
    assert!(run(e.fetch("acme", "/services/data/v62.0/limits", "GET", &())).is_ok());
}

#[test]
fn a_connect_during_a_refresh_is_not_overwritten_by_that_refresh() {
    use std::task::{Context, Poll};
    let w = world();
    w.sf.borrow_mut().rotate = true;
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut refresh = Box::pin(e.refresh("acme"));
    // Until its token request has been answered (the result is not stored yet).
    while token_requests(&w) == 0 {
        assert!(refresh.as_mut().poll(&mut cx).is_pending());
    }
    // A person authorizes again meanwhile: a new token family is stored.
    let fresh = w.sf.borrow_mut().mint("10.0.0.1", w.now.get());
    let fresh_refresh = serde_json::from_str::<serde_json::Value>(&fresh).unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    run(e.connect("acme", &fresh, None)).unwrap();
    let done = loop {
        if let Poll::Ready(r) = refresh.as_mut().poll(&mut cx) {
            break r;
        }
    };
    assert!(done.is_ok(), "{done:?}");
    let stored = w.store.borrow().get("sfs:conn:acme").cloned().unwrap();
    assert!(
        stored.contains(&fresh_refresh),
        "the store keeps the refresh token connect() stored"
    );
}
