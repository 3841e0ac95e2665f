//! Events: one typed enum of everything the engine reports, handed to the host as
//! plain objects, and built only when someone listens.

use super::*;
use serde::Serialize;

/// What happened, with its own members; `type` names it.
#[derive(Clone, Debug, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum EventDetail<'a> {
    /// A token response was stored.
    Connected {
        /// Its instance.
        instance_url: &'a str,
    },
    /// A connection was forgotten.
    Disconnected {
        /// Whether its tokens were revoked at Salesforce first.
        revoked: bool,
    },
    /// A root cause was named.
    Diagnosis {
        /// An error code, or `OK`.
        cause: &'a str,
        /// How sure.
        confidence: Confidence,
        /// What was observed.
        evidence: &'a [String],
        /// What fixes it.
        fix: &'a str,
    },
    /// The introspection endpoint was asked for the real expiry.
    Introspection {
        /// Whether the token is active.
        active: bool,
        /// Its real expiry, epoch ms.
        expires_at: Option<u64>,
    },
    /// A new access token was stored.
    Refresh {
        /// Why (proactive, invalid_session, forced, diagnose).
        reason: &'static str,
        /// How long the renewal took.
        duration_ms: u64,
        /// Whether a new refresh token came back.
        rotated: bool,
        /// Which token request succeeded.
        attempt: u32,
        /// The instance from the token response.
        instance_url: &'a str,
        /// Whether the token is this instance's own (IP-locked orgs).
        per_instance_token: bool,
    },
    /// A renewal failed.
    RefreshFailed {
        /// Why it was wanted.
        reason: &'static str,
        /// The error code.
        code: ErrorCode,
        /// What was seen.
        evidence: &'a [String],
        /// How long it took, when token requests were made.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// The connection needs a person to authorize again.
    ReauthRequired {
        /// The sub-reason.
        reason: &'a str,
        /// Salesforce's `error_description`, verbatim.
        description: &'a str,
        /// Whether the mark reached the store.
        stored: bool,
    },
    /// The re-authorization webhook could not be delivered.
    WebhookFailed {
        /// What went wrong.
        detail: &'a str,
    },
    /// A call was answered.
    Request {
        /// HTTP method.
        method: &'a str,
        /// The path, without query.
        path: &'a str,
        /// HTTP status.
        status: u16,
        /// How long it took.
        duration_ms: u64,
        /// 1, or 2 for the retry after a refresh.
        attempt: u32,
    },
    /// Many INVALID_SESSION_ID for one org in a short window.
    InvalidSessionSpike {
        /// How many in the window.
        count: usize,
        /// The window.
        window_seconds: u64,
        /// The configured threshold.
        threshold: usize,
        /// The causes that reach many sessions at once.
        likely_causes: [ErrorCode; 3],
    },
    /// The org refused a write for maintenance: writes are held.
    OrgReadOnly {
        /// When the next write may probe, epoch ms.
        next_probe_at: u64,
    },
    /// A best-effort store operation failed; the call went on (see `engine/records`).
    StoreFailed {
        /// `get`, `put` or `delete`.
        operation: &'static str,
        /// The key.
        key: &'a str,
        /// What the store said.
        detail: &'a str,
    },
    /// A write succeeded again after maintenance.
    OrgWritable {
        /// How long the org was read-only.
        read_only_for_ms: u64,
    },
}

impl<'a> EventDetail<'a> {
    /// The event of a diagnosis.
    pub fn diagnosis(d: &'a Diagnosis) -> Self {
        EventDetail::Diagnosis {
            cause: &d.cause,
            confidence: d.confidence,
            evidence: &d.evidence,
            fix: &d.fix,
        }
    }
}

/// An event as listeners receive it: what happened, and to which connection when.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    /// What happened.
    #[serde(flatten)]
    pub detail: EventDetail<'a>,
    /// The connection.
    pub connection_id: &'a str,
    /// Its org, when known.
    pub org_id: &'a str,
    /// Its user, when known.
    pub user_id: &'a str,
    /// When, epoch ms (the configured clock).
    pub at: u64,
}

impl<H: Host> Engine<H> {
    /// Hands an event about a connection whose org and user are given.
    pub(super) fn emit(&self, id: &str, org: &str, user: &str, detail: EventDetail<'_>) {
        if !self.host.wants_events() {
            return;
        }
        let secrets = self.secrets_of(Some(id));
        self.host.emit(
            &Event {
                detail,
                connection_id: id,
                org_id: org,
                user_id: user,
                at: self.host.now_ms(),
            },
            &exposed(&secrets),
        );
    }

    /// Hands an event about a connection in memory.
    pub(super) fn emit_for(&self, id: &str, detail: EventDetail<'_>) {
        if !self.host.wants_events() {
            return;
        }
        let (org, user) = self
            .with_conn(id, |c| (c.record.org_id.clone(), c.record.user_id.clone()))
            .unwrap_or_default();
        self.emit(id, &org, &user, detail);
    }

    pub(super) fn emit_diagnosis(&self, id: &str, d: &Diagnosis) {
        self.emit_for(id, EventDetail::diagnosis(d));
    }

    pub(super) fn emit_diagnosis_for(&self, id: &str, record: &StoredConnection, d: &Diagnosis) {
        self.emit(
            id,
            &record.org_id,
            &record.user_id,
            EventDetail::diagnosis(d),
        );
    }

    pub(super) fn emit_request(
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
        let duration_ms = self.host.now_ms().saturating_sub(started);
        self.emit_for(
            id,
            EventDetail::Request {
                method,
                path,
                status,
                duration_ms,
                attempt,
            },
        );
    }
}
