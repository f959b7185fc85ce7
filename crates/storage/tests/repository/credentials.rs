//! API keys and sessions.

use std::collections::BTreeSet;

use time::Duration;
use userhub_domain::credentials::{ApiKey, Session};
use userhub_domain::repository::{
    ApiKeyRepository, RevokeApiKeyError, RotateSessionError, SessionRepository,
};
use userhub_domain::tenant::Tenant;
use userhub_domain::types::{ApiKeyId, Role, SessionId, UserId};
use userhub_storage::Store;

use crate::support::{create, now, tenant, user};

/// A fresh session of `user`, its hashes made unique by `tag`.
pub fn session(tenant: &Tenant, user: UserId, tag: &str) -> Session {
    let at = now();
    let id = SessionId::new_random();
    Session {
        id,
        tenant: tenant.id,
        user,
        access_hash: format!("access-{tag}-{id}"),
        access_expires_at: at + Duration::minutes(15),
        refresh_hash: format!("refresh-{tag}-{id}"),
        refresh_expires_at: at + Duration::days(30),
        created_at: at,
        revoked_at: None,
    }
}

fn api_key(tenant: &Tenant, prefix: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new_random(),
        tenant: tenant.id,
        prefix: prefix.to_owned(),
        key_hash: format!("{prefix}-hash"),
        roles: BTreeSet::from([Role::Admin, Role::ApiUser]),
        label: Some("CI deploys".to_owned()),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    }
}

fn api_keys_are_found_by_prefix_touched_and_revoked(store: &Store) {
    let tenant = tenant(store);
    let first = api_key(&tenant, "uh_first");
    let mut second = api_key(&tenant, "uh_second");
    second.label = None;
    second.roles = BTreeSet::new();
    store.create_api_key(&first).unwrap();
    store.create_api_key(&second).unwrap();

    assert_eq!(
        store.find_api_key_by_prefix("uh_first").unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_api_key_by_prefix("uh_none").unwrap(), None);
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by_key(|k| (k.created_at, k.id.to_string()));
    assert_eq!(store.list_api_keys(tenant.id).unwrap(), expected);
    assert!(
        store
            .list_api_keys(crate::support::tenant(store).id)
            .unwrap()
            .is_empty()
    );

    let used = now();
    store.touch_api_key(first.id, used).unwrap();
    let revoked = now();
    store.revoke_api_key(first.id, revoked).unwrap();
    // Revoking again is not an error and keeps the first time.
    store
        .revoke_api_key(first.id, revoked + Duration::hours(1))
        .unwrap();
    let stored = store.find_api_key_by_prefix("uh_first").unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(used));
    assert_eq!(stored.revoked_at, Some(revoked));
    assert!(!stored.is_active());

    assert!(matches!(
        store.revoke_api_key(ApiKeyId::new_random(), now()),
        Err(RevokeApiKeyError::NotFound)
    ));

    // A prefix collision is a storage error, and its text shows no value.
    let error = store
        .create_api_key(&api_key(&tenant, "uh_first"))
        .unwrap_err()
        .to_string();
    assert!(!error.contains("uh_first"), "{error}");
    assert!(!error.to_lowercase().contains("insert"), "{error}");
}

fn sessions_rotate_exactly_once(store: &Store) {
    let tenant = tenant(store);
    let alice = user(tenant.id, "alice");
    create(store, &alice);
    let first = session(&tenant, alice.id, "first");
    store.create_session(&first).unwrap();
    assert_eq!(
        store
            .find_session_by_access_hash(&first.access_hash)
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_session_by_refresh_hash(&first.refresh_hash)
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_session_by_access_hash("nope").unwrap(), None);

    let second = session(&tenant, alice.id, "second");
    let at = now();
    store.rotate_session(first.id, &second, at).unwrap();
    let old = store
        .find_session_by_refresh_hash(&first.refresh_hash)
        .unwrap()
        .unwrap();
    assert_eq!(old.revoked_at, Some(at));
    assert!(!old.refresh_valid_at(at));
    assert_eq!(
        store
            .find_session_by_access_hash(&second.access_hash)
            .unwrap(),
        Some(second.clone())
    );

    // The old refresh token works once: a replay changes nothing.
    let third = session(&tenant, alice.id, "third");
    assert!(matches!(
        store.rotate_session(first.id, &third, now()),
        Err(RotateSessionError::AlreadyRevoked)
    ));
    assert_eq!(
        store
            .find_session_by_access_hash(&third.access_hash)
            .unwrap(),
        None
    );

    // Revoking the user's sessions ends the live one and keeps old times.
    let logout = now() + Duration::seconds(1);
    store
        .revoke_user_sessions(tenant.id, alice.id, logout)
        .unwrap();
    let live = store
        .find_session_by_access_hash(&second.access_hash)
        .unwrap()
        .unwrap();
    assert_eq!(live.revoked_at, Some(logout));
    let old = store
        .find_session_by_access_hash(&first.access_hash)
        .unwrap()
        .unwrap();
    assert_eq!(old.revoked_at, Some(at));
}

/// A password change ends the user's sessions in its own transaction: when
/// the change fails, no session ends; when it lands, every open one has.
fn a_password_change_revokes_sessions_in_its_transaction(store: &Store) {
    use userhub_domain::UserChanges;
    use userhub_domain::password::{HashParams, Password, hash_password};
    use userhub_domain::repository::{UpdateUserError, UserRepository};
    use userhub_domain::types::Username;

    let tenant = tenant(store);
    let ada = user(tenant.id, "ada");
    let bob = user(tenant.id, "bob");
    create(store, &ada);
    create(store, &bob);
    let sessions: Vec<Session> = ["a", "b"]
        .iter()
        .map(|tag| session(&tenant, ada.id, tag))
        .collect();
    let bobs = session(&tenant, bob.id, "bob");
    for s in sessions.iter().chain([&bobs]) {
        store.create_session(s).unwrap();
    }
    let open = |s: &Session| {
        store
            .find_session_by_access_hash(&s.access_hash)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    };
    let cheap = HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
    let secret = Password::for_verification("An0ther!Str0ng#Secret");
    let hash = hash_password(&secret, &cheap).unwrap();

    // The change also takes bob's username: it fails as a whole, and no
    // session ends.
    let mut taken = crate::support::change(
        &ada,
        &UserChanges {
            username: Some(Username::parse("bob").unwrap()),
            password: Some(hash.clone()),
            ..UserChanges::default()
        },
    );
    taken.revoke_sessions = true;
    assert!(matches!(
        store.update_user(&taken),
        Err(UpdateUserError::Conflict(_))
    ));
    assert!(sessions.iter().all(open));

    let mut change = crate::support::change(
        &ada,
        &UserChanges {
            password: Some(hash),
            ..UserChanges::default()
        },
    );
    change.revoke_sessions = true;
    store.update_user(&change).unwrap();
    assert!(!sessions.iter().any(open));
    assert!(open(&bobs), "another user's sessions stay");
}

backend_tests!(
    a_password_change_revokes_sessions_in_its_transaction,
    api_keys_are_found_by_prefix_touched_and_revoked,
    sessions_rotate_exactly_once,
);
