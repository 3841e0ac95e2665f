//! The engine over a plain-Rust host: a tiny Salesforce (tokens bound to a source
//! address, rotation, revocation) and a shared in-memory store, driven on a local
//! executor so that concurrency is real (many calls in flight at once).
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use salesforce_session::config::Config;
use salesforce_session::engine::{Engine, FetchError};
use salesforce_session::error::ErrorCode;
use salesforce_session::host::{Host, HttpReply};
use salesforce_session::secret::Secret;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

const INSTANCE: &str = "https://acme.my.salesforce.com";
const ID_URL: &str = "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU";

/// Yields once, so that concurrent calls interleave as they would on a network.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[derive(Default)]
struct Salesforce {
    /// access token -> (source address, live)
    sessions: HashMap<String, (String, bool)>,
    /// refresh tokens currently valid
    refresh_tokens: Vec<String>,
    /// every refresh token presented, in order
    presented: Vec<String>,
    rotate: bool,
    ip_lock: bool,
    revoked: Option<&'static str>,
    token_endpoint_down: bool,
    counter: u32,
    rest_calls: u32,
}

impl Salesforce {
    fn mint(&mut self, address: &str, now: u64) -> String {
        self.counter += 1;
        let access = format!("00Dx!access{}", self.counter);
        self.sessions
            .insert(access.clone(), (address.to_string(), true));
        let refresh = if self.rotate || self.refresh_tokens.is_empty() {
            let r = format!("5Aep-refresh{}", self.counter);
            self.refresh_tokens = vec![r.clone()];
            Some(r)
        } else {
            None
        };
        let mut body = format!(
            r#"{{"access_token":"{access}","instance_url":"{INSTANCE}","id":"{ID_URL}","token_type":"Bearer","issued_at":"{now}""#
        );
        if let Some(r) = refresh {
            body.push_str(&format!(r#","refresh_token":"{r}""#));
        }
        body.push('}');
        body
    }
}

struct World {
    sf: RefCell<Salesforce>,
    store: RefCell<HashMap<String, String>>,
    now: Cell<u64>,
    store_broken: Cell<bool>,
}

struct FakeHost {
    world: Rc<World>,
    address: &'static str,
    events: RefCell<Vec<serde_json::Value>>,
}

impl Host for FakeHost {
    type Request = ();
    type Response = (u16, String);
    type SendError = String;

    async fn send(
        &self,
        url: &str,
        _method: &str,
        _request: &(),
        bearer: &Secret,
    ) -> Result<(u16, String), String> {
        YieldOnce(false).await;
        assert!(url.starts_with(INSTANCE), "the bearer token went to {url}");
        let mut sf = self.world.sf.borrow_mut();
        sf.rest_calls += 1;
        let ok = match sf.sessions.get(bearer.expose()) {
            Some((address, live)) => *live && (!sf.ip_lock || address == self.address),
            None => false,
        };
        if ok {
            Ok((200, "{}".into()))
        } else {
            Ok((
                401,
                r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
                    .into(),
            ))
        }
    }
    fn status(&self, r: &(u16, String)) -> u16 {
        r.0
    }
    async fn peek_body(&self, r: &(u16, String)) -> String {
        r.1.clone()
    }
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, String> {
        YieldOnce(false).await;
        assert_eq!(url, "https://login.salesforce.com/services/oauth2/token");
        let mut sf = self.world.sf.borrow_mut();
        if sf.token_endpoint_down {
            return Ok(HttpReply {
                status: 503,
                body: "<html><body>Service Unavailable</body></html>".into(),
            });
        }
        let presented = form
            .iter()
            .find(|(k, _)| *k == "refresh_token")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        sf.presented.push(presented.clone());
        if let Some(description) = sf.revoked {
            return Ok(HttpReply {
                status: 400,
                body: format!(r#"{{"error":"invalid_grant","error_description":"{description}"}}"#),
            });
        }
        if !sf.refresh_tokens.contains(&presented) {
            return Ok(HttpReply { status: 400, body: r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#.into() });
        }
        let now = self.world.now.get();
        Ok(HttpReply {
            status: 200,
            body: sf.mint(self.address, now),
        })
    }
    async fn get_with_bearer(&self, _url: &str, _bearer: &Secret) -> Result<HttpReply, String> {
        Ok(HttpReply {
            status: 200,
            body: "{}".into(),
        })
    }
    async fn post_json(
        &self,
        _url: &str,
        _body: &str,
        _headers: &[(&str, &str)],
    ) -> Result<HttpReply, String> {
        Ok(HttpReply {
            status: 200,
            body: String::new(),
        })
    }
    async fn store_get(&self, key: &str) -> Result<Option<String>, String> {
        YieldOnce(false).await;
        Ok(self.world.store.borrow().get(key).cloned())
    }
    async fn store_put(&self, key: &str, value: &str) -> Result<(), String> {
        if self.world.store_broken.get() {
            return Err("backend unavailable".into());
        }
        self.world
            .store
            .borrow_mut()
            .insert(key.into(), value.into());
        Ok(())
    }
    async fn store_delete(&self, key: &str) -> Result<(), String> {
        self.world.store.borrow_mut().remove(key);
        Ok(())
    }
    fn now_ms(&self) -> u64 {
        self.world.now.get()
    }
    async fn sleep_ms(&self, _ms: u64) {}
    fn wants_events(&self) -> bool {
        true
    }
    fn emit(&self, event_json: &str) {
        let event = serde_json::from_str(event_json).expect("events are JSON objects");
        self.events.borrow_mut().push(event);
    }
}

fn world() -> Rc<World> {
    Rc::new(World {
        sf: RefCell::new(Salesforce::default()),
        store: RefCell::new(HashMap::new()),
        now: Cell::new(1_800_000_000_000),
        store_broken: Cell::new(false),
    })
}

fn engine(world: &Rc<World>, instance: &str, address: &'static str) -> Rc<Engine<FakeHost>> {
    let config = Config::from_json(&format!(
        r#"{{"clientId":"app","instanceId":"{instance}","refreshBackoffMs":0}}"#
    ))
    .unwrap();
    Rc::new(Engine::new(
        FakeHost {
            world: world.clone(),
            address,
            events: RefCell::new(Vec::new()),
        },
        config,
    ))
}

fn run<T>(f: impl Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

fn connect(world: &Rc<World>, e: &Engine<FakeHost>, address: &str) {
    let body = world.sf.borrow_mut().mint(address, world.now.get());
    run(e.connect("acme", &body)).unwrap();
}

fn expire_everything(world: &World) {
    for (_, live) in world.sf.borrow_mut().sessions.values_mut() {
        *live = false;
    }
}

fn token_requests(world: &World) -> usize {
    world.sf.borrow().presented.len()
}

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
fn a_revoked_connection_stops_every_worker_from_asking_for_tokens() {
    let w = world();
    let (a, b) = (engine(&w, "w1", "10.0.0.1"), engine(&w, "w2", "10.0.0.1"));
    connect(&w, &a, "10.0.0.1");
    assert!(run(b.fetch("acme", "/services/data/v62.0/limits", "GET", &())).is_ok());
    expire_everything(&w);
    w.sf.borrow_mut().revoked = Some("inactive user");
    let Err(FetchError::Session(err)) = run(a.fetch("acme", "/x", "GET", &())) else {
        panic!("must fail")
    };
    assert_eq!(err.code, ErrorCode::SessionRevoked);
    assert_eq!(err.status, Some(400));
    assert!(err.reauth_required);
    assert!(err.evidence.iter().any(|l| l.contains("\"inactive user\"")));
    let asked = token_requests(&w);
    let Err(FetchError::Session(err)) = run(b.fetch("acme", "/x", "GET", &())) else {
        panic!("must fail")
    };
    assert_eq!(err.code, ErrorCode::SessionRevoked);
    assert_eq!(
        token_requests(&w),
        asked,
        "the second worker asked for a token"
    );
}

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
fn reading_info_after_another_worker_found_the_ip_lock_keeps_this_workers_token() {
    let w = world();
    w.sf.borrow_mut().ip_lock = true;
    let (a, b) = (
        engine(&w, "worker-a", "10.0.0.1"),
        engine(&w, "worker-b", "10.0.0.2"),
    );
    connect(&w, &a, "10.0.0.1");
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
    // A token due for refresh takes the full path instead.
    w.now.set(w.now.get() + 3 * 3600 * 1000);
    assert!(e.prepare("acme", "/x", "GET").unwrap().is_none());
    let events = e.host().events.borrow();
    assert!(events
        .iter()
        .filter(|ev| ev["type"] == "request")
        .all(|ev| ev["attempt"].as_u64().is_some()));
}
