//! Nevis's request and response shapes, and their conversions into the
//! domain's commands (every field error collected at once) and back.
//!
//! A blank string counts as `null`, as Nevis's own "`""` removes a
//! property" rule suggests. Unknown fields are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::take;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use userhub_domain::error::ValueError;
use userhub_domain::history::ChangeComment;
use userhub_domain::query::{Cursor, KeyMatch, PageRequest, Sort, UserFilter, UserQuery};
use userhub_domain::service::{CreateUser, ListUsers, UpdateUser};
use userhub_domain::types::{
    Address, AddressLine, AttributeEntry, AttributeInput, BirthDate, CountryCode, Gender, Locale,
    PersonName, PhoneNumber, Remarks, Title, UserId, email_login,
};
use userhub_domain::user::{AddressChanges, NewUser, Patch, User, UserChanges};
use userhub_domain::{DomainError, ValidationErrors};
use utoipa::ToSchema;

use crate::json_objects;
use crate::toolkit::fields::shape;
use crate::toolkit::render::{rfc3339, text};
use crate::toolkit::{Expected, Failure, In};

/// The page size when `limit` is not given, as Nevis documents: the largest.
const MAX_LIMIT: u32 = 1000;

// ---------------------------------------------------------------- requests

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

/// `name`: the parts of a person's name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct NameInput {
    /// Title, such as `Dr.`.
    #[schema(value_type = Option<String>, example = "Dr.", default)]
    pub title: In<String>,
    /// First name.
    #[schema(value_type = Option<String>, example = "Jane", default)]
    pub first_name: In<String>,
    /// Last name.
    #[schema(value_type = Option<String>, example = "Doe", default)]
    pub last_name: In<String>,
}

/// `address`: a postal address; every part is optional, free text of one
/// line.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AddressInput {
    /// ISO 3166-1 alpha-2 country code, any case (`ch`, `CH`); answered uppercase.
    #[schema(value_type = Option<String>, example = "CH", default)]
    pub country_code: In<String>,
    /// City.
    #[schema(value_type = Option<String>, example = "Zürich", default)]
    pub city: In<String>,
    /// Postal code.
    #[schema(value_type = Option<String>, example = "8001", default)]
    pub postal_code: In<String>,
    /// First free-text line.
    #[schema(value_type = Option<String>, example = "c/o Example AG", default)]
    pub addressline1: In<String>,
    /// Second free-text line.
    #[schema(value_type = Option<String>, default)]
    pub addressline2: In<String>,
    /// Street.
    #[schema(value_type = Option<String>, example = "Bahnhofstrasse", default)]
    pub street: In<String>,
    /// House number (text: `12a` is one).
    #[schema(value_type = Option<String>, example = "1", default)]
    pub house_number: In<String>,
    /// Dwelling (apartment) number.
    #[schema(value_type = Option<String>, default)]
    pub dwelling_number: In<String>,
    /// Post office box text.
    #[schema(value_type = Option<String>, default)]
    pub post_office_box_text: In<String>,
    /// Post office box number.
    #[schema(value_type = Option<String>, default)]
    pub post_office_box_number: In<String>,
    /// Locality.
    #[schema(value_type = Option<String>, default)]
    pub locality: In<String>,
}

/// `contacts`: phone numbers, in E.164 (`+` and digits, no spaces).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ContactsInput {
    /// Landline telephone number.
    #[schema(value_type = Option<String>, example = "+41446681800", default)]
    pub telephone: In<String>,
    /// Telefax number.
    #[schema(value_type = Option<String>, example = "+41446681801", default)]
    pub telefax: In<String>,
}

json_objects!(NameInput, AddressInput, ContactsInput);

