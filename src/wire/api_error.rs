//! Salesforce error bodies in all their shapes (SALESFORCE.md §2–3): REST JSON
//! arrays, XML `<Errors>`, SOAP faults, Bulk API exceptions, OAuth errors, and the
//! HTML pages that come back during incidents.

use crate::wire::json::parse;
use crate::wire::loose::{Loose, WrongKind};

/// One error as Salesforce reported it, normalised to REST's `errorCode` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// e.g. `INVALID_SESSION_ID`.
    pub code: String,
    /// The human message, possibly empty.
    pub message: String,
}

/// The members of one JSON error (REST's `errorCode`/`message`, Bulk's
/// `exceptionCode`/`exceptionMessage`); each absent, `null` or a string.
struct JsonError<'a> {
    error_code: Option<&'a str>,
    message: Option<&'a str>,
    exception_code: Option<&'a str>,
    exception_message: Option<&'a str>,
}

impl<'a> JsonError<'a> {
    fn read(v: &'a Loose) -> Result<Self, WrongKind> {
        if !v.is_object() {
            return Err(WrongKind);
        }
        Ok(JsonError {
            error_code: v.optional_str("errorCode")?,
            message: v.optional_str("message")?,
            exception_code: v.optional_str("exceptionCode")?,
            exception_message: v.optional_str("exceptionMessage")?,
        })
    }
}

fn normalise_code(code: &str) -> String {
    let code = code.trim();
    let code = code.rsplit_once(':').map_or(code, |(_, c)| c);
    match code {
        "InvalidSessionId" => "INVALID_SESSION_ID".to_string(),
        other => other.to_string(),
    }
}

fn from_json(e: JsonError) -> Option<ApiError> {
    let code = e.error_code.or(e.exception_code)?;
    Some(ApiError {
        code: normalise_code(code),
        message: e
            .message
            .or(e.exception_message)
            .unwrap_or_default()
            .to_string(),
    })
}

/// The text of the first element named `local` (any namespace prefix), if any.
/// One pass over the tags, each looked at once: linear in the body's length.
fn xml_text(body: &str, local: &str) -> Option<String> {
    let bytes = body.as_bytes();
    let mut at = 0;
    while let Some(open) = bytes.get(at..)?.iter().position(|&b| b == b'<') {
        let name_start = at + open + 1;
        // The tag's name runs to the first byte that cannot be in one.
        let name_len = bytes
            .get(name_start..)?
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'-'))
            .unwrap_or(bytes.len() - name_start);
        let name_end = name_start + name_len;
        at = name_end.max(name_start);
        let name = body.get(name_start..name_end).unwrap_or("");
        let local_name = match name.split_once(':') {
            Some((prefix, rest)) if prefix.bytes().all(|b| b.is_ascii_alphanumeric()) => rest,
            Some(_) => continue,
            None => name,
        };
        if local_name != local || bytes.get(name_end) != Some(&b'>') {
            continue;
        }
        let text_start = name_end + 1;
        let text_len = bytes
            .get(text_start..)?
            .iter()
            .position(|&b| b == b'<')
            .unwrap_or(bytes.len() - text_start);
        let text = body.get(text_start..text_start + text_len).unwrap_or("");
        return Some(xml_unescape(text.trim()));
    }
    None
}

fn xml_unescape(s: &str) -> String {
    use crate::text::replace;
    let s = replace(s, "&lt;", "<");
    let s = replace(&s, "&gt;", ">");
    let s = replace(&s, "&quot;", "\"");
    let s = replace(&s, "&apos;", "'");
    replace(&s, "&amp;", "&")
}

