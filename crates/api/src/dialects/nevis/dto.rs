//! Nevis's request and response shapes, and their conversions into the
//! domain's commands (collecting every field error at once) and back.
//!
//! Every request field is read as raw JSON (`Option<Value>`), so that a
//! value of the wrong type is one more named field error (`errors.invalidType`)
//! rather than a serde failure that stops at the first, and so that a field
//! left out (leave it) and a field sent as `null` (clear it) stay apart.
//! A blank string counts as `null`, as Nevis's own "`""` removes a
//! property" rule suggests. Unknown fields are ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use userhub_domain::ValidationErrors;
use userhub_domain::error::ValueError;
use userhub_domain::history::ChangeComment;
use userhub_domain::query::{Cursor, KeyMatch, PageRequest, Sort, UserFilter, UserQuery};
use userhub_domain::service::UpdateRequest;
use userhub_domain::types::{
    Address, AddressLine, AttributeName, AttributeValue, BirthDate, CountryCode, CustomAttributes,
    DeclaredAttributes, Email, Gender, Locale, PersonName, PhoneNumber, Remarks, Title, UserId,
    Username,
};
use userhub_domain::user::{AddressChanges, NewUser, Patch, User, UserChanges};
use utoipa::ToSchema;

/// The language a user gets when none is given, as Nevis documents.
pub const DEFAULT_LANGUAGE: &str = "en";
/// The page size when `limit` is not given, as Nevis documents.
pub const DEFAULT_LIMIT: u32 = 1000;
/// The largest page.
pub const MAX_LIMIT: u32 = 1000;

// ---------------------------------------------------------------- schemas

/// A gender, as Nevis spells it.
#[derive(Debug, ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum GenderName {
    /// Female.
    female,
    /// Male.
    male,
    /// Other.
    other,
}

// ---------------------------------------------------------------- requests

/// `name`: the parts of a person's name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameInput {
    /// Title, such as `Dr.`.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Dr.")]
    pub title: Option<Value>,
    /// First name.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Jane")]
    pub first_name: Option<Value>,
    /// Last name.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Doe")]
    pub last_name: Option<Value>,
}

/// `address`: a postal address; every part is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    /// ISO 3166-1 alpha-2 country code, any case (`ch`, `CH`); answered uppercase.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "CH")]
    pub country_code: Option<Value>,
    /// City.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Zürich")]
    pub city: Option<Value>,
    /// Postal code.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "8001")]
    pub postal_code: Option<Value>,
    /// First free-text line.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "c/o Example AG")]
    pub addressline1: Option<Value>,
    /// Second free-text line.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub addressline2: Option<Value>,
    /// Street.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Bahnhofstrasse")]
    pub street: Option<Value>,
    /// House number (text: `12a` is one).
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "1")]
    pub house_number: Option<Value>,
    /// Dwelling (apartment) number.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub dwelling_number: Option<Value>,
    /// Post office box text.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub post_office_box_text: Option<Value>,
    /// Post office box number.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub post_office_box_number: Option<Value>,
    /// Locality.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub locality: Option<Value>,
}

/// `contacts`: phone numbers, in E.164 (`+` and digits, no spaces).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactsInput {
    /// Landline telephone number.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "+41446681800")]
    pub telephone: Option<Value>,
    /// Telefax number.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "+41446681801")]
    pub telefax: Option<Value>,
}

/// The body of `POST /nevis/api/v1/users`. Only `loginId` is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// The user's e-mail address, which becomes both their username and
    /// their e-mail. Required.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = String, example = "jane.doe@example.com")]
    pub login_id: Option<Value>,
    /// The user's id, a UUID; generated when left out. Can only be set here.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77")]
    pub user_id: Option<Value>,
    /// Language (a BCP 47 tag such as `en` or `de-CH`). Default `en`.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "en")]
    pub language_code: Option<Value>,
    /// Name parts.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<NameInput>)]
    pub name: Option<Value>,
    /// `female`, `male` or `other`.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<GenderName>)]
    pub gender: Option<Value>,
    /// Birth date, `YYYY-MM-DD`, from 1900-01-01 to today.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, format = Date, example = "1990-01-31")]
    pub birth_date: Option<Value>,
    /// Postal address.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<AddressInput>)]
    pub address: Option<Value>,
    /// Phone numbers.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<ContactsInput>)]
    pub contacts: Option<Value>,
    /// Free-text remarks (up to 1000 characters).
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "Remarks to a food delivery")]
    pub remarks: Option<Value>,
    /// Why the user is created; recorded in the user's history.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "created for the spring campaign")]
    pub modification_comment: Option<Value>,
    /// Custom attributes: names the tenant declared (`userhub attribute
    /// define`) mapped to strings. An undeclared name is refused.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<Object>, example = json!({"employeeNumber": "E-1234"}))]
    pub properties: Option<Value>,
}

