//! The operations end to end over an in-memory store: each one validates,
//! authorizes, and only then hashes and writes; a password change ends the
//! user's sessions in the same write; logins look alike when they fail.

use std::collections::BTreeSet;

use time::Duration;
use userhub_domain::auth::{
    self, ChangeOwnPassword, LogIn, PresentedCredential, Refresh, TokenHashes, TokenLifetimes,
};
use userhub_domain::authz::{Actor, Principal};
use userhub_domain::credentials::ApiKey;
use userhub_domain::password::{Password, PasswordHash, PlainPassword, Verification};
use userhub_domain::ports::{Ctx, HashError, PasswordHasher};
use userhub_domain::repository::{ApiKeyRepository, AttributeRepository, UserRepository};
use userhub_domain::service::{self, CreateUser, UpdateUser};
use userhub_domain::tenant::{AttributeDefinition, Tenant};
use userhub_domain::throttle::{Limit, ThrottlePolicy};
use userhub_domain::types::{
    ApiKeyId, AttributeEntry, AttributeInput, AttributeName, Email, PersonName, Role, Status,
    UserId, Username,
};
use userhub_domain::{DomainError, Field, NewUser, User, UserChanges, UserField};

use crate::memory::MemoryStore;
use crate::support::{CountingHasher, now};

const STRONG: &str = "correct-horse-battery-staple-42";

struct World {
    store: MemoryStore,
    tenant: Tenant,
    hasher: CountingHasher,
}

impl World {
    fn new() -> Self {
        let (store, tenant) = MemoryStore::with_tenant("acme", now());
        Self {
            store,
            tenant,
            hasher: CountingHasher::default(),
        }
    }

    fn ctx(&self) -> Ctx<'_, MemoryStore> {
        Ctx {
            repo: &self.store,
            hasher: &self.hasher,
            throttle: three_failures_then_a_minute(),
            tokens: TokenLifetimes::default(),
            now: now(),
        }
    }

    fn key(&self, roles: &[Role]) -> Actor {
        Actor {
            tenant: self.tenant.id,
            principal: Principal::ApiKey(ApiKeyId::new_random()),
            roles: roles.iter().copied().collect(),
        }
    }

    fn admin(&self) -> Actor {
        self.key(&[Role::Admin])
    }

    /// A user created by an ADMIN, with a password.
    fn user(&self, name: &str) -> User {
        let mut new = NewUser::new(
            Username::parse(name).unwrap(),
            Email::parse(&format!("{name}@example.com")).unwrap(),
        );
        new.first_name = Some(PersonName::parse("Ada").unwrap());
        let command = CreateUser {
            password: Some(PlainPassword::new(STRONG)),
            ..CreateUser::new(new)
        };
        service::create_user(&self.ctx(), &self.admin(), command).unwrap()
    }

    fn log_in(&self, login: &str, password: &str) -> Result<auth::NewSession, DomainError> {
        let tokens = TokenHashes {
            access: format!("access-{}", UserId::new_random()),
            refresh: format!("refresh-{}", UserId::new_random()),
        };
        auth::log_in(
            &self.ctx(),
            LogIn {
                tenant: Some("acme".into()),
                login: login.into(),
                password: PlainPassword::new(password),
                location: None,
                client: None,
                tokens,
            },
        )
    }
}

/// Three failures from one address, then a minute between attempts.
fn three_failures_then_a_minute() -> ThrottlePolicy {
    let minute = time::Duration::minutes(1);
    ThrottlePolicy {
        per_address: Limit {
            free: 3,
            first_delay: minute,
            max_delay: minute,
        },
        per_login: Limit {
            free: 100,
            first_delay: minute,
            max_delay: minute,
        },
        forget_after: time::Duration::hours(1),
    }
}

fn fields(error: DomainError) -> Vec<String> {
    match error {
        DomainError::Validation(errors) => {
            errors.into_iter().map(|e| e.field.to_string()).collect()
        }
        other => panic!("not a validation error: {other:?}"),
    }
}

