//! A plain-Rust host for the engine, one impl per capability: a tiny Salesforce (tokens bound to a source
//! address, rotation, revocation) and a shared in-memory store, driven on a local
//! executor so that concurrency is real (many calls in flight at once).

pub use futures::executor::LocalPool;
pub use futures::task::LocalSpawnExt;
pub use salesforce_session::config::Config;
pub use salesforce_session::engine::events::Event;
pub use salesforce_session::engine::{Engine, FetchError};
pub use salesforce_session::error::ErrorCode;
pub use salesforce_session::host::{Clock, Crypto, Events, HostError, HttpReply, Store, Transport};
pub use salesforce_session::secret::Secret;
pub use std::cell::{Cell, RefCell};
pub use std::collections::HashMap;
pub use std::future::Future;
pub use std::pin::Pin;
pub use std::rc::Rc;
pub use std::task::{Context, Poll};

pub const INSTANCE: &str = "https://acme.my.salesforce.com";
pub const ID_URL: &str = "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU";

/// Yields once, so that concurrent calls interleave as they would on a network.
pub struct YieldOnce(pub bool);
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
pub struct Salesforce {
    /// access token -> (source address, live)
    pub sessions: HashMap<String, (String, bool)>,
    /// refresh tokens currently valid
    pub refresh_tokens: Vec<String>,
    /// every refresh token presented, in order
    pub presented: Vec<String>,
    pub rotate: bool,
    pub ip_lock: bool,
    pub revoked: Option<&'static str>,
    pub token_endpoint_down: bool,
    pub counter: u32,
    pub rest_calls: u32,
}

impl Salesforce {
    /// A token response for another connection: its own refresh token, the others stay valid.
    pub fn mint_another(&mut self, address: &str, now: u64) -> String {
        let others = std::mem::take(&mut self.refresh_tokens);
        let rotate = std::mem::replace(&mut self.rotate, true);
        let body = self.mint(address, now);
        self.rotate = rotate;
        self.refresh_tokens.extend(others);
        body
    }

