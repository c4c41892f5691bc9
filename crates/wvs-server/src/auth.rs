//! API tokens. The admin token is given by the operator (`WVS_ADMIN_TOKEN`) or generated on
//! first start and printed once; project and group access tokens are created through the
//! API by an admin and shown once. Only SHA-256 digests are stored; the admin token is
//! compared digest to digest in constant time, access tokens are found by their digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wvs_store::{GroupId, HookOwner, Millis, ProjectId, Store, StoreError};

const ADMIN_TOKEN_DIGEST: &str = "admin_token_sha256";

/// Makes sure an admin token exists. Returns a newly generated token, which the caller shows
/// once; `None` when the configured or an earlier token stays in force.
pub async fn ensure_admin_token(
    store: &dyn Store,
    configured: Option<&str>,
) -> Result<Option<String>, wvs_store::StoreError> {
    if let Some(token) = configured {
        let configured = digest(token);
        let stored = store.setting(ADMIN_TOKEN_DIGEST).await?;
        if stored.as_ref().is_some_and(|stored| *stored != configured) {
            // An operator who restarts with another token locks out every client of the old
            // one: say so, without either token.
            tracing::warn!(
                "the configured admin token (WVS_ADMIN_TOKEN) replaces the stored one: \
                 the previous admin token no longer works"
            );
        }
        store.set_setting(ADMIN_TOKEN_DIGEST, &configured).await?;
        return Ok(None);
    }
    if store.setting(ADMIN_TOKEN_DIGEST).await?.is_some() {
        return Ok(None);
    }
    let token = new_token("wvs_");
    store
        .set_setting(ADMIN_TOKEN_DIGEST, &digest(&token))
        .await?;
    Ok(Some(token))
}

/// A new random token with a recognizable prefix.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What a caller may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Everything.
    Admin,
    /// One project's hooks, events and logs.
    Project(ProjectId),
    /// One group's, and those of every subgroup and project beneath it.
    Group(GroupId),
}

/// Who is calling: the digest of the token the request presented (never the token) and
/// what it may reach.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: String,
    pub reach: Reach,
}

/// Who a token digest stands for: the admin, or a project or group access token that
/// exists and has not expired; `None` for anything else. Asked at every request, so a
/// revoked or expired token (and a web session signed in with it) stops working at once.
pub async fn caller_of(store: &dyn Store, key: String) -> Result<Option<Caller>, StoreError> {
    let admin = store
        .setting(ADMIN_TOKEN_DIGEST)
        .await?
        .is_some_and(|stored| bool::from(key.as_bytes().ct_eq(stored.as_bytes())));
    if admin {
        return Ok(Some(Caller {
            key,
            reach: Reach::Admin,
        }));
    }
    let token = store
        .access_token_by_digest(&key)
        .await?
        .filter(|token| token.expires_at.is_none_or(|at| at > Millis::now()));
    let reach = match token.map(|token| token.owner) {
        Some(HookOwner::Project(id)) => Reach::Project(id),
        Some(HookOwner::Group(id)) => Reach::Group(id),
        Some(HookOwner::System) | None => return Ok(None),
    };
    Ok(Some(Caller { key, reach }))
}
