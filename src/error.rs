//! The one error type of the library. Every failure maps to a stable `code`, the
//! evidence that led to it and one sentence a person can act on.

use serde::Serialize;
use std::fmt;

/// Stable error codes, shared with JavaScript as strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The session is over and there is no way to refresh it.
    SessionExpired,
    /// The request would send the token somewhere other than the connection's instance.
    WrongInstanceUrl,
    /// The org locks sessions to the IP address that created them.
    IpLocked,
    /// API Access Control blocks this connected app.
    ApiClientControl,
    /// The refresh token was revoked: a person must authorize again.
    SessionRevoked,
    /// The org is read-only (maintenance or read-only test mode).
    OrgReadOnly,
    /// The token endpoint kept failing transiently.
    RefreshFailed,
    /// The org's API request limit or the login rate limit was hit.
    RateLimited,
    /// The REST API is not enabled for the org.
    ApiDisabled,
    /// No connection with that id is stored.
    UnknownConnection,
    /// The token response was not one Salesforce would send.
    InvalidTokenResponse,
    /// The options or arguments are wrong.
    InvalidConfig,
    /// The host's store failed.
    StoreFailed,
    /// A refresh came from an egress IP outside the connected app's refresh-token allowlist.
    RefreshIpRestricted,
    /// Salesforce answered only an outage page (Edge 420, HTML errors) after bounded retries.
    SalesforceUnavailable,
}

impl ErrorCode {
    /// Every code, in the order the documentation lists them: the one source of the list
    /// that `js/errors.js` and `js/index.d.ts` repeat (a test holds them to it).
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::SessionExpired,
        ErrorCode::WrongInstanceUrl,
        ErrorCode::IpLocked,
        ErrorCode::ApiClientControl,
        ErrorCode::SessionRevoked,
        ErrorCode::OrgReadOnly,
        ErrorCode::RefreshFailed,
        ErrorCode::RateLimited,
        ErrorCode::ApiDisabled,
        ErrorCode::UnknownConnection,
        ErrorCode::InvalidTokenResponse,
        ErrorCode::InvalidConfig,
        ErrorCode::StoreFailed,
        ErrorCode::RefreshIpRestricted,
        ErrorCode::SalesforceUnavailable,
    ];

    /// The code as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SessionExpired => "SESSION_EXPIRED",
            ErrorCode::WrongInstanceUrl => "WRONG_INSTANCE_URL",
            ErrorCode::IpLocked => "IP_LOCKED",
            ErrorCode::ApiClientControl => "API_CLIENT_CONTROL",
            ErrorCode::SessionRevoked => "SESSION_REVOKED",
            ErrorCode::OrgReadOnly => "ORG_READ_ONLY",
            ErrorCode::RefreshFailed => "REFRESH_FAILED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::ApiDisabled => "API_DISABLED",
            ErrorCode::UnknownConnection => "UNKNOWN_CONNECTION",
            ErrorCode::InvalidTokenResponse => "INVALID_TOKEN_RESPONSE",
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::StoreFailed => "STORE_FAILED",
            ErrorCode::RefreshIpRestricted => "REFRESH_IP_RESTRICTED",
            ErrorCode::SalesforceUnavailable => "SALESFORCE_UNAVAILABLE",
        }
    }

    /// The default fix for the code: one sentence a person can act on. The module leaves it
    /// empty and the JavaScript side, which holds the same sentences (js/errors.js
    /// `DEFAULT_FIXES`, checked against these by a test), fills it in: one copy ships.
    #[cfg(target_arch = "wasm32")]
    pub fn default_fix(self) -> &'static str {
        ""
    }

    /// The default fix for the code: one sentence a person can act on.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn default_fix(self) -> &'static str {
        match self {
            ErrorCode::SessionExpired => "The session timed out and the connection has no refresh token: run the OAuth flow again with the refresh_token (or offline_access) scope, or configure a JWT bearer flow.",
            ErrorCode::WrongInstanceUrl => "Send API calls only to the instance_url from the latest token response (pass a path such as /services/data/v62.0/... and let the library resolve it).",
            ErrorCode::IpLocked => "In Setup > Session Settings, turn off 'Lock sessions to the IP address from which they originated', or give every worker one stable egress IP.",
            ErrorCode::ApiClientControl => "An admin must install the connected app (Setup > Connected Apps OAuth Usage > Install) or grant the user 'Use Any API Client' (API Access Control); if the app or profile requires High Assurance sessions, the user must log in with MFA and authorize again.",
            ErrorCode::SessionRevoked => "The user must authorize the app again; then pass the new token response to connect().",
            ErrorCode::OrgReadOnly => "The org is in maintenance or read-only mode: hold writes for this org and retry them after maintenance; reads keep working.",
            ErrorCode::RefreshFailed => "Salesforce's token endpoint is unavailable: retry later; the stored credential was kept.",
            ErrorCode::RateLimited => "Wait for the org's API or login limit to reset (see Setup > Company Information or the Sforce-Limit-Info header), or spread the calls out.",
            ErrorCode::ApiDisabled => "Enable the API for the org's edition and give the user the 'API Enabled' permission.",
            ErrorCode::UnknownConnection => "Call connect(connectionId, tokenResponse) before using the connection.",
            ErrorCode::InvalidTokenResponse => "Pass the JSON body of a successful Salesforce token response (with access_token, instance_url, id and issued_at).",
            ErrorCode::InvalidConfig => "Correct the option or argument named in the evidence.",
            ErrorCode::StoreFailed => "Check the store passed in the options (it must provide get, put and delete returning promises) and its backend.",
            ErrorCode::RefreshIpRestricted => "Add this worker's egress IP ranges to the connected app's refresh-token IP allowlist, or send token requests through one allow-listed egress.",
            ErrorCode::SalesforceUnavailable => "Salesforce is answering with an outage page: check status.salesforce.com (or whether the org still exists) and retry later.",
        }
    }

    /// Whether trying the same thing again later can succeed without anyone changing anything.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RefreshFailed
                | ErrorCode::RateLimited
                | ErrorCode::StoreFailed
                | ErrorCode::SalesforceUnavailable
                | ErrorCode::OrgReadOnly
        )
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unrecoverable failure, with what was seen and how to fix it. Never holds a secret.
/// Boxed: errors are the cold path, and every `Result` that carries one stays one word
/// wide (which keeps the module small: no large moves at every `?`).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionError(Box<ErrorDetail>);

