//! The `event_parser` fuzz target's corpus and crash reproducers, replayed on every test run
//! so that what fuzzing once found stays fixed (fuzz/corpus/event_parser,
//! fuzz/regressions/event_parser).

use std::path::Path;

/// Every file under the fuzz crate's `corpus/<target>` and `regressions/<target>`.
pub fn fuzz_inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
            continue;
        };
        for entry in entries.map(Result::unwrap) {
            let bytes = std::fs::read(entry.path()).unwrap();
            inputs.push((entry.path().display().to_string(), bytes));
        }
    }
    inputs
}

#[test]
fn the_event_parser_corpus_parses_or_fails_cleanly_and_round_trips() {
    let inputs = fuzz_inputs("event_parser");
    assert!(
        inputs.len() >= 40,
        "the corpus is committed: {}",
        inputs.len()
    );
    for (name, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| wvs_events::fuzzing::check_event_bytes(&bytes));
        assert!(outcome.is_ok(), "{name}");
    }
}
