//! Users, their SSH keys and group and project members.

use super::*;

pub(crate) fn new_user(id: Option<UserId>, username: &str) -> NewUser {
    NewUser {
        id,
        username: username.into(),
        name: username.to_uppercase(),
        email: format!("{username}@example.com"),
    }
}

pub(crate) async fn check_users_crud(store: &dyn Store) {
    let given = store
        .create_user(new_user(Some(UserId(41)), "js"), Millis(5))
        .await
        .unwrap();
    assert_eq!(
        (
            given.id,
            given.username.as_str(),
            given.name.as_str(),
            given.email.as_str()
        ),
        (UserId(41), "js", "JS", "js@example.com")
    );
    assert_eq!((given.created_at, given.updated_at), (Millis(5), Millis(5)));
    // An assigned id never collides with a given one.
    let assigned = store
        .create_user(new_user(None, "ann"), Millis(6))
        .await
        .unwrap();
    assert!(assigned.id > UserId(41), "{}", assigned.id);
    assert!(matches!(
        store.create_user(new_user(None, "js"), Millis(7)).await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store
        .update_user(
            UserId(41),
            UserUpdate {
                username: Some("jsmith".into()),
                ..UserUpdate::default()
            },
            Millis(8),
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.username.as_str(), renamed.name.as_str()),
        ("jsmith", "JS")
    );
    assert_eq!(
        (renamed.created_at, renamed.updated_at),
        (Millis(5), Millis(8))
    );
    assert_eq!(store.user(UserId(41)).await.unwrap(), Some(renamed.clone()));
    assert!(matches!(
        store
            .update_user(
                assigned.id,
                UserUpdate {
                    username: Some("jsmith".into()),
                    ..UserUpdate::default()
                },
                Millis(9),
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_user(UserId(999), UserUpdate::default(), Millis(9))
            .await,
        Err(StoreError::NotFound("user"))
    ));
    assert_eq!(store.delete_user(UserId(41)).await.unwrap(), renamed);
    assert_eq!(store.user(UserId(41)).await.unwrap(), None);
    assert!(matches!(
        store.delete_user(UserId(41)).await,
        Err(StoreError::NotFound("user"))
    ));
}

pub(crate) async fn check_ssh_keys(store: &dyn Store) {
    let owner = store
        .create_user(new_user(None, "root"), Millis(1))
        .await
        .unwrap();
    let other = store
        .create_user(new_user(None, "ann"), Millis(1))
        .await
        .unwrap();
    let key = |title: &str| NewSshKey {
        title: title.into(),
        key: format!("ssh-ed25519 AAAA {title}"),
    };
    let laptop = store
        .create_ssh_key(owner.id, key("laptop"), Millis(5))
        .await
        .unwrap();
    assert_eq!(
        (
            laptop.user.username.as_str(),
            laptop.title.as_str(),
            laptop.key.as_str()
        ),
        ("root", "laptop", "ssh-ed25519 AAAA laptop")
    );
    assert_eq!(laptop.created_at, Millis(5));
    let desk = store
        .create_ssh_key(owner.id, key("desk"), Millis(6))
        .await
        .unwrap();
    assert!(matches!(
        store.create_ssh_key(UserId(999), key("x"), Millis(6)).await,
        Err(StoreError::NotFound("user"))
    ));
    assert_eq!(
        store.list_ssh_keys(owner.id).await.unwrap(),
        vec![laptop.clone(), desk.clone()]
    );
    // Another user's key is not found under this one.
    assert!(matches!(
        store.delete_ssh_key(other.id, laptop.id).await,
        Err(StoreError::NotFound("key"))
    ));
    assert_eq!(
        store.delete_ssh_key(owner.id, laptop.id).await.unwrap(),
        laptop
    );
    assert_eq!(store.list_ssh_keys(owner.id).await.unwrap(), vec![desk]);
    // Deleting the user takes the keys.
    store.delete_user(owner.id).await.unwrap();
    assert!(matches!(
        store.list_ssh_keys(owner.id).await,
        Err(StoreError::NotFound("user"))
    ));
}

pub(crate) async fn check_members(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let ann = store
        .create_user(new_user(None, "ann"), Millis(1))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user(None, "bob"), Millis(1))
        .await
        .unwrap();
    let member = |user_id, access_level| NewMember {
        user_id,
        access_level,
        expires_at: None,
    };
    let in_group = store
        .add_member(
            MemberOf::Group(g.id),
            NewMember {
                expires_at: Some("2030-01-31".into()),
                ..member(ann.id, 10)
            },
            Millis(5),
        )
        .await
        .unwrap();
    assert_eq!(in_group.of, MemberOf::Group(g.id));
    assert_eq!(in_group.user, ann);
    assert_eq!(
        (
            in_group.access_level,
            in_group.expires_at.as_deref(),
            in_group.created_at
        ),
        (10, Some("2030-01-31"), Millis(5))
    );
    // The same user may be a member of the project too, but only once of each.
    store
        .add_member(MemberOf::Project(p.id), member(ann.id, 30), Millis(6))
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_member(MemberOf::Group(g.id), member(ann.id, 20), Millis(7))
            .await,
        Err(StoreError::Conflict("member"))
    ));
    assert!(matches!(
        store
            .add_member(MemberOf::Group(g.id), member(UserId(999), 20), Millis(7))
            .await,
        Err(StoreError::NotFound("user"))
    ));
    assert!(matches!(
        store
            .add_member(
                MemberOf::Project(ProjectId(999)),
                member(bob.id, 20),
                Millis(7)
            )
            .await,
        Err(StoreError::NotFound("project"))
    ));
    store
        .add_member(MemberOf::Group(g.id), member(bob.id, 50), Millis(7))
        .await
        .unwrap();
    let updated = store
        .update_member(
            MemberOf::Group(g.id),
            ann.id,
            MemberUpdate {
                access_level: Some(30),
                expires_at: Some(None),
            },
            Millis(8),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.access_level,
            updated.expires_at.clone(),
            updated.created_at,
            updated.updated_at
        ),
        (30, None, Millis(5), Millis(8))
    );
    // Unchanged fields stay.
    let kept = store
        .update_member(
            MemberOf::Group(g.id),
            ann.id,
            MemberUpdate::default(),
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!((kept.access_level, kept.expires_at), (30, None));
    assert!(matches!(
        store
            .update_member(
                MemberOf::Project(p.id),
                bob.id,
                MemberUpdate::default(),
                Millis(9)
            )
            .await,
        Err(StoreError::NotFound("member"))
    ));
    let levels: Vec<(String, i64)> = store
        .list_members(MemberOf::Group(g.id))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.username, m.access_level))
        .collect();
    assert_eq!(levels, [("ann".to_owned(), 30), ("bob".to_owned(), 50)]);
    let removed = store
        .remove_member(MemberOf::Group(g.id), ann.id)
        .await
        .unwrap();
    assert_eq!((removed.user.id, removed.access_level), (ann.id, 30));
    assert!(matches!(
        store.remove_member(MemberOf::Group(g.id), ann.id).await,
        Err(StoreError::NotFound("member"))
    ));
    // The project membership is its own.
    assert_eq!(
        store
            .list_members(MemberOf::Project(p.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // Deleting a user or the project takes their memberships.
    store.delete_user(bob.id).await.unwrap();
    assert!(
        store
            .list_members(MemberOf::Group(g.id))
            .await
            .unwrap()
            .is_empty()
    );
    store.delete_project(p.id).await.unwrap();
    assert!(
        store
            .list_members(MemberOf::Project(p.id))
            .await
            .unwrap()
            .is_empty()
    );
}