/// What a [`SessionError`] says; its fields are read and set through the error.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDetail {
    /// The stable code.
    pub code: ErrorCode,
    /// A one-line summary.
    pub message: String,
    /// The connection it concerns, when known.
    pub connection_id: Option<String>,
    /// The org it concerns, when known.
    pub org_id: Option<String>,
    /// The HTTP status that triggered it, if any.
    pub status: Option<u16>,
    /// Whether trying again later can succeed unchanged.
    pub retryable: bool,
    /// Whether a person must authorize again.
    pub reauth_required: bool,
    /// Short statements of what was observed.
    pub evidence: Vec<String>,
    /// One sentence a person can act on.
    pub fix: String,
}

impl SessionError {
    /// An error with the code's defaults.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SessionError(Box::new(ErrorDetail {
            code,
            message: message.into(),
            connection_id: None,
            org_id: None,
            status: None,
            retryable: code.default_retryable(),
            reauth_required: code == ErrorCode::SessionRevoked,
            evidence: Vec::new(),
            fix: code.default_fix().to_string(),
        }))
    }

    /// Adds one piece of evidence.
    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    /// Adds several pieces of evidence.
    pub fn with_evidence<I: IntoIterator<Item = String>>(mut self, lines: I) -> Self {
        self.evidence.extend(lines);
        self
    }

    /// Sets the HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Replaces the fix sentence.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// Overrides whether the failure is retryable.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Names the connection and org, when not already named.
    pub fn about(mut self, connection_id: &str, org_id: Option<&str>) -> Self {
        if self.connection_id.is_none() {
            self.connection_id = Some(connection_id.to_string());
        }
        if self.org_id.is_none() {
            self.org_id = org_id.map(str::to_string);
        }
        self
    }

    /// The error record JavaScript receives: every member, absent ones as `null`,
    /// with `kind` naming it for the wrapper.
    pub fn record(&self) -> ErrorRecord<'_> {
        ErrorRecord {
            code: self.code,
            connection_id: self.connection_id.as_deref(),
            evidence: &self.evidence,
            fix: &self.fix,
            kind: "SalesforceSessionError",
            message: &self.message,
            org_id: self.org_id.as_deref(),
            reauth_required: self.reauth_required,
            retryable: self.retryable,
            status: self.status,
        }
    }

    /// Shorthand for an `INVALID_CONFIG` error naming the bad option.
    pub fn config(what: impl Into<String>) -> Self {
        let what = what.into();
        SessionError::new(
            ErrorCode::InvalidConfig,
            format!("Invalid configuration: {what}"),
        )
        .evidence(what)
    }

    /// Shorthand for a `STORE_FAILED` error.
    pub fn store(operation: &str, key_hint: &str, detail: &str) -> Self {
        SessionError::new(
            ErrorCode::StoreFailed,
            format!("The store failed during {operation}"),
        )
        .evidence(format!(
            "store.{operation}({key_hint}) failed: {}",
            clip(detail, 200)
        ))
    }
}