/// The body of `POST /nevis/api/v1/users`. Only `loginId` is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// An e-mail address: it becomes both the username and the e-mail.
    #[schema(required = true, value_type = String, min_length = 1, example = "jane.doe@example.com", default)]
    pub login_id: In<String>,
    /// The user's id, a UUID; generated when left out. Can only be set here.
    #[schema(value_type = Option<String>, format = Uuid, example = "0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77", default)]
    pub user_id: In<String>,
    /// Language (a BCP 47 tag such as `en` or `de-CH`). Default `en`.
    #[schema(value_type = Option<String>, example = "en", default)]
    pub language_code: In<String>,
    /// Name parts.
    #[schema(value_type = Option<NameInput>, default)]
    pub name: In<NameInput>,
    /// `female`, `male` or `other`.
    #[schema(value_type = Option<GenderName>, default)]
    pub gender: In<String>,
    /// Birth date, `YYYY-MM-DD`, from 1900-01-01 to today.
    #[schema(value_type = Option<String>, format = Date, example = "1990-01-31", default)]
    pub birth_date: In<String>,
    /// Postal address.
    #[schema(value_type = Option<AddressInput>, default)]
    pub address: In<AddressInput>,
    /// Phone numbers.
    #[schema(value_type = Option<ContactsInput>, default)]
    pub contacts: In<ContactsInput>,
    /// Free-text remarks (up to 1000 characters).
    #[schema(value_type = Option<String>, example = "Remarks to a food delivery", default)]
    pub remarks: In<String>,
    /// Why the user is created; recorded in the user's history.
    #[schema(value_type = Option<String>, example = "created for the spring campaign", default)]
    pub modification_comment: In<String>,
    /// Custom attributes: names the tenant declared mapped to strings.
    #[schema(value_type = Option<Object>, example = json!({"employeeNumber": "E-1234"}), default)]
    pub properties: In<Map<String, Value>>,
}

/// The body of `PATCH /nevis/api/v1/users/{userId}`: only the fields given
/// change; `null` (or `""`) removes a value; in `properties`, `""` or `null`
/// removes that property and `"properties": null` removes them all.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// The version last read: if the user is no longer at it, 409.
    #[schema(value_type = Option<u64>, minimum = 1, example = 3, default)]
    pub version: In<u64>,
    /// A new e-mail address, also the username (both change); not `null`.
    #[schema(value_type = String, min_length = 1, example = "jane.doe@example.com", default)]
    pub login_id: In<String>,
    /// Set on creation only: accepted here if it is the path's `userId`.
    #[schema(value_type = Option<String>, format = Uuid, default)]
    pub user_id: In<String>,
    /// Language; `null` resets it to `en`.
    #[schema(value_type = Option<String>, nullable, example = "de-CH", default)]
    pub language_code: In<String>,
    /// Name parts to change; `"name": null` removes all of them.
    #[schema(value_type = Option<NameInput>, nullable, default)]
    pub name: In<NameInput>,
    /// `female`, `male` or `other`; `null` removes it.
    #[schema(value_type = Option<GenderName>, nullable, default)]
    pub gender: In<String>,
    /// Birth date, `YYYY-MM-DD`; `null` removes it.
    #[schema(value_type = Option<String>, format = Date, nullable, default)]
    pub birth_date: In<String>,
    /// Address parts to change; `"address": null` removes all of them.
    #[schema(value_type = Option<AddressInput>, nullable, default)]
    pub address: In<AddressInput>,
    /// Phone numbers; each given one changes; `null` removes.
    #[schema(value_type = Option<ContactsInput>, nullable, default)]
    pub contacts: In<ContactsInput>,
    /// Remarks; `null` removes them.
    #[schema(value_type = Option<String>, nullable, default)]
    pub remarks: In<String>,
    /// Why; recorded in the change's history entry.
    #[schema(value_type = Option<String>, example = "moved to Bern", default)]
    pub modification_comment: In<String>,
    /// Properties to set (declared names only); `""` or `null` removes one.
    #[schema(value_type = Option<Object>, nullable, example = json!({"employeeNumber": "E-1234", "costCenter": ""}), default)]
    pub properties: In<Map<String, Value>>,
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
    #[schema(format = Uuid, example = "0b6e0c4e-8a43-4b7e-9d55-3f0d2b1c9a77")]
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

/// Reads text fields (`""` counts as `null`); in a nested object sent as
/// `null`, every part is cleared.
// TOOLKIT?: an object changed part by part, `null` clearing every part,
// may serve other dialects' nested objects too; private here for now.
struct Reader<'e> {
    errors: &'e mut ValidationErrors,
    cleared: bool,
}