#[test]
fn a_new_password_is_judged_in_the_users_own_words_then_hashed_once() {
    let world = World::new();
    let mut new = NewUser::new(
        Username::parse("jonathan.harker").unwrap(),
        Email::parse("jonathan.harker@example.com").unwrap(),
    );
    new.first_name = Some(PersonName::parse("Jonathan").unwrap());
    new.last_name = Some(PersonName::parse("Harker").unwrap());
    let weak = CreateUser {
        password: Some(PlainPassword::new("JonathanHarker")),
        ..CreateUser::new(new.clone())
    };
    let error = service::create_user(&world.ctx(), &world.admin(), weak).unwrap_err();
    assert_eq!(fields(error), ["password"]);
    assert_eq!(world.hasher.hashes.get(), 0);

    let strong = CreateUser {
        password: Some(PlainPassword::new(STRONG)),
        ..CreateUser::new(new)
    };
    let user = service::create_user(&world.ctx(), &world.admin(), strong).unwrap();
    assert_eq!(world.hasher.hashes.get(), 1);
    let stored = world.store.user(world.tenant.id, user.id);
    let verified = world
        .hasher
        .verify(
            stored.password.as_ref(),
            &Password::for_verification(STRONG),
        )
        .unwrap();
    assert!(matches!(verified, Verification::Match { .. }));
}

#[test]
fn no_argon2_work_is_spent_on_a_refused_request() {
    let world = World::new();
    let target = world.user("target");
    let before = world.hasher.hashes.get();

    // A POWER_USER may create users but not set passwords.
    let power = world.key(&[Role::PowerUser]);
    let update = UpdateUser {
        password: Some(PlainPassword::new(STRONG)),
        ..UpdateUser::new(target.id, UserChanges::default())
    };
    let error = service::update_user(&world.ctx(), &power, update).unwrap_err();
    assert!(
        matches!(&error, DomainError::Forbidden { fields, .. } if fields == &[UserField::Password]),
        "{error:?}"
    );
    // A STANDARD_USER may not create users at all.
    let mut new = NewUser::new(
        Username::parse("other").unwrap(),
        Email::parse("other@example.com").unwrap(),
    );
    new.roles = BTreeSet::from([Role::StandardUser]);
    let create = CreateUser {
        password: Some(PlainPassword::new(STRONG)),
        ..CreateUser::new(new)
    };
    let standard = world.key(&[Role::StandardUser]);
    assert!(matches!(
        service::create_user(&world.ctx(), &standard, create),
        Err(DomainError::Forbidden { .. })
    ));
    assert_eq!(world.hasher.hashes.get(), before);
    assert_eq!(world.store.user(world.tenant.id, target.id), target);
}

#[test]
fn a_busy_hasher_refuses_and_writes_nothing() {
    struct Busy;
    impl PasswordHasher for Busy {
        fn hash(&self, _: &Password) -> Result<PasswordHash, HashError> {
            Err(HashError::Busy { retry_after: 1 })
        }
        fn verify(
            &self,
            _: Option<&PasswordHash>,
            _: &Password,
        ) -> Result<Verification, HashError> {
            Err(HashError::Busy { retry_after: 1 })
        }
    }
    let world = World::new();
    let target = world.user("target");
    let ctx = Ctx {
        hasher: &Busy,
        ..world.ctx()
    };
    let update = UpdateUser {
        password: Some(PlainPassword::new(STRONG)),
        ..UpdateUser::new(target.id, UserChanges::default())
    };
    let error = service::update_user(&ctx, &world.admin(), update).unwrap_err();
    assert!(matches!(error, DomainError::Busy { retry_after: 1 }));
    assert_eq!(world.store.user(world.tenant.id, target.id), target);
}

#[test]
fn a_new_password_ends_every_session_in_the_same_write() {
    let world = World::new();
    let target = world.user("target");
    world.log_in("target", STRONG).unwrap();
    world.log_in("target", STRONG).unwrap();
    assert_eq!(world.store.open_sessions(target.id), 2);

    let update = UpdateUser {
        password: Some(PlainPassword::new("An0ther!Str0ng#Secret")),
        ..UpdateUser::new(target.id, UserChanges::default())
    };
    let updated = service::update_user(&world.ctx(), &world.admin(), update).unwrap();
    assert_eq!(updated.version, target.version + 1);
    assert_eq!(world.store.updates.borrow().last(), Some(&true));
    assert_eq!(world.store.open_sessions(target.id), 0);
    // The history records that the password changed, never its value.
    let history = world.store.history.borrow();
    let last = history.last().unwrap();
    assert_eq!(last.changes.len(), 1);
    assert_eq!(last.changes[0].field, UserField::Password);
    assert!(last.changes[0].new.is_null());

    // Other changes leave sessions alone.
    drop(history);
    world.log_in("target", "An0ther!Str0ng#Secret").unwrap();
    let rename = UpdateUser::new(
        target.id,
        UserChanges {
            first_name: userhub_domain::Patch::Set(PersonName::parse("Bea").unwrap()),
            ..UserChanges::default()
        },
    );
    service::update_user(&world.ctx(), &world.admin(), rename).unwrap();
    assert_eq!(world.store.updates.borrow().last(), Some(&false));
    assert_eq!(world.store.open_sessions(target.id), 1);
}

