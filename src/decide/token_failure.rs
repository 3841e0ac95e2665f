//! What a refused token request means (SALESFORCE.md §2, §7): a revocation with its
//! sub-reason, a transient failure to retry, or a configuration to fix.

use crate::error::{clip, ErrorCode, SessionError};
use crate::text::contains;
use crate::wire::api_error::{looks_like_html, parse_oauth_error};

/// Why Salesforce revoked a refresh token, from `error_description`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationReason {
    /// `authentication failure`: password changed or credentials invalid.
    PasswordChanged,
    /// `inactive user`.
    UserDeactivated,
    /// `inactive organization`.
    OrgInactive,
    /// `expired access/refresh token`: app access revoked, the 5-token cap, the refresh token policy, or a rotated-out token.
    TokenRevoked,
    /// `user hasn't approved this consumer`.
    NotApproved,
    /// `IP restricted or invalid login hours`.
    LoginRestricted,
    /// JWT assertion problems.
    InvalidAssertion,
    /// Any other `invalid_grant`.
    Other,
}

impl RevocationReason {
    fn from_grant_error(error: &str, description: &str) -> Self {
        let d = description.to_ascii_lowercase();
        let e = error.to_ascii_lowercase();
        if contains(&d, "authentication failure") {
            RevocationReason::PasswordChanged
        } else if contains(&d, "inactive user") || e == "inactive_user" {
            RevocationReason::UserDeactivated
        } else if contains(&d, "inactive organization")
            || contains(&d, "inactive org")
            || e == "inactive_org"
        {
            RevocationReason::OrgInactive
        } else if contains(&d, "expired access/refresh token") {
            RevocationReason::TokenRevoked
        } else if contains(&d, "approved") {
            RevocationReason::NotApproved
        } else if contains(&d, "ip restricted") || contains(&d, "login hours") {
            RevocationReason::LoginRestricted
        } else if contains(&d, "assertion") || contains(&d, "audience") {
            RevocationReason::InvalidAssertion
        } else {
            RevocationReason::Other
        }
    }

    /// A short phrase naming the sub-reason.
    pub fn label(self) -> &'static str {
        match self {
            RevocationReason::PasswordChanged => "the user's password changed (or the credentials are invalid)",
            RevocationReason::UserDeactivated => "the user was deactivated",
            RevocationReason::OrgInactive => "the org is inactive (locked, closed or suspended)",
            RevocationReason::TokenRevoked => "the refresh token was revoked: app access revoked, evicted by the 5-token limit, expired by the refresh token policy, or a rotated-out token was presented",
            RevocationReason::NotApproved => "the user has not approved this connected app",
            RevocationReason::LoginRestricted => "login IP ranges or login hours forbid it",
            RevocationReason::InvalidAssertion => "the JWT assertion was refused",
            RevocationReason::Other => "Salesforce refused the grant",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            RevocationReason::UserDeactivated => "Reactivate the user or connect a different, active user; then authorize again and pass the new token response to connect().",
            RevocationReason::OrgInactive => "The org is locked, closed or suspended: contact its admin; the connection cannot be used until the org is active and a user authorizes again.",
            RevocationReason::NotApproved => "Pre-approve the connected app for the user (profile or permission set), or have the user authorize it once.",
            RevocationReason::LoginRestricted => "Allow this IP range or time in the user's profile login restrictions (or relax the connected app's IP policy), then authorize again.",
            RevocationReason::InvalidAssertion => "Check the JWT: iss = consumer key, sub = username, aud = the login URL, exp at most 3 minutes ahead, signed with the certificate uploaded to the connected app.",
            RevocationReason::TokenRevoked => "The user must authorize the app again (if this repeats, check the connected app's refresh token policy and that no more than 5 clients share this user's grant).",
            _ => ErrorCode::SessionRevoked.default_fix(),
        }
    }
}

