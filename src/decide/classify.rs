//! Root-cause classification (SALESFORCE.md §6): pure decisions over what the client
//! saw. Every verdict carries its evidence and the fix.

use crate::error::{clip, ErrorCode, SessionError};
use crate::wire::api_error::{parse_api_error, ApiError};
use serde::Serialize;

/// How sure a diagnosis is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The evidence admits one cause.
    High,
    /// The evidence points to this cause; another is possible.
    Medium,
    /// A guess from circumstantial evidence.
    Low,
}

impl Confidence {
    /// The name JavaScript sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// A named root cause with what led to it and what fixes it, as reports and events show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnosis {
    /// One of the error codes, or `OK`.
    pub cause: String,
    /// How sure.
    pub confidence: Confidence,
    /// What was observed.
    pub evidence: Vec<String>,
    /// One sentence a person can act on.
    pub fix: String,
}

impl Diagnosis {
    /// A diagnosis naming an error code, with that code's default fix.
    pub fn of(code: ErrorCode, confidence: Confidence, evidence: Vec<String>) -> Self {
        Diagnosis {
            cause: code.as_str().to_string(),
            confidence,
            evidence,
            fix: code.default_fix().to_string(),
        }
    }

    /// The diagnosis of an error.
    pub fn from_error(e: &SessionError, confidence: Confidence) -> Self {
        Diagnosis {
            cause: e.code.as_str().to_string(),
            confidence,
            evidence: e.evidence.clone(),
            fix: e.fix.clone(),
        }
    }
}

/// The message Salesforce gives when the session is fine but the REST API is not
/// allowed for it (API Access Control, high assurance): refreshing does not help.
pub fn is_not_valid_for_rest(message: &str) -> bool {
    crate::text::contains(
        &message.to_ascii_lowercase(),
        "not valid for use with the rest api",
    )
}

/// What a response means for the session layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseVerdict {
    /// Hand the response to the caller untouched.
    Pass,
    /// The session was rejected (`INVALID_SESSION_ID` in any shape).
    SessionRejected(ApiError),
    /// A data call reached a login host.
    UrlNotReset(ApiError),
    /// The org refuses writes (maintenance / read-only mode).
    ReadOnly(ApiError),
    /// The org's API request limit is exhausted.
    RateLimited(ApiError),
    /// The REST API is disabled for the org.
    ApiDisabled(ApiError),
}

/// Whether the body of a response with this status must be read to classify it.
pub fn needs_body(status: u16) -> bool {
    matches!(status, 400 | 401 | 403 | 500)
}

/// Classifies a REST/SOAP/Bulk response from its status and (for error statuses) body.
pub fn classify_response(status: u16, body: &str) -> ResponseVerdict {
    let Some(error) = parse_api_error(body) else {
        return ResponseVerdict::Pass;
    };
    match (status, error.code.as_str()) {
        (400 | 401 | 500, "INVALID_SESSION_ID") => ResponseVerdict::SessionRejected(error),
        (400, "URL_NOT_RESET") => ResponseVerdict::UrlNotReset(error),
        (_, "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE") => {
            ResponseVerdict::ReadOnly(error)
        }
        (403, "REQUEST_LIMIT_EXCEEDED") => ResponseVerdict::RateLimited(error),
        (403, "API_DISABLED_FOR_ORG") => ResponseVerdict::ApiDisabled(error),
        _ => ResponseVerdict::Pass,
    }
}

/// A token younger than this, minted here and rejected, cannot have expired.
pub const FRESH_TOKEN_MS: u64 = 10 * 60 * 1000;

/// What the client knows about a rejected token.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// The HTTP status of the rejection.
    pub status: u16,
    /// The Salesforce message.
    pub message: String,
    /// The instance id that minted the rejected token.
    pub minted_by: String,
    /// This instance's id.
    pub instance_id: String,
    /// Age of the rejected token, ms.
    pub token_age_ms: u64,
    /// Whether the token is younger than the estimated session lifetime.
    pub presumed_live: bool,
    /// Whether any call on this connection has ever succeeded.
    pub ever_succeeded: bool,
    /// Whether a call succeeded here with the rejected token before.
    pub worked_here: bool,
    /// Whether the connection can get a new token (refresh token or JWT).
    pub can_refresh: bool,
    /// Whether the rejected token was obtained by this very call's refresh.
    pub after_refresh: bool,
    /// Whether the org was recently seen in maintenance / read-only mode.
    pub org_read_only: bool,
}

/// The next step after a session rejection.
#[derive(Clone, Debug, PartialEq)]
pub enum AfterRejection {
    /// Get a new token and retry once.
    Refresh,
    /// Give up with this error.
    Fail(SessionError),
}

