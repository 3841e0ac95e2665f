//! JSON, the one module that reads and writes it: a strict parser (RFC 8259) into a
//! small borrowed tree, and a writer for the records, events and reports the library
//! produces. Numbers keep their text: the library only ever needs whole numbers, so
//! no float is parsed or formatted (that code would outweigh the rest of this module).

use std::borrow::Cow;

/// Arrays and objects nested deeper than this are refused rather than risking the
/// stack (the same limit serde_json had).
const MAX_DEPTH: usize = 127;

/// A JSON value. Parsed strings borrow from the input unless they held escapes.
#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number as written in the input (already checked against the JSON grammar).
    Number(&'a str),
    /// A whole number the library writes.
    Uint(u64),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object's members in order; a repeated name is kept, and the last one counts.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// A member was present with a type other than the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongType;

impl<'a> Json<'a> {
    /// A borrowed string value.
    pub fn str(s: &'a str) -> Self {
        Json::String(Cow::Borrowed(s))
    }

    /// A string, or `null` when absent.
    pub fn opt_str(s: Option<&'a str>) -> Self {
        s.map_or(Json::Null, Json::str)
    }

    /// A whole number, or `null` when absent.
    pub fn opt_uint(n: Option<u64>) -> Self {
        n.map_or(Json::Null, Json::Uint)
    }

    /// An array of strings.
    pub fn strs(items: &'a [String]) -> Self {
        Json::Array(items.iter().map(|s| Json::str(s)).collect())
    }

    /// An object from `(name, value)` pairs, in the order given.
    pub fn object(members: impl IntoIterator<Item = (&'a str, Json<'a>)>) -> Self {
        Json::Object(
            members
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
        )
    }

    /// The value of member `name` (the last one, if repeated); `None` for non-objects.
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == name).map(|m| &m.1),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number if it is written as a non-negative integer that fits in a `u64`
    /// (`1.0`, `1e3` and `-0` are not).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Uint(n) => Some(*n),
            Json::Number(text) if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
            _ => None,
        }
    }

    /// The number rounded to the nearest whole number (halves away from zero), if its
    /// exact value lies within `min..=max`; fractions and exponents are allowed.
    pub fn as_rounded_within(&self, min: u64, max: u64) -> Option<u64> {
        match self {
            Json::Uint(n) => Some(*n).filter(|n| (min..=max).contains(n)),
            Json::Number(text) => rounded_within(text, min, max),
            _ => None,
        }
    }

    /// Member `name` as an optional string, as a field typed `Option<String>` reads it:
    /// absent and `null` are `None`, any other non-string is [`WrongType`].
    pub fn optional_str(&self, name: &str) -> Result<Option<&str>, WrongType> {
        match self.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(WrongType),
        }
    }

    /// Member `name`, which must be a string.
    pub fn required_str(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }

    /// Member `name`, which must be a whole number.
    pub fn required_u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.as_u64()
    }

    /// The JSON text of this value.
    pub fn write(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    /// Appends the JSON text of this value.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(text) => out.push_str(text),
            Json::Uint(n) => push_uint(out, *n),
            Json::String(s) => push_string(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_to(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string(out, name);
                    out.push(':');
                    value.write_to(out);
                }
                out.push('}');
            }
        }
    }
}

/// Appends `n` in decimal.
pub fn push_uint(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(d as char);
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and control characters escaped.
pub fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut from = 0;
    for (at, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'\n' => 'n',
            b'\r' => 'r',
            b'\t' => 't',
            0x08 => 'b',
            0x0c => 'f',
            0..=0x1f => 'u',
            _ => continue,
        };
        out.push_str(&s[from..at]);
        out.push('\\');
        out.push(short);
        if short == 'u' {
            out.push_str("00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
        from = at + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// Parses a whole JSON text (surrounding whitespace allowed); `None` when it is not JSON.
pub fn parse(text: &str) -> Option<Json<'_>> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    (parser.at == text.len()).then_some(value)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.at += 1;
        }
        found
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> Option<Json<'a>> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        self.skip_whitespace();
        match self.peek()? {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' if depth < MAX_DEPTH => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.eat(b']') {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_whitespace();
                    if self.eat(b']') {
                        return Some(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' if depth < MAX_DEPTH => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_whitespace();
                if self.eat(b'}') {
                    return Some(Json::Object(members));
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    let name = self.string()?;
                    self.skip_whitespace();
                    if !self.eat(b':') {
                        return None;
                    }
                    members.push((name, self.value(depth + 1)?));
                    self.skip_whitespace();
                    if self.eat(b'}') {
                        return Some(Json::Object(members));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as text.
    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.at;
        self.eat(b'-');
        if self.eat(b'0') {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
        } else if self.digits() == 0 {
            return None;
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(Json::Number(&self.text[start..self.at]))
    }

    /// A string starting at the opening quote; borrowed unless it holds escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        let mut owned: Option<String> = None;
        let mut from = start;
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    let tail = &self.text[from..self.at];
                    self.at += 1;
                    return Some(match owned {
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(tail),
                    });
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[from..self.at]);
                    self.at += 1;
                    let escaped = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.at += 1;
                            let c = self.unicode_escape()?;
                            s.push(c);
                            from = self.at;
                            continue;
                        }
                        _ => return None,
                    };
                    s.push(escaped);
                    self.at += 1;
                    from = self.at;
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.text.get(self.at..self.at + 4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(hex, 16).ok()
    }

    /// The code point after `\u`, joining a surrogate pair; a lone surrogate is refused.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if !self.text[self.at..].starts_with("\\u") {
                    return None;
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return None;
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            }
            0xdc00..=0xdfff => return None,
            _ => first,
        };
        char::from_u32(code)
    }
}

