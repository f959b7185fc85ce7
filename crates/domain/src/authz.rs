//! Who may do what, as pure decisions: no storage, no clock, testable as a
//! matrix.
//!
//! Security intent: every user-changing operation asks [`authorize_change`]
//! with the fields that would really change, so an actor cannot slip a
//! privileged field into an otherwise permitted request; a refusal names
//! every refused field. Tenants never mix: an actor of another tenant is
//! refused everything (callers answer that as "not found").

use std::collections::BTreeSet;
use std::fmt;

use crate::fields::UserField;
use crate::types::{ApiKeyId, Role, Status, TenantId, UserId};
use crate::user::{NewUser, User, UserChanges};

/// What kind of credential an actor presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A user, through an access token from a password login.
    User(UserId),
    /// An API key.
    ApiKey(ApiKeyId),
}

/// Someone acting on users: always within exactly one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The tenant the credential belongs to.
    pub tenant: TenantId,
    /// The credential's owner.
    pub principal: Principal,
    /// The roles the credential carries.
    pub roles: BTreeSet<Role>,
}

impl Actor {
    /// Whether the actor holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor is the user `id` themselves.
    pub fn is_user(&self, id: UserId) -> bool {
        self.principal == Principal::User(id)
    }

    /// How the history records this actor.
    pub fn reference(&self) -> ActorRef {
        match self.principal {
            Principal::User(id) => ActorRef::User(id),
            Principal::ApiKey(id) => ActorRef::ApiKey(id),
        }
    }

    fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    fn is_manager(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::PowerUser)
    }
}

/// Who made a change, as recorded in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorRef {
    /// A user (by access token).
    User(UserId),
    /// An API key.
    ApiKey(ApiKeyId),
    /// The service itself (e.g. a command-line administrator).
    System,
}

impl fmt::Display for ActorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActorRef::User(id) => write!(f, "user:{id}"),
            ActorRef::ApiKey(id) => write!(f, "api-key:{id}"),
            ActorRef::System => f.write_str("system"),
        }
    }
}

impl ActorRef {
    /// Read the form [`Display`](fmt::Display) writes.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "system" {
            return Some(ActorRef::System);
        }
        let (kind, id) = text.split_once(':')?;
        match kind {
            "user" => UserId::parse(id).ok().map(ActorRef::User),
            "api-key" => ApiKeyId::parse(id).ok().map(ActorRef::ApiKey),
            _ => None,
        }
    }
}

/// Who may change a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// The user themselves, a POWER_USER or an ADMIN.
    SelfOrManager,
    /// An ADMIN only.
    AdminOnly,
}

/// The rule for `field`.
///
/// The username and profile fields: the user, a POWER_USER or an ADMIN.
/// Password, roles and status: ADMIN only. Fields that grant access or vouch
/// for the user (memberships, verification flags, subscription plan, allowed
/// login types) are ADMIN only too: letting a user set them would let them
/// grant themselves rights or vouch for themselves. So is the identity
/// provider's id (`externalId`): a user who set their own could have another
/// provider account's provisioning land on them.
pub fn field_rule(field: UserField) -> FieldRule {
    match field {
        UserField::Password
        | UserField::Roles
        | UserField::Status
        | UserField::Memberships
        | UserField::EmailVerified
        | UserField::PhoneVerified
        | UserField::SubscriptionPlan
        | UserField::AllowedLoginTypes
        | UserField::ExternalId => FieldRule::AdminOnly,
        UserField::Username
        | UserField::Email
        | UserField::Title
        | UserField::FirstName
        | UserField::MiddleName
        | UserField::LastName
        | UserField::Locale
        | UserField::TimeZone
        | UserField::Gender
        | UserField::BirthDate
        | UserField::Address
        | UserField::Phone
        | UserField::Fax
        | UserField::AccountType
        | UserField::Company
        | UserField::Industry
        | UserField::Location
        | UserField::ProfilePictureUrl
        | UserField::ProfilePictureId
        | UserField::Mfa
        | UserField::Tags
        | UserField::Platform
        | UserField::Attributes
        | UserField::Remarks
        | UserField::WalletAddress => FieldRule::SelfOrManager,
    }
}

/// The outcome of an authorization question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Refused; `fields` lists every refused field (empty when the whole
    /// operation is refused, not particular fields).
    Forbidden {
        /// The refused fields.
        fields: Vec<UserField>,
        /// Why, in one sentence.
        reason: String,
    },
}

impl Decision {
    /// Whether the decision allows the operation.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }

    fn forbid(fields: Vec<UserField>, reason: impl Into<String>) -> Self {
        Decision::Forbidden {
            fields,
            reason: reason.into(),
        }
    }

    /// `Ok(())` when allowed, the domain's forbidden error otherwise.
    pub fn into_result(self) -> Result<(), crate::DomainError> {
        match self {
            Decision::Allowed => Ok(()),
            Decision::Forbidden { fields, reason } => {
                Err(crate::DomainError::Forbidden { fields, reason })
            }
        }
    }
}