/// The body of `PATCH /nevis/api/v1/users/{userId}`: only the fields given
/// change; `null` (or `""`) removes a value; in `properties`, `""` or `null`
/// removes that property and `"properties": null` removes them all.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The version last read: when given, the change applies only if the
    /// user is still at that version (409 otherwise, and nothing changes).
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<u64>, example = 3)]
    pub version: Option<Value>,
    /// A new e-mail address, which is also the username (both change).
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "jane.doe@example.com")]
    pub login_id: Option<Value>,
    /// Can only be set on creation: accepted here only when it equals the
    /// path's `userId`.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<Value>,
    /// Language; `null` resets it to `en`.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, nullable, example = "de-CH")]
    pub language_code: Option<Value>,
    /// Name parts; each given part changes, `null` removes it; `"name": null`
    /// removes all of them.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<NameInput>, nullable)]
    pub name: Option<Value>,
    /// `female`, `male` or `other`; `null` removes it.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<GenderName>, nullable)]
    pub gender: Option<Value>,
    /// Birth date, `YYYY-MM-DD`; `null` removes it.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    pub birth_date: Option<Value>,
    /// Address parts; each given part changes, the others stay; `"address":
    /// null` removes the whole address.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<AddressInput>, nullable)]
    pub address: Option<Value>,
    /// Phone numbers; each given one changes; `null` removes.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<ContactsInput>, nullable)]
    pub contacts: Option<Value>,
    /// Remarks; `null` removes them.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, nullable)]
    pub remarks: Option<Value>,
    /// Why; recorded in the change's history entry.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<String>, example = "moved to Bern")]
    pub modification_comment: Option<Value>,
    /// Properties to set (declared names only); `""` or `null` removes one.
    #[serde(default, deserialize_with = "crate::dialects::present")]
    #[schema(value_type = Option<Object>, nullable, example = json!({"employeeNumber": "E-1234", "costCenter": ""}))]
    pub properties: Option<Value>,
}

// ---------------------------------------------------------------- responses

/// A user's name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameResponse {
    /// Title.
    pub title: Option<String>,
    /// First name.
    #[schema(example = "Jane")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(example = "Doe")]
    pub last_name: Option<String>,
}

/// A user's postal address.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressResponse {
    /// ISO 3166-1 alpha-2, uppercase.
    #[schema(example = "CH")]
    pub country_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// First free-text line.
    pub addressline1: Option<String>,
    /// Second free-text line.
    pub addressline2: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// House number.
    pub house_number: Option<String>,
    /// Dwelling number.
    pub dwelling_number: Option<String>,
    /// Post office box text.
    pub post_office_box_text: Option<String>,
    /// Post office box number.
    pub post_office_box_number: Option<String>,
    /// Locality.
    pub locality: Option<String>,
}

/// A user's contacts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactsResponse {
    /// The e-mail address (read-only here: it follows `loginId`). For a
    /// user created through another dialect it may differ from `loginId`.
    #[schema(example = "jane.doe@example.com")]
    pub email: String,
    /// Landline telephone number (E.164).
    #[schema(example = "+41446681800")]
    pub telephone: Option<String>,
    /// Telefax number (E.164).
    pub telefax: Option<String>,
}

