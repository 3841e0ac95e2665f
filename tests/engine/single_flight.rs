//! One refresh in flight per connection, however many calls meet an expired session.

use crate::support::*;

#[test]
fn a_thousand_concurrent_calls_on_an_expired_session_make_one_token_request() {
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    expire_everything(&w);
    let mut pool = LocalPool::new();
    let ok = Rc::new(Cell::new(0));
    for _ in 0..1000 {
        let (e, ok) = (e.clone(), ok.clone());
        pool.spawner()
            .spawn_local(async move {
                if matches!(
                    e.fetch("acme", "/services/data/v62.0/limits", "GET", &())
                        .await,
                    Ok((200, _))
                ) {
                    ok.set(ok.get() + 1);
                }
            })
            .unwrap();
    }
    pool.run();
    assert_eq!(ok.get(), 1000);
    assert_eq!(token_requests(&w), 1);
}

#[test]
fn a_waiter_takes_over_a_renewal_whose_worker_went_quiet() {
    use std::task::{Context, Poll};
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect_in_use(&w, &e, "10.0.0.1");
    expire_everything(&w);
    w.now.set(w.now.get() + 3 * 3600 * 1000);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    // The worker starts the renewal, then its request goes away: never polled again.
    let mut gone = Box::pin(e.fetch("acme", "/services/data/v62.0/limits", "GET", &()));
    assert!(gone.as_mut().poll(&mut cx).is_pending());
    let mut waiter = Box::pin(e.fetch("acme", "/services/data/v62.0/limits", "GET", &()));
    for _ in 0..50 {
        assert!(
            waiter.as_mut().poll(&mut cx).is_pending(),
            "it waits while the worker may still be at it"
        );
    }
    assert_eq!(token_requests(&w), 0);
    // Longer than a token request may take (30 s by default) plus the margin.
    w.now.set(w.now.get() + 40_000);
    let outcome = loop {
        if let Poll::Ready(r) = waiter.as_mut().poll(&mut cx) {
            break r;
        }
    };
    assert!(
        matches!(outcome, Ok((200, _))),
        "the waiter renewed and its call succeeded"
    );
    assert_eq!(token_requests(&w), 1);
    drop(gone);
}
