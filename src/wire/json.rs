//! JSON text to and from serde types. Text becomes a [`Loose`] value first (by the
//! platform's own `JSON` in wasm, so the module carries no JSON parser; by serde_json
//! on the host), and typed values are read from that one value the same way everywhere.

use crate::wire::loose::Loose;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON text as a loose value; `None` when it is not JSON.
pub fn parse(text: &str) -> Option<Loose> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::convert::parse_json(text)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str(text).ok()
    }
}

/// Reads JSON text into `T`; `None` when the text is not JSON or not a `T`.
pub fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = parse(text)?;
    T::deserialize(&value).ok()
}

/// Writes `value` as JSON text.
pub fn encode<T: Serialize>(value: &T) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        crate::wasm::convert::encode_json(value)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::to_string(value).unwrap_or_default()
    }
}

/// Appends `text` as a JSON string literal (quotes, backslashes and control
/// characters escaped): records are written member by member with it.
pub fn quote(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_reads_back_as_itself() {
        for text in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{1}\n\t\u{1f}",
            "ünï €",
            "</script>",
        ] {
            let mut out = String::new();
            quote(&mut out, text);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text, "{out}");
            assert_eq!(
                out,
                serde_json::to_string(text)
                    .unwrap()
                    .replace("\\n", "\\u000a")
                    .replace("\\t", "\\u0009")
            );
        }
    }
}
