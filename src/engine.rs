//! The session engine: every call's path from "which token?" to "which root cause?".
//! It owns the in-memory state (cached credentials, refreshes in flight, org
//! read-only state, spike windows) and talks to the outside only through [`Host`].

use crate::classify::{
    after_rejection, classify_response, classify_token_failure, ip_lock_after_recovery,
    is_not_valid_for_rest, needs_body, AfterRejection, Confidence, Diagnosis, Rejection,
    ResponseVerdict, TokenFailure,
};
use crate::config::Config;
use crate::error::{clip, ErrorCode, SessionError};
use crate::flight::Flight;
use crate::host::{Host, HttpReply};
use crate::json::{self, Json};
use crate::origin::{check_instance_url, parse_url, resolve_target, Origin};
use crate::policy::{
    due_for_refresh, estimate_expiry, is_write, write_gate, ReadOnlyState, SpikeWindow, WriteGate,
    INTROSPECT_EVERY_MS,
};
use crate::record::{
    ConnectionInfo, ExpirySource, LocalToken, ReauthInfo, Status, StoredConnection,
};
use crate::secret::Secret;
use crate::sf_error::{parse_api_error, ApiError};
use crate::token::parse_token_response;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How long calls keep using the current token after a proactive refresh failed transiently.
const PROACTIVE_RETRY_MS: u64 = 30_000;

/// How long refreshes stay suspended after API Access Control was diagnosed.
const API_CONTROL_COOLDOWN_MS: u64 = 10 * 60 * 1000;

/// A failed `fetch`: a session failure, or the host's own transport error, untouched.
#[derive(Debug)]
pub enum FetchError<E> {
    /// An unrecoverable session failure.
    Session(SessionError),
    /// The host's fetch rejected (network error, abort): handed back as it was.
    Transport(E),
}

impl<E> From<SessionError> for FetchError<E> {
    fn from(e: SessionError) -> Self {
        FetchError::Session(e)
    }
}

/// Why a new token is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason {
    /// The expected expiry is within the margin.
    Proactive,
    /// Salesforce rejected the session.
    Rejected,
    /// The caller asked.
    Forced,
    /// The doctor asked.
    Diagnose,
}

impl RefreshReason {
    fn as_str(self) -> &'static str {
        match self {
            RefreshReason::Proactive => "proactive",
            RefreshReason::Rejected => "invalid_session",
            RefreshReason::Forced => "forced",
            RefreshReason::Diagnose => "diagnose",
        }
    }
}

/// How a renewal ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Renewed {
    /// A token request returned a new access token.
    Refreshed,
    /// Another worker had already stored a newer token; no token request was sent.
    Adopted,
    /// The introspection endpoint showed the token lives longer than estimated.
    Extended,
}

type Outcome = Result<Renewed, SessionError>;

/// The token a call will send, with what is known about it.
#[derive(Clone)]
struct TokenView {
    access: Secret,
    issued_at: u64,
    expires_at: u64,
    minted_by: String,
}

/// A call as it goes out: where, what, and the caller's request.
pub struct Outgoing<'a, R> {
    /// The full URL.
    pub url: &'a str,
    /// The path without query, for events.
    pub path: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The caller's request (headers, body, signal…).
    pub request: &'a R,
}

/// What passed the checks before sending.
struct Cleared {
    target: crate::origin::Target,
    org_id: String,
    can_refresh: bool,
    gate: WriteGate,
}

/// A call ready to send on the hot path.
pub struct Prepared {
    /// Where to send it.
    pub url: String,
    /// Its path without query, for events.
    pub path: String,
    /// The access token to send as `Authorization: Bearer`.
    pub bearer: Secret,
    /// When it was prepared, epoch ms (the configured clock).
    pub started: u64,
}

/// In-memory state of one connection.
struct Conn {
    record: StoredConnection,
    origin: Origin,
    local: Option<LocalToken>,
    flight: Option<Rc<Flight<Outcome>>>,
    blocked: Option<(u64, SessionError)>,
    ever_succeeded: bool,
    introspected: Option<(u64, u64)>,
    /// After a failed proactive refresh, calls use the current token until then
    /// instead of each paying for another failing token request.
    proactive_hold_until: u64,
}

impl Conn {
    fn new(record: StoredConnection, origin: Origin, local: Option<LocalToken>) -> Self {
        Conn {
            record,
            origin,
            local,
            flight: None,
            blocked: None,
            ever_succeeded: false,
            introspected: None,
            proactive_hold_until: 0,
        }
    }

    fn view(&self) -> Option<TokenView> {
        if self.record.ip_locked {
            let l = self.local.as_ref()?;
            return Some(TokenView {
                access: l.access_token.clone(),
                issued_at: l.issued_at,
                expires_at: l.expires_at,
                minted_by: String::new(),
            });
        }
        Some(TokenView {
            access: self.record.access_token.clone(),
            issued_at: self.record.issued_at,
            expires_at: self.record.expires_at,
            minted_by: self.record.minted_by.clone(),
        })
    }
}

#[derive(Default)]
struct OrgState {
    read_only: Option<ReadOnlyState>,
    spike: SpikeWindow,
}

/// One check the doctor ran.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// The doctor's report.
#[derive(Clone, Debug)]
pub struct Report {
    /// The diagnosis.
    pub diagnosis: Diagnosis,
    /// The connection.
    pub connection_id: String,
    /// The checks run, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// The report callers receive: the diagnosis's members, then `connectionId` and `checks`.
    pub fn to_json(&self) -> String {
        let checks = self
            .checks
            .iter()
            .map(|c| {
                Json::object([
                    ("name", Json::str(c.name)),
                    ("ok", Json::Bool(c.ok)),
                    ("detail", Json::str(&c.detail)),
                ])
            })
            .collect();
        let mut members = Vec::from(self.diagnosis.members());
        members.push(("connectionId", Json::str(&self.connection_id)));
        members.push(("checks", Json::Array(checks)));
        Json::object(members).write()
    }
}

/// An event's own members (beyond type, connection, org, user and time).
type EventMembers<'a> = Vec<(&'a str, Json<'a>)>;

/// The session engine over a host.
pub struct Engine<H: Host> {
    host: H,
    config: Config,
    conns: RefCell<HashMap<String, Conn>>,
    orgs: RefCell<HashMap<String, OrgState>>,
}

fn check_connection_id(id: &str) -> Result<(), SessionError> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(SessionError::config("connectionId must be a non-empty string of at most 256 characters without control characters"));
    }
    Ok(())
}

fn form_reply_detail(reply: &HttpReply) -> String {
    match parse_api_error(&reply.body) {
        Some(e) => format!(
            "HTTP {} {}: \"{}\"",
            reply.status,
            e.code,
            clip(&e.message, 160)
        ),
        None => format!("HTTP {}", reply.status),
    }
}

impl<H: Host> Engine<H> {
    /// An engine with no connections loaded.
    pub fn new(host: H, config: Config) -> Self {
        Engine {
            host,
            config,
            conns: RefCell::new(HashMap::new()),
            orgs: RefCell::new(HashMap::new()),
        }
    }

    /// The validated options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The host (tests inspect it).
    pub fn host(&self) -> &H {
        &self.host
    }

    // ----- events -------------------------------------------------------------

    /// Hands an event to the host, its members in name order.
    fn emit(&self, kind: &str, id: &str, org: &str, user: &str, extra: EventMembers) {
        if !self.host.wants_events() {
            return;
        }
        let mut members = vec![
            ("at", Json::Uint(self.host.now_ms())),
            ("connectionId", Json::str(id)),
            ("orgId", Json::str(org)),
            ("type", Json::str(kind)),
            ("userId", Json::str(user)),
        ];
        for member in extra {
            let at = members.partition_point(|(name, _)| *name < member.0);
            members.insert(at, member);
        }
        self.host.emit(&Json::object(members).write());
    }

    fn emit_for(&self, kind: &str, id: &str, extra: EventMembers) {
        let (org, user) = self
            .with_conn(id, |c| (c.record.org_id.clone(), c.record.user_id.clone()))
            .unwrap_or_default();
        self.emit(kind, id, &org, &user, extra);
    }

