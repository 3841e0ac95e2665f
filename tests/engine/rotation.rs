//! Refresh-token rotation: a rotated-out refresh token is never presented again.

use crate::support::*;

#[test]
fn rotated_refresh_token_is_never_presented_twice() {
    let w = world();
    w.sf.borrow_mut().rotate = true;
    let (a, b) = (engine(&w, "w1", "10.0.0.1"), engine(&w, "w2", "10.0.0.1"));
    connect(&w, &a, "10.0.0.1");
    for round in 0..6 {
        expire_everything(&w);
        let worker = if round % 2 == 0 { &a } else { &b };
        assert!(
            run(worker.fetch("acme", "/services/data/v62.0/limits", "GET", &())).is_ok(),
            "round {round}"
        );
    }
    let presented = w.sf.borrow().presented.clone();
    let mut distinct = presented.clone();
    distinct.dedup();
    assert_eq!(presented.len(), 6);
    assert_eq!(
        distinct.len(),
        presented.len(),
        "a refresh token was presented twice: {presented:?}"
    );
}
