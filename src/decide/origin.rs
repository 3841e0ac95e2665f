//! Where a bearer token may go. Hosts are judged on the parsed URL (scheme, host,
//! port) with exact suffix rules on dot boundaries, never on the raw text.

use std::fmt;

/// The scheme of an origin; only these two are ever accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http`: loopback only, behind an explicit option.
    Http,
    /// `https`.
    Https,
}

/// A parsed origin: scheme, lowercase host and explicit non-default port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// The host, lowercase; IPv6 literals keep their brackets.
    pub host: String,
    /// The port when it is not the scheme's default.
    pub port: Option<u16>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        match self.port {
            Some(port) => write!(f, "{scheme}://{}:{port}", self.host),
            None => write!(f, "{scheme}://{}", self.host),
        }
    }
}

/// What kind of Salesforce host a name is (SALESFORCE.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// login.salesforce.com, test.salesforce.com: token endpoint only.
    Login,
    /// A My Domain, sandbox, partitioned, legacy or government/China API host.
    Api,
    /// An Experience Cloud site (community connections only).
    Community,
    /// A Lightning UI host: never an API host.
    Lightning,
    /// 127.0.0.0/8, localhost or ::1.
    Loopback,
    /// None of the above.
    Unknown,
}

const LOGIN_HOSTS: &[&str] = &["login.salesforce.com", "test.salesforce.com"];
const LIGHTNING_SUFFIXES: &[&str] = &[
    "lightning.force.com",
    "my-lightning.com",
    "lightning.crmforce.mil",
];
const API_SUFFIXES: &[&str] = &[
    "my.salesforce.com",
    "my.salesforce.mil",
    "my.sfcrmproducts.cn",
    "my-salesforce.com",
];
const COMMUNITY_SUFFIXES: &[&str] = &["my.site.com", "force.com"];

/// True when `host` is `suffix` itself or ends with `.suffix` (a dot boundary).
fn has_dot_suffix(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .is_some_and(|head| head.ends_with('.') && head.len() > 1)
}

/// Legacy instance hosts: one label of letters then digits before `.salesforce.com` (na12, cs42, um5).
fn is_legacy_instance(host: &str) -> bool {
    let Some(label) = host.strip_suffix(".salesforce.com") else {
        return false;
    };
    let letters = label.chars().take_while(|c| c.is_ascii_lowercase()).count();
    let rest = label.get(letters..).unwrap_or("");
    (2..=3).contains(&letters) && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
}

/// Classifies a lowercase host name.
pub fn classify_host(host: &str) -> HostKind {
    if is_loopback_host(host) {
        return HostKind::Loopback;
    }
    if LOGIN_HOSTS.contains(&host) {
        return HostKind::Login;
    }
    if LIGHTNING_SUFFIXES.iter().any(|s| has_dot_suffix(host, s)) {
        return HostKind::Lightning;
    }
    if API_SUFFIXES.iter().any(|s| has_dot_suffix(host, s)) || is_legacy_instance(host) {
        return HostKind::Api;
    }
    if COMMUNITY_SUFFIXES.iter().any(|s| has_dot_suffix(host, s)) {
        return HostKind::Community;
    }
    HostKind::Unknown
}

fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || host == "[::1]" {
        return true;
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts[0] == "127"
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// An absolute URL split into its origin and the rest (path, query, fragment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The origin.
    pub origin: Origin,
    /// Everything after the authority, starting with `/` (or empty).
    pub rest: String,
}