impl Reader<'_> {
    /// The text at `path`: left out leaves it, `null` clears it.
    fn patch<U>(
        &mut self,
        path: &str,
        value: In<String>,
        parse: impl FnOnce(&str) -> Result<U, ValueError>,
    ) -> Patch<U> {
        if self.cleared {
            return Patch::Clear;
        }
        value.blank_as_null().parse_patch(self.errors, path, parse)
    }

    /// The object at `path` (`name`, `address`, `contacts`), changed part
    /// by part, with the reader of its parts.
    fn nested<T: Expected + Default>(&mut self, path: &str, object: In<T>) -> (T, Reader<'_>) {
        let (parts, cleared) = match object.patch(self.errors, path) {
            Patch::Set(parts) => (parts, false),
            Patch::Clear => (T::default(), true),
            Patch::Leave => (T::default(), false),
        };
        let errors = &mut *self.errors;
        (parts, Reader { errors, cleared })
    }
}

/// What create and update both say, as the domain takes it.
struct Profile {
    changes: UserChanges,
    attributes: AttributeInput,
    comment: Option<ChangeComment>,
}

/// The fields create and update share, read alike (an update's are moved
/// into a create's shape; its `loginId` and `userId` are read already).
fn profile(errors: &mut ValidationErrors, dto: CreateUserRequest) -> Profile {
    let mut top = Reader {
        errors,
        cleared: false,
    };
    let mut changes = UserChanges {
        locale: top.patch("languageCode", dto.language_code, Locale::parse),
        ..UserChanges::default()
    };
    let (name, mut part) = top.nested("name", dto.name);
    changes.title = part.patch("name.title", name.title, Title::parse);
    changes.first_name = part.patch("name.firstName", name.first_name, PersonName::parse);
    changes.last_name = part.patch("name.lastName", name.last_name, PersonName::parse);
    changes.gender = top.patch("gender", dto.gender, Gender::parse);
    changes.birth_date = top.patch("birthDate", dto.birth_date, BirthDate::parse);
    let (address, mut part) = top.nested("address", dto.address);
    let line = AddressLine::parse;
    changes.address = AddressChanges {
        country: part.patch(
            "address.countryCode",
            address.country_code,
            CountryCode::parse,
        ),
        city: part.patch("address.city", address.city, line),
        postal_code: part.patch("address.postalCode", address.postal_code, line),
        address_line1: part.patch("address.addressline1", address.addressline1, line),
        address_line2: part.patch("address.addressline2", address.addressline2, line),
        street: part.patch("address.street", address.street, line),
        house_number: part.patch("address.houseNumber", address.house_number, line),
        dwelling_number: part.patch("address.dwellingNumber", address.dwelling_number, line),
        post_office_box_text: part.patch(
            "address.postOfficeBoxText",
            address.post_office_box_text,
            line,
        ),
        post_office_box_number: part.patch(
            "address.postOfficeBoxNumber",
            address.post_office_box_number,
            line,
        ),
        locality: part.patch("address.locality", address.locality, line),
    };
    let (contacts, mut part) = top.nested("contacts", dto.contacts);
    changes.phone = part.patch("contacts.telephone", contacts.telephone, PhoneNumber::parse);
    changes.fax = part.patch("contacts.telefax", contacts.telefax, PhoneNumber::parse);
    changes.remarks = top.patch("remarks", dto.remarks, Remarks::parse);
    let comment = top
        .patch(
            "modificationComment",
            dto.modification_comment,
            ChangeComment::parse,
        )
        .into_set();
    let attributes = properties(top.errors, dto.properties);
    Profile {
        changes,
        attributes,
        comment,
    }
}

/// `properties` as the domain judges them (declared names, valid values):
/// `null` or `""` removes one, `"properties": null` removes them all.
fn properties(errors: &mut ValidationErrors, input: In<Map<String, Value>>) -> AttributeInput {
    let mut attributes = AttributeInput::default();
    match input.patch(errors, "properties") {
        Patch::Leave => {}
        Patch::Clear => attributes.clear = true,
        Patch::Set(entries) => {
            for (name, value) in entries {
                let path = format!("properties.{name}");
                // TOOLKIT?: `In` reads a field, not a map's values; this reads
                // one the same way (it cannot fail from a JSON value).
                let value = serde_json::from_value(value).unwrap_or(In::WrongType);
                let value = match value.blank_as_null().patch(errors, &path) {
                    Patch::Set(value) => Some(value),
                    Patch::Clear => None,
                    // Not a string: named already.
                    Patch::Leave => continue,
                };
                attributes
                    .entries
                    .push(AttributeEntry { path, name, value });
            }
        }
    }
    attributes
}

