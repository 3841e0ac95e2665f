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
