//! The property the `url_validation` fuzz target checks here, shared with the regression
//! test that replays its corpus in `cargo test`.

use serde_json::json;
use wvs_events::Scope;

use crate::{HookInput, create, url_template};

/// Validates `text` as a hook URL for every scope and fills its placeholders: an answer,
/// never a panic.
pub fn check_hook_url(text: &str) {
    if let Ok(input) = HookInput::from_json(&json!({ "url": text })) {
        for scope in [Scope::Project, Scope::Group, Scope::System] {
            let _ = create(scope, input.clone());
        }
    }
    let variables = [("host".to_owned(), "a/../@evil:1".to_owned())];
    let _ = url_template::interpolate(text, &variables);
}