    fn emit_diagnosis(&self, id: &str, d: &Diagnosis) {
        self.emit_for("diagnosis", id, d.members().into());
    }

    // ----- memory and store -----------------------------------------------------

    fn with_conn<R>(&self, id: &str, f: impl FnOnce(&mut Conn) -> R) -> Option<R> {
        self.conns.borrow_mut().get_mut(id).map(f)
    }

    fn org_id_of(&self, id: &str) -> Option<String> {
        self.with_conn(id, |c| c.record.org_id.clone())
    }

    async fn read_record(&self, id: &str) -> Result<Option<StoredConnection>, SessionError> {
        let key = self.config.connection_key(id);
        let raw = self
            .host
            .store_get(&key)
            .await
            .map_err(|e| SessionError::store("get", &key, &e).about(id, None))?;
        let Some(raw) = raw else { return Ok(None) };
        let record = StoredConnection::from_json(&raw).ok_or_else(|| {
            SessionError::new(
                ErrorCode::StoreFailed,
                "The stored record of this connection is unreadable",
            )
            .evidence(format!(
                "store.get({key}) returned a value that is not a connection record"
            ))
            .about(id, None)
        })?;
        Ok(Some(record))
    }

    async fn write_record(&self, id: &str, record: &StoredConnection) -> Result<(), SessionError> {
        let key = self.config.connection_key(id);
        let json = record.to_json();
        self.host
            .store_put(&key, &json)
            .await
            .map_err(|e| SessionError::store("put", &key, &e).about(id, Some(&record.org_id)))
    }

    async fn read_local(&self, id: &str) -> Option<LocalToken> {
        let raw = self
            .host
            .store_get(&self.config.local_token_key(id))
            .await
            .ok()??;
        LocalToken::from_json(&raw)
    }

    fn unknown(id: &str) -> SessionError {
        SessionError::new(
            ErrorCode::UnknownConnection,
            format!("No connection '{}' is stored", clip(id, 80)),
        )
        .evidence("the store has no record for this connection id")
        .about(id, None)
    }