/// What a failed token request means.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenFailure {
    /// `invalid_grant`: the refresh token is dead; a person must authorize again.
    Revoked {
        /// The sub-reason.
        reason: RevocationReason,
        /// `error_description`, verbatim.
        description: String,
    },
    /// Another refresh with the same token is in flight: wait, re-read, retry.
    Busy(String),
    /// The refresh came from an egress IP outside the app's refresh-token IP allowlist
    /// (SALESFORCE.md §7): not a revocation of consent; the refresh token is kept.
    IpRestricted(String),
    /// `rate_limit_exceeded`.
    RateLimited(String),
    /// Wrong consumer key or secret, or a grant the app does not allow.
    BadClient {
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// 5xx, HTML, network or an unreadable body: back off and retry.
    Transient(String),
    /// Salesforce Edge's 420 page (an incident, or a deleted or expired org): a couple
    /// of retries, then `SALESFORCE_UNAVAILABLE`.
    Unavailable(String),
    /// Any other refusal.
    Rejected {
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
}

/// Classifies a token endpoint answer that was not a 200 with a token.
pub fn classify_token_failure(status: u16, body: &str) -> TokenFailure {
    if status == 420 {
        return TokenFailure::Unavailable(format!(
            "token endpoint answered HTTP 420{} (Salesforce Edge)",
            if looks_like_html(body) {
                " with an HTML page"
            } else {
                ""
            }
        ));
    }
    if status >= 500 || looks_like_html(body) {
        return TokenFailure::Transient(format!(
            "token endpoint answered HTTP {status}{}",
            if looks_like_html(body) {
                " with an HTML page"
            } else {
                ""
            }
        ));
    }
    let Some(err) = parse_oauth_error(body) else {
        return TokenFailure::Transient(format!(
            "token endpoint answered HTTP {status} with an unreadable body"
        ));
    };
    let d = err.description.to_ascii_lowercase();
    match err.error.as_str() {
        "invalid_grant"
            if contains(&d, "already being processed")
                || contains(&d, "expired authorization code") =>
        {
            TokenFailure::Busy(err.description)
        }
        "invalid_grant" if contains(&d, "ip restricted") => {
            TokenFailure::IpRestricted(err.description)
        }
        "invalid_grant" | "inactive_user" | "inactive_org" => TokenFailure::Revoked {
            reason: RevocationReason::from_grant_error(&err.error, &err.description),
            description: err.description,
        },
        "rate_limit_exceeded" => TokenFailure::RateLimited(err.description),
        "invalid_client_id"
        | "invalid_client"
        | "unsupported_grant_type"
        | "invalid_app_access" => TokenFailure::BadClient {
            error: err.error,
            description: err.description,
        },
        _ if status == 429 => TokenFailure::RateLimited(err.description),
        _ => TokenFailure::Rejected {
            error: err.error,
            description: err.description,
        },
    }
}

impl TokenFailure {
    /// The error a caller sees once retries (if any) are spent.
    pub fn into_error(self) -> SessionError {
        match self {
            TokenFailure::Revoked { reason, description } => SessionError::new(ErrorCode::SessionRevoked, format!("The refresh token was revoked: {}", reason.label()))
                .evidence(format!("token endpoint answered invalid_grant: \"{}\"", clip(&description, 200)))
                .evidence(format!("sub-reason: {}", reason.label()))
                .fix(reason.fix()),
            TokenFailure::Busy(d) => SessionError::new(ErrorCode::RefreshFailed, "Another refresh of this token kept the token endpoint busy")
                .evidence(format!("token endpoint answered invalid_grant: \"{}\" (transient, not a revocation)", clip(&d, 200))),
            TokenFailure::IpRestricted(d) => SessionError::new(ErrorCode::RefreshIpRestricted, "The refresh was refused for the IP address it came from; the refresh token was kept")
                .evidence(format!("token endpoint answered invalid_grant: \"{}\"", clip(&d, 200)))
                .evidence("not a revocation: the connected app's refresh-token IP allowlist (or the user's login IP ranges) excludes this egress IP")
                .retryable(false),
            TokenFailure::RateLimited(d) => SessionError::new(ErrorCode::RateLimited, "Salesforce limited token requests for this user or app")
                .evidence(format!("token endpoint answered rate_limit_exceeded: \"{}\"", clip(&d, 200))),
            TokenFailure::BadClient { error, description } => SessionError::new(ErrorCode::InvalidConfig, "The token endpoint refused the client credentials")
                .evidence(format!("token endpoint answered {}: \"{}\"", clip(&error, 60), clip(&description, 200)))
                .fix("Check clientId (the consumer key) and clientSecret against the connected app, and that the app allows this OAuth flow."),
            TokenFailure::Transient(d) => SessionError::new(ErrorCode::RefreshFailed, "The token endpoint failed; the stored credential was kept").evidence(d),
            TokenFailure::Unavailable(d) => SessionError::new(ErrorCode::SalesforceUnavailable, "Salesforce answered with its outage page; the stored credential was kept").evidence(d),
            TokenFailure::Rejected { error, description } => SessionError::new(ErrorCode::RefreshFailed, "The token endpoint refused the refresh")
                .evidence(format!("token endpoint answered {}: \"{}\"", clip(&error, 60), clip(&description, 200)))
                .retryable(false),
        }
    }

    /// The error of a refused grant at connect time (a code, an assertion, client
    /// credentials): nothing was stored, and nobody's consent was revoked.
    pub fn into_grant_error(self, grant: &str) -> SessionError {
        let fix = match &self {
            TokenFailure::Revoked { reason, .. } if *reason != RevocationReason::Other && *reason != RevocationReason::TokenRevoked => reason.fix(),
            _ if grant == "authorization_code" => "Start the authorization again: a code is single-use and expires in minutes, redirect_uri must be the authorize request's, and codeVerifier the one authorizeUrl() returned.",
            _ => return self.into_error(),
        };
        let (TokenFailure::Revoked { description, .. }
        | TokenFailure::Rejected { description, .. }) = self
        else {
            return self.into_error();
        };
        SessionError::new(
            ErrorCode::InvalidConfig,
            format!("The token endpoint refused the {grant} grant; nothing was stored"),
        )
        .evidence(format!(
            "token endpoint answered: \"{}\"",
            clip(&description, 200)
        ))
        .fix(fix)
        .retryable(false)
    }

    /// Whether the same request may succeed if sent again after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TokenFailure::Transient(_) | TokenFailure::Busy(_) | TokenFailure::Unavailable(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_restricted_refresh_is_its_own_cause_not_a_revocation() {
        for d in ["ip restricted", "IP restricted or invalid login hours"] {
            let f = classify_token_failure(
                400,
                &format!(r#"{{"error":"invalid_grant","error_description":"{d}"}}"#),
            );
            assert_eq!(f, TokenFailure::IpRestricted(d.into()));
            let e = f.into_error();
            assert_eq!(e.code, ErrorCode::RefreshIpRestricted);
            assert!(!e.reauth_required && !e.retryable);
            assert!(e.evidence[0].contains(d));
        }
    }

    #[test]
    fn token_failures_are_classified() {
        let revoked = classify_token_failure(
            400,
            r#"{"error":"invalid_grant","error_description":"inactive user"}"#,
        );
        assert_eq!(
            revoked,
            TokenFailure::Revoked {
                reason: RevocationReason::UserDeactivated,
                description: "inactive user".into()
            }
        );
        let e = revoked.into_error();
        assert!(e.reauth_required && e.evidence[0].contains("\"inactive user\""));
        assert!(matches!(
            classify_token_failure(
                400,
                r#"{"error":"invalid_grant","error_description":"token request is already being processed"}"#
            ),
            TokenFailure::Busy(_)
        ));
        assert!(matches!(
            classify_token_failure(503, "<html>down</html>"),
            TokenFailure::Transient(_)
        ));
        assert!(matches!(
            classify_token_failure(400, "<!DOCTYPE html><html>"),
            TokenFailure::Transient(_)
        ));
        assert!(matches!(
            classify_token_failure(
                400,
                r#"{"error":"rate_limit_exceeded","error_description":"Number of logins exceeded"}"#
            ),
            TokenFailure::RateLimited(_)
        ));
        assert!(matches!(
            classify_token_failure(
                400,
                r#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#
            ),
            TokenFailure::BadClient { .. }
        ));
        for (d, reason) in [
            ("authentication failure", RevocationReason::PasswordChanged),
            ("inactive organization", RevocationReason::OrgInactive),
            (
                "expired access/refresh token",
                RevocationReason::TokenRevoked,
            ),
        ] {
            let f = classify_token_failure(
                400,
                &format!(r#"{{"error":"invalid_grant","error_description":"{d}"}}"#),
            );
            assert_eq!(
                f,
                TokenFailure::Revoked {
                    reason,
                    description: d.into()
                }
            );
        }
    }
}
