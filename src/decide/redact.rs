//! The one redactor: every text that leaves the library (error messages and evidence,
//! events, diagnoses, webhook bodies) passes through it, so no secret the manager holds
//! — nor any 16-character piece of one — is ever quoted, even when upstream text echoes it.

use std::borrow::Cow;

/// A piece of a secret this long is as good as the secret: it is redacted too.
pub const PIECE: usize = 16;

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// Removes every secret in `secrets`, and every `PIECE`-long piece of one, from `text`.
/// Secrets shorter than a piece are removed where they appear whole.
pub fn redact<'t>(text: &'t str, secrets: &[&str]) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let mut hidden = vec![false; bytes.len()];
    let mut any = false;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if secret.len() < PIECE {
            let mut from = 0;
            while let Some(at) = text
                .get(from..)
                .and_then(|rest| crate::text::find(rest, secret))
            {
                let start = from + at;
                hidden[start..start + secret.len()].fill(true);
                any = true;
                from = start + 1;
            }
            continue;
        }
        if bytes.len() < PIECE {
            continue;
        }
        // Every window of the text that is a piece of the secret is hidden.
        for start in 0..=bytes.len() - PIECE {
            let window = &bytes[start..start + PIECE];
            if contains(secret.as_bytes(), window) {
                hidden[start..start + PIECE].fill(true);
                any = true;
            }
        }
    }
    if !any {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for (i, ch) in text.char_indices() {
        // A character any byte of which is hidden goes with the secret.
        if hidden[i..i + ch.len_utf8()].contains(&true) {
            if !in_run {
                out.push_str(REDACTED);
                in_run = true;
            }
        } else {
            in_run = false;
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// The same for JSON text: a secret is also looked for as JSON writes it inside a
/// string (`"` and `\\` escaped), so the text stays valid JSON with `[redacted]` in
/// place of every secret.
pub fn redact_json<'t>(json: &'t str, secrets: &[&str]) -> Cow<'t, str> {
    let escaped: Vec<String> = secrets
        .iter()
        .filter(|s| s.contains(['"', '\\']))
        .map(|s| s.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend(escaped.iter().map(String::as_str));
    redact(json, &all)
}

/// A run of token characters this long, mixing digits, lower and upper case, is taken for
/// a token (Salesforce session ids and refresh tokens are; host names, paths, error codes
/// and ids are not).
const TOKEN_SHAPE_MIN: usize = 24;

/// Masks every run of text shaped like a token, whoever's it is.
pub fn mask_token_shapes(text: &str) -> Cow<'_, str> {
    let token_char = |b: u8| b.is_ascii_alphanumeric() || b"._!~+=-".contains(&b);
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if !token_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && token_char(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        let mixed = run.iter().any(u8::is_ascii_digit)
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_uppercase);
        if run.len() >= TOKEN_SHAPE_MIN && mixed {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(text.get(copied..start).unwrap_or(""));
            o.push_str(REDACTED);
            copied = i;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(text.get(copied..).unwrap_or(""));
            Cow::Owned(o)
        }
    }
}

/// Secrets as the plain text the redactor compares.
pub fn exposed(secrets: &[crate::secret::Secret]) -> Vec<&str> {
    secrets.iter().map(crate::secret::Secret::expose).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "00Dx0000000BV7z!AR8AQP0jITN-very-long-session-id";

    #[test]
    fn a_whole_secret_and_any_piece_of_one_are_removed() {
        let text = format!("Invalid token {TOKEN} and a piece {}", &TOKEN[10..30]);
        let out = redact(&text, &[TOKEN]);
        assert!(!out.contains(&TOKEN[..PIECE]), "{out}");
        assert!(!out.contains(&TOKEN[10..26]), "{out}");
        assert!(
            out.starts_with("Invalid token [redacted] and a piece [redacted]"),
            "{out}"
        );
    }

    #[test]
    fn text_without_secrets_is_left_as_it_is() {
        let text = "Session expired or invalid";
        assert!(matches!(
            redact(text, &[TOKEN, "shh-secret"]),
            Cow::Borrowed(_)
        ));
        assert_eq!(redact("", &[TOKEN]), "");
    }

    #[test]
    fn short_secrets_are_removed_where_they_appear_whole() {
        assert_eq!(
            redact("client secret abc123xy was wrong: abc123xy", &["abc123xy"]),
            "client secret [redacted] was wrong: [redacted]"
        );
    }

    #[test]
    fn fifteen_characters_of_a_secret_are_not_a_piece() {
        let text = format!("x{}x", &TOKEN[..PIECE - 1]);
        assert_eq!(redact(&text, &[TOKEN]), text);
    }

    #[test]
    fn json_text_stays_json_and_loses_escaped_secrets_too() {
        let secret = r#"sh"h\client-secret-value"#;
        let json = serde_json::to_string(&serde_json::json!({
            "evidence": [format!("echo {secret}"), format!("token {TOKEN}")],
            "n": 1
        }))
        .unwrap();
        let out = redact_json(&json, &[secret, TOKEN]);
        let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(back["evidence"][0], "echo [redacted]");
        assert_eq!(back["evidence"][1], "token [redacted]");
        assert_eq!(back["n"], 1);
    }

    #[test]
    fn anything_shaped_like_a_token_is_masked_in_quoted_text() {
        let text = format!("expired {TOKEN} for 5Aep861TSESvWeugQP0jITNxyz1");
        assert_eq!(
            mask_token_shapes(&text),
            "expired [redacted] for [redacted]"
        );
        for kept in [
            "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
            "https://acme--dev.sandbox.my.salesforce.com/services/data/v62.0/sobjects/Account/001xx000003DGb2AAG",
            "expired access/refresh token",
            "org 00Dx0000000BV7zEAG user 005x00000012Q9PAAU",
        ] {
            assert_eq!(mask_token_shapes(kept), kept);
        }
    }

    #[test]
    fn multibyte_text_around_a_secret_survives() {
        let text = format!("é{TOKEN}ü");
        assert_eq!(redact(&text, &[TOKEN]), "é[redacted]ü");
    }
}
