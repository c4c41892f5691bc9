//! The property the `event_parser` fuzz target checks, shared with the regression test that
//! replays its corpus in `cargo test`, and the reading of a fuzz target's committed inputs
//! for every crate's replay test.

use std::path::Path;

use crate::Event;

/// Every committed input of a fuzz target: the files under `fuzz/corpus/<target>` and
/// `fuzz/regressions/<target>` (crash reproducers), as (path, bytes).
pub fn committed_inputs(fuzz_dir: &Path, target: &str) -> Vec<(String, Vec<u8>)> {
    let mut inputs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(kind).join(target)) else {
            continue;
        };
        for path in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
            if let Ok(bytes) = std::fs::read(&path) {
                inputs.push((path.display().to_string(), bytes));
            }
        }
    }
    inputs
}

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