    fn origin_of(&self, record: &StoredConnection, id: &str) -> Result<Origin, SessionError> {
        check_instance_url(
            &record.instance_url,
            self.config.allow_insecure_loopback,
            None,
        )
        .map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "The stored instance_url is not a Salesforce API host",
            )
            .evidence(format!("instance_url refused: {why}"))
            .about(id, Some(&record.org_id))
        })
    }

    /// Makes sure the connection is in memory, reading the store once if not.
    async fn load(&self, id: &str) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return Ok(());
        }
        check_connection_id(id)?;
        let record = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        self.take_record(id, record).await
    }

    /// Makes a record just read from the store this connection's state: adopted when
    /// the connection is in memory, otherwise set up with this instance's own token.
    async fn take_record(&self, id: &str, record: StoredConnection) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return self.adopt_record(id, record);
        }
        let origin = self.origin_of(&record, id)?;
        let local = if record.ip_locked {
            self.read_local(id).await
        } else {
            None
        };
        // Another call may have loaded it while this one awaited the store.
        self.conns
            .borrow_mut()
            .entry(id.to_string())
            .or_insert_with(|| Conn::new(record, origin, local));
        Ok(())
    }

    /// Takes a record read from the store as the truth for this connection.
    fn adopt_record(&self, id: &str, record: StoredConnection) -> Result<(), SessionError> {
        let origin = self.origin_of(&record, id)?;
        let me = self.config.instance_id.as_str();
        self.with_conn(id, |c| {
            // Another instance switched the connection to per-instance tokens: the
            // token this instance minted and holds stays its own.
            if record.ip_locked
                && !c.record.ip_locked
                && c.local.is_none()
                && c.record.minted_by == me
            {
                c.local = Some(LocalToken {
                    access_token: c.record.access_token.clone(),
                    issued_at: c.record.issued_at,
                    expires_at: c.record.expires_at,
                    instance_url: c.record.instance_url.clone(),
                });
            }
            c.record = record;
            c.origin = origin;
        });
        Ok(())
    }

    fn revoked_error(&self, id: &str, record: &StoredConnection) -> SessionError {
        let mut e = SessionError::new(
            ErrorCode::SessionRevoked,
            "This connection needs the user to authorize again",
        )
        .about(id, Some(&record.org_id));
        match &record.reauth {
            Some(r) => {
                e = e
                    .evidence(format!(
                        "the token endpoint answered invalid_grant: \"{}\"",
                        clip(&r.description, 200)
                    ))
                    .evidence(format!("sub-reason: {}", r.reason));
            }
            None => e = e.evidence("the connection is marked reauth_required in the store"),
        }
        e.evidence("no token request was sent: the connection is marked reauth_required")
    }

    // ----- connect, info, disconnect ------------------------------------------

    /// Validates and stores a token response under `id`.
    pub async fn connect(
        &self,
        id: &str,
        token_json: &str,
    ) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let token = parse_token_response(token_json, self.config.allow_insecure_loopback)
            .map_err(|e| e.about(id, None))?;
        let expires_at = estimate_expiry(token.issued_at, self.config.session_timeout_s);
        let record = StoredConnection::from_token(token, expires_at, &self.config.instance_id);
        let origin = self.origin_of(&record, id)?;
        self.write_record(id, &record).await?;
        let _ = self
            .host
            .store_delete(&self.config.local_token_key(id))
            .await;
        self.conns
            .borrow_mut()
            .insert(id.to_string(), Conn::new(record, origin, None));
        self.emit_for(
            "connected",
            id,
            vec![(
                "instanceUrl",
                Json::opt_str(
                    self.with_conn(id, |c| c.record.instance_url.clone())
                        .as_deref(),
                ),
            )],
        );
        self.info_from_memory(id).await
    }

    async fn info_from_memory(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        let (record, view) = self
            .with_conn(id, |c| (c.record.clone(), c.view()))
            .ok_or_else(|| Self::unknown(id))?;
        let read_only = self.org_read_only(&record.org_id).await;
        let status = match (record.status, read_only) {
            (Status::ReauthRequired, _) => "reauth_required",
            (Status::Active, true) => "read_only",
            (Status::Active, false) => "active",
        };
        let (issued_at, expires_at, minted_by) = match view {
            Some(v) if v.minted_by.is_empty() => {
                (v.issued_at, v.expires_at, self.config.instance_id.clone())
            }
            Some(v) => (v.issued_at, v.expires_at, v.minted_by),
            None => (
                record.issued_at,
                record.expires_at,
                record.minted_by.clone(),
            ),
        };
        Ok(ConnectionInfo {
            connection_id: id.to_string(),
            org_id: record.org_id.clone(),
            user_id: record.user_id.clone(),
            instance_url: record.instance_url.clone(),
            issued_at,
            expires_at,
            status: status.to_string(),
            minted_by,
            has_refresh_token: record.refresh_token.is_some(),
            ip_locked: record.ip_locked,
            reauth_reason: record.reauth.as_ref().map(|r| r.reason.clone()),
        })
    }

    async fn org_read_only(&self, org_id: &str) -> bool {
        if self
            .orgs
            .borrow()
            .get(org_id)
            .is_some_and(|o| o.read_only.is_some())
        {
            return true;
        }
        matches!(
            self.host
                .store_get(&self.config.read_only_key(org_id))
                .await,
            Ok(Some(_))
        )
    }

    /// What callers may know of a connection, read fresh from the store.
    pub async fn info(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        check_connection_id(id)?;
        let record = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        self.take_record(id, record).await?;
        self.info_from_memory(id).await
    }

    /// Forces a refresh.
    pub async fn refresh(&self, id: &str) -> Result<ConnectionInfo, SessionError> {
        self.load(id).await?;
        self.renew(id, RefreshReason::Forced, None).await?;
        self.info_from_memory(id).await
    }

    /// Forgets a connection, revoking its tokens at Salesforce first when asked.
    pub async fn disconnect(&self, id: &str, revoke: bool) -> Result<(), SessionError> {
        check_connection_id(id)?;
        let Some(record) = self.read_record(id).await? else {
            self.conns.borrow_mut().remove(id);
            return Ok(());
        };
        if revoke {
            let token = record
                .refresh_token
                .clone()
                .unwrap_or_else(|| record.access_token.clone());
            let url = format!("{}/services/oauth2/revoke", self.config.login_url);
            let reply = self
                .host
                .post_form(&url, &[("token", token.expose())])
                .await;
            match reply {
                Ok(r) if r.status == 200 || r.status == 400 => {}
                Ok(r) => {
                    return Err(SessionError::new(
                        ErrorCode::RefreshFailed,
                        "Revoking the tokens failed; nothing was deleted",
                    )
                    .evidence(format!(
                        "revoke endpoint answered {}",
                        form_reply_detail(&r)
                    ))
                    .about(id, Some(&record.org_id)));
                }
                Err(e) => {
                    return Err(SessionError::new(
                        ErrorCode::RefreshFailed,
                        "Revoking the tokens failed; nothing was deleted",
                    )
                    .evidence(format!("revoke request failed: {}", clip(&e, 160)))
                    .about(id, Some(&record.org_id)));
                }
            }
        }
        let key = self.config.connection_key(id);
        self.host
            .store_delete(&key)
            .await
            .map_err(|e| SessionError::store("delete", &key, &e).about(id, Some(&record.org_id)))?;
        let _ = self
            .host
            .store_delete(&self.config.local_token_key(id))
            .await;
        self.conns.borrow_mut().remove(id);
        self.emit(
            "disconnected",
            id,
            &record.org_id,
            &record.user_id,
            vec![("revoked", Json::Bool(revoke))],
        );
        Ok(())
    }

    // ----- refresh ------------------------------------------------------------

    /// One renewal in flight per connection: the first caller renews, everyone else awaits it.
    async fn renew(&self, id: &str, reason: RefreshReason, rejected: Option<&Secret>) -> Outcome {
        if let Some(flight) = self.with_conn(id, |c| c.flight.clone()).flatten() {
            return flight.wait().await;
        }
        let flight = Flight::new();
        self.with_conn(id, |c| c.flight = Some(flight.clone()));
        let outcome = self.renew_now(id, reason, rejected).await;
        self.with_conn(id, |c| c.flight = None);
        flight.land(outcome.clone());
        outcome
    }

    async fn renew_now(
        &self,
        id: &str,
        reason: RefreshReason,
        rejected: Option<&Secret>,
    ) -> Outcome {
        // Another worker may have refreshed, rotated or revoked since we last looked.
        let stored = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        if stored.status == Status::ReauthRequired {
            let e = self.revoked_error(id, &stored);
            self.adopt_record(id, stored)?;
            return Err(e);
        }
        let was_locked = self.with_conn(id, |c| c.record.ip_locked).unwrap_or(false);
        let ip_locked = stored.ip_locked;
        let now = self.host.now_ms();
        if ip_locked {
            if !was_locked {
                self.with_conn(id, |c| c.local = None);
            }
            if let Some(local) = self.read_local(id).await {
                let current = self
                    .with_conn(id, |c| c.local.as_ref().map(|l| l.access_token.clone()))
                    .flatten();
                let usable = reason != RefreshReason::Forced
                    && Some(&local.access_token) != rejected
                    && Some(&local.access_token) != current.as_ref()
                    && !due_for_refresh(now, local.expires_at, self.config.refresh_margin_s);
                if usable {
                    self.adopt_record(id, stored)?;
                    self.with_conn(id, |c| c.local = Some(local));
                    return Ok(Renewed::Adopted);
                }
            }
        } else if reason != RefreshReason::Forced && reason != RefreshReason::Diagnose {
            let current = self.with_conn(id, |c| c.record.access_token.clone());
            let newer = Some(&stored.access_token) != current.as_ref()
                && Some(&stored.access_token) != rejected;
            if newer && !due_for_refresh(now, stored.expires_at, self.config.refresh_margin_s) {
                self.adopt_record(id, stored)?;
                return Ok(Renewed::Adopted);
            }
        }
        self.adopt_record(id, stored)?;
        if reason == RefreshReason::Proactive && self.extend_by_introspection(id).await {
            return Ok(Renewed::Extended);
        }
        self.refresh_with_token_endpoint(id, reason).await
    }

    /// Asks the introspection endpoint for the real expiry, at most every few minutes per token.
    async fn extend_by_introspection(&self, id: &str) -> bool {
        let Some(secret) = self
            .config
            .client_secret
            .clone()
            .filter(|_| self.config.introspect)
        else {
            return false;
        };
        let now = self.host.now_ms();
        let Some((view, instance, recent)) = self.with_conn(id, |c| {
            (c.view(), c.record.instance_url.clone(), c.introspected)
        }) else {
            return false;
        };
        let Some(view) = view else { return false };
        if recent.is_some_and(|(issued, at)| {
            issued == view.issued_at && now.saturating_sub(at) < INTROSPECT_EVERY_MS
        }) {
            return false;
        }
        self.with_conn(id, |c| c.introspected = Some((view.issued_at, now)));
        let url = format!("{instance}/services/oauth2/introspect");
        let form = [
            ("token", view.access.expose()),
            ("token_type_hint", "access_token"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", secret.expose()),
        ];
        let Ok(reply) = self.host.post_form(&url, &form).await else {
            return false;
        };
        let parsed = json::parse(&reply.body).unwrap_or(Json::Null);
        let active =
            reply.status == 200 && parsed.get("active").and_then(Json::as_bool) == Some(true);
        let exp_ms = parsed
            .get("exp")
            .and_then(Json::as_u64)
            .map(|s| s.saturating_mul(1000));
        self.emit_for(
            "introspection",
            id,
            vec![
                ("active", Json::Bool(active)),
                ("expiresAt", Json::opt_uint(exp_ms)),
            ],
        );
        let Some(exp_ms) = exp_ms.filter(|_| active) else {
            return false;
        };
        if due_for_refresh(now, exp_ms, self.config.refresh_margin_s) {
            return false;
        }
        let locked = self.with_conn(id, |c| {
            if c.record.ip_locked {
                if let Some(l) = c.local.as_mut() {
                    l.expires_at = exp_ms;
                }
            } else if c.record.access_token == view.access {
                c.record.expires_at = exp_ms;
                c.record.expiry_source = ExpirySource::Introspection;
            }
            c.record.ip_locked
        });
        // Share what was learned, unless the store moved on meanwhile.
        if locked == Some(false) {
            if let Ok(Some(mut stored)) = self.read_record(id).await {
                if stored.access_token == view.access {
                    stored.expires_at = exp_ms;
                    stored.expiry_source = ExpirySource::Introspection;
                    let _ = self.write_record(id, &stored).await;
                }
            }
        }
        true
    }

    async fn refresh_with_token_endpoint(&self, id: &str, reason: RefreshReason) -> Outcome {
        let started = self.host.now_ms();
        let (refresh_token, stored, org_id) = self
            .with_conn(id, |c| {
                (
                    c.record.refresh_token.clone(),
                    StoredFields {
                        id_url: c.record.id_url.clone(),
                        instance_url: c.record.instance_url.clone(),
                    },
                    c.record.org_id.clone(),
                )
            })
            .ok_or_else(|| Self::unknown(id))?;
        let Some(refresh_token) = refresh_token else {
            return Err(SessionError::new(
                ErrorCode::SessionExpired,
                "The session needs renewing and the connection has no refresh token",
            )
            .evidence("no refresh token is stored for this connection")
            .about(id, Some(&org_id)));
        };
        let url = self.config.token_url();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("format", "json"),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let attempts = self.config.refresh_attempts.max(1);
        let mut failures: Vec<String> = Vec::new();
        let mut last = TokenFailure::Transient("no token request was made".into());
        let mut last_status: Option<u16> = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.host
                    .sleep_ms(self.config.refresh_backoff_ms << (attempt - 2).min(6))
                    .await;
                // A concurrent refresh elsewhere may have landed meanwhile.
                if let Ok(Some(stored)) = self.read_record(id).await {
                    if stored.status == Status::ReauthRequired {
                        let e = self.revoked_error(id, &stored);
                        self.adopt_record(id, stored)?;
                        return Err(e);
                    }
                    let changed = self
                        .with_conn(id, |c| c.record.access_token != stored.access_token)
                        .unwrap_or(false);
                    if changed && !stored.ip_locked {
                        self.adopt_record(id, stored)?;
                        return Ok(Renewed::Adopted);
                    }
                }
            }
            let failure = match self.host.post_form(&url, &form).await {
                Ok(reply) if reply.status == 200 => {
                    return self
                        .store_refreshed(id, reason, &reply.body, &stored, started, attempt)
                        .await;
                }
                Ok(reply) => {
                    last_status = Some(reply.status);
                    classify_token_failure(reply.status, &reply.body)
                }
                Err(e) => {
                    last_status = None;
                    TokenFailure::Transient(format!("token request failed: {}", clip(&e, 160)))
                }
            };
            let transient = failure.is_transient();
            failures.push(match &failure {
                TokenFailure::Transient(d) => d.clone(),
                TokenFailure::Busy(d) => format!("invalid_grant \"{}\" (transient)", clip(d, 120)),
                _ => String::new(),
            });
            last = failure;
            if !transient {
                break;
            }
        }
        let revocation = match &last {
            TokenFailure::Revoked {
                reason,
                description,
            } => Some((reason.label().to_string(), description.clone())),
            _ => None,
        };
        let mut error = last.into_error().about(id, Some(&org_id));
        error.status = last_status;
        if error.code == ErrorCode::RefreshFailed && attempts > 1 {
            error = error.with_evidence(
                failures
                    .into_iter()
                    .filter(|f| !f.is_empty())
                    .enumerate()
                    .map(|(i, f)| format!("attempt {}: {f}", i + 1)),
            );
        }
        self.emit_for(
            "refresh_failed",
            id,
            vec![
                ("reason", Json::str(reason.as_str())),
                ("code", Json::str(error.code.as_str())),
                ("evidence", Json::strs(&error.evidence)),
                (
                    "durationMs",
                    Json::Uint(self.host.now_ms().saturating_sub(started)),
                ),
            ],
        );
        if let Some((label, description)) = revocation {
            self.mark_reauth_required(id, &label, &description).await;
        }
        Err(error)
    }

    /// A 200 from the token endpoint that cannot be used: reported, nothing stored.
    fn refused_token_response(
        &self,
        id: &str,
        reason: RefreshReason,
        e: SessionError,
    ) -> SessionError {
        self.emit_for(
            "refresh_failed",
            id,
            vec![
                ("reason", Json::str(reason.as_str())),
                ("code", Json::str(e.code.as_str())),
                ("evidence", Json::strs(&e.evidence)),
            ],
        );
        e
    }

    async fn store_refreshed(
        &self,
        id: &str,
        reason: RefreshReason,
        body: &str,
        stored: &StoredFields,
        started: u64,
        attempt: u32,
    ) -> Outcome {
        let body = complete_refresh_response(body, stored, self.host.now_ms());
        let token = match parse_token_response(&body, self.config.allow_insecure_loopback) {
            Ok(t) => t,
            Err(e) => {
                let e = e.about(id, self.org_id_of(id).as_deref());
                return Err(self.refused_token_response(id, reason, e));
            }
        };
        let (record, local) = self
            .with_conn(id, |c| (c.record.clone(), c.local.clone()))
            .ok_or_else(|| Self::unknown(id))?;
        if token.org_id != record.org_id || token.user_id != record.user_id {
            let e = SessionError::new(
                ErrorCode::InvalidTokenResponse,
                "The refreshed token belongs to another org or user; it was not stored",
            )
            .evidence(format!(
                "expected org {} user {}, got org {} user {}",
                record.org_id, record.user_id, token.org_id, token.user_id
            ))
            .about(id, Some(&record.org_id));
            return Err(self.refused_token_response(id, reason, e));
        }
        let origin = self.origin_of(
            &StoredConnection {
                instance_url: token.instance_url.clone(),
                ..record.clone()
            },
            id,
        )?;
        let rotated = token
            .refresh_token
            .as_ref()
            .is_some_and(|r| Some(r) != record.refresh_token.as_ref());
        let expires_at = estimate_expiry(token.issued_at, self.config.session_timeout_s);
        let mut next = record.clone();
        next.refresh_token = token.refresh_token.clone().or(record.refresh_token.clone());
        next.instance_url = token.instance_url.clone();
        next.id_url = token.id_url.clone();
        if let Some(scope) = token.scope.clone() {
            next.scope = Some(scope);
        }
        let mut next_local = local;
        if record.ip_locked {
            next_local = Some(LocalToken {
                access_token: token.access_token.clone(),
                issued_at: token.issued_at,
                expires_at,
                instance_url: token.instance_url.clone(),
            });
        } else {
            next.access_token = token.access_token.clone();
            next.issued_at = token.issued_at;
            next.expires_at = expires_at;
            next.expiry_source = ExpirySource::Estimate;
            next.minted_by = self.config.instance_id.clone();
        }
        // Keep the new credential in memory before anything else: a rotated-out
        // refresh token must never be presented again, even if the store fails.
        self.with_conn(id, |c| {
            c.record = next.clone();
            c.origin = origin;
            c.local = next_local.clone();
            c.introspected = None;
        });
        if !record.ip_locked || rotated || next.instance_url != record.instance_url {
            self.write_record(id, &next).await?;
        }
        if let Some(l) = next_local.as_ref().filter(|_| record.ip_locked) {
            let key = self.config.local_token_key(id);
            let json = l.to_json();
            self.host.store_put(&key, &json).await.map_err(|e| {
                SessionError::store("put", &key, &e).about(id, Some(&record.org_id))
            })?;
        }
        self.emit_for(
            "refresh",
            id,
            vec![
                ("reason", Json::str(reason.as_str())),
                (
                    "durationMs",
                    Json::Uint(self.host.now_ms().saturating_sub(started)),
                ),
                ("rotated", Json::Bool(rotated)),
                ("attempt", Json::Uint(attempt.into())),
                ("instanceUrl", Json::str(&next.instance_url)),
                ("perInstanceToken", Json::Bool(record.ip_locked)),
            ],
        );
        Ok(Renewed::Refreshed)
    }

    async fn mark_reauth_required(&self, id: &str, reason: &str, description: &str) {
        let now = self.host.now_ms();
        let reauth = ReauthInfo {
            reason: reason.to_string(),
            description: description.to_string(),
            at: now,
        };
        // Re-read so a newer credential written meanwhile is kept as it is.
        let base = match self.read_record(id).await {
            Ok(Some(r)) => r,
            _ => match self.with_conn(id, |c| c.record.clone()) {
                Some(r) => r,
                None => return,
            },
        };
        let mut record = base;
        record.status = Status::ReauthRequired;
        record.reauth = Some(reauth);
        let stored = self.write_record(id, &record).await.is_ok();
        let (org, user) = (record.org_id.clone(), record.user_id.clone());
        self.with_conn(id, |c| c.record = record);
        self.emit(
            "reauth_required",
            id,
            &org,
            &user,
            vec![
                ("reason", Json::str(reason)),
                ("description", Json::str(description)),
                ("stored", Json::Bool(stored)),
            ],
        );
        if let Some(hook) = self.config.webhook.clone() {
            let body = Json::object([
                ("at", Json::Uint(now)),
                ("connectionId", Json::str(id)),
                ("description", Json::str(description)),
                ("orgId", Json::str(&org)),
                ("reason", Json::str(reason)),
                ("type", Json::str("reauth_required")),
                ("userId", Json::str(&user)),
            ])
            .write();
            let signature = format!(
                "sha256={}",
                crate::webhook::sign(&hook.secret, body.as_bytes())
            );
            let result = self
                .host
                .post_json(
                    &hook.url,
                    &body,
                    &[("x-salesforce-session-signature", signature.as_str())],
                )
                .await;
            let ok = matches!(&result, Ok(r) if (200..300).contains(&r.status));
            if !ok {
                let detail = match result {
                    Ok(r) => format!("HTTP {}", r.status),
                    Err(e) => clip(&e, 160),
                };
                self.emit(
                    "webhook_failed",
                    id,
                    &org,
                    &user,
                    vec![("detail", Json::str(&detail))],
                );
            }
        }
    }

    // ----- fetch --------------------------------------------------------------

    fn current_view(&self, id: &str) -> Option<TokenView> {
        self.with_conn(id, |c| c.view()).flatten()
    }

    fn rejection_for(
        &self,
        id: &str,
        view: &TokenView,
        status: u16,
        message: &str,
        after_refresh: bool,
    ) -> Rejection {
        let now = self.host.now_ms();
        let (ever_succeeded, can_refresh, org_id) = self
            .with_conn(id, |c| {
                (
                    c.ever_succeeded,
                    c.record.refresh_token.is_some(),
                    c.record.org_id.clone(),
                )
            })
            .unwrap_or_default();
        let org_read_only = self
            .orgs
            .borrow()
            .get(&org_id)
            .is_some_and(|o| o.read_only.is_some());
        Rejection {
            status,
            message: message.to_string(),
            minted_by: if view.minted_by.is_empty() {
                self.config.instance_id.clone()
            } else {
                view.minted_by.clone()
            },
            instance_id: self.config.instance_id.clone(),
            token_age_ms: now.saturating_sub(view.issued_at),
            presumed_live: now < view.expires_at,
            ever_succeeded,
            can_refresh,
            after_refresh,
            org_read_only,
        }
    }

    fn count_invalid_session(&self, id: &str) {
        let Some(org) = self.org_id_of(id) else {
            return;
        };
        let now = self.host.now_ms();
        let count = self.orgs.borrow_mut().entry(org).or_default().spike.record(
            now,
            self.config.spike_window_ms,
            self.config.spike_threshold,
        );
        if let Some(count) = count {
            self.emit_for(
                "invalid_session_spike",
                id,
                vec![
                    ("count", Json::Uint(count as u64)),
                    (
                        "windowSeconds",
                        Json::Uint(self.config.spike_window_ms / 1000),
                    ),
                    ("threshold", Json::Uint(self.config.spike_threshold as u64)),
                    (
                        "likelyCauses",
                        Json::Array(vec![
                            Json::str("API_CLIENT_CONTROL"),
                            Json::str("SESSION_REVOKED"),
                            Json::str("ORG_READ_ONLY"),
                        ]),
                    ),
                ],
            );
        }
    }

    fn blocked(&self, id: &str) -> Option<SessionError> {
        let now = self.host.now_ms();
        self.with_conn(id, |c| match &c.blocked {
            Some((until, e)) if now < *until => Some(e.clone()),
            _ => None,
        })
        .flatten()
    }

    async fn enter_read_only(&self, id: &str, org_id: &str) -> ReadOnlyState {
        let now = self.host.now_ms();
        let (state, first) = {
            let mut orgs = self.orgs.borrow_mut();
            let org = orgs.entry(org_id.to_string()).or_default();
            let first = org.read_only.is_none();
            let state = ReadOnlyState::after_refusal(org.read_only.as_ref(), now);
            org.read_only = Some(state.clone());
            (state, first)
        };
        if first {
            let value = Json::object([
                ("nextProbeAt", Json::Uint(state.next_probe_at)),
                ("since", Json::Uint(state.since)),
            ])
            .write();
            let _ = self
                .host
                .store_put(&self.config.read_only_key(org_id), &value)
                .await;
            self.emit_for(
                "org_read_only",
                id,
                vec![("nextProbeAt", Json::Uint(state.next_probe_at))],
            );
        }
        state
    }

    async fn leave_read_only(&self, id: &str, org_id: &str) {
        let was = self
            .orgs
            .borrow_mut()
            .get_mut(org_id)
            .and_then(|o| o.read_only.take());
        if let Some(state) = was {
            let _ = self
                .host
                .store_delete(&self.config.read_only_key(org_id))
                .await;
            self.emit_for(
                "org_writable",
                id,
                vec![(
                    "readOnlyForMs",
                    Json::Uint(self.host.now_ms().saturating_sub(state.since)),
                )],
            );
        }
    }

    fn read_only_error(
        &self,
        id: &str,
        org_id: &str,
        evidence: Vec<String>,
        status: Option<u16>,
    ) -> SessionError {
        let mut e = SessionError::new(
            ErrorCode::OrgReadOnly,
            "The org is read-only (maintenance): writes are held",
        )
        .about(id, Some(org_id))
        .with_evidence(evidence);
        e.status = status;
        e
    }

    /// The checks every call passes before anything is sent: the connection is
    /// usable, the target is its instance, and a write may go to its org.
    fn before_send(&self, id: &str, input: &str, method: &str) -> Result<Cleared, SessionError> {
        let (status, target, org_id, can_refresh) = self
            .with_conn(id, |c| {
                let target = resolve_target(input, &c.origin, Some(&c.record.id_url));
                (
                    c.record.status,
                    target,
                    c.record.org_id.clone(),
                    c.record.refresh_token.is_some(),
                )
            })
            .ok_or_else(|| Self::unknown(id))?;
        if status == Status::ReauthRequired {
            let record = self
                .with_conn(id, |c| c.record.clone())
                .ok_or_else(|| Self::unknown(id))?;
            return Err(self.revoked_error(id, &record));
        }
        let target = target.map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "Refused to send the access token outside the connection's instance",
            )
            .evidence(why)
            .evidence("nothing was sent")
            .about(id, Some(&org_id))
        })?;
        let gate = if is_write(method) {
            let now = self.host.now_ms();
            let gate = write_gate(
                self.orgs
                    .borrow()
                    .get(&org_id)
                    .and_then(|o| o.read_only.as_ref()),
                now,
            );
            if let WriteGate::Hold(at) = gate {
                let evidence = vec![
                    "the org answered INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE to an earlier write".to_string(),
                    format!("writes are held until the next probe in {} s; nothing was sent", at.saturating_sub(now).div_ceil(1000)),
                ];
                return Err(self.read_only_error(id, &org_id, evidence, None));
            }
            gate
        } else {
            WriteGate::Send
        };
        Ok(Cleared {
            target,
            org_id,
            can_refresh,
            gate,
        })
    }

    fn set_probing(&self, org_id: &str, probing: bool) {
        if let Some(s) = self
            .orgs
            .borrow_mut()
            .get_mut(org_id)
            .and_then(|o| o.read_only.as_mut())
        {
            s.probing = probing;
        }
    }

    /// Sends the caller's request with the connection's token, refreshing and
    /// retrying at most once when the session is rejected, and classifying every
    /// failure that cannot be recovered.
    pub async fn fetch(
        &self,
        id: &str,
        input: &str,
        method: &str,
        request: &H::Request,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        self.load(id).await?;
        let cleared = self.before_send(id, input, method)?;
        let probe = cleared.gate == WriteGate::Probe;
        if probe {
            self.set_probing(&cleared.org_id, true);
        }
        let target = &cleared.target;
        let call = Outgoing {
            url: &target.url,
            path: &target.path,
            method,
            request,
        };
        let result = self
            .send_with_retry(id, call, cleared.can_refresh, None)
            .await;
        if probe {
            self.set_probing(&cleared.org_id, false);
        }
        result
    }

    /// The hot path, without I/O: what to send for a call whose connection is in
    /// memory, whose token is not due and whose org needs no probe. `Ok(None)` sends
    /// the call down the full path ([`Engine::fetch`]).
    pub fn prepare(
        &self,
        id: &str,
        input: &str,
        method: &str,
    ) -> Result<Option<Prepared>, SessionError> {
        if !self.conns.borrow().contains_key(id) {
            return Ok(None);
        }
        let cleared = self.before_send(id, input, method)?;
        if cleared.gate != WriteGate::Send {
            return Ok(None);
        }
        let now = self.host.now_ms();
        let Some(view) = self.current_view(id) else {
            return Ok(None);
        };
        let held = self
            .with_conn(id, |c| now < c.proactive_hold_until)
            .unwrap_or(false);
        let due = due_for_refresh(now, view.expires_at, self.config.refresh_margin_s);
        if due && cleared.can_refresh && !held && self.blocked(id).is_none() {
            return Ok(None);
        }
        Ok(Some(Prepared {
            url: cleared.target.url,
            path: cleared.target.path,
            bearer: view.access,
            started: now,
        }))
    }

    /// The hot path after the response arrived: records the request and says whether
    /// the response can go to the caller as it is (`true`), or must be examined by
    /// [`Engine::resume`] (a status that may carry a session failure).
    pub fn settle(&self, id: &str, method: &str, path: &str, status: u16, started: u64) -> bool {
        self.emit_request(id, method, path, status, started, 1);
        if needs_body(status) {
            return false;
        }
        if (200..400).contains(&status) {
            self.with_conn(id, |c| {
                c.ever_succeeded = true;
                c.blocked = None;
            });
        }
        true
    }

    /// Takes over a call prepared by [`Engine::prepare`] whose response needs
    /// examining: classifies it and, for a rejected session, refreshes and retries once.
    pub async fn resume(
        &self,
        id: &str,
        call: Outgoing<'_, H::Request>,
        response: H::Response,
        used: Secret,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        self.load(id).await?;
        let view = match self.current_view(id) {
            Some(v) if v.access == used => v,
            // Someone replaced the token meanwhile; what it was no longer matters.
            _ => TokenView {
                access: used,
                issued_at: 0,
                expires_at: 0,
                minted_by: String::new(),
            },
        };
        let can_refresh = self
            .with_conn(id, |c| c.record.refresh_token.is_some())
            .unwrap_or(false);
        self.send_with_retry(id, call, can_refresh, Some((response, view)))
            .await
    }

    fn emit_request(
        &self,
        id: &str,
        method: &str,
        path: &str,
        status: u16,
        started: u64,
        attempt: u32,
    ) {
        if !self.host.wants_events() {
            return;
        }
        self.emit_for(
            "request",
            id,
            vec![
                ("method", Json::str(method)),
                ("path", Json::str(path)),
                ("status", Json::Uint(status.into())),
                (
                    "durationMs",
                    Json::Uint(self.host.now_ms().saturating_sub(started)),
                ),
                ("attempt", Json::Uint(attempt.into())),
            ],
        );
    }

    async fn send_with_retry(
        &self,
        id: &str,
        call: Outgoing<'_, H::Request>,
        can_refresh: bool,
        first: Option<(H::Response, TokenView)>,
    ) -> Result<H::Response, FetchError<H::SendError>> {
        let Outgoing {
            url,
            path,
            method,
            request,
        } = call;
        let (mut first, mut view) = match first {
            Some((response, view)) => (Some(response), Some(view)),
            None => (None, self.current_view(id)),
        };
        let now = self.host.now_ms();
        let due = view
            .as_ref()
            .is_none_or(|v| due_for_refresh(now, v.expires_at, self.config.refresh_margin_s));
        let held = self
            .with_conn(id, |c| now < c.proactive_hold_until)
            .unwrap_or(false);
        if first.is_none()
            && due
            && can_refresh
            && !(held && view.is_some())
            && self.blocked(id).is_none()
        {
            match self.renew(id, RefreshReason::Proactive, None).await {
                Ok(_) => view = self.current_view(id),
                // Revocation and bad configuration are final; anything else leaves
                // the current token to try (the 401 path stays the safety net).
                Err(e)
                    if matches!(
                        e.code,
                        ErrorCode::SessionRevoked
                            | ErrorCode::InvalidConfig
                            | ErrorCode::UnknownConnection
                    ) =>
                {
                    return Err(e.into())
                }
                Err(e) if view.is_none() => return Err(e.into()),
                Err(_) => {
                    let until = self.host.now_ms() + PROACTIVE_RETRY_MS;
                    self.with_conn(id, |c| c.proactive_hold_until = until);
                }
            }
        }
        let mut view = view.ok_or_else(|| Self::unknown(id))?;
        let mut refreshed = false;
        let mut adopted = false;
        // The rejection that led to this call's refresh: the token it replaced.
        let mut replaced: Option<Rejection> = None;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let response = match first.take() {
                // A prepared call's response: its request event is already out.
                Some(response) => response,
                None => {
                    let started = self.host.now_ms();
                    let response = self
                        .host
                        .send(url, method, request, &view.access)
                        .await
                        .map_err(FetchError::Transport)?;
                    self.emit_request(
                        id,
                        method,
                        path,
                        self.host.status(&response),
                        started,
                        attempt,
                    );
                    response
                }
            };
            let status = self.host.status(&response);
            let verdict = if needs_body(status) {
                classify_response(status, &self.host.peek_body(&response).await)
            } else {
                ResponseVerdict::Pass
            };
            let org_id = self.org_id_of(id).unwrap_or_default();
            match verdict {
                ResponseVerdict::Pass => {
                    if (200..400).contains(&status) {
                        self.on_success(id, &org_id, method, replaced.as_ref(), refreshed)
                            .await;
                    }
                    return Ok(response);
                }
                ResponseVerdict::UrlNotReset(e) => {
                    return Err(SessionError::new(ErrorCode::WrongInstanceUrl, "The request reached a login host instead of the org's instance")
                        .status(status)
                        .evidence(format!("{} answered URL_NOT_RESET: \"{}\"", clip(url.split('?').next().unwrap_or(url), 120), clip(&e.message, 160)))
                        .evidence("the stored instance_url points at a login host; the token response's instance_url must be used")
                        .about(id, Some(&org_id))
                        .into());
                }
                ResponseVerdict::ReadOnly(e) => {
                    let state = self.enter_read_only(id, &org_id).await;
                    let evidence = vec![
                        format!("{method} {path} answered {status} INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE: \"{}\"", clip(&e.message, 160)),
                        format!("further writes to this org are held for {} s; reads continue", state.backoff_ms / 1000),
                    ];
                    return Err(self
                        .read_only_error(id, &org_id, evidence, Some(status))
                        .into());
                }
                ResponseVerdict::RateLimited(e) => {
                    let summary = "The org's API request limit is exhausted";
                    let e = org_refusal(ErrorCode::RateLimited, summary, method, path, status, &e);
                    return Err(e.about(id, Some(&org_id)).into());
                }
                ResponseVerdict::ApiDisabled(e) => {
                    let summary = "The REST API is not enabled for this org";
                    let e = org_refusal(ErrorCode::ApiDisabled, summary, method, path, status, &e);
                    return Err(e.about(id, Some(&org_id)).into());
                }
                ResponseVerdict::SessionRejected(e) => {
                    self.count_invalid_session(id);
                    let rejection = self.rejection_for(id, &view, status, &e.message, refreshed);
                    if refreshed {
                        return Err(self.final_rejection(id, &rejection).into());
                    }
                    if let Some(blocked) = self.blocked(id) {
                        return Err(blocked
                            .evidence(format!(
                                "{method} {path} was rejected again: \"{}\"",
                                clip(&e.message, 160)
                            ))
                            .into());
                    }
                    // Someone in this isolate replaced the token meanwhile: try theirs.
                    if let Some(current) = self
                        .current_view(id)
                        .filter(|c| c.access != view.access && !adopted)
                    {
                        adopted = true;
                        view = current;
                        continue;
                    }
                    match after_rejection(&rejection) {
                        AfterRejection::Fail(error) => {
                            return Err(self.fail_rejection(id, error).into())
                        }
                        AfterRejection::Refresh => {
                            replaced = Some(rejection);
                            let reason = if adopted {
                                RefreshReason::Forced
                            } else {
                                RefreshReason::Rejected
                            };
                            match self.renew(id, reason, Some(&view.access)).await? {
                                Renewed::Adopted | Renewed::Extended if !adopted => adopted = true,
                                _ => refreshed = true,
                            }
                            view = self.current_view(id).ok_or_else(|| Self::unknown(id))?;
                        }
                    }
                }
            }
        }
    }

    fn final_rejection(&self, id: &str, rejection: &Rejection) -> SessionError {
        match after_rejection(rejection) {
            AfterRejection::Fail(e) => self.fail_rejection(id, e),
            AfterRejection::Refresh => self.fail_rejection(
                id,
                SessionError::new(
                    ErrorCode::SessionExpired,
                    "The session was rejected after a refresh",
                )
                .evidence(rejection.message.clone()),
            ),
        }
    }

    fn fail_rejection(&self, id: &str, error: SessionError) -> SessionError {
        let org = self.org_id_of(id);
        let error = error.about(id, org.as_deref());
        if error.code == ErrorCode::ApiClientControl {
            let until = self.host.now_ms() + API_CONTROL_COOLDOWN_MS;
            let blocked = error.clone().evidence("refreshes for this connection are suspended for 10 minutes or until a call succeeds or connect() is called");
            self.with_conn(id, |c| c.blocked = Some((until, blocked)));
        }
        self.emit_diagnosis(id, &Diagnosis::from_error(&error, Confidence::High));
        error
    }

    async fn on_success(
        &self,
        id: &str,
        org_id: &str,
        method: &str,
        replaced: Option<&Rejection>,
        refreshed: bool,
    ) {
        self.with_conn(id, |c| {
            c.ever_succeeded = true;
            c.blocked = None;
        });
        if is_write(method) {
            self.leave_read_only(id, org_id).await;
        }
        if let (true, Some(r)) = (refreshed, replaced) {
            if let Some(d) = ip_lock_after_recovery(r) {
                self.enter_ip_lock(id, &d).await;
            }
        }
    }

    /// Switches a connection to per-instance access tokens so that instances with
    /// different egress IPs stop invalidating each other.
    async fn enter_ip_lock(&self, id: &str, diagnosis: &Diagnosis) {
        let Some(record) = self.with_conn(id, |c| c.record.clone()) else {
            return;
        };
        let local = LocalToken {
            access_token: record.access_token.clone(),
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            instance_url: record.instance_url.clone(),
        };
        if !record.ip_locked {
            let mut stored = match self.read_record(id).await {
                Ok(Some(s)) => s,
                _ => record.clone(),
            };
            stored.ip_locked = true;
            let _ = self.write_record(id, &stored).await;
            let _ = self
                .host
                .store_put(&self.config.local_token_key(id), &local.to_json())
                .await;
            self.with_conn(id, |c| {
                c.record.ip_locked = true;
                c.local = Some(local);
            });
        }
        self.emit_diagnosis(id, diagnosis);
    }

    // ----- doctor -------------------------------------------------------------

    async fn probe(&self, url: &str, token: &Secret) -> Result<HttpReply, String> {
        self.host.get_with_bearer(url, token).await
    }

    /// Runs the checks and names the root cause.
    pub async fn diagnose(&self, id: &str) -> Result<Report, SessionError> {
        check_connection_id(id)?;
        let mut checks = Vec::new();
        let report = |diagnosis: Diagnosis, checks: Vec<Check>| Report {
            diagnosis,
            connection_id: id.to_string(),
            checks,
        };
        let record = match self.read_record(id).await? {
            Some(r) => r,
            None => {
                checks.push(Check {
                    name: "stored",
                    ok: false,
                    detail: "no record in the store".into(),
                });
                let d = Diagnosis::of(
                    ErrorCode::UnknownConnection,
                    Confidence::High,
                    vec!["the store has no record for this connection id".into()],
                );
                return Ok(report(d, checks));
            }
        };
        checks.push(Check {
            name: "stored",
            ok: true,
            detail: format!(
                "org {} user {}, token minted by '{}'",
                record.org_id, record.user_id, record.minted_by
            ),
        });
        if record.status == Status::ReauthRequired {
            let e = self.revoked_error(id, &record);
            checks.push(Check {
                name: "status",
                ok: false,
                detail: "reauth_required".into(),
            });
            let d = Diagnosis {
                fix: e.fix.clone(),
                ..Diagnosis::from_error(&e, Confidence::High)
            };
            self.emit_diagnosis_for(id, &record, &d);
            return Ok(report(d, checks));
        }
        if let Err(why) = check_instance_url(
            &record.instance_url,
            self.config.allow_insecure_loopback,
            None,
        ) {
            checks.push(Check {
                name: "instance_host",
                ok: false,
                detail: why.clone(),
            });
            let d = Diagnosis::of(
                ErrorCode::WrongInstanceUrl,
                Confidence::High,
                vec![format!("instance_url refused: {why}")],
            );
            self.emit_diagnosis_for(id, &record, &d);
            return Ok(report(d, checks));
        }
        checks.push(Check {
            name: "instance_host",
            ok: true,
            detail: format!("{} is an API host", record.instance_url),
        });
        self.take_record(id, record.clone()).await?;
        let mut evidence: Vec<String> = Vec::new();
        let view = self.current_view(id);
        let rest_url = format!(
            "{}/services/data/v{}/",
            record.instance_url, self.config.api_version
        );
        let mut rest = None;
        if let Some(view) = view.clone() {
            if let (Some(secret), true) =
                (self.config.client_secret.clone(), self.config.introspect)
            {
                let url = format!("{}/services/oauth2/introspect", record.instance_url);
                let form = [
                    ("token", view.access.expose()),
                    ("token_type_hint", "access_token"),
                    ("client_id", self.config.client_id.as_str()),
                    ("client_secret", secret.expose()),
                ];
                match self.host.post_form(&url, &form).await {
                    Ok(r) => {
                        let v = json::parse(&r.body).unwrap_or(Json::Null);
                        let active = v.get("active").and_then(Json::as_bool) == Some(true);
                        checks.push(Check {
                            name: "introspection",
                            ok: active,
                            detail: if active {
                                format!(
                                    "token active, exp {}",
                                    v.get("exp").and_then(Json::as_u64).unwrap_or(0)
                                )
                            } else {
                                "token inactive".into()
                            },
                        });
                    }
                    Err(e) => checks.push(Check {
                        name: "introspection",
                        ok: false,
                        detail: clip(&e, 120),
                    }),
                }
            }
            rest = Some(self.probe(&rest_url, &view.access).await);
        }
        let identity = match &view {
            Some(v) => self.probe(&record.id_url, &v.access).await.ok(),
            None => None,
        };
        if let Some(identity) = &identity {
            checks.push(Check {
                name: "identity",
                ok: identity.status == 200,
                detail: form_reply_detail(identity),
            });
        }
        let rest_ok = matches!(&rest, Some(Ok(r)) if r.status == 200);
        match &rest {
            Some(Ok(r)) => checks.push(Check {
                name: "rest_probe",
                ok: rest_ok,
                detail: form_reply_detail(r),
            }),
            Some(Err(e)) => checks.push(Check {
                name: "rest_probe",
                ok: false,
                detail: format!("request failed: {}", clip(e, 120)),
            }),
            None => checks.push(Check {
                name: "rest_probe",
                ok: false,
                detail: "no access token for this instance".into(),
            }),
        }
        let org_read_only = self
            .orgs
            .borrow()
            .get(&record.org_id)
            .is_some_and(|o| o.read_only.is_some());
        let diagnosis = if rest_ok {
            if record.ip_locked {
                Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, vec![
                    "tokens minted by another instance were rejected here while tokens minted here worked".into(),
                    "each instance keeps its own access token; calls succeed".into(),
                ])
            } else if org_read_only {
                Diagnosis::of(ErrorCode::OrgReadOnly, Confidence::High, vec!["writes met INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE; reads work".into()])
            } else {
                Diagnosis {
                    cause: "OK".into(),
                    confidence: Confidence::High,
                    evidence: vec!["the REST probe succeeded with the current token".into()],
                    fix: "Nothing to fix.".into(),
                }
            }
        } else {
            let rest_error = match &rest {
                Some(Ok(r)) => parse_api_error(&r.body).map(|e| (r.status, e)),
                _ => None,
            };
            match rest_error {
                Some((status, e)) if e.code == "URL_NOT_RESET" => Diagnosis::of(
                    ErrorCode::WrongInstanceUrl,
                    Confidence::High,
                    vec![format!("the REST probe answered {status} URL_NOT_RESET")],
                ),
                Some((_, e)) if e.code == "REQUEST_LIMIT_EXCEEDED" => Diagnosis::of(
                    ErrorCode::RateLimited,
                    Confidence::High,
                    vec![format!(
                        "the REST probe answered REQUEST_LIMIT_EXCEEDED: \"{}\"",
                        clip(&e.message, 160)
                    )],
                ),
                Some((_, e)) if e.code == "API_DISABLED_FOR_ORG" => Diagnosis::of(
                    ErrorCode::ApiDisabled,
                    Confidence::High,
                    vec![format!(
                        "the REST probe answered API_DISABLED_FOR_ORG: \"{}\"",
                        clip(&e.message, 160)
                    )],
                ),
                other => {
                    let message = other
                        .as_ref()
                        .map(|(_, e)| e.message.clone())
                        .unwrap_or_default();
                    evidence.push(format!(
                        "the REST probe with the current token was rejected: \"{}\"",
                        clip(&message, 160)
                    ));
                    self.diagnose_after_refresh(
                        id,
                        &record,
                        &rest_url,
                        &message,
                        identity.as_ref(),
                        org_read_only,
                        evidence,
                        &mut checks,
                    )
                    .await
                }
            }
        };
        self.emit_diagnosis_for(id, &record, &diagnosis);
        Ok(report(diagnosis, checks))
    }

    #[allow(clippy::too_many_arguments)]
    async fn diagnose_after_refresh(
        &self,
        id: &str,
        record: &StoredConnection,
        rest_url: &str,
        message: &str,
        identity: Option<&HttpReply>,
        org_read_only: bool,
        mut evidence: Vec<String>,
        checks: &mut Vec<Check>,
    ) -> Diagnosis {
        if record.refresh_token.is_none() {
            if is_not_valid_for_rest(message) {
                return Diagnosis::of(ErrorCode::ApiClientControl, Confidence::Medium, evidence);
            }
            evidence.push("no refresh token is stored for this connection".into());
            return Diagnosis::of(ErrorCode::SessionExpired, Confidence::High, evidence);
        }
        match self.renew(id, RefreshReason::Diagnose, None).await {
            Err(e) => {
                checks.push(Check {
                    name: "refresh",
                    ok: false,
                    detail: format!(
                        "{}: {}",
                        e.code,
                        e.evidence.first().cloned().unwrap_or_default()
                    ),
                });
                evidence.extend(e.evidence.clone());
                Diagnosis {
                    fix: e.fix.clone(),
                    ..Diagnosis::of(e.code, Confidence::High, evidence)
                }
            }
            Ok(_) => {
                checks.push(Check {
                    name: "refresh",
                    ok: true,
                    detail: "the token endpoint issued a new access token".into(),
                });
                let Some(view) = self.current_view(id) else {
                    return Diagnosis::of(ErrorCode::RefreshFailed, Confidence::Low, evidence);
                };
                let again = self.probe(rest_url, &view.access).await;
                let ok = matches!(&again, Ok(r) if r.status == 200);
                checks.push(Check {
                    name: "rest_probe_after_refresh",
                    ok,
                    detail: match &again {
                        Ok(r) => form_reply_detail(r),
                        Err(e) => clip(e, 120),
                    },
                });
                if ok {
                    let foreign = record.minted_by != self.config.instance_id && !record.ip_locked;
                    if foreign
                        && self.host.now_ms().saturating_sub(record.issued_at)
                            < crate::classify::FRESH_TOKEN_MS
                    {
                        evidence.push(format!("the rejected token was minted by instance '{}' moments ago; a token minted here works", record.minted_by));
                        return Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, evidence);
                    }
                    evidence.push("a refreshed token works: the session had expired and the library renews it by itself".into());
                    return Diagnosis {
                        cause: "OK".into(),
                        confidence: Confidence::High,
                        evidence,
                        fix: "Nothing to fix: expired sessions are refreshed automatically.".into(),
                    };
                }
                if org_read_only {
                    evidence.push("the org answered INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE recently".into());
                    return Diagnosis::of(ErrorCode::OrgReadOnly, Confidence::Medium, evidence);
                }
                evidence.push("a token minted moments ago was rejected as well".into());
                if identity.is_some_and(|r| r.status == 200) {
                    evidence.push("the identity endpoint accepts the token: the session is valid, the REST API is not allowed for this app".into());
                }
                Diagnosis::of(
                    ErrorCode::ApiClientControl,
                    if is_not_valid_for_rest(message) {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    },
                    evidence,
                )
            }
        }
    }

    fn emit_diagnosis_for(&self, id: &str, record: &StoredConnection, d: &Diagnosis) {
        self.emit(
            "diagnosis",
            id,
            &record.org_id,
            &record.user_id,
            d.members().into(),
        );
    }

    /// Reads a URL's origin for tests and callers that need it.
    pub fn origin_of_url(url: &str) -> Option<Origin> {
        parse_url(url).ok().map(|p| p.origin)
    }
}

