//! cl2c's request and response shapes, and their conversions into the
//! domain's commands (collecting every field error at once, named in cl2c's
//! words) and back.
//!
//! Request fields are read as any JSON value, so that a field of the wrong
//! type is reported in the `errors` map next to the others rather than as
//! the first serde failure. Unknown fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::types::{Email, PersonName, PhoneNumber, UserId, Username};
use userhub_domain::user::{NewUser, Patch, User, UserChanges};
use utoipa::ToSchema;

use crate::users::CreateUser;

// ---------------------------------------------------------------- requests

/// The body of `POST /v1/cl2c/user`. Every field is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// The user's first name.
    #[schema(value_type = String, required = true, example = "John")]
    pub first_name: Option<Value>,
    /// The user's last name.
    #[schema(value_type = String, required = true, example = "Doe")]
    pub last_name: Option<Value>,
    /// The user's e-mail address, unique in the tenant (case-insensitively).
    #[schema(value_type = String, required = true, example = "john.doe@example.com")]
    pub email: Option<Value>,
    /// The login name, unique in the tenant (case-insensitively); no
    /// whitespace, at most 128 characters.
    #[schema(value_type = String, required = true, example = "johndoe")]
    pub user_name: Option<Value>,
    /// The phone number in E.164 form (`+` and the digits, no spaces),
    /// valid for its country calling code.
    #[schema(value_type = String, required = true, example = "+14155552671")]
    pub phone_number: Option<Value>,
}

/// The body of `PUT /v1/cl2c/user`: changes to the logged-in user. An
/// absent field is left as it is; `null` removes the value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The logged-in user's own id. Required.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = String, required = true, example = "3fa85f64-5717-4562-b3fc-2c963f66afa6")]
    pub id: Option<Value>,
    /// New first name; `null` removes it.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, nullable, example = "Johnny")]
    pub first_name: Option<Value>,
    /// New last name; `null` removes it.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, nullable, example = "Doe")]
    pub last_name: Option<Value>,
    /// New phone number (E.164); `null` removes it.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, nullable, example = "+14155552671")]
    pub phone_number: Option<Value>,
}

// ---------------------------------------------------------------- responses

/// A user, as cl2c answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(example = "3fa85f64-5717-4562-b3fc-2c963f66afa6")]
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

fn text<T: AsRef<str>>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_owned())
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
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
            auth_valid_upto: last.map(|auth| rfc3339(auth.valid_until)),
            auth_location: last.and_then(|auth| text(&auth.location)),
            phone_number: text(&user.phone),
            wallet_address: text(&user.wallet_address),
        }
    }
}

// ---------------------------------------------------------------- parsing

fn not_a_string() -> ValueError {
    ValueError::new("invalid_type", "must be a string")
}

/// A required string field: absent, `null` and blank are all "required".
fn required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Option<Value>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let result = match input {
        None | Some(Value::Null) => Err(ValueError::required()),
        Some(Value::String(raw)) => parse(&raw),
        Some(_) => Err(not_a_string()),
    };
    errors.check(field, result)
}

/// An optional string field of a change: absent leaves, `null` clears.
fn patch<T>(
    errors: &mut ValidationErrors,
    field: &str,
    input: Option<Value>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    let result = match input {
        None => Ok(Patch::Leave),
        Some(Value::Null) => Ok(Patch::Clear),
        Some(Value::String(raw)) => parse(&raw).map(Patch::Set),
        Some(_) => Err(not_a_string()),
    };
    errors.check(field, result).unwrap_or(Patch::Leave)
}

impl TryFrom<CreateUserRequest> for CreateUser {
    type Error = ValidationErrors;

    fn try_from(dto: CreateUserRequest) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let first_name = required(&mut errors, "firstName", dto.first_name, PersonName::parse);
        let last_name = required(&mut errors, "lastName", dto.last_name, PersonName::parse);
        let email = required(&mut errors, "email", dto.email, Email::parse);
        let username = required(&mut errors, "userName", dto.user_name, Username::parse);
        let phone = required(
            &mut errors,
            "phoneNumber",
            dto.phone_number,
            PhoneNumber::parse,
        );
        match (first_name, last_name, email, username, phone) {
            (Some(first_name), Some(last_name), Some(email), Some(username), Some(phone))
                if errors.is_empty() =>
            {
                let mut new = NewUser::new(username, email);
                new.first_name = Some(first_name);
                new.last_name = Some(last_name);
                new.phone = Some(phone);
                Ok(CreateUser {
                    new,
                    password: None,
                })
            }
            // Every `None` above recorded an error.
            _ => Err(errors),
        }
    }
}

