//! A nesting limit for ingested JSON, checked on the raw bytes before parsing: documented
//! payloads nest six levels at most, and a hostile body of deeply nested arrays must cost a
//! linear scan, not a deep recursion in the parser.

/// Deepest nesting of arrays and objects accepted on ingest.
pub const MAX_DEPTH: usize = 64;

/// Whether `body` nests arrays and objects deeper than `max` (brackets inside strings do
/// not count). Malformed JSON is left to the parser to describe.
pub fn too_deep(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
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
    fn a_hostile_body_is_refused_without_recursion() {
        let body = "[".repeat(1_000_000);
        assert!(too_deep(body.as_bytes(), MAX_DEPTH));
    }
}
