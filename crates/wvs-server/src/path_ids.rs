//! The ids in the paths of the API and the web pages, parsed by axum straight to their
//! types (an id that is not a number is answered like any path that does not parse).

use serde::Deserialize;
use wvs_store::{AttemptId, TokenId};

/// `.../hooks/{hook_id}/events/{event_id}/...`: GitLab calls a hook's log entries "events",
/// but the id is a delivery-log row's, an attempt's.
#[derive(Deserialize)]
pub struct AttemptPath {
    #[serde(rename = "event_id")]
    pub attempt_id: AttemptId,
}

/// `.../access_tokens/{token_id}`.
#[derive(Deserialize)]
pub struct TokenPath {
    pub token_id: TokenId,
}