/// Parses an error body; `None` for HTML pages, empty bodies and anything unrecognised.
pub fn parse_api_error(body: &str) -> Option<ApiError> {
    let text = body.trim_start_matches('\u{feff}').trim();
    match text.as_bytes().first()? {
        b'[' | b'{' => match parse(text)? {
            // Every element must have the shape of an error, as with a typed array.
            Loose::Array(items) => items
                .iter()
                .map(JsonError::read)
                .collect::<Result<Vec<_>, _>>()
                .ok()?
                .into_iter()
                .find_map(from_json),
            object => JsonError::read(&object).ok().and_then(from_json),
        },
        b'<' => {
            if let Some(code) = xml_text(text, "errorCode") {
                return Some(ApiError {
                    code: normalise_code(&code),
                    message: xml_text(text, "message").unwrap_or_default(),
                });
            }
            if let Some(code) = xml_text(text, "faultcode") {
                return Some(ApiError {
                    code: normalise_code(&code),
                    message: xml_text(text, "faultstring").unwrap_or_default(),
                });
            }
            if let Some(code) = xml_text(text, "exceptionCode") {
                return Some(ApiError {
                    code: normalise_code(&code),
                    message: xml_text(text, "exceptionMessage").unwrap_or_default(),
                });
            }
            None
        }
        _ if text == "Bad_OAuth_Token" => Some(ApiError {
            code: "Bad_OAuth_Token".into(),
            message: String::new(),
        }),
        _ => None,
    }
}

/// An OAuth error from the token, revoke or introspection endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// `error`, e.g. `invalid_grant`.
    pub error: String,
    /// `error_description`, verbatim.
    pub description: String,
}

/// Parses `{"error": …, "error_description": …}`; `None` for anything else.
pub fn parse_oauth_error(body: &str) -> Option<OAuthError> {
    let v = parse(body.trim())?;
    if !v.is_object() {
        return None;
    }
    let description = v.optional_str("error_description").ok()?;
    Some(OAuthError {
        error: v.optional_str("error").ok()??.to_string(),
        description: description.unwrap_or_default().to_string(),
    })
}

/// True when a body looks like an HTML page rather than an API answer.
pub fn looks_like_html(body: &str) -> bool {
    let head: String = body
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.starts_with("<head")
        || head.starts_with("<body")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_json_array() {
        let e = parse_api_error(
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        )
        .unwrap();
        assert_eq!(
            e,
            ApiError {
                code: "INVALID_SESSION_ID".into(),
                message: "Session expired or invalid".into()
            }
        );
    }

    #[test]
    fn rest_xml() {
        let e = parse_api_error("<?xml version=\"1.0\"?><Errors><Error><errorCode>REQUEST_LIMIT_EXCEEDED</errorCode><message>TotalRequests Limit exceeded.</message></Error></Errors>").unwrap();
        assert_eq!(e.code, "REQUEST_LIMIT_EXCEEDED");
        assert_eq!(e.message, "TotalRequests Limit exceeded.");
    }

    #[test]
    fn soap_fault() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let e = parse_api_error(body).unwrap();
        assert_eq!(e.code, "INVALID_SESSION_ID");
        assert!(e.message.contains("Illegal Session"));
    }

    #[test]
    fn bulk_shapes() {
        let xml = r#"<?xml version="1.0"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload"><exceptionCode>InvalidSessionId</exceptionCode><exceptionMessage>Invalid session id</exceptionMessage></error>"#;
        assert_eq!(parse_api_error(xml).unwrap().code, "INVALID_SESSION_ID");
        let json =
            r#"{"exceptionCode":"InvalidSessionId","exceptionMessage":"Invalid session id"}"#;
        assert_eq!(parse_api_error(json).unwrap().message, "Invalid session id");
    }

    #[test]
    fn html_and_garbage_are_not_errors() {
        assert_eq!(
            parse_api_error("<!DOCTYPE html><html><body>Service Unavailable</body></html>"),
            None
        );
        assert_eq!(parse_api_error(""), None);
        assert_eq!(parse_api_error("[1,2"), None);
        assert!(looks_like_html("  <HTML><p>down</p>"));
        assert!(!looks_like_html("[{}]"));
    }

    #[test]
    fn oauth_errors_keep_the_description_verbatim() {
        let e = parse_oauth_error(
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        )
        .unwrap();
        assert_eq!(e.error, "invalid_grant");
        assert_eq!(e.description, "expired access/refresh token");
        assert_eq!(parse_oauth_error("<html>"), None);
    }
}
