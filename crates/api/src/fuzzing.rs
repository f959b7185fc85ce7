//! The entry points of the fuzz targets (`fuzz/` at the repository root,
//! built with this crate's `fuzzing` feature). Each feeds arbitrary bytes
//! to the parsers of one kind of client input, the way a request reaches
//! them, and checks what must hold of any input: nothing panics, a failure
//! becomes an error report, and a value that parsed parses again to
//! itself. Not an API: only the fuzz targets call these.

use serde_json::{Map, Value};
use userhub_domain::query::{Sort, SortDirection, SortField};
use userhub_domain::tenant::TenantName;
use userhub_domain::types::{Email, Locale, PhoneNumber, Role, UserId, Username};

use crate::dialects::{admin, blocks, cl2c, iklim, nevis, scim};
use crate::toolkit::extract::{parse_object, parse_query};
use crate::toolkit::{Dialect, ErrorReport, Failure};

/// `data` as text, when it is UTF-8 (headers, query values and JSON
/// strings always are).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A value `parse` accepts from `data` parses again from its own text
/// (`as_str`) to itself, with the same uniqueness `key`.
fn parses_again_with_its_key<T, E, K>(
    data: &[u8],
    parse: fn(&str) -> Result<T, E>,
    as_str: fn(&T) -> &str,
    key: fn(&T) -> K,
) where
    T: PartialEq + std::fmt::Debug,
    E: PartialEq + std::fmt::Debug,
    K: PartialEq + std::fmt::Debug,
{
    let Some(text) = text(data) else { return };
    if let Ok(value) = parse(text) {
        let again = parse(as_str(&value));
        assert_eq!(again.as_ref(), Ok(&value));
        assert_eq!(again.map(|v| key(&v)), Ok(key(&value)));
    }
}

/// A failed parse must become a report in the dialect's words.
fn report<D: Dialect, T>(parsed: Result<T, Failure>) {
    if let Err(failure) = parsed {
        let report = ErrorReport::of::<D>(&failure);
        assert!(
            report.status.is_client_error(),
            "{}: a parse failure answered {}",
            D::NAME,
            report.status
        );
    }
}

/// iklim's roles and status fields in every form iklim sends them: a JSON
/// array, a bare string, or a list quoted inside a string (`"['A', 'B']"`),
/// from the bytes as JSON and from the bytes as one string.
pub fn iklim_lists(data: &[u8]) {
    let mut values = Vec::new();
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        values.push(value);
    }
    if let Some(text) = text(data) {
        values.push(Value::String(text.to_owned()));
    }
    for value in &values {
        if let Ok(roles) = iklim::dto::parse_roles(value) {
            assert!(!roles.is_empty());
            // Written back in the quoted form, the same roles.
            let quoted: Vec<String> = roles.iter().map(|r| format!("'{}'", r.as_str())).collect();
            let again = Value::String(format!("[{}]", quoted.join(", ")));
            assert_eq!(iklim::dto::parse_roles(&again).as_ref(), Ok(&roles));
            assert!(roles.iter().all(|r| Role::parse(r.as_str()) == Ok(*r)));
        }
        let statuses = iklim::dto::parse_statuses(value);
        if let Ok(status) = iklim::dto::parse_status(value) {
            assert_eq!(
                statuses.map(|s| s.into_iter().collect::<Vec<_>>()),
                Ok(vec![status])
            );
        }
    }
}

/// A locale (`tr_TR`, `en-US`, `zh-Hant-TW`): canonical, and the same
/// from its canonical and its POSIX spelling.
pub fn locale(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(locale) = Locale::parse(text) {
        assert_eq!(Locale::parse(locale.as_str()).as_ref(), Ok(&locale));
        assert_eq!(Locale::parse(&locale.to_posix()).as_ref(), Ok(&locale));
    }
}

/// A phone number (E.164, valid for its country code): parses again to itself.
pub fn phone(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(phone) = PhoneNumber::parse(text) {
        assert_eq!(PhoneNumber::parse(phone.as_str()).as_ref(), Ok(&phone));
    }
}

/// An e-mail address: parses again to itself, with the same key.
pub fn email(data: &[u8]) {
    parses_again_with_its_key(data, Email::parse, Email::as_str, Email::key);
}

