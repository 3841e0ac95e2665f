//! Substring search without the standard library's `str` pattern machinery: a byte
//! window scan (texts here are short) that can never panic, so the module carries no
//! string-slicing panic path and its formatting.

/// Where `needle` first occurs in `haystack` (a byte offset); an empty needle is at 0.
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// `haystack` split around the first `needle`.
pub fn split_once<'a>(haystack: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find(haystack, needle)?;
    // A match of a whole UTF-8 needle starts and ends on character boundaries.
    Some((haystack.get(..at)?, haystack.get(at + needle.len()..)?))
}

/// Every `from` in `haystack` replaced by `to` (`from` not empty).
pub fn replace(haystack: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some((before, after)) = split_once(rest, from).filter(|_| !from.is_empty()) {
        out.push_str(before);
        out.push_str(to);
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_agree_with_the_standard_library() {
        let texts = [
            "",
            "a",
            "abc",
            "ünïcödé über",
            "aaaa",
            "x://y://z",
            "&amp;&lt;&amp;",
        ];
        let needles = ["", "a", "aa", "bc", "über", "://", "&amp;", "z", "ï"];
        for t in texts {
            for n in needles {
                assert_eq!(find(t, n), t.find(n), "{t:?} {n:?}");
                assert_eq!(split_once(t, n), t.split_once(n), "{t:?} {n:?}");
                if !n.is_empty() {
                    assert_eq!(replace(t, n, "<>"), t.replace(n, "<>"), "{t:?} {n:?}");
                }
            }
        }
    }
}
