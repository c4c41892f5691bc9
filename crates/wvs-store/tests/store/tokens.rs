//! Project and group access tokens.

use super::*;

pub(crate) async fn check_access_tokens(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let token = |name: &str, owner, digest: &str| NewAccessToken {
        name: name.into(),
        owner,
        digest: digest.into(),
        expires_at: None,
    };
    let mine = store
        .create_access_token(token("ci", HookOwner::Project(p.id), "d1"), Millis(5))
        .await
        .unwrap();
    assert_eq!(
        (mine.owner, mine.created_at),
        (HookOwner::Project(p.id), Millis(5))
    );
    let group_token = store
        .create_access_token(token("ops", HookOwner::Group(g.id), "d2"), Millis(6))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_access_token(token("dup", HookOwner::Group(g.id), "d2"), Millis(7))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_access_token(
                token("x", HookOwner::Project(ProjectId(999)), "d3"),
                Millis(7)
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.access_token_by_digest("d1").await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(store.access_token_by_digest("nope").await.unwrap(), None);
    assert_eq!(
        store
            .list_access_tokens(HookOwner::Group(g.id))
            .await
            .unwrap(),
        vec![group_token.clone()]
    );
    assert!(matches!(
        store
            .revoke_access_token(HookOwner::Group(g.id), mine.id)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .revoke_access_token(HookOwner::Project(p.id), mine.id)
        .await
        .unwrap();
    assert_eq!(store.access_token_by_digest("d1").await.unwrap(), None);
    // Deleting the group takes its tokens.
    store.delete_group(g.id).await.unwrap();
    assert_eq!(store.access_token_by_digest("d2").await.unwrap(), None);
}
