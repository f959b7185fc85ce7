//! cl2c's request and response shapes, and their conversions into the
//! domain's commands (every field error collected at once, named in cl2c's
//! words) and back.
//!
//! Unknown fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use userhub_domain::ValidationErrors;
use userhub_domain::service::{CreateUser, UpdateUser};
use userhub_domain::types::{Email, PersonName, PhoneNumber, UserId, Username};
use userhub_domain::user::{NewUser, User, UserChanges};
use utoipa::ToSchema;

use crate::toolkit::fields::shape;
use crate::toolkit::render::{rfc3339, text};
use crate::toolkit::{Failure, In};

// ---------------------------------------------------------------- requests

/// The body of `POST /v1/cl2c/user`. Every field is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// The user's first name.
    #[schema(required = true, value_type = String, example = "John", default)]
    pub first_name: In<String>,
    /// The user's last name.
    #[schema(required = true, value_type = String, example = "Doe", default)]
    pub last_name: In<String>,
    /// The user's e-mail address, unique in the tenant (case-insensitively).
    #[schema(required = true, value_type = String, example = "john.doe@example.com", default)]
    pub email: In<String>,
    /// The login name, unique in the tenant (case-insensitively); no
    /// whitespace, at most 128 characters.
    #[schema(required = true, value_type = String, example = "johndoe", default)]
    pub user_name: In<String>,
    /// The phone number in E.164 form (`+` and the digits, no spaces),
    /// valid for its country calling code.
    #[schema(required = true, value_type = String, example = "+14155552671", default)]
    pub phone_number: In<String>,
}

/// The body of `PUT /v1/cl2c/user`: changes to the logged-in user. An
/// absent field is left as it is; `null` removes the value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The logged-in user's own id.
    #[schema(required = true, value_type = String, format = Uuid, example = "3fa85f64-5717-4562-b3fc-2c963f66afa6", default)]
    pub id: In<String>,
    /// New first name; `null` removes it.
    #[schema(value_type = Option<String>, nullable, example = "Johnny", default)]
    pub first_name: In<String>,
    /// New last name; `null` removes it.
    #[schema(value_type = Option<String>, nullable, example = "Doe", default)]
    pub last_name: In<String>,
    /// New phone number (E.164); `null` removes it.
    #[schema(value_type = Option<String>, nullable, example = "+14155552671", default)]
    pub phone_number: In<String>,
}

// ---------------------------------------------------------------- responses

/// A user, as cl2c answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(format = Uuid, example = "3fa85f64-5717-4562-b3fc-2c963f66afa6")]
    pub id: String,
    /// The login name.
    #[schema(example = "johndoe")]
    pub user_name: String,
    /// First name.
    #[schema(example = "John")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[schema(example = "john.doe@example.com")]
    pub email: String,
    /// Whether the e-mail address is verified.
    pub email_confirmed: bool,
    /// Whether the user's last password login is still valid (its session
    /// has not expired).
    pub authenticated: bool,
    /// Until when the last password login is valid (RFC 3339); `null` when
    /// the user never logged in.
    #[schema(example = "2024-11-05T19:46:48.912Z")]
    pub auth_valid_upto: Option<String>,
    /// Where the last password login came from (the client's address);
    /// `null` when unknown or never logged in.
    #[schema(example = "203.0.113.7")]
    pub auth_location: Option<String>,
    /// Phone number (E.164).
    #[schema(example = "+14155552671")]
    pub phone_number: Option<String>,
    /// Wallet address.
    #[schema(example = "0x52908400098527886E0F7030069857D2E4169EE7")]
    pub wallet_address: Option<String>,
}