/// Parses an absolute http(s) URL strictly. Anything unusual in the authority
/// (user info, backslashes, spaces, percent signs) is refused rather than guessed at.
pub fn parse_url(input: &str) -> Result<ParsedUrl, String> {
    let (scheme_text, after) =
        crate::text::split_once(input, "://").ok_or_else(|| "not an absolute URL".to_string())?;
    let scheme = match scheme_text.to_ascii_lowercase().as_str() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => {
            return Err(format!(
                "scheme '{}' is not http(s)",
                crate::error::clip(other, 20)
            ))
        }
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at_checked(end).unwrap_or((after, ""));
    if authority.is_empty() {
        return Err("URL has no host".into());
    }
    if authority.contains(['@', '\\', '%'])
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("URL authority has characters that are not allowed".into());
    }
    let (host, port_text) = if let Some(stripped) = authority.strip_prefix('[') {
        let close = stripped.find(']').ok_or("unterminated IPv6 literal")?;
        let host = authority.get(..close + 2).unwrap_or(authority);
        let tail = stripped.get(close + 1..).unwrap_or("");
        let port = match tail {
            "" => None,
            _ => Some(
                tail.strip_prefix(':')
                    .ok_or("bad characters after IPv6 literal")?,
            ),
        };
        (host.to_ascii_lowercase(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    if host.len() > 253 || host.split('.').any(|label| label.len() > 63) {
        return Err("URL host is longer than a host name can be".into());
    }
    if !host.starts_with('[')
        && (host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || host.starts_with('.')
            || host.ends_with('.')
            || crate::text::contains(&host, ".."))
    {
        return Err("URL host is not a valid host name".into());
    }
    let port = match port_text {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = p.parse().map_err(|_| "bad port")?;
            if n == 0 || n > 65535 {
                return Err("port out of range".into());
            }
            Some(n as u16)
        }
        Some(_) => return Err("URL port is not a number".into()),
    };
    let default_port = match scheme {
        Scheme::Https => 443,
        Scheme::Http => 80,
    };
    let port = port.filter(|p| *p != default_port);
    let rest = if rest.starts_with('/') || rest.is_empty() {
        rest.to_string()
    } else {
        format!("/{rest}")
    };
    Ok(ParsedUrl {
        origin: Origin { scheme, host, port },
        rest,
    })
}

/// Checks an `instance_url` from a token response. Returns its origin, or why it is refused.
pub fn check_instance_url(
    url: &str,
    allow_insecure_loopback: bool,
    community_url: Option<&str>,
) -> Result<Origin, String> {
    let parsed = parse_url(url.trim_end_matches('/'))?;
    if parsed.rest.len() > 1 {
        return Err("instance_url has a path; it must be an origin".into());
    }
    let origin = parsed.origin;
    check_api_origin(&origin, allow_insecure_loopback, community_url)?;
    Ok(origin)
}

fn check_api_origin(
    origin: &Origin,
    allow_insecure_loopback: bool,
    community_url: Option<&str>,
) -> Result<(), String> {
    let kind = classify_host(&origin.host);
    if kind == HostKind::Loopback {
        return if allow_insecure_loopback {
            Ok(())
        } else {
            Err(format!(
                "{} is a loopback host (set allowInsecureLoopback for tests and emulators)",
                origin
            ))
        };
    }
    if origin.scheme != Scheme::Https {
        return Err(format!("{origin} is not https"));
    }
    if origin.port.is_some() {
        return Err(format!(
            "{origin} names a port; Salesforce API hosts answer on 443 only"
        ));
    }
    match kind {
        HostKind::Api => Ok(()),
        HostKind::Login => Err(format!("{} is a login host, not an API host", origin.host)),
        HostKind::Lightning => Err(format!(
            "{} is a Lightning UI host, not an API host",
            origin.host
        )),
        HostKind::Community => {
            let same = community_url
                .and_then(|u| parse_url(u).ok())
                .is_some_and(|c| c.origin == *origin);
            if same {
                Ok(())
            } else {
                Err(format!(
                    "{} is an Experience Cloud host and this is not a community connection",
                    origin.host
                ))
            }
        }
        HostKind::Unknown | HostKind::Loopback => {
            Err(format!("{} is not a Salesforce API host", origin.host))
        }
    }
}

/// Checks the configured login URL: https (or loopback when allowed), and not a Lightning UI host.
pub fn check_login_url(url: &str, allow_insecure_loopback: bool) -> Result<Origin, String> {
    let parsed = parse_url(url.trim_end_matches('/'))?;
    if parsed.rest.len() > 1 {
        return Err(
            "loginUrl has a path; it must be an origin such as https://login.salesforce.com".into(),
        );
    }
    let origin = parsed.origin;
    match classify_host(&origin.host) {
        HostKind::Loopback if allow_insecure_loopback => Ok(origin),
        HostKind::Loopback => Err(format!(
            "{origin} is a loopback host (set allowInsecureLoopback for tests and emulators)"
        )),
        HostKind::Lightning => Err(format!(
            "{} is a Lightning UI host, not a login host",
            origin.host
        )),
        _ if origin.scheme != Scheme::Https => Err(format!("{origin} is not https")),
        _ if origin.port.is_some() => Err(format!(
            "{origin} names a port; Salesforce login hosts answer on 443 only"
        )),
        _ => Ok(origin),
    }
}

/// A request target resolved against the connection's instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The full URL to send to.
    pub url: String,
    /// The path without query or fragment, for events and evidence.
    pub path: String,
}

