//! The `url_validation` fuzz target's corpus and crash reproducers, replayed on every test
//! run (fuzz/corpus/url_validation, fuzz/regressions/url_validation): validation answers,
//! never panics.

use std::path::Path;

use wvs_events::fuzzing::committed_inputs;

#[test]
fn the_url_corpus_is_validated_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let texts: Vec<String> = committed_inputs(&fuzz, "url_validation")
        .into_iter()
        .filter_map(|(_, bytes)| String::from_utf8(bytes).ok())
        .collect();
    assert!(
        texts.len() >= 50,
        "the corpus is committed: {}",
        texts.len()
    );
    for text in &texts {
        wvs_hooks::fuzzing::check_hook_url(text);
    }
}