/// A user, in Nevis's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// The user's id.
    #[schema(example = "0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77")]
    pub user_id: String,
    /// The login id: the user's username (an e-mail address for users
    /// created through Nevis or iklim).
    #[schema(example = "jane.doe@example.com")]
    pub login_id: String,
    /// The version: 1 at creation, one more on every change. Send it back
    /// in an update to make the update conditional.
    #[schema(example = 1)]
    pub version: u64,
    /// Language as a BCP 47 tag (`en`, `de-CH`); `null` when a user created
    /// through another dialect has none.
    #[schema(example = "en")]
    pub language_code: Option<String>,
    /// Name parts.
    pub name: NameResponse,
    /// Gender.
    #[schema(value_type = Option<GenderName>)]
    pub gender: Option<String>,
    /// Birth date, `YYYY-MM-DD`.
    #[schema(format = Date, example = "1990-01-31")]
    pub birth_date: Option<String>,
    /// Postal address.
    pub address: AddressResponse,
    /// E-mail and phone numbers.
    pub contacts: ContactsResponse,
    /// Remarks.
    pub remarks: Option<String>,
    /// Custom attributes.
    #[schema(example = json!({"employeeNumber": "E-1234"}))]
    pub properties: BTreeMap<String, String>,
    /// When the user was created (RFC 3339).
    #[schema(example = "2025-01-31T09:30:00.123456Z")]
    pub created: String,
    /// When the user last changed (RFC 3339).
    #[schema(example = "2025-01-31T09:30:00.123456Z")]
    pub last_modified: String,
}

/// Where a list continues.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Send as `continuationToken` for the next page; empty on the last page.
    pub continuation_token: String,
    /// The page size used.
    #[schema(example = 1000)]
    pub limit: u32,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse {
    /// The users of this page, oldest first.
    pub items: Vec<UserResponse>,
    /// Where the list continues.
    #[serde(rename = "_pagination")]
    pub pagination: Pagination,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn text<T: AsRef<str>>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().to_owned())
}

impl UserResponse {
    /// `user` in Nevis's shape.
    pub fn from_user(user: &User) -> Self {
        let address = &user.address;
        Self {
            user_id: user.id.to_string(),
            login_id: user.username.as_str().to_owned(),
            version: user.version,
            language_code: text(&user.locale),
            name: NameResponse {
                title: text(&user.title),
                first_name: text(&user.first_name),
                last_name: text(&user.last_name),
            },
            gender: user.gender.map(|g| g.as_str().to_owned()),
            birth_date: user.birth_date.map(|d| d.to_string()),
            address: AddressResponse {
                country_code: text(&address.country),
                city: text(&address.city),
                postal_code: text(&address.postal_code),
                addressline1: text(&address.address_line1),
                addressline2: text(&address.address_line2),
                street: text(&address.street),
                house_number: text(&address.house_number),
                dwelling_number: text(&address.dwelling_number),
                post_office_box_text: text(&address.post_office_box_text),
                post_office_box_number: text(&address.post_office_box_number),
                locality: text(&address.locality),
            },
            contacts: ContactsResponse {
                email: user.email.as_str().to_owned(),
                telephone: text(&user.phone),
                telefax: text(&user.fax),
            },
            remarks: text(&user.remarks),
            properties: user
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
                .collect(),
            created: rfc3339(user.created_at),
            last_modified: rfc3339(user.updated_at),
        }
    }
}

// ---------------------------------------------------------------- parsing

/// A field as the request gave it.
enum Given {
    /// Left out.
    Absent,
    /// `null` or a blank string.
    Null,
    /// A string with content.
    Text(String),
    /// Something else; the error is recorded.
    Invalid,
}

fn invalid_type(message: &str) -> ValueError {
    ValueError::new("invalid_type", message.to_owned())
}

fn given(errors: &mut ValidationErrors, field: &str, value: Option<Value>) -> Given {
    match value {
        None => Given::Absent,
        Some(Value::Null) => Given::Null,
        Some(Value::String(text)) if text.trim().is_empty() => Given::Null,
        Some(Value::String(text)) => Given::Text(text),
        Some(_) => {
            errors.push(invalid_type("must be a string").at(field));
            Given::Invalid
        }
    }
}

/// What an update does to an optional field; a create keeps only the `Set`s.
fn patch<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<Value>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match given(errors, field, value) {
        Given::Absent | Given::Invalid => Patch::Leave,
        Given::Null => Patch::Clear,
        Given::Text(text) => errors
            .check(field, parse(&text))
            .map_or(Patch::Leave, Patch::Set),
    }
}

fn set<T>(patch: Patch<T>) -> Option<T> {
    match patch {
        Patch::Set(value) => Some(value),
        Patch::Leave | Patch::Clear => None,
    }
}

/// A nested object as the request gave it.
enum Nested<T> {
    Absent,
    Null,
    Object(T),
}

