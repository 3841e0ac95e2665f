//! The session engine: every call's path from "which token?" to "which root cause?".
//! It owns the in-memory state (cached credentials, refreshes in flight, org
//! read-only state, spike windows) and talks to the outside only through [`Host`].

use crate::config::Config;
use crate::decide::classify::{
    after_rejection, classify_response, ip_lock_after_recovery, is_not_valid_for_rest, needs_body,
    AfterRejection, Confidence, Diagnosis, Rejection, ResponseVerdict,
};
use crate::decide::origin::{check_instance_url, parse_url, resolve_target, Origin, Target};
use crate::decide::policy::{
    due_for_refresh, estimate_expiry, is_write, refresh_due_at, write_gate, ReadOnlyState,
    SpikeWindow, WriteGate, INTROSPECT_EVERY_MS,
};
use crate::decide::redact::{exposed, redact};
use crate::decide::token_failure::{classify_token_failure, TokenFailure};
use crate::error::{clip, ErrorCode, SessionError};
use crate::grant::{introspect, refresh_token, revoke, TokenRequest};
use crate::host::{Host, HostError, HttpReply};
use crate::secret::Secret;
use crate::store::keys::Keys;
use crate::store::record::{
    ConnectionInfo, ExpirySource, LocalToken, ReauthInfo, Status, StoredConnection,
};
use crate::wire::api_error::{parse_api_error, ApiError};
use crate::wire::introspection::{read_introspection, Introspection};
use crate::wire::json::encode;
use crate::wire::token_response::{
    parse_token_response, validate_token_response, MintedToken, RefreshDefaults, TokenChecks,
    TokenResponseBody,
};
use events::EventDetail;
use flight::{lock_look_ms, next_look_ms, Flight};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

mod call;
mod connections;
mod doctor;
pub mod events;
mod fleet;
mod flight;
mod grants;
mod ip_lock;
mod read_only;
mod reauth;
mod records;
mod rejections;
mod renew;
mod token_endpoint;

use doctor::form_reply_detail;
pub use doctor::{Check, Report};
pub use fleet::{KeepAliveFailure, KeepAliveReport};
pub use grants::Grant;
use grants::Provenance;

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
    /// `keepAlive()` found the connection idle.
    KeepAlive,
}

impl RefreshReason {
    fn as_str(self) -> &'static str {
        match self {
            RefreshReason::Proactive => "proactive",
            RefreshReason::Rejected => "invalid_session",
            RefreshReason::Forced => "forced",
            RefreshReason::Diagnose => "diagnose",
            RefreshReason::KeepAlive => "keep_alive",
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
    target: Target,
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
    /// Until when, epoch ms, reads may go with this token without asking again (its
    /// refresh is due then); 0 when it is due already.
    pub fresh_until: u64,
}

/// In-memory state of one connection.
struct Conn {
    record: StoredConnection,
    origin: Origin,
    /// Instance origins the org moved away from (a refresh changed `instance_url`),
    /// most recent last: calls resolved against them go to `origin`.
    left: Vec<Origin>,
    local: Option<LocalToken>,
    flight: Option<Rc<Flight<Outcome>>>,
    blocked: Option<(u64, SessionError)>,
    ever_succeeded: bool,
    /// The `issued_at` of the last token a call succeeded with here (0: none): a token
    /// that worked here was not refused for this instance's IP when it is rejected later.
    worked: u64,
    introspected: Option<(u64, u64)>,
    /// After a failed proactive refresh, calls use the current token until then
    /// instead of each paying for another failing token request.
    proactive_hold_until: u64,
    /// When the record was last read from the store (a `reauth_required` mark is
    /// looked at again after [`RECHECK_MS`]: a `connect()` elsewhere lifts it).
    checked_at: u64,
    /// When this instance last sent a call on the connection.
    used_at: Option<u64>,
}

/// How often a connection marked `reauth_required` in memory looks at the store again.
const RECHECK_MS: u64 = 2_000;

/// How many origins a connection remembers having left.
const LEFT_ORIGINS_KEPT: usize = 4;

impl Conn {
    /// Takes `origin` as the instance, remembering the one it replaces.
    fn move_to(&mut self, origin: Origin) {
        if origin != self.origin {
            let old = std::mem::replace(&mut self.origin, origin);
            self.left.retain(|o| *o != old && *o != self.origin);
            self.left.push(old);
            if self.left.len() > LEFT_ORIGINS_KEPT {
                self.left.remove(0);
            }
        }
    }