#[test]
fn custom_attributes_must_be_declared_and_are_named_where_given() {
    let world = World::new();
    world
        .store
        .define_attribute(&AttributeDefinition {
            tenant: world.tenant.id,
            name: AttributeName::parse("color").unwrap(),
            description: None,
            created_at: now(),
        })
        .unwrap();
    let target = world.user("target");
    let entry = |name: &str, value: &str| AttributeEntry {
        path: format!("properties.{name}"),
        name: name.into(),
        value: Some(value.into()),
    };
    let update = UpdateUser {
        attributes: AttributeInput {
            clear: false,
            entries: vec![entry("color", "blue"), entry("size", "XL")],
        },
        ..UpdateUser::new(target.id, UserChanges::default())
    };
    let error = service::update_user(&world.ctx(), &world.admin(), update).unwrap_err();
    assert_eq!(fields(error), ["properties.size"]);

    let update = UpdateUser {
        attributes: AttributeInput {
            clear: false,
            entries: vec![entry("color", "blue")],
        },
        ..UpdateUser::new(target.id, UserChanges::default())
    };
    let updated = service::update_user(&world.ctx(), &world.admin(), update).unwrap();
    let color = AttributeName::parse("color").unwrap();
    assert_eq!(updated.attributes.get(&color).unwrap().as_str(), "blue");
}