/// Refresh responses carry `id`; when a server omits it, keep the stored one.
/// An org-level refusal of a call (limits, API disabled), quoting what Salesforce said.
fn org_refusal(
    code: ErrorCode,
    summary: &str,
    method: &str,
    path: &str,
    status: u16,
    e: &ApiError,
) -> SessionError {
    SessionError::new(code, summary)
        .status(status)
        .evidence(format!(
            "{method} {path} answered {status} {}: \"{}\"",
            e.code,
            clip(&e.message, 160)
        ))
}

/// What a refresh response may leave out and the stored record already knows.
struct StoredFields {
    id_url: String,
    instance_url: String,
}

/// Refresh responses carry `id`, `instance_url` and `issued_at`; when a server omits
/// one, the stored identity and instance are kept and the token counts as issued now.
/// A value that is present is always taken as it is (sandbox refresh moves instances).
fn complete_refresh_response(body: &str, stored: &StoredFields, now: u64) -> String {
    let Some(Json::Object(mut members)) = json::parse(body) else {
        return body.to_string();
    };
    let has = |members: &Vec<(std::borrow::Cow<'_, str>, Json<'_>)>, name: &str| {
        members.iter().any(|(n, _)| n == name)
    };
    let before = members.len();
    if !has(&members, "id") {
        members.push(("id".into(), Json::str(&stored.id_url)));
    }
    if !has(&members, "instance_url") {
        members.push(("instance_url".into(), Json::str(&stored.instance_url)));
    }
    if !has(&members, "issued_at") {
        members.push(("issued_at".into(), Json::Uint(now)));
    }
    if members.len() == before {
        return body.to_string();
    }
    Json::Object(members).write()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_lists_the_diagnosis_then_the_connection_and_its_checks() {
        let report = Report {
            diagnosis: Diagnosis::of(ErrorCode::IpLocked, Confidence::Medium, vec!["seen".into()]),
            connection_id: "acme".into(),
            checks: vec![Check {
                name: "stored",
                ok: true,
                detail: "org o".into(),
            }],
        };
        let text = report.to_json();
        assert!(text.starts_with(
            r#"{"cause":"IP_LOCKED","confidence":"medium","evidence":["seen"],"fix":"#
        ));
        assert!(text.ends_with(
            r#","connectionId":"acme","checks":[{"name":"stored","ok":true,"detail":"org o"}]}"#
        ));
    }

    #[test]
    fn a_refresh_body_gets_the_stored_identity_and_instance_when_it_omits_them() {
        let stored = StoredFields {
            id_url: "https://x/id/1".into(),
            instance_url: "https://a.my.salesforce.com".into(),
        };
        let body = complete_refresh_response(r#"{"access_token":"a","n":1.5}"#, &stored, 7);
        assert_eq!(
            body,
            r#"{"access_token":"a","n":1.5,"id":"https://x/id/1","instance_url":"https://a.my.salesforce.com","issued_at":7}"#
        );
        let complete =
            r#"{"id":"mine","instance_url":"https://b.my.salesforce.com","issued_at":"5"}"#;
        assert_eq!(complete_refresh_response(complete, &stored, 7), complete);
        assert_eq!(
            complete_refresh_response("not json", &stored, 7),
            "not json"
        );
    }
}