    fn new(record: StoredConnection, origin: Origin, local: Option<LocalToken>) -> Self {
        Conn {
            record,
            origin,
            left: Vec::new(),
            local,
            flight: None,
            blocked: None,
            ever_succeeded: false,
            worked: 0,
            introspected: None,
            proactive_hold_until: 0,
            checked_at: 0,
            used_at: None,
        }
    }

    /// A call with the current token succeeded.
    fn succeeded(&mut self) {
        self.ever_succeeded = true;
        self.blocked = None;
        self.worked = match (&self.local, self.record.ip_locked) {
            (Some(l), true) => l.issued_at,
            _ => self.record.issued_at,
        };
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

/// The session engine over a host.
pub struct Engine<H: Host> {
    host: H,
    config: Config,
    keys: Keys,
    /// Boxed: a map of 10,000 connections then grows by pointers, not by whole states
    /// (the module's memory never shrinks after a growth's peak).
    conns: RefCell<HashMap<String, Box<Conn>>>,
    orgs: RefCell<HashMap<String, OrgState>>,
}

fn check_connection_id(id: &str) -> Result<(), SessionError> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(SessionError::config("connectionId must be a non-empty string of at most 256 characters without control characters"));
    }
    Ok(())
}

impl<H: Host> Engine<H> {
    /// An engine with no connections loaded.
    pub fn new(host: H, config: Config) -> Self {
        Engine {
            host,
            keys: Keys::new(&config.key_prefix, &config.instance_id),
            config,
            conns: RefCell::new(HashMap::new()),
            orgs: RefCell::new(HashMap::new()),
        }
    }

    /// Every secret this manager holds that a text about connection `id` could quote:
    /// the client and webhook secrets, and the connection's tokens. Texts leave the
    /// library through the redactor with these (`decide/redact`).
    pub fn secrets_of(&self, id: Option<&str>) -> Vec<Secret> {
        let mut secrets: Vec<Secret> = Vec::with_capacity(5);
        secrets.extend(self.config.client_secret.iter().cloned());
        secrets.extend(self.config.webhook.iter().map(|w| w.secret.clone()));
        if let Some(id) = id {
            self.with_conn(id, |c| {
                secrets.push(c.record.access_token.clone());
                secrets.extend(c.record.refresh_token.iter().cloned());
                secrets.extend(c.local.iter().map(|l| l.access_token.clone()));
            });
        }
        secrets
    }

    /// What every token response this engine takes is held to.
    fn token_checks(&self) -> TokenChecks<'_> {
        self.token_checks_at(&self.config.login_origin)
    }

    /// The same for tokens from another login host (a connection's own).
    fn token_checks_at<'a>(&self, login_origin: &'a Origin) -> TokenChecks<'a> {
        TokenChecks {
            allow_insecure_loopback: self.config.allow_insecure_loopback,
            login_origin,
            now_ms: self.host.now_ms(),
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

    fn with_conn<R>(&self, id: &str, f: impl FnOnce(&mut Conn) -> R) -> Option<R> {
        self.conns.borrow_mut().get_mut(id).map(|c| f(c))
    }

    fn org_id_of(&self, id: &str) -> Option<String> {
        self.with_conn(id, |c| c.record.org_id.clone())
    }

    fn unknown(id: &str) -> SessionError {
        SessionError::new(
            ErrorCode::UnknownConnection,
            format!("No connection '{}' is stored", clip(id, 80)),
        )
        .evidence("the store has no record for this connection id")
        .about(id, None)
    }

    fn current_view(&self, id: &str) -> Option<TokenView> {
        self.with_conn(id, |c| c.view()).flatten()
    }

    /// Reads a URL's origin for tests and callers that need it.
    pub fn origin_of_url(url: &str) -> Option<Origin> {
        parse_url(url).ok().map(|p| p.origin)
    }
}