/// A username: parses again to itself, with the same uniqueness key. A
/// tenant name too (a header value every dialect reads).
pub fn username(data: &[u8]) {
    parses_again_with_its_key(data, Username::parse, Username::as_str, Username::key);
    let Some(text) = text(data) else { return };
    if let Ok(tenant) = TenantName::parse(text) {
        assert_eq!(TenantName::parse(tenant.as_str()).as_ref(), Ok(&tenant));
    }
}

/// A continuation token sent back, read for every order a list may have;
/// and the query string it arrives in, read as Nevis's list request.
pub fn continuation_token(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for field in [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Username,
        SortField::Email,
    ] {
        for direction in [SortDirection::Ascending, SortDirection::Descending] {
            userhub_storage::fuzzing::decode_cursor(text, Sort { field, direction });
        }
    }
    let pairs = vec![("continuationToken".to_owned(), text.to_owned())];
    let _ = nevis::dto::list_command(pairs);
}

/// The body as the toolkit reads it (one JSON object), or its report.
fn object<D: Dialect>(data: &[u8]) -> Option<Map<String, Value>> {
    match parse_object(data) {
        Ok(object) => Some(object),
        Err(error) => {
            report::<D, ()>(Err(error.into()));
            None
        }
    }
}

/// The id a route's path names, where a command needs one.
fn some_id() -> Result<UserId, Failure> {
    UserId::parse("00000000-0000-4000-8000-000000000000").map_err(|e| Failure::from(e.at("id")))
}

/// Every iklim body parser on one body.
pub fn iklim_body(data: &[u8]) {
    use iklim::Iklim;
    let Some(body) = object::<Iklim>(data) else {
        return;
    };
    report::<Iklim, _>(iklim::dto::create_command(body.clone()));
    report::<Iklim, _>(iklim::dto::update_command(body.clone()));
    report::<Iklim, _>(iklim::dto::change_password_command(body.clone()));
    report::<Iklim, _>(iklim::dto::login_fields(body.clone()));
    report::<Iklim, _>(iklim::dto::refresh_token(body.clone()));
    report::<Iklim, _>(iklim::dto::page_command(body));
}

/// Every Nevis body parser on one body; the bytes as a list query too.
pub fn nevis_body(data: &[u8]) {
    use nevis::Nevis;
    if let Some(query) = text(data)
        && let Ok(pairs) = parse_query(query)
    {
        let _ = nevis::dto::list_command(pairs);
    }
    let Some(body) = object::<Nevis>(data) else {
        return;
    };
    report::<Nevis, _>(nevis::dto::create_command(body.clone()));
    report::<Nevis, _>(nevis::dto::update_command(some_id(), body));
}

/// Every cl2c body parser on one body.
pub fn cl2c_body(data: &[u8]) {
    use cl2c::Cl2c;
    let Some(body) = object::<Cl2c>(data) else {
        return;
    };
    report::<Cl2c, _>(cl2c::dto::create_command(body.clone()));
    report::<Cl2c, _>(cl2c::dto::update_command(body));
}

/// Every SELISE Blocks body parser on one body; the bytes as the user
/// query string too.
pub fn blocks_body(data: &[u8]) {
    use blocks::Blocks;
    if let Some(query) = text(data) {
        report::<Blocks, _>(blocks::dto::get_user_query(parse_query(query)));
    }
    let Some(body) = object::<Blocks>(data) else {
        return;
    };
    report::<Blocks, _>(blocks::dto::create_command(body.clone()));
    report::<Blocks, _>(blocks::dto::update_command(body.clone()));
    report::<Blocks, _>(blocks::dto::list_command(body));
}

/// A credential as presented in a header: an API key, a token, anything.
pub fn credential(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = crate::secrets::recognise(text);
}

/// A SCIM filter (RFC 7644 §3.4.2.2) for Users and for Groups, read
/// directly and as the `filter` of a list's query string. Parsing is
/// bounded (length, depth), so no input may make it recurse or loop away.
pub fn scim_filter(data: &[u8]) {
    use scim::Scim;
    let Some(text) = text(data) else { return };
    let users = scim::filter::user_filter(text);
    let groups = scim::filter::group_filter(text);
    // The same text, read twice, the same answer.
    assert_eq!(scim::filter::user_filter(text), users);
    assert_eq!(scim::filter::group_filter(text), groups);
    let pairs = vec![("filter".to_owned(), text.to_owned())];
    match scim::dto::ListParams::from_pairs(pairs) {
        Ok(params) => {
            report::<Scim, _>(params.users_command());
            report::<Scim, _>(params.groups_query());
        }
        Err(failure) => report::<Scim, ()>(Err(failure)),
    }
}

