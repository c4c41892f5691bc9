//! The `event_parser` fuzz target's corpus and crash reproducers, replayed on every test run
//! so that what fuzzing once found stays fixed (fuzz/corpus/event_parser,
//! fuzz/regressions/event_parser).

use std::path::Path;

use wvs_events::fuzzing::{check_event_bytes, committed_inputs};

#[test]
fn the_event_parser_corpus_parses_or_fails_cleanly_and_round_trips() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let inputs = committed_inputs(&fuzz, "event_parser");
    assert!(
        inputs.len() >= 40,
        "the corpus is committed: {}",
        inputs.len()
    );
    for (name, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| check_event_bytes(&bytes));
        assert!(outcome.is_ok(), "{name}");
    }
}
