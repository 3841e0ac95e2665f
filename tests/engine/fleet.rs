//! The fleet: workers sharing one store take its lock around every token request, write
//! only over the record they started from, cool down together, pick up a re-connect,
//! and keep idle connections alive once each.

use crate::support::*;

/// `calls` concurrent fetches from each engine; how many succeeded.
fn herd(engines: &[Rc<Engine<FakeHost>>], calls: usize) -> usize {
    let mut pool = LocalPool::new();
    let ok = Rc::new(Cell::new(0));
    for _ in 0..calls {
        for e in engines {
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
    }
    pool.run();
    ok.get()
}

fn fleet(w: &Rc<World>, size: usize) -> Vec<Rc<Engine<FakeHost>>> {
    (0..size)
        .map(|i| engine(w, &format!("w{i}"), "10.0.0.1"))
        .collect()
}

#[test]
fn a_fleet_with_rotation_sends_one_token_request_per_expiry() {
    let w = world();
    w.sf.borrow_mut().rotate = true;
    w.token_yields.set(20);
    let workers = fleet(&w, 6);
    connect(&w, &workers[0], "10.0.0.1");
    assert_eq!(herd(&workers, 5), 30);
    for expiry in 1..=5 {
        // Killed server-side: every worker meets a 401 first.
        expire_everything(&w);
        assert_eq!(herd(&workers, 10), 60, "expiry {expiry}");
        assert_eq!(token_requests(&w), expiry, "expiry {expiry}");
    }
    for expiry in 6..=8 {
        // Expired by the clock: every worker renews ahead of the 401.
        w.now.set(w.now.get() + 3 * 3600 * 1000);
        assert_eq!(herd(&workers, 10), 60, "expiry {expiry}");
        assert_eq!(token_requests(&w), expiry, "expiry {expiry}");
    }
    let presented = w.sf.borrow().presented.clone();
    let mut distinct = presented.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        presented.len(),
        "a rotated-out refresh token was presented"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&w.store.borrow()["sfs:conn:acme"]).unwrap();
    let current = w.sf.borrow().refresh_tokens.clone();
    assert_eq!(current.len(), 1);
    assert_eq!(stored["refreshToken"], current[0].as_str());
    assert_eq!(stored["rotation"], true);
    assert_eq!(stored["gen"], 9);
}

#[test]
fn a_lock_left_by_a_dead_worker_is_waited_out_and_the_session_renewed() {
    let w = world();
    let workers = fleet(&w, 2);
    connect(&w, &workers[0], "10.0.0.1");
    expire_everything(&w);
    w.sleep_advances.set(true);
    // A worker took the lock for its token request and died with it.
    let started = w.now.get();
    w.locks
        .borrow_mut()
        .insert("sfs:conn:acme".into(), (999, started + 35_000));
    assert_eq!(herd(&workers, 5), 10);
    assert_eq!(token_requests(&w), 1);
    assert!(
        w.now.get() >= started + 35_000,
        "the lock's TTL ran out first"
    );
    assert!(w.locks.borrow().is_empty(), "the new holder released it");
}

#[test]
fn a_lock_held_past_every_bound_fails_the_call_without_a_token_request() {
    let w = world();
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    expire_everything(&w);
    w.sleep_advances.set(true);
    // A lock that never frees (a broken store): the wait is bounded.
    w.locks
        .borrow_mut()
        .insert("sfs:conn:acme".into(), (999, u64::MAX));
    let Err(FetchError::Session(err)) = run(e.fetch("acme", "/x", "GET", &())) else {
        panic!("must fail")
    };
    assert_eq!(err.code, ErrorCode::RefreshFailed);
    assert!(err.evidence.iter().any(|l| l.contains("lock")));
    assert_eq!(token_requests(&w), 0);
}

#[test]
fn a_refresh_never_writes_over_a_record_another_worker_wrote_meanwhile() {
    let w = world();
    w.sf.borrow_mut().rotate = true;
    let e = engine(&w, "w1", "10.0.0.1");
    connect(&w, &e, "10.0.0.1");
    expire_everything(&w);
    // While this worker's token request is out, the record is re-connected elsewhere.
    w.token_yields.set(5);
    let mut pool = LocalPool::new();
    let result = Rc::new(RefCell::new(None));
    {
        let (e, result) = (e.clone(), result.clone());
        pool.spawner()
            .spawn_local(async move {
                *result.borrow_mut() = Some(e.refresh("acme").await.is_ok());
            })
            .unwrap();
    }
    pool.run_until_stalled();
    let other = engine(&w, "w2", "10.0.0.2");
    let fresh = w.sf.borrow_mut().mint("10.0.0.2", w.now.get());
    run(other.connect("acme", &fresh, None)).unwrap();
    let connected = w.store.borrow()["sfs:conn:acme"].clone();
    pool.run();
    assert_eq!(*result.borrow(), Some(true));
    assert_eq!(
        w.store.borrow()["sfs:conn:acme"],
        connected,
        "the newer record stays as it was written"
    );
}

#[test]
fn a_reconnect_in_one_worker_lifts_a_revocation_in_all() {
    let w = world();
    let workers = fleet(&w, 3);
    connect(&w, &workers[0], "10.0.0.1");
    assert_eq!(herd(&workers, 2), 6);
    expire_everything(&w);
    w.sf.borrow_mut().revoked = Some("user has been deactivated");
    assert_eq!(herd(&workers, 10), 0);
    assert_eq!(token_requests(&w), 1, "the fleet saw the revocation once");
    w.sf.borrow_mut().revoked = None;
    connect(&w, &workers[0], "10.0.0.1");
    // Within the re-check interval the others still answer from memory; then they look.
    w.now.set(w.now.get() + 2_500);
    assert_eq!(herd(&workers, 10), 30);
    assert_eq!(token_requests(&w), 1);
}

#[test]
fn keep_alive_refreshes_each_idle_connection_once_across_workers() {
    let w = world();
    let workers = fleet(&w, 3);
    for id in ["idle-1", "idle-2", "busy"] {
        let body = w.sf.borrow_mut().mint_another("10.0.0.1", w.now.get());
        run(workers[0].connect(id, &body, None)).unwrap();
    }
    w.now.set(w.now.get() + 21 * 86_400_000);
    // "busy" was refreshed a day ago.
    run(workers[1].refresh("busy")).unwrap();
    w.now.set(w.now.get() + 86_400_000);
    let before = token_requests(&w);
    let mut pool = LocalPool::new();
    let reports = Rc::new(RefCell::new(Vec::new()));
    for e in &workers {
        let (e, reports) = (e.clone(), reports.clone());
        pool.spawner()
            .spawn_local(async move {
                let report = e.keep_alive(20 * 86_400_000).await.unwrap();
                reports.borrow_mut().push(report);
            })
            .unwrap();
    }
    pool.run();
    assert_eq!(token_requests(&w) - before, 2, "each idle connection once");
    let reports = reports.borrow();
    let mut refreshed: Vec<String> = reports.iter().flat_map(|r| r.refreshed.clone()).collect();
    refreshed.sort();
    assert_eq!(refreshed, ["idle-1", "idle-2"]);
    assert!(reports.iter().all(|r| r.failed.is_empty()));
    assert!(reports
        .iter()
        .all(|r| r.skipped.contains(&"busy".to_string())));
}