/// The language a user gets when none is given, as Nevis documents.
fn default_language() -> Option<Locale> {
    Locale::parse("en").ok()
}

/// `POST /nevis/api/v1/users` as the domain's command.
pub fn create_command(body: Map<String, Value>) -> Result<CreateUser, Failure> {
    let mut dto: CreateUserRequest = shape(body)?;
    let mut errors = ValidationErrors::new();
    let ids =
        take(&mut dto.login_id)
            .blank_as_null()
            .parse_required(&mut errors, "loginId", email_login);
    let id =
        take(&mut dto.user_id)
            .blank_as_null()
            .parse_optional(&mut errors, "userId", UserId::parse);
    let Profile {
        changes,
        attributes,
        comment,
    } = profile(&mut errors, dto);
    let user = ids.map(|(username, email)| {
        let mut user = NewUser::new(username, email);
        user.id = id;
        user.locale = changes.locale.into_set().or_else(default_language);
        user.title = changes.title.into_set();
        user.first_name = changes.first_name.into_set();
        user.last_name = changes.last_name.into_set();
        user.gender = changes.gender.into_set();
        user.birth_date = changes.birth_date.into_set();
        user.address = changes.address.applied_to(&Address::default());
        user.phone = changes.phone.into_set();
        user.fax = changes.fax.into_set();
        user.remarks = changes.remarks.into_set();
        user
    });
    Ok(CreateUser {
        attributes,
        comment,
        ..CreateUser::refused(user, errors)
    })
}

/// `PATCH /nevis/api/v1/users/{userId}` as the domain's command. The body
/// is judged before the path: a malformed body is a 422 for any path.
pub fn update_command(
    id: Result<UserId, Failure>,
    body: Map<String, Value>,
) -> Result<UpdateUser, Failure> {
    let dto: UpdateUserRequest = shape(body)?;
    let id = id?;
    let mut errors = ValidationErrors::new();
    // A version that is not current (0 included) is the domain's 409.
    let expected_version = dto.version.optional(&mut errors, "version");
    let ids = dto
        .login_id
        .blank_as_null()
        .parse_not_null(&mut errors, "loginId", email_login);
    let given = dto
        .user_id
        .blank_as_null()
        .parse_optional(&mut errors, "userId", UserId::parse);
    if given.is_some_and(|given| given != id) {
        errors.push(ValueError::new("immutable", "can only be set on creation").at("userId"));
    }
    let shared = CreateUserRequest {
        language_code: dto.language_code,
        name: dto.name,
        gender: dto.gender,
        birth_date: dto.birth_date,
        address: dto.address,
        contacts: dto.contacts,
        remarks: dto.remarks,
        modification_comment: dto.modification_comment,
        properties: dto.properties,
        ..CreateUserRequest::default()
    };
    let Profile {
        mut changes,
        attributes,
        comment,
    } = profile(&mut errors, shared);
    if let Some((username, email)) = ids {
        changes.username = Some(username);
        changes.email = Some(email);
    }
    if changes.locale == Patch::Clear {
        // Nevis's language has a default: removing it restores that.
        changes.locale = default_language().map_or(Patch::Clear, Patch::Set);
    }
    Ok(UpdateUser {
        attributes,
        expected_version,
        comment,
        errors,
        ..UpdateUser::new(id, changes)
    })
}

/// The filters a list takes besides declared properties.
const FILTERS: &str = "loginId, email, contacts.email, name.firstName, name.lastName, userId";

fn key_match(errors: &mut ValidationErrors, field: &str, value: &str) -> Option<KeyMatch> {
    let value = value.trim();
    if value.is_empty() {
        errors.push(ValueError::required().at(field));
        return None;
    }
    Some(KeyMatch::exact(value))
}