/// A change the logged-in user makes to themselves.
#[derive(Debug)]
pub struct UpdateOwnUser {
    /// The id the request names (the route only accepts the caller's own).
    pub id: UserId,
    /// The change.
    pub changes: UserChanges,
}

impl TryFrom<UpdateUserRequest> for UpdateOwnUser {
    type Error = ValidationErrors;

    fn try_from(dto: UpdateUserRequest) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let id = required(&mut errors, "id", dto.id, UserId::parse);
        let changes = UserChanges {
            first_name: patch(&mut errors, "firstName", dto.first_name, PersonName::parse),
            last_name: patch(&mut errors, "lastName", dto.last_name, PersonName::parse),
            phone: patch(
                &mut errors,
                "phoneNumber",
                dto.phone_number,
                PhoneNumber::parse,
            ),
            ..UserChanges::default()
        };
        match id {
            Some(id) if errors.is_empty() => Ok(UpdateOwnUser { id, changes }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use userhub_domain::types::{AuthLocation, TenantId};
    use userhub_domain::user::LastAuthentication;

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn create_lists_every_bad_field() {
        let dto: CreateUserRequest = serde_json::from_value(json!({
            "firstName": 5,
            "lastName": " ",
            "email": "not-an-email",
            "userName": "john doe",
            "phoneNumber": "+1234567890",
            "unknown": true
        }))
        .unwrap();
        let errors = CreateUser::try_from(dto).unwrap_err();
        assert_eq!(
            fields(&errors),
            ["firstName", "lastName", "email", "userName", "phoneNumber"]
        );
        let errors = CreateUser::try_from(CreateUserRequest::default()).unwrap_err();
        assert!(errors.errors().iter().all(|e| e.code == "required"));
        assert_eq!(errors.errors().len(), 5);
    }

    #[test]
    fn create_builds_the_user() {
        let dto: CreateUserRequest = serde_json::from_value(json!({
            "firstName": "John",
            "lastName": "Doe",
            "email": "john.doe@example.com",
            "userName": "johndoe",
            "phoneNumber": "+14155552671"
        }))
        .unwrap();
        let command = CreateUser::try_from(dto).unwrap();
        assert!(command.password.is_none());
        assert_eq!(command.new.username.as_str(), "johndoe");
        assert_eq!(command.new.email.as_str(), "john.doe@example.com");
        assert_eq!(command.new.phone.unwrap().as_str(), "+14155552671");
    }

    #[test]
    fn update_distinguishes_absent_null_and_value() {
        let dto: UpdateUserRequest = serde_json::from_value(json!({
            "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "firstName": "Johnny",
            "lastName": null
        }))
        .unwrap();
        let update = UpdateOwnUser::try_from(dto).unwrap();
        assert_eq!(
            update.changes.first_name,
            Patch::Set(PersonName::parse("Johnny").unwrap())
        );
        assert_eq!(update.changes.last_name, Patch::Clear);
        assert_eq!(update.changes.phone, Patch::Leave);

        let dto: UpdateUserRequest =
            serde_json::from_value(json!({"id": null, "phoneNumber": "+1234567890"})).unwrap();
        let errors = UpdateOwnUser::try_from(dto).unwrap_err();
        assert_eq!(fields(&errors), ["id", "phoneNumber"]);
    }

    #[test]
    fn authenticated_while_the_last_login_is_valid() {
        let now = OffsetDateTime::now_utc();
        let mut new = NewUser::new(
            Username::parse("johndoe").unwrap(),
            Email::parse("john@example.com").unwrap(),
        );
        new.first_name = Some(PersonName::parse("John").unwrap());
        let mut user = new.into_user(TenantId::new_random(), now);
        let answer = UserResponse::from_user(&user, now);
        assert!(!answer.authenticated);
        assert_eq!(answer.auth_valid_upto, None);
        assert_eq!(answer.last_name, None);

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