fn nested<T: DeserializeOwned>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<Value>,
) -> Nested<T> {
    match value {
        None => Nested::Absent,
        Some(Value::Null) => Nested::Null,
        // Every part is read as raw JSON, so an object always converts.
        Some(object @ Value::Object(_)) => match serde_json::from_value(object) {
            Ok(parts) => Nested::Object(parts),
            Err(_) => {
                errors.push(invalid_type("must be an object").at(field));
                Nested::Absent
            }
        },
        Some(_) => {
            errors.push(invalid_type("must be an object").at(field));
            Nested::Absent
        }
    }
}

/// A part of a nested object: left alone when the object is, cleared with it.
fn part<T>(
    errors: &mut ValidationErrors,
    field: &str,
    object: &Nested<()>,
    value: Option<Value>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match object {
        Nested::Absent => Patch::Leave,
        Nested::Null => Patch::Clear,
        Nested::Object(()) => patch(errors, field, value, parse),
    }
}

fn shape<T>(nested: &Nested<T>) -> Nested<()> {
    match nested {
        Nested::Absent => Nested::Absent,
        Nested::Null => Nested::Null,
        Nested::Object(_) => Nested::Object(()),
    }
}

/// Changes to the three name parts.
#[derive(Debug, Default)]
struct NameChanges {
    title: Patch<Title>,
    first_name: Patch<PersonName>,
    last_name: Patch<PersonName>,
}

fn name_changes(errors: &mut ValidationErrors, value: Option<Value>) -> NameChanges {
    let object = nested::<NameInput>(errors, "name", value);
    let form = shape(&object);
    let input = match object {
        Nested::Object(input) => input,
        Nested::Absent | Nested::Null => NameInput::default(),
    };
    NameChanges {
        title: part(errors, "name.title", &form, input.title, Title::parse),
        first_name: part(
            errors,
            "name.firstName",
            &form,
            input.first_name,
            PersonName::parse,
        ),
        last_name: part(
            errors,
            "name.lastName",
            &form,
            input.last_name,
            PersonName::parse,
        ),
    }
}

/// Changes to the two phone numbers.
#[derive(Debug, Default)]
struct ContactChanges {
    telephone: Patch<PhoneNumber>,
    telefax: Patch<PhoneNumber>,
}

fn contact_changes(errors: &mut ValidationErrors, value: Option<Value>) -> ContactChanges {
    let object = nested::<ContactsInput>(errors, "contacts", value);
    let form = shape(&object);
    let input = match object {
        Nested::Object(input) => input,
        Nested::Absent | Nested::Null => ContactsInput::default(),
    };
    ContactChanges {
        telephone: part(
            errors,
            "contacts.telephone",
            &form,
            input.telephone,
            PhoneNumber::parse,
        ),
        telefax: part(
            errors,
            "contacts.telefax",
            &form,
            input.telefax,
            PhoneNumber::parse,
        ),
    }
}

/// `address` part by part: a part left out stays, `"address": null` clears
/// every part.
fn address_changes(errors: &mut ValidationErrors, value: Option<Value>) -> AddressChanges {
    let object = nested::<AddressInput>(errors, "address", value);
    let form = shape(&object);
    let input = match object {
        Nested::Object(input) => input,
        Nested::Absent | Nested::Null => AddressInput::default(),
    };
    let line = AddressLine::parse;
    AddressChanges {
        country: part(
            errors,
            "address.countryCode",
            &form,
            input.country_code,
            CountryCode::parse,
        ),
        city: part(errors, "address.city", &form, input.city, line),
        postal_code: part(errors, "address.postalCode", &form, input.postal_code, line),
        address_line1: part(
            errors,
            "address.addressline1",
            &form,
            input.addressline1,
            line,
        ),
        address_line2: part(
            errors,
            "address.addressline2",
            &form,
            input.addressline2,
            line,
        ),
        street: part(errors, "address.street", &form, input.street, line),
        house_number: part(
            errors,
            "address.houseNumber",
            &form,
            input.house_number,
            line,
        ),
        dwelling_number: part(
            errors,
            "address.dwellingNumber",
            &form,
            input.dwelling_number,
            line,
        ),
        post_office_box_text: part(
            errors,
            "address.postOfficeBoxText",
            &form,
            input.post_office_box_text,
            line,
        ),
        post_office_box_number: part(
            errors,
            "address.postOfficeBoxNumber",
            &form,
            input.post_office_box_number,
            line,
        ),
        locality: part(errors, "address.locality", &form, input.locality, line),
    }
}