/// A list's query string as the domain's command, with the page size to
/// echo: `limit`, `continuationToken`, and filters (`loginId`, `email`,
/// `name.firstName`, `name.lastName`, `userId`, a property as `<name>` or
/// `properties.<name>`, which the domain judges).
pub fn list_command(params: Vec<(String, String)>) -> (ListUsers, u32) {
    let mut errors = ValidationErrors::new();
    let mut seen = BTreeSet::new();
    let mut filter = UserFilter::default();
    let mut attributes = AttributeInput::default();
    let mut limit = MAX_LIMIT;
    let mut after = None;
    for (name, value) in params {
        if !seen.insert(name.clone()) {
            errors.push(ValueError::new("duplicate", "may be given only once").at(name.as_str()));
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
            "continuationToken" => after = (!value.is_empty()).then(|| Cursor::from_token(value)),
            "loginId" => filter.username = key_match(&mut errors, &name, &value),
            "email" | "contacts.email" => filter.email = key_match(&mut errors, &name, &value),
            "name.firstName" => filter.first_name = key_match(&mut errors, &name, &value),
            "name.lastName" => filter.last_name = key_match(&mut errors, &name, &value),
            "userId" => filter
                .ids
                .extend(errors.check("userId", UserId::parse(&value))),
            other => attributes.entries.push(AttributeEntry {
                path: other.to_owned(),
                name: other
                    .strip_prefix("properties.")
                    .unwrap_or(other)
                    .to_owned(),
                value: Some(value),
            }),
        }
    }
    let query = UserQuery {
        filter,
        sort: Sort::default(),
        page: PageRequest::Cursor { after, limit },
        with_total: false,
    };
    let command = ListUsers {
        query,
        attributes,
        errors,
    };
    (command, limit)
}

/// The domain refuses a property the tenant did not declare; in a list's
/// query that is a parameter Nevis does not know, and its answer says which
/// ones it does.
pub fn unknown_filters(error: DomainError) -> DomainError {
    let DomainError::Validation(found) = error else {
        return error;
    };
    let mut errors = ValidationErrors::new();
    for e in found {
        errors.push(match e.code {
            "undeclared_attribute" => ValueError::new(
                "unknown_filter",
                format!(
                    "is not a filter: use limit, continuationToken, {FILTERS} or a declared property"
                ),
            )
            .at(e.field),
            _ => e,
        });
    }
    DomainError::Validation(errors)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn update_patches_only_what_is_given() {
        let id = UserId::new_random();
        let update = |body: Value| {
            let Value::Object(body) = body else {
                panic!("not an object")
            };
            update_command(Ok(id), body).unwrap()
        };
        let command = update(json!({
            "name": {"firstName": "Jo", "title": null},
            "address": {"city": "Bern"},
            "contacts": null,
            "properties": {"color": "blue", "size": "", "weight": 80},
            "languageCode": "",
        }));
        let changes = &command.changes;
        assert!(matches!(&changes.first_name, Patch::Set(n) if n.as_str() == "Jo"));
        assert_eq!(
            (&changes.title, &changes.last_name),
            (&Patch::Clear, &Patch::Leave)
        );
        assert_eq!(
            (&changes.phone, &changes.fax),
            (&Patch::Clear, &Patch::Clear)
        );
        assert!(matches!(&changes.locale, Patch::Set(l) if l.as_str() == "en"));
        assert!(matches!(&changes.address.city, Patch::Set(c) if c.as_str() == "Bern"));
        assert_eq!(changes.address.street, Patch::Leave);
        let entries: Vec<_> = (command.attributes.entries.iter())
            .map(|e| (e.path.as_str(), e.value.as_deref()))
            .collect();
        assert_eq!(
            entries,
            [
                ("properties.color", Some("blue")),
                ("properties.size", None)
            ]
        );
        let refused = update(json!({
            "properties": {"weight": 80},
            "userId": UserId::new_random().to_string(),
            "version": "3",
            "loginId": null,
        }));
        let fields: Vec<String> = (refused.errors.errors().iter())
            .map(|e| e.field.to_string())
            .collect();
        assert_eq!(
            fields,
            ["version", "loginId", "userId", "properties.weight"]
        );
    }
}
