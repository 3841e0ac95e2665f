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
            while let Some(at) = text.get(from..).and_then(|rest| rest.find(secret)) {
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
    fn multibyte_text_around_a_secret_survives() {
        let text = format!("é{TOKEN}ü");
        assert_eq!(redact(&text, &[TOKEN]), "é[redacted]ü");
    }
}