fn undeclared() -> ValueError {
    ValueError::new(
        "undeclared_attribute",
        "is not a declared attribute of this tenant",
    )
}

/// `properties` as (name, value to set or `None` to remove) pairs; every
/// name must be declared for the tenant.
fn property_changes(
    errors: &mut ValidationErrors,
    value: Option<Value>,
    declared: &DeclaredAttributes,
) -> Nested<Vec<(AttributeName, Option<AttributeValue>)>> {
    let entries = match value {
        None => return Nested::Absent,
        Some(Value::Null) => return Nested::Null,
        Some(Value::Object(entries)) => entries,
        Some(_) => {
            errors.push(
                invalid_type("must be an object of property names to strings").at("properties"),
            );
            return Nested::Absent;
        }
    };
    let mut changes = Vec::new();
    for (key, raw) in entries {
        let field = format!("properties.{key}");
        let name = match AttributeName::parse(&key) {
            Ok(name) if declared.contains(&name) => Some(name),
            Ok(_) => {
                errors.push(undeclared().at(field.as_str()));
                None
            }
            Err(error) => {
                errors.push(error.at(field.as_str()));
                None
            }
        };
        let value = match raw {
            Value::Null => Some(None),
            Value::String(text) if text.trim().is_empty() => Some(None),
            Value::String(text) => errors.check(&field, AttributeValue::parse(&text)).map(Some),
            _ => {
                errors.push(invalid_type("must be a string").at(field.as_str()));
                None
            }
        };
        if let (Some(name), Some(value)) = (name, value) {
            changes.push((name, value));
        }
    }
    Nested::Object(changes)
}

/// Nevis's loginId is an e-mail address: it becomes both the username and
/// the e-mail. One error at most.
fn login_ids(raw: &str) -> Result<(Username, Email), ValueError> {
    let email = Email::parse(raw)?;
    let username = Username::parse(raw)?;
    Ok((username, email))
}

fn comment(errors: &mut ValidationErrors, value: Option<Value>) -> Option<ChangeComment> {
    set(patch(
        errors,
        "modificationComment",
        value,
        ChangeComment::parse,
    ))
}

fn default_language() -> Option<Locale> {
    Locale::parse(DEFAULT_LANGUAGE).ok()
}

/// A create request as the domain's new user, with its history comment.
#[derive(Debug)]
pub struct CreateCommand {
    /// The user to create.
    pub new: NewUser,
    /// The `modificationComment`, for the creation's history entry.
    pub comment: Option<ChangeComment>,
}

impl TryFrom<(CreateUserRequest, &DeclaredAttributes)> for CreateCommand {
    type Error = ValidationErrors;

    fn try_from(
        (dto, declared): (CreateUserRequest, &DeclaredAttributes),
    ) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let ids = match given(&mut errors, "loginId", dto.login_id) {
            Given::Text(raw) => errors.check("loginId", login_ids(&raw)),
            Given::Absent | Given::Null => {
                errors.push(ValueError::required().at("loginId"));
                None
            }
            Given::Invalid => None,
        };
        let id = set(patch(&mut errors, "userId", dto.user_id, UserId::parse));
        let locale = set(patch(
            &mut errors,
            "languageCode",
            dto.language_code,
            Locale::parse,
        ));
        let name = name_changes(&mut errors, dto.name);
        let gender = set(patch(&mut errors, "gender", dto.gender, Gender::parse));
        let birth_date = set(patch(
            &mut errors,
            "birthDate",
            dto.birth_date,
            BirthDate::parse,
        ));
        let address = address_changes(&mut errors, dto.address);
        let contacts = contact_changes(&mut errors, dto.contacts);
        let remarks = set(patch(&mut errors, "remarks", dto.remarks, Remarks::parse));
        let comment = comment(&mut errors, dto.modification_comment);
        let mut attributes = CustomAttributes::default();
        if let Nested::Object(entries) = property_changes(&mut errors, dto.properties, declared) {
            // On create, an empty value is simply no value.
            for (name, value) in entries {
                if let Some(value) = value {
                    attributes.insert(name, value);
                }
            }
        }
        let Some((username, email)) = ids.filter(|_| errors.is_empty()) else {
            return Err(errors);
        };
        let mut new = NewUser::new(username, email);
        new.id = id;
        new.locale = locale.or_else(default_language);
        new.title = set(name.title);
        new.first_name = set(name.first_name);
        new.last_name = set(name.last_name);
        new.gender = gender;
        new.birth_date = birth_date;
        new.address = address.applied_to(&Address::default());
        new.phone = set(contacts.telephone);
        new.fax = set(contacts.telefax);
        new.remarks = remarks;
        new.attributes = attributes;
        Ok(CreateCommand { new, comment })
    }
}

