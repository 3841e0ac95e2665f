//! Revocation: a connection marked reauth_required stops every worker.

use crate::support::*;

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
fn the_test_hosts_signature_matches_the_rfc_4231_vector() {
    // RFC 4231 test case 2: what the webhook receiver recomputes.
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