    pub fn mint(&mut self, address: &str, now: u64) -> String {
        self.counter += 1;
        let access = format!("00Dx0000000BV7z!access-{:04}", self.counter);
        self.sessions
            .insert(access.clone(), (address.to_string(), true));
        let refresh = if self.rotate || self.refresh_tokens.is_empty() {
            let r = format!("5Aep861TSES-refresh-{:04}", self.counter);
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

pub struct World {
    pub sf: RefCell<Salesforce>,
    pub store: RefCell<HashMap<String, String>>,
    pub now: Cell<u64>,
    pub store_broken: Cell<bool>,
    /// key -> (holder, expires at): the store's lock, shared by every host of the world.
    pub locks: RefCell<HashMap<String, (u32, u64)>>,
    pub lock_serial: Cell<u32>,
    /// How many times a lock was taken.
    pub locks_taken: Cell<u32>,
    /// How many turns of the executor a token request takes (a slow token endpoint).
    pub token_yields: Cell<u32>,
    /// Whether waiting moves the clock (waits that run out a lock's TTL).
    pub sleep_advances: Cell<bool>,
}

pub struct FakeHost {
    pub world: Rc<World>,
    pub address: &'static str,
    pub events: RefCell<Vec<serde_json::Value>>,
}

impl Transport for FakeHost {
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
    fn abort_reason(&self, _request: &()) -> Option<String> {
        None
    }
    fn status(&self, r: &(u16, String)) -> u16 {
        r.0
    }
    async fn peek_body(&self, r: &(u16, String)) -> String {
        r.1.clone()
    }
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<HttpReply, HostError> {
        YieldOnce(false).await;
        for _ in 0..self.world.token_yields.get() {
            YieldOnce(false).await;
        }
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
    async fn get_with_bearer(&self, _url: &str, _bearer: &Secret) -> Result<HttpReply, HostError> {
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
    ) -> Result<HttpReply, HostError> {
        Ok(HttpReply {
            status: 200,
            body: String::new(),
        })
    }
}

impl Store for FakeHost {
    async fn store_get(&self, key: &str) -> Result<Option<String>, HostError> {
        YieldOnce(false).await;
        Ok(self.world.store.borrow().get(key).cloned())
    }
    async fn store_put(&self, key: &str, value: &str) -> Result<(), HostError> {
        if self.world.store_broken.get() {
            return Err(HostError::new("backend unavailable"));
        }
        self.world
            .store
            .borrow_mut()
            .insert(key.into(), value.into());
        Ok(())
    }
    async fn store_delete(&self, key: &str) -> Result<(), HostError> {
        self.world.store.borrow_mut().remove(key);
        Ok(())
    }
    async fn store_compare_and_put(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, HostError> {
        if self.world.store_broken.get() {
            return Err(HostError::new("backend unavailable"));
        }
        let mut store = self.world.store.borrow_mut();
        if store.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        store.insert(key.into(), value.into());
        Ok(true)
    }
    type Lock = (String, u32);
    async fn store_lock(&self, key: &str, ttl_ms: u64) -> Result<Option<(String, u32)>, HostError> {
        YieldOnce(false).await;
        let now = self.world.now.get();
        let mut locks = self.world.locks.borrow_mut();
        if locks.get(key).is_some_and(|(_, until)| *until > now) {
            return Ok(None);
        }
        let serial = self.world.lock_serial.get() + 1;
        self.world.lock_serial.set(serial);
        self.world.locks_taken.set(self.world.locks_taken.get() + 1);
        locks.insert(key.into(), (serial, now + ttl_ms));
        Ok(Some((key.into(), serial)))
    }
    fn store_has_lock(&self) -> bool {
        true
    }
    async fn store_unlock(&self, (key, serial): (String, u32)) {
        let mut locks = self.world.locks.borrow_mut();
        if locks.get(&key).is_some_and(|(holder, _)| *holder == serial) {
            locks.remove(&key);
        }
    }
    async fn store_list(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        let mut keys: Vec<String> = self
            .world
            .store
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        keys.sort();
        Ok(keys)
    }
}

impl Clock for FakeHost {
    fn now_ms(&self) -> u64 {
        self.world.now.get()
    }
    async fn sleep_ms(&self, ms: u64) {
        if self.world.sleep_advances.get() {
            self.world.now.set(self.world.now.get() + ms);
        }
        YieldOnce(false).await;
    }
}

impl Crypto for FakeHost {
    async fn hmac_sha256_hex(&self, key: &Secret, data: &str) -> Result<String, HostError> {
        Ok(hmac_sha256_hex(key.expose().as_bytes(), data.as_bytes()))
    }
    async fn sign_jwt(&self, id: &str, claims: &str) -> Result<Secret, HostError> {
        Ok(Secret::new(format!("jwt.{id}.{claims}")))
    }
}

/// What WebCrypto computes for the module: HMAC-SHA256, lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Events for FakeHost {
    fn wants_events(&self) -> bool {
        true
    }
    fn emit(&self, event: &Event<'_>, secrets: &[&str]) {
        let text = serde_json::to_string(event).expect("events serialize");
        let text = salesforce_session::decide::redact::redact_json(&text, secrets);
        let event = serde_json::from_str(&text).expect("redacted events stay JSON");
        self.events.borrow_mut().push(event);
    }
}

pub fn world() -> Rc<World> {
    Rc::new(World {
        sf: RefCell::new(Salesforce::default()),
        store: RefCell::new(HashMap::new()),
        now: Cell::new(1_800_000_000_000),
        store_broken: Cell::new(false),
        locks: RefCell::new(HashMap::new()),
        lock_serial: Cell::new(0),
        locks_taken: Cell::new(0),
        token_yields: Cell::new(0),
        sleep_advances: Cell::new(false),
    })
}

pub fn engine(world: &Rc<World>, instance: &str, address: &'static str) -> Rc<Engine<FakeHost>> {
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

pub fn run<T>(f: impl Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

pub fn connect(world: &Rc<World>, e: &Engine<FakeHost>, address: &str) {
    let body = world.sf.borrow_mut().mint(address, world.now.get());
    run(e.connect("acme", &body, None)).unwrap();
}

/// Connects, then loads the connection into the engine's memory, as its first call would
/// (a connection nobody has called yet lives in the store alone).
pub fn connect_in_use(world: &Rc<World>, e: &Engine<FakeHost>, address: &str) {
    connect(world, e, address);
    run(e.info("acme")).unwrap();
}

pub fn expire_everything(world: &World) {
    for (_, live) in world.sf.borrow_mut().sessions.values_mut() {
        *live = false;
    }
}

pub fn token_requests(world: &World) -> usize {
    world.sf.borrow().presented.len()
}