/// A SCIM PATCH `path` (`emails[type eq "work"].value`,
/// `members[value eq "id"]`, `urn:...:User:attr`), read directly and as
/// the path of each PATCH operation on a User and on a Group.
pub fn scim_patch_path(data: &[u8]) {
    use scim::Scim;
    let Some(text) = text(data) else { return };
    if let Ok(path) = scim::filter::patch_path(text) {
        // Names are case-insensitive: the attribute is read lower-cased.
        assert_eq!(path.attr, path.attr.to_ascii_lowercase());
        assert_eq!(scim::filter::patch_path(text), Ok(path));
    }
    for op in ["add", "replace", "remove"] {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": text, "value": "x"}]
        });
        let Value::Object(body) = body else { return };
        report::<Scim, _>(scim::dto::patch_user_command(some_id(), None, body.clone()));
        report::<Scim, _>(scim::dto::patch_group_command(
            scim::dto::group_id("00000000-0000-4000-8000-000000000000"),
            None,
            body,
        ));
    }
}

/// Every SCIM body parser on one body: Users and Groups created, replaced
/// and patched, and a search's parameters.
pub fn scim_body(data: &[u8]) {
    use scim::Scim;
    let Some(body) = object::<Scim>(data) else {
        return;
    };
    let group = || scim::dto::group_id("00000000-0000-4000-8000-000000000000");
    report::<Scim, _>(scim::dto::create_user_command(body.clone()));
    report::<Scim, _>(scim::dto::replace_user_command(
        some_id(),
        Some(1),
        body.clone(),
    ));
    report::<Scim, _>(scim::dto::patch_user_command(
        some_id(),
        Some(1),
        body.clone(),
    ));
    report::<Scim, _>(scim::dto::create_group_command(body.clone()));
    report::<Scim, _>(scim::dto::replace_group_command(
        group(),
        Some(1),
        body.clone(),
    ));
    report::<Scim, _>(scim::dto::patch_group_command(
        group(),
        Some(1),
        body.clone(),
    ));
    match scim::dto::ListParams::read(&body) {
        Ok(params) => {
            report::<Scim, _>(params.users_command());
            report::<Scim, _>(params.groups_query());
        }
        Err(failure) => report::<Scim, ()>(Err(failure)),
    }
}

/// Every admin API body parser on one body (an API key, a custom
/// attribute, a webhook); the bytes as the history's and the change
/// feed's query strings too.
pub fn admin_body(data: &[u8]) {
    use admin::Admin;
    if let Some(query) = text(data) {
        report::<Admin, _>(admin::dto::history_query(
            "00000000-0000-4000-8000-000000000000",
            parse_query(query),
        ));
        report::<Admin, _>(admin::dto::feed_query(parse_query(query)));
    }
    let Some(body) = object::<Admin>(data) else {
        return;
    };
    report::<Admin, _>(admin::dto::create_api_key_command(
        body.clone(),
        "uhk_fuzz".to_owned(),
        "0".repeat(64),
    ));
    report::<Admin, _>(admin::dto::define_attribute_command(body.clone()));
    for allow_private in [false, true] {
        report::<Admin, _>(admin::dto::create_webhook_command(
            body.clone(),
            allow_private,
            userhub_domain::webhook::WebhookSecret::new("whsec_fuzz".to_owned()),
        ));
    }
}

/// A password hash of another system, as an import line carries it
/// (bcrypt, PBKDF2, scrypt, SHA-crypt, Django, argon2): recognised or
/// refused, never a panic; a recognised one keeps its name.
pub fn password_hash(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(format) = userhub_domain::hash_format::HashFormat::parse(text) {
        assert!(!format.name().is_empty());
        assert_eq!(
            userhub_domain::hash_format::HashFormat::parse(text).map(|f| f.name()),
            Ok(format.name())
        );
    }
}