fn path_of(rest: &str) -> String {
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = rest.get(..end).unwrap_or(rest);
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// Resolves what the caller passed (a path or a full URL) against the instance,
/// refusing every destination other than the instance origin and the identity URL.
/// A URL on an origin the org `left` (a refresh moved `instance_url`) goes to the
/// instance it moved to: the caller resolved it before the move.
pub fn resolve_target(
    input: &str,
    instance: &Origin,
    left: &[Origin],
    identity_url: Option<&str>,
) -> Result<Target, String> {
    if input.starts_with("//") {
        return Err("a scheme-relative URL could leave the instance".into());
    }
    let first_delim = input.find(['/', '?', '#']).unwrap_or(input.len());
    let looks_absolute = input.get(..first_delim).unwrap_or(input).contains(':');
    if !looks_absolute {
        let rest = if input.starts_with('/') {
            input.to_string()
        } else {
            format!("/{input}")
        };
        return Ok(Target {
            url: format!("{instance}{rest}"),
            path: path_of(&rest),
        });
    }
    let parsed = parse_url(input)?;
    if parsed.origin == *instance || left.contains(&parsed.origin) {
        return Ok(Target {
            url: format!("{instance}{}", parsed.rest),
            path: path_of(&parsed.rest),
        });
    }
    if let Some(id) = identity_url.and_then(|u| parse_url(u).ok()) {
        if id.origin == parsed.origin && path_of(&parsed.rest) == path_of(&id.rest) {
            return Ok(Target {
                url: format!("{}{}", id.origin, parsed.rest),
                path: path_of(&parsed.rest),
            });
        }
    }
    let why = match classify_host(&parsed.origin.host) {
        HostKind::Login => "a login host",
        HostKind::Lightning => "a Lightning UI host",
        _ if parsed.origin.scheme == Scheme::Http
            && classify_host(&parsed.origin.host) != HostKind::Loopback =>
        {
            "not https"
        }
        _ => "another origin",
    };
    Err(format!(
        "{} is {why}, not the connection's instance {instance}",
        parsed.origin
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Origin {
        parse_url(url).unwrap().origin
    }

    #[test]
    fn api_hosts_are_recognised_on_dot_boundaries() {
        for h in [
            "acme.my.salesforce.com",
            "acme--dev.sandbox.my.salesforce.com",
            "acme.develop.my.salesforce.com",
            "na12.salesforce.com",
            "cs42.salesforce.com",
            "um5.salesforce.com",
            "x.my.salesforce.mil",
            "x.my.sfcrmproducts.cn",
            "x.my-salesforce.com",
        ] {
            assert_eq!(classify_host(h), HostKind::Api, "{h}");
        }
        for h in [
            "evilmy.salesforce.com",
            "my.salesforce.com",
            "acme.my.salesforce.com.evil.io",
            "salesforce.com",
            "www.salesforce.com",
        ] {
            assert_ne!(classify_host(h), HostKind::Api, "{h}");
        }
        assert_eq!(classify_host("login.salesforce.com"), HostKind::Login);
        assert_eq!(
            classify_host("acme.lightning.force.com"),
            HostKind::Lightning
        );
        assert_eq!(classify_host("acme.my.site.com"), HostKind::Community);
        assert_eq!(classify_host("127.0.0.2"), HostKind::Loopback);
        assert_eq!(classify_host("127.0.0.256"), HostKind::Unknown);
    }

    #[test]
    fn instance_url_must_be_an_https_api_origin() {
        assert!(check_instance_url("https://acme.my.salesforce.com", false, None).is_ok());
        assert!(check_instance_url("https://ACME.my.salesforce.com/", false, None).is_ok());
        assert!(check_instance_url("http://acme.my.salesforce.com", false, None).is_err());
        assert!(check_instance_url("https://login.salesforce.com", false, None).is_err());
        assert!(check_instance_url("https://acme.lightning.force.com", false, None).is_err());
        assert!(check_instance_url("https://evil.example.com", false, None).is_err());
        assert!(check_instance_url("https://user@acme.my.salesforce.com", false, None).is_err());
        assert!(check_instance_url("http://127.0.0.1:8443", false, None).is_err());
        assert!(check_instance_url("http://127.0.0.1:8443", true, None).is_ok());
        assert!(check_instance_url(
            "https://acme.my.site.com",
            false,
            Some("https://acme.my.site.com")
        )
        .is_ok());
        assert!(check_instance_url("https://acme.my.site.com", false, None).is_err());
    }

    #[test]
    fn paths_resolve_against_the_instance() {
        let inst = origin("https://acme.my.salesforce.com");
        let t = resolve_target(
            "/services/data/v62.0/query?q=SELECT+Id+FROM+Account",
            &inst,
            &[],
            None,
        )
        .unwrap();
        assert_eq!(
            t.url,
            "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id+FROM+Account"
        );
        assert_eq!(t.path, "/services/data/v62.0/query");
        assert_eq!(
            resolve_target("services/data", &inst, &[], None)
                .unwrap()
                .url,
            "https://acme.my.salesforce.com/services/data"
        );
    }

    #[test]
    fn token_never_goes_to_another_origin() {
        let inst = origin("https://acme.my.salesforce.com");
        assert!(resolve_target(
            "https://acme.my.salesforce.com/services/data",
            &inst,
            &[],
            None
        )
        .is_ok());
        assert!(resolve_target("https://ACME.my.salesforce.com:443/x", &inst, &[], None).is_ok());
        for bad in [
            "https://other.my.salesforce.com/x",
            "https://login.salesforce.com/services/data/v62.0/",
            "https://acme.lightning.force.com/x",
            "http://acme.my.salesforce.com/x",
            "//evil.com/x",
            "https://acme.my.salesforce.com@evil.com/x",
            "https://acme.my.salesforce.com:8443/x",
            "javascript:alert(1)",
            "https://acme.my.salesforce.com.evil.com/",
        ] {
            assert!(resolve_target(bad, &inst, &[], None).is_err(), "{bad}");
        }
        let why = resolve_target(
            "https://login.salesforce.com/services/data",
            &inst,
            &[],
            None,
        )
        .unwrap_err();
        assert!(why.contains("login host"), "{why}");
    }

    #[test]
    fn identity_url_is_the_one_exception() {
        let inst = origin("https://acme.my.salesforce.com");
        let id = "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005x00000012Q9PAAU";
        assert!(resolve_target(id, &inst, &[], Some(id)).is_ok());
        assert!(resolve_target(
            "https://login.salesforce.com/id/00Dx0000000BV7zEAG/005OTHER",
            &inst,
            &[],
            Some(id)
        )
        .is_err());
    }

    #[test]
    fn a_url_on_an_origin_the_org_left_goes_to_where_it_moved() {
        let now = origin("https://acme--new.sandbox.my.salesforce.com");
        let left = [origin("https://acme--old.sandbox.my.salesforce.com")];
        let t = resolve_target(
            "https://acme--old.sandbox.my.salesforce.com/services/data/v62.0/limits?x=1",
            &now,
            &left,
            None,
        )
        .unwrap();
        assert_eq!(
            t.url,
            "https://acme--new.sandbox.my.salesforce.com/services/data/v62.0/limits?x=1"
        );
        assert!(resolve_target(
            "https://acme--other.sandbox.my.salesforce.com/x",
            &now,
            &left,
            None
        )
        .is_err());
    }

    #[test]
    fn ports_and_overlong_hosts_are_refused() {
        assert!(check_instance_url("https://acme.my.salesforce.com:8443", false, None).is_err());
        assert!(check_login_url("https://login.salesforce.com:444", false).is_err());
        let long_label = format!("https://{}.my.salesforce.com", "a".repeat(64));
        assert!(check_instance_url(&long_label, false, None).is_err());
        let long_host = format!("https://{}my.salesforce.com", "abcdefghi.".repeat(25));
        assert!(check_instance_url(&long_host, false, None).is_err());
        assert!(check_instance_url("http://127.0.0.1:9000", true, None).is_ok());
    }

    #[test]
    fn login_url_rules() {
        assert!(check_login_url("https://login.salesforce.com", false).is_ok());
        assert!(check_login_url("https://acme.my.salesforce.com", false).is_ok());
        assert!(check_login_url("http://login.salesforce.com", false).is_err());
        assert!(check_login_url("https://acme.lightning.force.com", false).is_err());
        assert!(check_login_url("http://127.0.0.1:9000", true).is_ok());
        assert!(check_login_url("http://127.0.0.1:9000", false).is_err());
    }
}