/// May `actor` change `fields` of `target`?
pub fn authorize_fields(actor: &Actor, target: &User, fields: &BTreeSet<UserField>) -> Decision {
    if actor.tenant != target.tenant {
        return Decision::forbid(fields.iter().copied().collect(), "user of another tenant");
    }
    let is_self = actor.is_user(target.id);
    let refused: Vec<UserField> = fields
        .iter()
        .copied()
        .filter(|&field| match field_rule(field) {
            FieldRule::AdminOnly => !actor.is_admin(),
            FieldRule::SelfOrManager => !(is_self || actor.is_manager()),
        })
        .collect();
    if refused.is_empty() {
        Decision::Allowed
    } else {
        Decision::forbid(
            refused,
            "the actor's roles do not allow changing these fields",
        )
    }
}

/// May `actor` apply `changes` to `target`? Only fields whose value would
/// really change are judged, so re-sending an unchanged privileged field
/// (as clients that send the whole object do) is not a refusal.
pub fn authorize_change(actor: &Actor, target: &User, changes: &UserChanges) -> Decision {
    let applied = target.apply(changes);
    authorize_fields(actor, target, &applied.changed)
}

/// Does going from `before` to `after` remove an active administrator?
pub fn removes_active_admin(before: &User, after: &User) -> bool {
    before.is_active_admin() && !after.is_active_admin()
}

/// Why the last active administrator cannot be removed.
pub const LAST_ADMIN_REASON: &str = "the last active ADMIN of a tenant must stay an active ADMIN";

/// The fields through which `after` stops being an active administrator.
pub fn admin_removing_fields(after: &User) -> Vec<UserField> {
    let mut fields = Vec::new();
    if !after.roles.contains(&Role::Admin) {
        fields.push(UserField::Roles);
    }
    if after.status != Status::Active {
        fields.push(UserField::Status);
    }
    fields
}

/// The last ACTIVE ADMIN of a tenant cannot be demoted, blocked or deleted.
/// `active_admins` is the tenant's count of active administrators before the
/// change (including `before` itself).
pub fn guard_last_admin(before: &User, after: &User, active_admins: u64) -> Decision {
    if removes_active_admin(before, after) && active_admins <= 1 {
        Decision::forbid(admin_removing_fields(after), LAST_ADMIN_REASON)
    } else {
        Decision::Allowed
    }
}

/// May `actor` create `new` in its tenant? POWER_USERs and ADMINs create
/// users; only an ADMIN may hand out the ADMIN or POWER_USER role.
pub fn authorize_create(actor: &Actor, new: &NewUser) -> Decision {
    if !actor.is_manager() {
        return Decision::forbid(
            Vec::new(),
            "creating users needs the POWER_USER or ADMIN role",
        );
    }
    let privileged = new.roles.contains(&Role::Admin) || new.roles.contains(&Role::PowerUser);
    if privileged && !actor.is_admin() {
        return Decision::forbid(
            vec![UserField::Roles],
            "only an ADMIN may grant the ADMIN or POWER_USER role",
        );
    }
    Decision::Allowed
}

/// May `actor` read the user `target` of `tenant`? A user may read
/// themselves; reading others needs ADMIN, POWER_USER or API_USER.
pub fn authorize_read(actor: &Actor, tenant: TenantId, target: UserId) -> Decision {
    if actor.tenant != tenant {
        return Decision::forbid(Vec::new(), "user of another tenant");
    }
    if actor.is_user(target) || actor.is_manager() || actor.has(Role::ApiUser) {
        Decision::Allowed
    } else {
        Decision::forbid(
            Vec::new(),
            "reading other users needs ADMIN, POWER_USER or API_USER",
        )
    }
}

/// May `actor` list the users of its tenant? The same roles as reading others.
pub fn authorize_list(actor: &Actor) -> Decision {
    if actor.is_manager() || actor.has(Role::ApiUser) {
        Decision::Allowed
    } else {
        Decision::forbid(
            Vec::new(),
            "listing users needs ADMIN, POWER_USER or API_USER",
        )
    }
}

/// May `actor` delete `target`? Deleting sets the status, so ADMIN only.
pub fn authorize_delete(actor: &Actor, target: &User) -> Decision {
    authorize_fields(actor, target, &BTreeSet::from([UserField::Status]))
}

/// May `actor` use the admin API (history, change feed, webhooks, API keys,
/// attributes)? An API key of the tenant with the ADMIN role only: the
/// admin API is for automation, and a person's login (even an ADMIN's)
/// does not reach it.
pub fn authorize_admin_api(actor: &Actor) -> Decision {
    match actor.principal {
        Principal::ApiKey(_) if actor.is_admin() => Decision::Allowed,
        Principal::ApiKey(_) => Decision::forbid(
            Vec::new(),
            "the admin API needs an API key with the ADMIN role",
        ),
        Principal::User(_) => Decision::forbid(
            Vec::new(),
            "the admin API takes API keys only (with the ADMIN role), not a user's login",
        ),
    }
}

/// May `actor` create, change or delete groups (organizations)? A group's
/// members are memberships, an ADMIN-only field, so ADMIN only.
pub fn authorize_manage_groups(actor: &Actor) -> Decision {
    if actor.is_admin() {
        Decision::Allowed
    } else {
        Decision::forbid(
            vec![UserField::Memberships],
            "managing groups needs the ADMIN role",
        )
    }
}
