//! The `url_validation` fuzz target's corpus and crash reproducers, replayed on every test
//! run (fuzz/corpus/url_validation, fuzz/regressions/url_validation): validation answers,
//! never panics.

use std::path::Path;

#[test]
fn the_url_corpus_is_validated_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join("url_validation")) else {
            continue;
        };
        for entry in entries.map(Result::unwrap) {
            let bytes = std::fs::read(entry.path()).unwrap();
            if let Ok(text) = std::str::from_utf8(&bytes) {
                wvs_hooks::fuzzing::check_hook_url(text);
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 50, "the corpus is committed: {replayed}");
}