/// An update request as the domain's change.
#[derive(Debug)]
pub struct UpdateCommand {
    /// The change (address parts included).
    pub changes: UserChanges,
    /// The version the caller last read, if it said.
    pub expected_version: Option<u64>,
    /// The `modificationComment`.
    pub comment: Option<ChangeComment>,
}

impl UpdateCommand {
    /// The domain's request for user `id`.
    pub fn into_request(self, id: UserId) -> UpdateRequest {
        UpdateRequest {
            id,
            changes: self.changes,
            expected_version: self.expected_version,
            comment: self.comment,
        }
    }
}

fn version(errors: &mut ValidationErrors, value: Option<Value>) -> Option<u64> {
    let parsed = match &value {
        None | Some(Value::Null) => return None,
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match parsed.filter(|v| *v >= 1) {
        Some(version) => Some(version),
        None => {
            errors.push(
                ValueError::new(
                    "invalid_format",
                    "must be a positive integer: the version last read",
                )
                .at("version"),
            );
            None
        }
    }
}

impl TryFrom<(UpdateUserRequest, UserId, &DeclaredAttributes)> for UpdateCommand {
    type Error = ValidationErrors;

    fn try_from(
        (dto, id, declared): (UpdateUserRequest, UserId, &DeclaredAttributes),
    ) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let expected_version = version(&mut errors, dto.version);
        let mut changes = UserChanges::default();
        match given(&mut errors, "loginId", dto.login_id) {
            Given::Text(raw) => {
                if let Some((username, email)) = errors.check("loginId", login_ids(&raw)) {
                    changes.username = Some(username);
                    changes.email = Some(email);
                }
            }
            Given::Null => errors.push(
                ValueError::new("required", "cannot be removed: every user has a loginId")
                    .at("loginId"),
            ),
            Given::Absent | Given::Invalid => {}
        }
        if let Patch::Set(given_id) = patch(&mut errors, "userId", dto.user_id, UserId::parse)
            && given_id != id
        {
            errors.push(ValueError::new("immutable", "can only be set on creation").at("userId"));
        }
        changes.locale = match patch(
            &mut errors,
            "languageCode",
            dto.language_code,
            Locale::parse,
        ) {
            // Nevis's language has a default: removing it restores that.
            Patch::Clear => default_language().map_or(Patch::Clear, Patch::Set),
            other => other,
        };
        let name = name_changes(&mut errors, dto.name);
        changes.title = name.title;
        changes.first_name = name.first_name;
        changes.last_name = name.last_name;
        changes.gender = patch(&mut errors, "gender", dto.gender, Gender::parse);
        changes.birth_date = patch(&mut errors, "birthDate", dto.birth_date, BirthDate::parse);
        changes.address = address_changes(&mut errors, dto.address);
        let contacts = contact_changes(&mut errors, dto.contacts);
        changes.phone = contacts.telephone;
        changes.fax = contacts.telefax;
        changes.remarks = patch(&mut errors, "remarks", dto.remarks, Remarks::parse);
        let comment = comment(&mut errors, dto.modification_comment);
        match property_changes(&mut errors, dto.properties, declared) {
            Nested::Absent => {}
            // Every declared property goes; removing an unset one changes nothing.
            Nested::Null => {
                for name in declared.iter() {
                    changes.attributes.insert(name.clone(), None);
                }
            }
            Nested::Object(entries) => changes.attributes.extend(entries),
        }
        errors.into_result()?;
        Ok(UpdateCommand {
            changes,
            expected_version,
            comment,
        })
    }
}

/// A list request as the domain's query, with the page size to echo.
#[derive(Debug)]
pub struct ListQuery {
    /// The domain's query.
    pub query: UserQuery,
    /// The page size.
    pub limit: u32,
}

