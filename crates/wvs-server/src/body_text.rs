//! A logged response body as text, for the API and the pages.
//!
//! The log keeps a receiver's reply as the bytes it sent (NUL, invalid UTF-8, binary). Shown
//! as text, UTF-8 stays as it is, and every other byte (or control character other than tab,
//! line feed and carriage return) is written `\xNN`: nothing is lost or replaced, and the
//! reply is flagged binary when anything was escaped. A character that the log's 8 KiB cut
//! split at the end is left out.

/// A body shown as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyText {
    pub text: String,
    /// Some bytes were escaped: the body is not plain text.
    pub binary: bool,
}

impl BodyText {
    pub fn of(mut bytes: &[u8]) -> BodyText {
        let mut text = String::with_capacity(bytes.len());
        let mut binary = false;
        loop {
            let (valid, rest) = match std::str::from_utf8(bytes) {
                Ok(valid) => (valid, None),
                Err(error) => {
                    let (valid, after) = bytes.split_at(error.valid_up_to());
                    // Safe to unwrap: `valid_up_to` bytes are valid UTF-8.
                    let valid = std::str::from_utf8(valid).unwrap_or_default();
                    // `None`: the body ends inside a character (the log's cut).
                    (valid, error.error_len().map(|len| after.split_at(len)))
                }
            };
            for c in valid.chars() {
                if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                    binary = true;
                    // Control characters are at most two bytes: U+0000-U+001F, U+007F-U+009F.
                    let mut buffer = [0; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        text.push_str(&format!("\\x{byte:02x}"));
                    }
                } else {
                    text.push(c);
                }
            }
            let Some((invalid, after)) = rest else {
                return BodyText { text, binary };
            };
            binary = true;
            for byte in invalid {
                text.push_str(&format!("\\x{byte:02x}"));
            }
            bytes = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_and_other_bytes_are_escaped_and_flagged() {
        assert_eq!(
            BodyText::of("ok\tdone\n€".as_bytes()),
            BodyText {
                text: "ok\tdone\n€".into(),
                binary: false
            }
        );
        assert_eq!(
            BodyText::of(b"ok\0nul"),
            BodyText {
                text: "ok\\x00nul".into(),
                binary: true
            }
        );
        assert_eq!(
            BodyText::of(b"a\xff\xfeb\x89PNG"),
            BodyText {
                text: "a\\xff\\xfeb\\x89PNG".into(),
                binary: true
            }
        );
    }

    #[test]
    fn a_character_cut_at_the_end_is_left_out() {
        let mut cut = "€€".as_bytes().to_vec();
        cut.pop();
        assert_eq!(
            BodyText::of(&cut),
            BodyText {
                text: "€".into(),
                binary: false
            }
        );
    }
}
