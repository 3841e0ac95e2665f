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
    assert_eq!(w.store.borrow().get("sfs:conn:acme").cloned(), before);
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
