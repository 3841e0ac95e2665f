//! The synchronous hot path: prepare, send, settle, and resume for session failures.

use crate::support::*;

/// The hot path as the JavaScript side drives it: prepare, send, settle, resume.
async fn prepared_call(e: &Engine<FakeHost>, path: &str) -> Result<u16, String> {
    let Some(p) = e
        .prepare("acme", path, "GET")
        .map_err(|err| err.code.as_str().to_string())?
    else {
        return e
            .fetch("acme", path, "GET", &())
            .await
            .map(|r| r.0)
            .map_err(|_| "slow path failed".into());
    };
    let response = e.host().send(&p.url, "GET", &(), &p.bearer).await?;
    if e.settle("acme", "GET", &p.path, response.0, p.started) {
        return Ok(response.0);
    }
    let call = salesforce_session::engine::Outgoing {
        url: &p.url,
        path: &p.path,
        method: "GET",
        request: &(),
    };
    e.resume("acme", call, response, p.bearer)
        .await
        .map(|r| r.0)
        .map_err(|_| "resume failed".into())
}

#[test]
fn the_hot_path_sends_without_the_engine_and_hands_rejections_back_to_it() {
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    assert_eq!(
        run(prepared_call(&e, "/services/data/v62.0/limits")),
        Ok(200)
    );
    assert_eq!(token_requests(&w), 0);
    // A session that died at the server: the response goes back to the engine, which refreshes once.
    expire_everything(&w);
    assert_eq!(
        run(prepared_call(&e, "/services/data/v62.0/limits")),
        Ok(200)
    );
    assert_eq!(token_requests(&w), 1);
    // Refused targets never reach the host.
    let calls = w.sf.borrow().rest_calls;
    assert!(
        matches!(e.prepare("acme", "https://login.salesforce.com/services/data", "GET"), Err(err) if err.code == ErrorCode::WrongInstanceUrl)
    );
    assert_eq!(w.sf.borrow().rest_calls, calls);
    // Reads may reuse a prepared token until its refresh is due, and not after.
    let p = e.prepare("acme", "/x", "GET").unwrap().unwrap();
    assert!(p.fresh_until > p.started);
    w.now.set(p.fresh_until);
    assert!(e.prepare("acme", "/x", "GET").unwrap().is_none());
    // A token due for refresh takes the full path instead.
    w.now.set(w.now.get() + 3 * 3600 * 1000);
    assert!(e.prepare("acme", "/x", "GET").unwrap().is_none());
    let events = e.host().events.borrow();
    assert!(events
        .iter()
        .filter(|ev| ev["type"] == "request")
        .all(|ev| ev["attempt"].as_u64().is_some()));
}

#[test]
fn a_connection_nobody_has_called_lives_in_the_store_alone_until_its_first_call() {
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    // Idle: nothing of it in memory, so the hot path sends the first call down the full path.
    assert_eq!(e.instance_origin("acme"), None);
    assert!(e.prepare("acme", "/x", "GET").unwrap().is_none());
    assert_eq!(
        run(e.fetch("acme", "/x", "GET", &())).map(|r| r.0).ok(),
        Some(200)
    );
    assert_eq!(
        token_requests(&w),
        0,
        "the stored token served the first call"
    );
    // In use now: the next call takes the hot path, and a new connect replaces it in memory.
    assert!(e.instance_origin("acme").is_some());
    assert!(e.prepare("acme", "/x", "GET").unwrap().is_some());
    let body = w.sf.borrow_mut().mint("10.0.0.1", w.now.get());
    run(e.connect("acme", &body, None)).unwrap();
    let minted: serde_json::Value = serde_json::from_str(&body).unwrap();
    let p = e.prepare("acme", "/x", "GET").unwrap().unwrap();
    assert_eq!(
        Some(p.bearer.expose()),
        minted["access_token"].as_str(),
        "calls go with the token of the latest connect"
    );
}