impl std::ops::Deref for SessionError {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for SessionError {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SessionError {}

/// What crosses to JavaScript for a [`SessionError`]; the wrapper makes it a
/// `SalesforceSessionError`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord<'a> {
    code: ErrorCode,
    connection_id: Option<&'a str>,
    evidence: &'a [String],
    fix: &'a str,
    kind: &'static str,
    message: &'a str,
    org_id: Option<&'a str>,
    reauth_required: bool,
    retryable: bool,
    status: Option<u16>,
}

/// Shortens text quoted as evidence, on a character boundary. Quoted text comes from
/// outside (Salesforce, the store, the network), so anything in it shaped like a token is
/// masked first: a token this manager does not hold (yet, or any more) is still a token.
pub fn clip(text: &str, max_chars: usize) -> String {
    let masked = crate::decide::redact::mask_token_shapes(text);
    let trimmed = masked.trim();
    match trimmed.char_indices().nth(max_chars) {
        None => trimmed.to_string(),
        Some((end, _)) => {
            let mut out = String::with_capacity(end + 3);
            out.push_str(trimmed.get(..end).unwrap_or(trimmed));
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::encode;

    #[test]
    fn codes_have_stable_names() {
        assert_eq!(ErrorCode::ApiClientControl.as_str(), "API_CLIENT_CONTROL");
        assert_eq!(ErrorCode::WrongInstanceUrl.as_str(), "WRONG_INSTANCE_URL");
    }

    #[test]
    fn the_js_default_fixes_repeat_the_rust_ones() {
        // The module ships without them: the JavaScript side fills in each default fix.
        let errors_js = include_str!("../js/errors.js");
        for code in ErrorCode::ALL {
            let line = format!("  {}: \"{}\",\n", code.as_str(), code.default_fix());
            assert!(
                errors_js.contains(&line),
                "js/errors.js DEFAULT_FIXES: {code}"
            );
        }
    }

    #[test]
    fn the_js_code_lists_repeat_the_rust_one() {
        let errors_js = include_str!("../js/errors.js");
        let block = errors_js
            .split("export const ErrorCodes = Object.freeze({")
            .nth(1)
            .and_then(|rest| rest.split("});").next())
            .expect("js/errors.js declares ErrorCodes");
        let listed: Vec<&str> = block
            .lines()
            .filter_map(|l| l.trim().strip_suffix(',')?.split_once(": '"))
            .map(|(name, _)| name)
            .collect();
        let rust: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, rust, "js/errors.js ErrorCodes");
        let types = include_str!("../js/index.d.ts");
        let union = types
            .split("export type ErrorCode =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("js/index.d.ts declares the ErrorCode union");
        let typed: Vec<&str> = union
            .split('|')
            .map(|c| c.trim().trim_matches('\''))
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(typed, rust, "js/index.d.ts ErrorCode");
    }

    #[test]
    fn the_error_record_has_every_member_in_name_order() {
        let e = SessionError::new(ErrorCode::RefreshFailed, "down").evidence("HTTP 503");
        assert_eq!(
            encode(&e.record()),
            r#"{"code":"REFRESH_FAILED","connectionId":null,"evidence":["HTTP 503"],"fix":"Salesforce's token endpoint is unavailable: retry later; the stored credential was kept.","kind":"SalesforceSessionError","message":"down","orgId":null,"reauthRequired":false,"retryable":true,"status":null}"#
        );
        let e = e.status(503).about("acme", Some("00D"));
        assert!(encode(&e.record()).contains(r#""connectionId":"acme","#));
        assert!(encode(&e.record()).contains(r#""orgId":"00D","#));
        assert!(encode(&e.record()).ends_with(r#""status":503}"#));
    }

    #[test]
    fn revoked_requires_reauth_and_is_not_retryable() {
        let e = SessionError::new(ErrorCode::SessionRevoked, "revoked");
        assert!(e.reauth_required);
        assert!(!e.retryable);
        assert!(!e.fix.is_empty());
    }

    #[test]
    fn clip_shortens_long_evidence_on_char_boundaries() {
        assert_eq!(clip("  héllo  ", 10), "héllo");
        assert_eq!(clip("ééééé", 2), "éé…");
    }
}
