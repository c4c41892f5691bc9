//! The property the `event_parser` fuzz target checks, shared with the regression test that
//! replays its corpus in `cargo test`.

use crate::Event;

/// Parses `data`: never a panic, and whatever parses survives a round trip (serialized and
/// parsed again, it is the same value). Panics when the property breaks.
pub fn check_event_bytes(data: &[u8]) {
    if let Ok(event) = Event::from_slice(data) {
        let again = Event::from_slice(&event.to_vec()).expect("a serialized event parses again");
        assert_eq!(
            again.to_value(),
            event.to_value(),
            "the round trip keeps every field"
        );
    }
}