/// See [`Json::as_rounded_within`]; `text` matches the JSON number grammar.
fn rounded_within(text: &str, min: u64, max: u64) -> Option<u64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], &unsigned[at + 1..]),
        None => (unsigned, ""),
    };
    let (int_digits, frac_digits) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int_digits
        .bytes()
        .chain(frac_digits.bytes())
        .map(|b| b - b'0')
        .collect();
    if digits.iter().all(|&d| d == 0) {
        return (min == 0).then_some(0);
    }
    if negative {
        return None;
    }
    // The exponent, saturated: anything past ±100000 is far outside every range here.
    let (exp_negative, exp_digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    let exp_magnitude = exp_digits
        .bytes()
        .fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(100_000));
    let exp = if exp_negative {
        -exp_magnitude
    } else {
        exp_magnitude
    };
    // value = 0.d0 d1 d2 … × 10^point
    let point = int_digits.len() as i64 + exp;
    let mut whole: u64 = 0;
    for i in 0..point.max(0) {
        let d = digits.get(i as usize).copied().unwrap_or(0);
        whole = whole.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    let fraction_from = point.max(0) as usize;
    let first_fraction = if point >= 0 {
        digits.get(fraction_from).copied().unwrap_or(0)
    } else {
        0
    };
    let has_fraction = digits.iter().skip(fraction_from).any(|&d| d != 0);
    if whole < min || whole > max || (whole == max && has_fraction) {
        return None;
    }
    Some(whole + u64::from(first_fraction >= 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        parse(text).expect(text).write()
    }

    #[test]
    fn parses_every_kind_of_value_and_writes_it_back() {
        let text = r#"{"a":null,"b":[true,false,{"c":[]}],"d":"x","e":-12.5e+3,"f":{}}"#;
        assert_eq!(round_trip(text), text);
        assert_eq!(round_trip(" \t\r\n[ 1 , \"2\" ] \n"), r#"[1,"2"]"#);
    }

    #[test]
    fn escapes_are_decoded_and_written_back_as_serde_json_writes_them() {
        let v = parse(r#""q\" b\\ s\/ \b\f\n\r\t \u0001 \u00e9 \u20AC \ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str(), Some("q\" b\\ s/ \u{8}\u{c}\n\r\t \u{1} é € 😀"));
        for s in [
            "plain",
            "quote \" backslash \\ slash /",
            "controls \u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "unicode é € 😀 \u{2028}",
            "",
        ] {
            let mut ours = String::new();
            push_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
            assert_eq!(parse(&ours).unwrap().as_str(), Some(s));
        }
    }

    #[test]
    fn strings_without_escapes_borrow_the_input() {
        let text = r#"{"name":"value","other":"a\nb"}"#;
        let v = parse(text).unwrap();
        assert!(matches!(
            v.get("name"),
            Some(Json::String(Cow::Borrowed("value")))
        ));
        assert!(matches!(v.get("other"), Some(Json::String(Cow::Owned(_)))));
    }

    #[test]
    fn malformed_input_is_refused() {
        for bad in [
            "",
            " ",
            "nul",
            "nulll",
            "True",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1}}",
            "[1] [2]",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "0x10",
            "\"open",
            "\"bad \\x escape\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"lone \\ud800 surrogate\"",
            "\"lone \\udc00 surrogate\"",
            "\"pair \\ud800\\u0041\"",
            "\"raw \u{1} control\"",
            "'single'",
            "\u{feff}{}",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(parse(&deep), None);
        for n in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
            let nested = "[".repeat(n) + &"]".repeat(n);
            let theirs = serde_json::from_str::<serde_json::Value>(&nested).is_ok();
            assert_eq!(parse(&nested).is_some(), theirs, "{n} levels");
        }
    }

    #[test]
    fn any_prefix_of_valid_json_is_handled_without_panicking() {
        let text = r#"{"é":["\u00e9\ud83d\ude00",-1.5e-3,true,null,{"k":"v\"w"}],"n":18446744073709551615}"#;
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let ours = parse(prefix).is_some();
                let theirs = serde_json::from_str::<serde_json::Value>(prefix).is_ok();
                assert_eq!(ours, theirs, "{prefix:?}");
            }
        }
    }

    #[test]
    fn whole_numbers_are_read_only_from_integer_text() {
        let n = |t: &str| parse(t).unwrap().as_u64();
        assert_eq!(n("0"), Some(0));
        assert_eq!(n("1779461039475"), Some(1_779_461_039_475));
        assert_eq!(n("18446744073709551615"), Some(u64::MAX));
        assert_eq!(n("18446744073709551616"), None);
        for not_whole in ["-0", "-1", "1.0", "1e3", "\"1\"", "true", "null"] {
            assert_eq!(n(not_whole), None, "{not_whole}");
        }
    }

    #[test]
    fn whole_numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 1_779_461_039_475, u64::MAX] {
            assert_eq!(Json::Uint(n).write(), n.to_string());
        }
    }

    #[test]
    fn options_round_like_floats_and_check_the_exact_range() {
        let r = |t: &str, min, max| parse(t).unwrap().as_rounded_within(min, max);
        assert_eq!(r("7200", 60, 86_400), Some(7200));
        assert_eq!(r("90.4", 60, 86_400), Some(90));
        assert_eq!(r("90.5", 60, 86_400), Some(91));
        assert_eq!(r("1e3", 60, 86_400), Some(1000));
        assert_eq!(r("1.5E+2", 60, 86_400), Some(150));
        assert_eq!(r("6000e-2", 60, 86_400), Some(60));
        assert_eq!(r("59.99", 60, 86_400), None);
        assert_eq!(r("86400", 60, 86_400), Some(86_400));
        assert_eq!(r("86400.01", 60, 86_400), None);
        assert_eq!(r("9.7", 1, 10), Some(10));
        assert_eq!(r("0", 0, 10), Some(0));
        assert_eq!(r("-0", 0, 10), Some(0));
        assert_eq!(r("-0.0e5", 0, 10), Some(0));
        assert_eq!(r("0", 1, 10), None);
        assert_eq!(r("0.4", 0, 10), Some(0));
        assert_eq!(r("0.5", 0, 10), Some(1));
        assert_eq!(r("0.05", 0, 10), Some(0));
        assert_eq!(r("5e-1", 0, 10), Some(1));
        assert_eq!(r("-0.4", 0, 10), None);
        assert_eq!(r("-3", 0, 10), None);
        assert_eq!(r("1e999999999999", 0, 10), None);
        assert_eq!(r("1e-999999999999", 0, 10), Some(0));
        assert_eq!(r("99999999999999999999999", 0, 10), None);
        assert_eq!(r("\"5\"", 0, 10), None);
        // The same answers as rounding the f64 serde_json would have parsed.
        for t in [
            "0.5",
            "2.5",
            "3.49",
            "10",
            "10.5",
            "1e1",
            "0.0001",
            "123.456e1",
        ] {
            let f = serde_json::from_str::<f64>(t).unwrap();
            let expected = (0.0..=2000.0).contains(&f).then(|| f.round() as u64);
            assert_eq!(r(t, 0, 2000), expected, "{t}");
        }
    }

    #[test]
    fn repeated_names_resolve_to_the_last_one() {
        let v = parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.get("a").and_then(Json::as_u64), Some(2));
        assert_eq!(parse("[1]").unwrap().get("a"), None);
    }

    #[test]
    fn optional_strings_tell_absent_from_wrong() {
        let v = parse(r#"{"s":"x","n":null,"k":5}"#).unwrap();
        assert_eq!(v.optional_str("s"), Ok(Some("x")));
        assert_eq!(v.optional_str("n"), Ok(None));
        assert_eq!(v.optional_str("missing"), Ok(None));
        assert_eq!(v.optional_str("k"), Err(WrongType));
    }

    #[test]
    fn built_objects_keep_their_member_order() {
        let evidence = vec!["a \"quoted\" line".to_string()];
        let v = Json::object([
            ("z", Json::Uint(1)),
            ("a", Json::strs(&evidence)),
            ("m", Json::opt_str(None)),
            ("b", Json::Bool(false)),
        ]);
        assert_eq!(
            v.write(),
            r#"{"z":1,"a":["a \"quoted\" line"],"m":null,"b":false}"#
        );
    }
}
