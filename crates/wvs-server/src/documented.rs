//! Test helpers: the documented examples (`fixtures/` at the repository root, or `WVS_FIXTURES_DIR`) and
//! comparing built payloads with them.

use std::path::PathBuf;

use serde_json::Value;

/// The documented example in `file` (relative to the fixtures directory).
pub fn fixture(file: &str) -> Value {
    let dir = std::env::var_os("WVS_FIXTURES_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
        PathBuf::from,
    );
    let text = std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{file} in {} (set WVS_FIXTURES_DIR): {e}", dir.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every key of `documented` is in `built`, in the documented order, in every object
/// (the first element of arrays stands for all).
pub fn assert_documented_keys(built: &Value, documented: &Value, at: &str) {
    match (built, documented) {
        (Value::Object(built), Value::Object(documented)) => {
            let order: Vec<&String> = built
                .keys()
                .filter(|key| documented.contains_key(*key))
                .collect();
            let want: Vec<&String> = documented.keys().collect();
            assert_eq!(order, want, "keys of {at}");
            for (key, value) in documented {
                assert_documented_keys(&built[key], value, &format!("{at}.{key}"));
            }
        }
        (Value::Array(built), Value::Array(documented)) => {
            if let (Some(built), Some(documented)) = (built.first(), documented.first()) {
                assert_documented_keys(built, documented, &format!("{at}[0]"));
            }
        }
        _ => {}
    }
}