fn age_text(ms: u64) -> String {
    if ms < 120_000 {
        format!("{}s", ms / 1000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

fn api_client_control(r: &Rejection, refreshed: bool) -> SessionError {
    let mut e = SessionError::new(
        ErrorCode::ApiClientControl,
        "Salesforce rejects this connected app's sessions for the REST API",
    )
    .status(r.status)
    .evidence(format!(
        "a token minted here {} ago was rejected: \"{}\"",
        age_text(r.token_age_ms),
        clip(&r.message, 160)
    ));
    if refreshed {
        e = e.evidence("the token endpoint issued a new token without complaint, and the new token was rejected at once");
    }
    if !r.ever_succeeded {
        e = e.evidence("no call on this connection has ever succeeded");
    }
    e
}

/// Decides what to do when a session is rejected (`INVALID_SESSION_ID`).
pub fn after_rejection(r: &Rejection) -> AfterRejection {
    let minted_here = r.minted_by == r.instance_id;
    let fresh_here = minted_here && r.token_age_ms < FRESH_TOKEN_MS;
    if r.after_refresh && r.org_read_only {
        // Maintenance flips live sessions to INVALID_SESSION_ID; it is not an app policy.
        let e = SessionError::new(
            ErrorCode::OrgReadOnly,
            "The org is in maintenance: its sessions are being rejected",
        )
        .status(r.status)
        .evidence("the org answered INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE recently")
        .evidence(format!(
            "a token minted moments ago was rejected too: \"{}\"",
            clip(&r.message, 160)
        ));
        return AfterRejection::Fail(e);
    }
    if r.after_refresh {
        return AfterRejection::Fail(api_client_control(r, true));
    }
    if is_not_valid_for_rest(&r.message) && fresh_here {
        return AfterRejection::Fail(api_client_control(r, false));
    }
    if !r.can_refresh {
        let e = if is_not_valid_for_rest(&r.message) {
            api_client_control(r, false)
        } else {
            SessionError::new(
                ErrorCode::SessionExpired,
                "The session expired and the connection has no refresh token",
            )
            .status(r.status)
            .evidence(format!(
                "Salesforce rejected a token {} old: \"{}\"",
                age_text(r.token_age_ms),
                clip(&r.message, 160)
            ))
            .evidence("no refresh token is stored for this connection")
        };
        return AfterRejection::Fail(e);
    }
    AfterRejection::Refresh
}

/// After a refreshed token worked where the previous one was rejected: was the
/// previous token killed by the org's IP lock? A fresh token minted by another
/// instance failing here while ours works at once is the signature.
pub fn ip_lock_after_recovery(r: &Rejection) -> Option<Diagnosis> {
    // Only a token minted moments ago rules out plain expiry (a session timeout
    // shorter than configured, a session evicted by the token cap).
    // A token that worked here before was not refused for this instance's IP: it was
    // ended for everyone (a kill, another worker's rotation), which a fleet sees alike.
    if r.minted_by == r.instance_id
        || r.worked_here
        || !r.presumed_live
        || r.token_age_ms >= FRESH_TOKEN_MS
    {
        return None;
    }
    Some(Diagnosis::of(
        ErrorCode::IpLocked,
        Confidence::High,
        vec![
            format!("a token minted by instance '{}' {} ago, well within the session timeout, was rejected here (instance '{}')", clip(&r.minted_by, 60), age_text(r.token_age_ms), clip(&r.instance_id, 60)),
            "a token minted by this instance worked at once".to_string(),
            "each instance now keeps its own access token, so instances stop invalidating each other".to_string(),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection() -> Rejection {
        Rejection {
            status: 401,
            message: "Session expired or invalid".into(),
            minted_by: "w1".into(),
            instance_id: "w1".into(),
            token_age_ms: 3 * 3600 * 1000,
            presumed_live: false,
            ever_succeeded: true,
            worked_here: false,
            can_refresh: true,
            after_refresh: false,
            org_read_only: false,
        }
    }

    #[test]
    fn an_old_token_is_refreshed() {
        assert_eq!(after_rejection(&rejection()), AfterRejection::Refresh);
    }

    #[test]
    fn an_expired_session_without_refresh_token_is_session_expired() {
        let r = Rejection {
            can_refresh: false,
            ..rejection()
        };
        let AfterRejection::Fail(e) = after_rejection(&r) else {
            panic!("should fail")
        };
        assert_eq!(e.code, ErrorCode::SessionExpired);
        assert!(e.evidence.iter().any(|l| l.contains("no refresh token")));
    }

    #[test]
    fn a_fresh_token_rejected_for_rest_is_api_client_control_without_refresh() {
        let r = Rejection {
            message: "This session is not valid for use with the REST API".into(),
            token_age_ms: 2000,
            presumed_live: true,
            ever_succeeded: false,
            ..rejection()
        };
        let AfterRejection::Fail(e) = after_rejection(&r) else {
            panic!("should fail")
        };
        assert_eq!(e.code, ErrorCode::ApiClientControl);
        assert!(e.fix.contains("admin"));
    }

    #[test]
    fn the_rest_message_on_an_old_token_still_tries_one_refresh() {
        let r = Rejection {
            message: "This session is not valid for use with the REST API".into(),
            ..rejection()
        };
        assert_eq!(after_rejection(&r), AfterRejection::Refresh);
    }

    #[test]
    fn a_refreshed_token_rejected_at_once_is_api_client_control() {
        let r = Rejection {
            after_refresh: true,
            token_age_ms: 50,
            ever_succeeded: false,
            ..rejection()
        };
        let AfterRejection::Fail(e) = after_rejection(&r) else {
            panic!("should fail")
        };
        assert_eq!(e.code, ErrorCode::ApiClientControl);
        assert!(e
            .evidence
            .iter()
            .any(|l| l.contains("never succeeded") || l.contains("ever succeeded")));
    }

    #[test]
    fn a_rejected_new_token_on_a_read_only_org_is_read_only_not_api_control() {
        let r = Rejection {
            after_refresh: true,
            org_read_only: true,
            token_age_ms: 50,
            ..rejection()
        };
        let AfterRejection::Fail(e) = after_rejection(&r) else {
            panic!("should fail")
        };
        assert_eq!(e.code, ErrorCode::OrgReadOnly);
    }

    #[test]
    fn a_fresh_foreign_token_rejected_then_ours_working_is_ip_lock() {
        let r = Rejection {
            minted_by: "w2".into(),
            token_age_ms: 30_000,
            presumed_live: true,
            ..rejection()
        };
        let d = ip_lock_after_recovery(&r).unwrap();
        assert_eq!(d.cause, "IP_LOCKED");
        assert_eq!(d.confidence, Confidence::High);
        assert!(d.fix.contains("IP"));
    }

    #[test]
    fn ambiguous_evidence_is_not_ip_lock() {
        // Our own token, or a foreign token past its lifetime: plain expiry.
        assert_eq!(
            ip_lock_after_recovery(&Rejection {
                presumed_live: true,
                ..rejection()
            }),
            None
        );
        assert_eq!(
            ip_lock_after_recovery(&Rejection {
                minted_by: "w2".into(),
                presumed_live: false,
                ..rejection()
            }),
            None
        );
        let older = Rejection {
            minted_by: "w2".into(),
            presumed_live: true,
            token_age_ms: 40 * 60_000,
            ..rejection()
        };
        assert_eq!(ip_lock_after_recovery(&older), None);
        // A foreign token that worked here before was ended for everyone, not for this IP.
        let worked = Rejection {
            minted_by: "w2".into(),
            presumed_live: true,
            token_age_ms: 30_000,
            worked_here: true,
            ..rejection()
        };
        assert_eq!(ip_lock_after_recovery(&worked), None);
    }

    #[test]
    fn responses_are_classified_by_shape() {
        assert!(matches!(
            classify_response(
                401,
                r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
            ),
            ResponseVerdict::SessionRejected(_)
        ));
        assert!(matches!(classify_response(500, "<soapenv:Envelope><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"), ResponseVerdict::SessionRejected(_)));
        assert!(matches!(
            classify_response(
                400,
                "<error><exceptionCode>InvalidSessionId</exceptionCode></error>"
            ),
            ResponseVerdict::SessionRejected(_)
        ));
        assert!(matches!(
            classify_response(400, r#"[{"message":"x","errorCode":"URL_NOT_RESET"}]"#),
            ResponseVerdict::UrlNotReset(_)
        ));
        assert!(matches!(
            classify_response(
                400,
                r#"[{"message":"x","errorCode":"INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"}]"#
            ),
            ResponseVerdict::ReadOnly(_)
        ));
        assert!(matches!(
            classify_response(
                403,
                r#"[{"message":"x","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#
            ),
            ResponseVerdict::RateLimited(_)
        ));
        assert!(matches!(
            classify_response(
                403,
                r#"[{"message":"x","errorCode":"API_DISABLED_FOR_ORG"}]"#
            ),
            ResponseVerdict::ApiDisabled(_)
        ));
        assert_eq!(
            classify_response(400, r#"[{"message":"x","errorCode":"MALFORMED_QUERY"}]"#),
            ResponseVerdict::Pass
        );
        assert_eq!(classify_response(401, "<html>"), ResponseVerdict::Pass);
    }
}
