//! A nesting limit for ingested JSON, checked on the raw bytes before parsing: documented
//! payloads nest six levels at most, and a hostile body of deeply nested arrays must cost a
//! linear scan, not a deep recursion in the parser.

/// Deepest nesting of arrays and objects accepted on ingest.
pub const MAX_DEPTH: usize = 64;

/// Whether `body` nests arrays and objects deeper than `max` (brackets inside strings do
/// not count). Malformed JSON is left to the parser to describe.
pub fn too_deep(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        match byte {
            b'"' => at = closing_quote(body, at + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    false
}

/// Where the string whose text starts at `from` ends: its closing quote, or the end of the
/// body. Most of an event's bytes are string text, skipped here a word at a time
/// (`memchr`) rather than byte by byte.
fn closing_quote(body: &[u8], mut from: usize) -> usize {
    while let Some(text) = body.get(from..) {
        match memchr::memchr2(b'"', b'\\', text) {
            // An escape: the byte after the backslash is text whatever it is.
            Some(i) if text[i] == b'\\' => from += i + 2,
            Some(i) => return from + i,
            None => break,
        }
    }
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nesting_not_brackets_in_strings() {
        assert!(!too_deep(br#"{"a": [1, {"b": "[[[[[[["}]}"#, 3));
        assert!(too_deep(br#"{"a": [1, {"b": [[]]}]}"#, 4));
        assert!(!too_deep(br#"{"a": [1, {"b": [[]]}]}"#, 5));
        assert!(!too_deep(br#"{"s": "quote \" then [[[[ "}"#, 1));
    }

    #[test]
    fn an_escaped_backslash_does_not_hide_the_closing_quote() {
        // The string is `a\`: the brackets after it nest.
        assert!(too_deep(br#"{"s": "a\\", "t": [[]]}"#, 2));
        assert!(!too_deep(br#"{"s": "a\\", "t": [[]]}"#, 3));
    }

    #[test]
    fn a_body_cut_off_inside_a_string_is_left_to_the_parser() {
        assert!(!too_deep(br#"{"s": "[[[["#, 1));
        assert!(!too_deep(br#"{"s": "ends in a backslash \"#, 1));
        assert!(!too_deep(br#"["#, 1));
    }

    #[test]
    fn a_hostile_body_is_refused_without_recursion() {
        let body = "[".repeat(1_000_000);
        assert!(too_deep(body.as_bytes(), MAX_DEPTH));
    }
}