impl UserResponse {
    /// `user` in cl2c's shape, as of `now` (which decides `authenticated`).
    pub fn from_user(user: &User, now: OffsetDateTime) -> Self {
        let last = user.last_authentication.as_ref();
        Self {
            id: user.id.to_string(),
            user_name: user.username.as_str().to_owned(),
            first_name: text(&user.first_name),
            last_name: text(&user.last_name),
            email: user.email.as_str().to_owned(),
            email_confirmed: user.account.email_verified,
            authenticated: last.is_some_and(|auth| auth.valid_until > now),
            auth_valid_upto: last.map(|auth| {
                let until = auth.valid_until;
                rfc3339(until)
            }),
            auth_location: last.and_then(|auth| text(&auth.location)),
            phone_number: text(&user.phone),
            wallet_address: text(&user.wallet_address),
        }
    }
}

// ---------------------------------------------------------------- parsing

/// `POST /v1/cl2c/user` as the domain's command. The user is ACTIVE with
/// the STANDARD_USER role and has no password.
pub fn create_command(body: Map<String, Value>) -> Result<CreateUser, Failure> {
    let dto: CreateUserRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let first_name = dto
        .first_name
        .parse_required(&mut errors, "firstName", PersonName::parse);
    let last_name = dto
        .last_name
        .parse_required(&mut errors, "lastName", PersonName::parse);
    let email = dto.email.parse_required(&mut errors, "email", Email::parse);
    let username = dto
        .user_name
        .parse_required(&mut errors, "userName", Username::parse);
    let phone = dto
        .phone_number
        .parse_required(&mut errors, "phoneNumber", PhoneNumber::parse);
    // Every field is required: each `None` recorded its error.
    let (Some(first_name), Some(last_name), Some(email), Some(username), Some(phone)) =
        (first_name, last_name, email, username, phone)
    else {
        return Err(errors.into());
    };
    let mut user = NewUser::new(username, email);
    user.first_name = Some(first_name);
    user.last_name = Some(last_name);
    user.phone = Some(phone);
    Ok(CreateUser::new(user))
}

/// `PUT /v1/cl2c/user` as the domain's command. Refused with every field
/// error before the route's own rule (`id` must be the caller's) is judged,
/// as cl2c always answered.
pub fn update_command(body: Map<String, Value>) -> Result<UpdateUser, Failure> {
    let dto: UpdateUserRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let id = dto.id.parse_required(&mut errors, "id", UserId::parse);
    let changes = UserChanges {
        first_name: dto
            .first_name
            .parse_patch(&mut errors, "firstName", PersonName::parse),
        last_name: dto
            .last_name
            .parse_patch(&mut errors, "lastName", PersonName::parse),
        phone: dto
            .phone_number
            .parse_patch(&mut errors, "phoneNumber", PhoneNumber::parse),
        ..UserChanges::default()
    };
    match id {
        Some(id) if errors.is_empty() => Ok(UpdateUser::new(id, changes)),
        _ => Err(errors.into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use userhub_domain::types::{AuthLocation, TenantId};
    use userhub_domain::user::LastAuthentication;

    use super::*;

    #[test]
    fn authenticated_while_the_last_login_is_valid() {
        let now = OffsetDateTime::now_utc();
        let new = NewUser::new(
            Username::parse("johndoe").unwrap(),
            Email::parse("john@example.com").unwrap(),
        );
        let mut user = new.into_user(TenantId::new_random(), now);
        let answer = UserResponse::from_user(&user, now);
        assert!(!answer.authenticated);
        assert_eq!(answer.auth_valid_upto, None);

        user.last_authentication = Some(LastAuthentication {
            at: now,
            valid_until: now + time::Duration::hours(1),
            location: Some(AuthLocation::parse("127.0.0.1").unwrap()),
        });
        let answer = UserResponse::from_user(&user, now);
        assert!(answer.authenticated);
        assert_eq!(answer.auth_location.as_deref(), Some("127.0.0.1"));
        let later = UserResponse::from_user(&user, now + time::Duration::hours(2));
        assert!(!later.authenticated);
        assert_eq!(later.auth_valid_upto, answer.auth_valid_upto);
    }
}