/// The filters a list takes besides declared properties.
pub const FILTERS: [&str; 6] = [
    "loginId",
    "email",
    "contacts.email",
    "name.firstName",
    "name.lastName",
    "userId",
];

fn key_match(errors: &mut ValidationErrors, field: &str, value: &str) -> Option<KeyMatch> {
    if value.trim().is_empty() {
        errors.push(ValueError::required().at(field));
        None
    } else {
        Some(KeyMatch::exact(value.trim()))
    }
}

impl TryFrom<(Vec<(String, String)>, &DeclaredAttributes)> for ListQuery {
    type Error = ValidationErrors;

    /// The query string's pairs, in order: `limit`, `continuationToken`, and
    /// filters (`loginId`, `email`, `name.firstName`, `name.lastName`,
    /// `userId`, a declared property as `<name>` or `properties.<name>`).
    fn try_from(
        (params, declared): (Vec<(String, String)>, &DeclaredAttributes),
    ) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let mut seen = BTreeSet::new();
        let mut filter = UserFilter::default();
        let mut limit = DEFAULT_LIMIT;
        let mut after = None;
        for (name, value) in params {
            if !seen.insert(name.clone()) {
                errors
                    .push(ValueError::new("duplicate", "may be given only once").at(name.as_str()));
                continue;
            }
            match name.as_str() {
                "limit" => match value.trim().parse::<u32>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => errors.push(
                        ValueError::new(
                            "out_of_range",
                            format!("must be an integer from 1 to {MAX_LIMIT}"),
                        )
                        .at("limit"),
                    ),
                },
                // Empty: the first page (the token the last page hands out).
                "continuationToken" => {
                    after = (!value.is_empty()).then(|| Cursor::from_token(value));
                }
                "loginId" => filter.username = key_match(&mut errors, &name, &value),
                "email" | "contacts.email" => {
                    filter.email = key_match(&mut errors, &name, &value);
                }
                "name.firstName" => filter.first_name = key_match(&mut errors, &name, &value),
                "name.lastName" => filter.last_name = key_match(&mut errors, &name, &value),
                "userId" => {
                    if let Some(id) = errors.check(&name, UserId::parse(&value)) {
                        filter.ids.insert(id);
                    }
                }
                other => {
                    let property = other.strip_prefix("properties.").unwrap_or(other);
                    match AttributeName::parse(property) {
                        Ok(attribute) if declared.contains(&attribute) => {
                            if let Some(value) = errors.check(other, AttributeValue::parse(&value))
                            {
                                filter.attributes.insert(attribute, value);
                            }
                        }
                        _ => errors.push(
                            ValueError::new(
                                "unknown_filter",
                                format!(
                                    "is not a filter: use limit, continuationToken, {} or a declared property",
                                    FILTERS.join(", ")
                                ),
                            )
                            .at(other),
                        ),
                    }
                }
            }
        }
        errors.into_result()?;
        Ok(ListQuery {
            query: UserQuery {
                filter,
                sort: Sort::default(),
                page: PageRequest::Cursor { after, limit },
                with_total: false,
            },
            limit,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declared(names: &[&str]) -> DeclaredAttributes {
        DeclaredAttributes::new(names.iter().map(|n| AttributeName::parse(n).unwrap()))
    }

    fn create(body: Value) -> Result<CreateCommand, ValidationErrors> {
        let dto: CreateUserRequest = serde_json::from_value(body).unwrap();
        CreateCommand::try_from((dto, &declared(&["color"])))
    }

    fn update(body: Value) -> Result<UpdateCommand, ValidationErrors> {
        let dto: UpdateUserRequest = serde_json::from_value(body).unwrap();
        let id = UserId::parse("0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77").unwrap();
        UpdateCommand::try_from((dto, id, &declared(&["color", "size"])))
    }

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn the_documented_minimum_creates_with_the_defaults() {
        let command = create(json!({"loginId": "jane@example.com"})).unwrap();
        assert_eq!(command.new.username.as_str(), "jane@example.com");
        assert_eq!(command.new.email.as_str(), "jane@example.com");
        assert_eq!(command.new.locale.unwrap().as_str(), "en");
        assert!(command.new.id.is_none());
        assert!(command.comment.is_none());
    }

    #[test]
    fn every_bad_field_is_named_in_nevis_words() {
        let errors = create(json!({
            "loginId": 5,
            "userId": "nope",
            "languageCode": "english!",
            "name": {"firstName": "x".repeat(101), "title": 3},
            "gender": "robot",
            "birthDate": "31.01.1990",
            "address": {"countryCode": "XX", "city": ""},
            "contacts": {"telephone": "+41 44 668 18 00", "telefax": "123"},
            "remarks": ["a"],
            "modificationComment": "\u{7}",
            "properties": {"color": "blue", "size": "XL", "weight": 80}
        }))
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "loginId",
                "userId",
                "languageCode",
                "name.title",
                "name.firstName",
                "gender",
                "birthDate",
                "address.countryCode",
                "contacts.telephone",
                "contacts.telefax",
                "remarks",
                "modificationComment",
                "properties.size",
                "properties.weight",
                "properties.weight",
            ]
        );
        let missing = create(json!({"name": "Jane"})).unwrap_err();
        assert_eq!(fields(&missing), ["loginId", "name"]);
    }

    #[test]
    fn update_patches_only_what_is_given() {
        let command = update(json!({
            "version": 3,
            "name": {"firstName": "Jo", "title": null},
            "address": {"city": "Bern"},
            "contacts": null,
            "properties": {"color": "red", "size": ""},
            "languageCode": null,
            "modificationComment": "moved"
        }))
        .unwrap();
        let changes = &command.changes;
        assert_eq!(command.expected_version, Some(3));
        assert!(matches!(&changes.first_name, Patch::Set(n) if n.as_str() == "Jo"));
        assert_eq!(changes.title, Patch::Clear);
        assert_eq!(changes.last_name, Patch::Leave);
        assert_eq!(changes.phone, Patch::Clear);
        assert_eq!(changes.fax, Patch::Clear);
        assert_eq!(changes.gender, Patch::Leave);
        assert!(matches!(&changes.locale, Patch::Set(l) if l.as_str() == "en"));
        assert_eq!(changes.attributes.len(), 2);
        assert_eq!(command.comment.unwrap().as_str(), "moved");
        let current = Address {
            street: Some(AddressLine::parse("Main").unwrap()),
            ..Address::default()
        };
        let merged = changes.address.applied_to(&current);
        assert_eq!(merged.street.unwrap().as_str(), "Main");
        assert_eq!(merged.city.unwrap().as_str(), "Bern");
    }

    #[test]
    fn update_refuses_a_new_user_id_and_bad_versions() {
        let errors = update(json!({
            "userId": "11111111-1111-1111-1111-111111111111",
            "version": 0,
            "loginId": null,
            "properties": {"weight": ""}
        }))
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            ["version", "loginId", "userId", "properties.weight"]
        );
        let same = update(json!({"userId": "0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77"})).unwrap();
        assert!(same.changes.address.is_leave());
        let all = update(json!({"properties": null})).unwrap();
        assert_eq!(all.changes.attributes.len(), 2);
        assert!(all.changes.attributes.values().all(Option::is_none));
    }

    fn list(pairs: &[(&str, &str)]) -> Result<ListQuery, ValidationErrors> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::try_from((pairs, &declared(&["color"])))
    }

    #[test]
    fn list_filters_and_limits() {
        let query = list(&[
            ("loginId", "Jane@Example.com"),
            ("name.lastName", "Doe"),
            ("color", "blue"),
            ("limit", "2"),
            ("continuationToken", ""),
        ])
        .unwrap();
        assert_eq!(query.limit, 2);
        let filter = &query.query.filter;
        assert_eq!(filter.username, Some(KeyMatch::exact("jane@example.com")));
        assert_eq!(filter.last_name, Some(KeyMatch::exact("doe")));
        assert_eq!(filter.attributes.len(), 1);
        assert_eq!(
            query.query.page,
            PageRequest::Cursor {
                after: None,
                limit: 2
            }
        );
        assert_eq!(list(&[]).unwrap().limit, DEFAULT_LIMIT);
        let errors = list(&[
            ("size", "XL"),
            ("limit", "0"),
            ("loginId", "a@b.ch"),
            ("loginId", "c@d.ch"),
        ])
        .unwrap_err();
        assert_eq!(fields(&errors), ["size", "limit", "loginId"]);
    }
}