#[test]
fn a_user_changes_their_own_password_proving_the_old_one() {
    let world = World::new();
    let target = world.user("target");
    let session = world.log_in("target", STRONG).unwrap();
    let me = Actor {
        tenant: world.tenant.id,
        principal: Principal::User(target.id),
        roles: target.roles.clone(),
    };
    let change = |current: &str, new: &str| ChangeOwnPassword {
        id: target.id,
        current: PlainPassword::new(current),
        new: PlainPassword::new(new),
        client: None,
    };
    let error =
        auth::change_own_password(&world.ctx(), &me, change("wrong", "An0ther!Str0ng#Secret"))
            .unwrap_err();
    match error {
        DomainError::Validation(errors) => {
            assert_eq!(errors.errors()[0].field, Field::CurrentPassword);
        }
        other => panic!("{other:?}"),
    }
    let error =
        auth::change_own_password(&world.ctx(), &me, change(STRONG, "password")).unwrap_err();
    match error {
        DomainError::Validation(errors) => assert_eq!(errors.errors()[0].field, Field::NewPassword),
        other => panic!("{other:?}"),
    }
    auth::change_own_password(&world.ctx(), &me, change(STRONG, "An0ther!Str0ng#Secret")).unwrap();
    assert_eq!(world.store.updates.borrow().last(), Some(&true));
    assert_eq!(world.store.open_sessions(target.id), 0);
    assert!(
        session.session.revoked_at.is_none(),
        "the copy was taken before"
    );

    // Nobody else may: not even an ADMIN key.
    let error = auth::change_own_password(&world.ctx(), &world.admin(), change(STRONG, STRONG))
        .unwrap_err();
    assert!(matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn failed_logins_look_alike_and_are_throttled_before_any_work() {
    let world = World::new();
    world.user("ada");
    let spent = |world: &World| world.hasher.verifications.get();

    let unknown_tenant = auth::log_in(
        &world.ctx(),
        LogIn {
            tenant: Some("nowhere".into()),
            login: "ada".into(),
            password: PlainPassword::new(STRONG),
            location: None,
            client: None,
            tokens: TokenHashes {
                access: "a".into(),
                refresh: "r".into(),
            },
        },
    );
    assert!(matches!(
        unknown_tenant,
        Err(DomainError::InvalidCredentials)
    ));
    assert_eq!(spent(&world), 1);
    assert!(matches!(
        world.log_in("nobody", STRONG),
        Err(DomainError::InvalidCredentials)
    ));
    assert_eq!(spent(&world), 2);
    for _ in 0..3 {
        assert!(matches!(
            world.log_in("ada", "wrong"),
            Err(DomainError::InvalidCredentials)
        ));
    }
    assert_eq!(spent(&world), 5);
    // Throttled: refused before the password is checked.
    assert!(matches!(
        world.log_in("ADA", STRONG),
        Err(DomainError::TooManyAttempts { retry_after: 60 })
    ));
    assert_eq!(spent(&world), 5);
    world.store.login_failures.borrow_mut().clear();
    let session = world.log_in("ada@example.com", STRONG).unwrap();
    assert_eq!(session.user.username.as_str(), "ada");
    assert!(session.user.last_authentication.is_some());
}

#[test]
fn failures_by_username_and_by_email_count_together() {
    let world = World::new();
    world.user("ada");
    for login in ["ada", "ada@example.com", "ADA@example.com"] {
        assert!(matches!(
            world.log_in(login, "wrong"),
            Err(DomainError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        world.log_in("Ada", STRONG),
        Err(DomainError::TooManyAttempts { .. })
    ));
    // Unknown names are counted by what was typed.
    for _ in 0..3 {
        assert!(matches!(
            world.log_in("nobody", "wrong"),
            Err(DomainError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        world.log_in("NOBODY", "wrong"),
        Err(DomainError::TooManyAttempts { .. })
    ));
}

#[test]
fn only_active_users_log_in() {
    let world = World::new();
    let target = world.user("ada");
    let block = UpdateUser::new(
        target.id,
        UserChanges {
            status: Some(Status::Blocked),
            ..UserChanges::default()
        },
    );
    service::update_user(&world.ctx(), &world.admin(), block).unwrap();
    assert!(matches!(
        world.log_in("ada", STRONG),
        Err(DomainError::Forbidden { .. })
    ));
    assert_eq!(world.store.open_sessions(target.id), 0);
}

#[test]
fn a_refresh_token_works_once_and_its_reuse_ends_every_session() {
    let world = World::new();
    let target = world.user("ada");
    let first = world.log_in("ada", STRONG).unwrap();
    world.log_in("ada", STRONG).unwrap();
    let refresh = |presented: &str, next: &str| Refresh {
        presented: presented.into(),
        tokens: TokenHashes {
            access: format!("access-{next}"),
            refresh: format!("refresh-{next}"),
        },
    };
    auth::refresh_session(&world.ctx(), refresh(&first.session.refresh_hash, "2")).unwrap();
    assert_eq!(world.store.open_sessions(target.id), 2);
    let reused = auth::refresh_session(&world.ctx(), refresh(&first.session.refresh_hash, "3"));
    assert!(matches!(reused, Err(DomainError::Unauthenticated)));
    assert_eq!(world.store.open_sessions(target.id), 0);
}

#[test]
fn credentials_authenticate_only_while_valid() {
    let world = World::new();
    let target = world.user("ada");
    let key = ApiKey {
        id: ApiKeyId::new_random(),
        tenant: world.tenant.id,
        prefix: "abcdef123456".into(),
        key_hash: "hash-of-the-key".into(),
        roles: BTreeSet::from([Role::Admin]),
        label: None,
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    world.store.create_api_key(&key).unwrap();
    let presented = |hash: &str| PresentedCredential::ApiKey {
        prefix: "abcdef123456".into(),
        hash: hash.into(),
    };
    let actor = auth::authenticate(&world.store, &presented("hash-of-the-key"), now()).unwrap();
    assert_eq!(actor.principal, Principal::ApiKey(key.id));
    assert!(matches!(
        auth::authenticate(&world.store, &presented("another-hash-of-it"), now()),
        Err(DomainError::Unauthenticated)
    ));
    world.store.revoke_api_key(key.id, now()).unwrap();
    assert!(matches!(
        auth::authenticate(&world.store, &presented("hash-of-the-key"), now()),
        Err(DomainError::Unauthenticated)
    ));

    let session = world.log_in("ada", STRONG).unwrap();
    let token = PresentedCredential::AccessToken {
        hash: session.session.access_hash.clone(),
    };
    let actor = auth::authenticate(&world.store, &token, now()).unwrap();
    assert_eq!(actor.principal, Principal::User(target.id));
    let later = now() + TokenLifetimes::default().access + Duration::seconds(1);
    assert!(matches!(
        auth::authenticate(&world.store, &token, later),
        Err(DomainError::Unauthenticated)
    ));
    assert!(
        world
            .store
            .get_user(world.tenant.id, target.id)
            .unwrap()
            .is_some()
    );
}
