//! One store, every view: a user created, changed or deleted through one
//! dialect (iklim, Nevis, cl2c, SELISE Blocks) reads the same through every
//! other; the update rules hold in each dialect that changes users; and no
//! route of any dialect tells a credential of one tenant anything about
//! another tenant's users.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use userhub_domain::types::Role;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, error_fields, spawn_app};

const IKLIM_CREATE: &str = "/v1/users/create";
const IKLIM_UPDATE: &str = "/v1/users/update";
const IKLIM_PAGE: &str = "/v1/users/page";
const IKLIM_CHANGE_PASSWORD: &str = "/v1/users/change-password";
const IKLIM_LOGIN: &str = "/v1/auth/login";
const NEVIS_USERS: &str = "/nevis/api/v1/users";
const CL2C_USER: &str = "/v1/cl2c/user";
const CL2C_USERS: &str = "/v1/cl2c/users";
const BLOCKS_CREATE: &str = "/idp/v1/Iam/Create";
const BLOCKS_UPDATE: &str = "/idp/v1/Iam/Update";
const BLOCKS_GET_USER: &str = "/idp/v1/Iam/GetUser";
const BLOCKS_GET_USERS: &str = "/idp/v1/Iam/GetUsers";
const SCIM_USERS: &str = "/scim/v2/Users";
/// Another strong password, for attempts to change one.
const OTHER_PASSWORD: &str = "An0ther!Str0ng#Secret";

// ---------------------------------------------------------------- requests

/// A request authenticated by `Authorization: Bearer` (iklim, Nevis, and
/// cl2c's update of the logged-in user).
fn bearer(app: &TestApp, method: Method, path: &str, token: &str) -> RequestBuilder {
    app.request(method, path, Some(token))
}

/// A cl2c key request: the `tenant` and `X-API-Key` headers.
fn cl2c(app: &TestApp, method: Method, path: &str, tenant: &str, key: &str) -> RequestBuilder {
    app.request(method, path, None)
        .header("tenant", tenant)
        .header("X-API-Key", key)
}

/// A Blocks request: the credential in `x-blocks-key`.
fn blocks(app: &TestApp, method: Method, path: &str, key: &str) -> RequestBuilder {
    app.request(method, path, None).header("x-blocks-key", key)
}

/// The status and JSON body (`null` when empty, as for a 204).
async fn reply(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// The body of a response that must have `expected` status.
async fn expect(label: &str, request: RequestBuilder, expected: StatusCode) -> Value {
    let (status, body) = reply(request).await;
    assert_eq!(status, expected, "{label}: {body}");
    body
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(&text(value), &Rfc3339).unwrap_or_else(|e| panic!("{value}: {e}"))
}

/// Log in to `tenant`; answers the access token.
async fn login(app: &TestApp, tenant: &str, username: &str) -> String {
    let body = expect(
        "login",
        app.request(Method::POST, IKLIM_LOGIN, None)
            .header("tenant", tenant)
            .json(&json!({"username": username, "password": STRONG})),
        StatusCode::OK,
    )
    .await;
    text(&body["accessToken"])
}

// ---------------------------------------------------------------- creating

async fn create_iklim(app: &TestApp, key: &str, body: Value) -> Value {
    expect(
        "iklim create",
        bearer(app, Method::POST, IKLIM_CREATE, key).json(&body),
        StatusCode::OK,
    )
    .await
}

async fn create_nevis(app: &TestApp, key: &str, body: Value) -> Value {
    expect(
        "Nevis create",
        bearer(app, Method::POST, NEVIS_USERS, key).json(&body),
        StatusCode::CREATED,
    )
    .await
}

async fn create_cl2c(app: &TestApp, tenant: &str, key: &str, body: Value) -> Value {
    expect(
        "cl2c create",
        cl2c(app, Method::POST, CL2C_USER, tenant, key).json(&body),
        StatusCode::OK,
    )
    .await
}

async fn create_blocks(app: &TestApp, key: &str, body: Value) -> Value {
    expect(
        "Blocks create",
        blocks(app, Method::POST, BLOCKS_CREATE, key).json(&body),
        StatusCode::OK,
    )
    .await
}

/// A Blocks user of `userName`, with a password (so they can log in).
fn blocks_user(user_name: &str) -> Value {
    json!({
        "email": format!("{user_name}@example.com"),
        "userName": user_name,
        "password": STRONG,
        "firstName": "First",
        "lastName": "Last",
    })
}

// ---------------------------------------------------------------- reading

/// One user as each dialect shows it.
#[derive(Debug)]
struct Views {
    /// iklim's user, with its `account`.
    iklim: Value,
    nevis: Value,
    cl2c: Value,
    /// Blocks' user (the `data` of GetUser).
    blocks: Value,
    /// The SCIM User.
    scim: Value,
}

/// Read user `id` through every dialect with an ADMIN key of `tenant`, and
/// check each dialect's list shows the same as its read.
async fn views(app: &TestApp, tenant: &str, key: &str, id: &str) -> Views {
    // iklim reads a whole user only in pages (and as `me`): find it there,
    // with its account, and check the account route answers that account.
    let page = expect(
        "iklim page",
        bearer(app, Method::POST, IKLIM_PAGE, key)
            .json(&json!({"pageSize": 100, "includeAccount": true})),
        StatusCode::OK,
    )
    .await;
    let found: Vec<&Value> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["userId"] == id)
        .collect();
    assert_eq!(found.len(), 1, "iklim page: {page}");
    let iklim = found[0].clone();
    let account = expect(
        "iklim account",
        bearer(app, Method::GET, &format!("/v1/accounts/{id}"), key),
        StatusCode::OK,
    )
    .await;
    assert_eq!(account, iklim["account"], "iklim account route vs page");

    let nevis = expect(
        "Nevis get",
        bearer(app, Method::GET, &format!("{NEVIS_USERS}/{id}"), key),
        StatusCode::OK,
    )
    .await;
    let listed = expect(
        "Nevis list",
        bearer(app, Method::GET, &format!("{NEVIS_USERS}?userId={id}"), key),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"], json!([nevis]), "Nevis list vs get");

    let cl2c_user = expect(
        "cl2c get",
        cl2c(app, Method::GET, &format!("{CL2C_USERS}/{id}"), tenant, key),
        StatusCode::OK,
    )
    .await;
    let all = expect(
        "cl2c list",
        cl2c(app, Method::GET, CL2C_USERS, tenant, key),
        StatusCode::OK,
    )
    .await;
    assert!(
        all.as_array().unwrap().contains(&cl2c_user),
        "cl2c list vs get: {all}"
    );

    let envelope = expect(
        "Blocks GetUser",
        blocks(app, Method::GET, &format!("{BLOCKS_GET_USER}?Id={id}"), key),
        StatusCode::OK,
    )
    .await;
    assert_eq!(envelope["errors"], json!({}), "{envelope}");
    let blocks_user = envelope["data"].clone();
    let listed = expect(
        "Blocks GetUsers",
        blocks(app, Method::POST, BLOCKS_GET_USERS, key)
            .json(&json!({"filter": {"userIds": [id]}})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["data"], json!([blocks_user]), "Blocks list vs get");

    let scim = expect(
        "SCIM get",
        bearer(app, Method::GET, &format!("{SCIM_USERS}/{id}"), key),
        StatusCode::OK,
    )
    .await;
    let listed = expect(
        "SCIM list",
        bearer(
            app,
            Method::GET,
            &format!(
                "{SCIM_USERS}?filter=userName%20eq%20%22{}%22",
                scim["userName"].as_str().unwrap()
            ),
            key,
        ),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["Resources"], json!([scim]), "SCIM list vs get");

    Views {
        iklim,
        nevis,
        cl2c: cl2c_user,
        blocks: blocks_user,
        scim,
    }
}

/// What the dialects share of one user, once they agree on it.
#[derive(Debug, Clone, PartialEq)]
struct Shared {
    id: String,
    username: String,
    email: String,
    title: Value,
    first_name: Value,
    last_name: Value,
    phone: Value,
    /// BCP 47, as Nevis and Blocks write it (iklim: the same with `_`).
    locale: Value,
    /// iklim's status (Blocks' `active` is whether it is ACTIVE).
    status: String,
    email_verified: bool,
    created: String,
    updated: String,
    /// Nevis's `version`.
    version: u64,
}

/// All `values` (of the named dialects) are equal; answers the first.
fn same(field: &str, values: &[(&str, &Value)], views: &Views) -> Value {
    let (first_dialect, first) = values[0];
    for (dialect, value) in &values[1..] {
        assert_eq!(
            *value, first,
            "{field}: {dialect} says {value}, {first_dialect} says {first}\n{views:#?}"
        );
    }
    first.clone()
}

/// Check that every field two dialects share has one value in all of them.
fn agree(v: &Views) -> Shared {
    let (i, a, n, c, b, s) = (
        &v.iklim,
        &v.iklim["account"],
        &v.nevis,
        &v.cl2c,
        &v.blocks,
        &v.scim,
    );
    // SCIM's work number (its fax, if any, is typed `fax`).
    let scim_phone = s["phoneNumbers"]
        .as_array()
        .and_then(|p| p.iter().find(|n| n["type"] == "work"))
        .map_or(Value::Null, |n| n["value"].clone());
    let scim_version = json!(format!("W/\"{}\"", n["version"]));
    let id = same(
        "id",
        &[
            ("Nevis userId", &n["userId"]),
            ("iklim userId", &i["userId"]),
            ("iklim account.userId", &a["userId"]),
            ("iklim account.id", &a["id"]),
            ("cl2c id", &c["id"]),
            ("Blocks itemId", &b["itemId"]),
            ("SCIM id", &s["id"]),
        ],
        v,
    );
    let username = same(
        "username",
        &[
            ("iklim username", &i["username"]),
            ("Nevis loginId", &n["loginId"]),
            ("cl2c userName", &c["userName"]),
            ("Blocks userName", &b["userName"]),
            ("SCIM userName", &s["userName"]),
        ],
        v,
    );
    let email = same(
        "email",
        &[
            ("Nevis contacts.email", &n["contacts"]["email"]),
            ("cl2c email", &c["email"]),
            ("Blocks email", &b["email"]),
            ("SCIM emails[0].value", &s["emails"][0]["value"]),
        ],
        v,
    );
    let title = same(
        "title",
        &[
            ("Nevis name.title", &n["name"]["title"]),
            ("Blocks salutation", &b["salutation"]),
            ("SCIM name.honorificPrefix", &s["name"]["honorificPrefix"]),
        ],
        v,
    );
    let first_name = same(
        "first name",
        &[
            ("iklim firstName", &i["firstName"]),
            ("Nevis name.firstName", &n["name"]["firstName"]),
            ("cl2c firstName", &c["firstName"]),
            ("Blocks firstName", &b["firstName"]),
            ("SCIM name.givenName", &s["name"]["givenName"]),
        ],
        v,
    );
    let last_name = same(
        "last name",
        &[
            ("iklim lastName", &i["lastName"]),
            ("Nevis name.lastName", &n["name"]["lastName"]),
            ("cl2c lastName", &c["lastName"]),
            ("Blocks lastName", &b["lastName"]),
            ("SCIM name.familyName", &s["name"]["familyName"]),
        ],
        v,
    );
    let phone = same(
        "phone",
        &[
            ("iklim account.mobilePhoneNumber", &a["mobilePhoneNumber"]),
            ("Nevis contacts.telephone", &n["contacts"]["telephone"]),
            ("cl2c phoneNumber", &c["phoneNumber"]),
            ("Blocks phoneNumber", &b["phoneNumber"]),
            ("SCIM phoneNumbers[work]", &scim_phone),
        ],
        v,
    );
    let locale = same(
        "locale",
        &[
            ("Nevis languageCode", &n["languageCode"]),
            ("Blocks language", &b["language"]),
            ("SCIM locale", &s["locale"]),
        ],
        v,
    );
    let posix = locale
        .as_str()
        .map_or(Value::Null, |l| Value::String(l.replace('-', "_")));
    assert_eq!(i["locale"], posix, "iklim locale vs {locale}\n{v:#?}");
    let status = text(&i["status"]);
    assert_eq!(
        b["active"],
        json!(status == "ACTIVE"),
        "Blocks active vs iklim status {status}\n{v:#?}"
    );
    assert_eq!(
        s["active"],
        json!(status == "ACTIVE"),
        "SCIM active vs iklim status {status}\n{v:#?}"
    );
    assert_eq!(
        s["meta"]["version"], scim_version,
        "SCIM meta.version vs Nevis version"
    );
    let email_verified = same(
        "e-mail verified",
        &[
            ("iklim account.emailVerified", &a["emailVerified"]),
            ("cl2c emailConfirmed", &c["emailConfirmed"]),
            ("Blocks isVarified", &b["isVarified"]),
        ],
        v,
    );
    let created = same(
        "created",
        &[
            ("iklim account.createdAt", &a["createdAt"]),
            ("Nevis created", &n["created"]),
            ("Blocks createdDate", &b["createdDate"]),
            ("SCIM meta.created", &s["meta"]["created"]),
        ],
        v,
    );
    let updated = same(
        "updated",
        &[
            ("iklim account.updatedAt", &a["updatedAt"]),
            ("Nevis lastModified", &n["lastModified"]),
            ("Blocks lastUpdatedDate", &b["lastUpdatedDate"]),
            ("SCIM meta.lastModified", &s["meta"]["lastModified"]),
        ],
        v,
    );
    Shared {
        id: text(&id),
        username: text(&username),
        email: text(&email),
        title,
        first_name,
        last_name,
        phone,
        locale,
        status,
        email_verified: email_verified.as_bool().unwrap(),
        created: text(&created),
        updated: text(&updated),
        version: n["version"].as_u64().unwrap(),
    }
}

/// The ids in a list of users, by the id field of its dialect.
fn ids(users: &Value, field: &str) -> Vec<String> {
    users
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {users}"))
        .iter()
        .map(|u| text(&u[field]))
        .collect()
}

/// The ids every list route of every dialect shows a key of `tenant`.
async fn listed_everywhere(app: &TestApp, tenant: &str, key: &str) -> Vec<(String, Vec<String>)> {
    let mut lists = Vec::new();
    let page = expect(
        "iklim page",
        bearer(app, Method::POST, IKLIM_PAGE, key).json(&json!({"pageSize": 100})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        page["totalRecords"],
        page["users"].as_array().unwrap().len(),
        "{page}"
    );
    lists.push(("iklim page".to_owned(), ids(&page["users"], "userId")));
    let page = expect(
        "Nevis list",
        bearer(app, Method::GET, NEVIS_USERS, key),
        StatusCode::OK,
    )
    .await;
    lists.push(("Nevis list".to_owned(), ids(&page["items"], "userId")));
    let list = expect(
        "cl2c list",
        cl2c(app, Method::GET, CL2C_USERS, tenant, key),
        StatusCode::OK,
    )
    .await;
    lists.push(("cl2c list".to_owned(), ids(&list, "id")));
    let page = expect(
        "Blocks GetUsers",
        blocks(app, Method::POST, BLOCKS_GET_USERS, key).json(&json!({"pageSize": 100})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        page["totalCount"],
        page["data"].as_array().unwrap().len(),
        "{page}"
    );
    lists.push(("Blocks GetUsers".to_owned(), ids(&page["data"], "itemId")));
    lists
}

/// Every list of every dialect shows exactly `expected` (in any order).
async fn lists_show(app: &TestApp, tenant: &str, key: &str, expected: &[String]) {
    let mut expected = expected.to_vec();
    expected.sort();
    for (list, mut shown) in listed_everywhere(app, tenant, key).await {
        shown.sort();
        assert_eq!(shown, expected, "{list}");
    }
}

// ---------------------------------------------------------------- comparing answers

/// `value` without request ids, which differ between any two answers.
fn without_request_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("requestId");
            map.values_mut().for_each(without_request_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(without_request_ids),
        _ => {}
    }
}

/// The answer to `request`, with `named` (the id or name the request
/// names, which an answer may echo, as cl2c's `instance` does) masked and
/// request ids dropped.
async fn masked(request: RequestBuilder, named: &str) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap().replace(named, "<named>");
    let mut body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    without_request_ids(&mut body);
    (status, body)
}

/// A request naming a user (by id, or by username for a login).
struct Probe<'a> {
    label: String,
    /// What an ADMIN key of the tenant gets for an id nobody has.
    admin: StatusCode,
    request: Box<dyn Fn(&str) -> RequestBuilder + 'a>,
}

/// Each probe answers for `target` exactly what it answers for `unknown`
/// (status and body, request ids aside), and that answer is a refusal: the
/// probe's `admin` status when the credential is an ADMIN key.
async fn answers_as_unknown(probes: &[Probe<'_>], target: &str, unknown: &str, admin: bool) {
    for Probe {
        label,
        admin: admin_status,
        request,
    } in probes
    {
        let for_target = masked(request(target), target).await;
        let for_unknown = masked(request(unknown), unknown).await;
        assert_eq!(
            for_target, for_unknown,
            "{label}: {target} answers unlike a user that does not exist"
        );
        assert!(
            !for_target.0.is_success(),
            "{label}: {target} answered {for_target:?}"
        );
        if admin {
            assert_eq!(for_target.0, *admin_status, "{label}: {for_target:?}");
        }
    }
}

/// Probes of every route that names a user, with `key` (an ADMIN key or a
/// user's access token) and, for cl2c's key routes, `tenant`.
fn probes<'a>(app: &'a TestApp, tenant: &'a str, key: &'a str) -> Vec<Probe<'a>> {
    let mut probes: Vec<Probe<'a>> = Vec::new();
    let mut add =
        |label: &str, admin: StatusCode, request: Box<dyn Fn(&str) -> RequestBuilder + 'a>| {
            probes.push(Probe {
                label: label.to_owned(),
                admin,
                request,
            });
        };
    // iklim.
    add(
        "iklim GET /v1/accounts/{id}",
        StatusCode::NOT_FOUND,
        Box::new(move |id| bearer(app, Method::GET, &format!("/v1/accounts/{id}"), key)),
    );
    for body in [
        json!({"firstName": "Mallory"}),
        json!({}),
        json!({"username": "mallory@example.com"}),
        json!({"password": OTHER_PASSWORD}),
        json!({"roles": ["ADMIN"], "status": "ACTIVE"}),
        json!({"status": "DELETED"}),
    ] {
        add(
            &format!("iklim update {body}"),
            StatusCode::NOT_FOUND,
            Box::new(move |id| {
                let mut body = body.clone();
                body["userId"] = json!(id);
                bearer(app, Method::PATCH, IKLIM_UPDATE, key).json(&body)
            }),
        );
    }
    add(
        "iklim change-password",
        StatusCode::FORBIDDEN,
        Box::new(move |id| {
            bearer(app, Method::POST, IKLIM_CHANGE_PASSWORD, key).json(&json!({
                "userId": id, "oldPassword": STRONG, "newPassword": OTHER_PASSWORD
            }))
        }),
    );
    // Nevis.
    add(
        "Nevis GET",
        StatusCode::NOT_FOUND,
        Box::new(move |id| bearer(app, Method::GET, &format!("{NEVIS_USERS}/{id}"), key)),
    );
    for body in [
        json!({"name": {"firstName": "Mallory"}}),
        json!({"version": 1, "name": {"firstName": "Mallory"}}),
        json!({"address": {"city": "Bern"}}),
        json!({"loginId": "mallory@example.com"}),
        json!({}),
    ] {
        add(
            &format!("Nevis PATCH {body}"),
            StatusCode::NOT_FOUND,
            Box::new(move |id| {
                bearer(app, Method::PATCH, &format!("{NEVIS_USERS}/{id}"), key).json(&body)
            }),
        );
    }
    add(
        "Nevis DELETE",
        StatusCode::NOT_FOUND,
        Box::new(move |id| bearer(app, Method::DELETE, &format!("{NEVIS_USERS}/{id}"), key)),
    );
    // cl2c: get by id with a key; the logged-in user's update with a token.
    add(
        "cl2c GET /v1/cl2c/users/{id}",
        StatusCode::NOT_FOUND,
        Box::new(move |id| cl2c(app, Method::GET, &format!("{CL2C_USERS}/{id}"), tenant, key)),
    );
    add(
        "cl2c PUT /v1/cl2c/user",
        StatusCode::FORBIDDEN,
        Box::new(move |id| {
            bearer(app, Method::PUT, CL2C_USER, key)
                .json(&json!({"id": id, "firstName": "Mallory"}))
        }),
    );
    // Blocks.
    add(
        "Blocks GetUser",
        StatusCode::NOT_FOUND,
        Box::new(move |id| blocks(app, Method::GET, &format!("{BLOCKS_GET_USER}?Id={id}"), key)),
    );
    add(
        "Blocks GetUser with its own ProjectKey",
        StatusCode::NOT_FOUND,
        Box::new(move |id| {
            blocks(
                app,
                Method::GET,
                &format!("{BLOCKS_GET_USER}?Id={id}&ProjectKey={tenant}"),
                key,
            )
        }),
    );
    for body in [
        json!({"firstName": "Mallory"}),
        json!({"active": false}),
        json!({"active": true}),
        json!({"isVarified": true}),
        json!({"mfaEnabled": true}),
        json!({"organizationId": "org_evil"}),
        json!({}),
    ] {
        add(
            &format!("Blocks Update {body}"),
            StatusCode::NOT_FOUND,
            Box::new(move |id| {
                let mut body = body.clone();
                body["itemId"] = json!(id);
                blocks(app, Method::POST, BLOCKS_UPDATE, key).json(&body)
            }),
        );
    }
    // SCIM.
    add(
        "SCIM GET",
        StatusCode::NOT_FOUND,
        Box::new(move |id| bearer(app, Method::GET, &format!("{SCIM_USERS}/{id}"), key)),
    );
    add(
        "SCIM DELETE",
        StatusCode::NOT_FOUND,
        Box::new(move |id| bearer(app, Method::DELETE, &format!("{SCIM_USERS}/{id}"), key)),
    );
    add(
        "SCIM PUT",
        StatusCode::NOT_FOUND,
        Box::new(move |id| {
            bearer(app, Method::PUT, &format!("{SCIM_USERS}/{id}"), key).json(&json!({
                "userName": "mallory", "emails": [{"value": "mallory@example.com"}],
                "active": true
            }))
        }),
    );
    for operation in [
        json!({"op": "replace", "value": {"active": false}}),
        json!({"op": "Replace", "path": "name.givenName", "value": "Mallory"}),
        json!({"op": "add", "path": "roles", "value": [{"value": "ADMIN"}]}),
        json!({"op": "replace", "path": "externalId", "value": "evil"}),
    ] {
        add(
            &format!("SCIM PATCH {operation}"),
            StatusCode::NOT_FOUND,
            Box::new(move |id| {
                bearer(app, Method::PATCH, &format!("{SCIM_USERS}/{id}"), key).json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [operation.clone()]
                }))
            }),
        );
    }
    probes
}

/// A password login to `tenant` as `username`.
fn login_probe<'a>(app: &'a TestApp, tenant: &'a str) -> Probe<'a> {
    Probe {
        label: format!("iklim login to {tenant}"),
        admin: StatusCode::UNAUTHORIZED,
        request: Box::new(move |username| {
            app.request(Method::POST, IKLIM_LOGIN, None)
                .header("tenant", tenant)
                .json(&json!({"username": username, "password": STRONG}))
        }),
    }
}

fn unknown_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

// ---------------------------------------------------------------- tests

/// A user created through each dialect reads the same through each other:
/// names, e-mail, username, phone, locale (in each dialect's form), status
/// and the verified flag, and the timestamps and version.
async fn a_user_created_anywhere_reads_the_same_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.admin_key.as_str();

    // iklim: the username is the e-mail; iklim takes no phone number.
    let created = create_iklim(
        &app,
        key,
        json!({
            "username": "Ada.Lovelace@example.com",
            "password": STRONG,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "locale": "tr_TR",
            "timezone": "Europe/Istanbul",
            "roles": ["STANDARD_USER"],
            "status": "INACTIVE",
        }),
    )
    .await;
    let id = text(&created["userId"]);
    let v = views(&app, "acme", key, &id).await;
    assert_eq!(v.iklim, created, "iklim reads what it created");
    let shared = agree(&v);
    assert_eq!(
        shared,
        Shared {
            id,
            username: "Ada.Lovelace@example.com".into(),
            email: "Ada.Lovelace@example.com".into(),
            title: Value::Null,
            first_name: json!("Ada"),
            last_name: json!("Lovelace"),
            phone: Value::Null,
            locale: json!("tr-TR"),
            status: "INACTIVE".into(),
            email_verified: false,
            created: shared.created.clone(),
            updated: shared.created.clone(),
            version: 1,
        }
    );
    assert_eq!(v.iklim["locale"], "tr_TR");
    assert_eq!(v.nevis["languageCode"], "tr-TR");
    assert_eq!(v.blocks["language"], "tr-TR");
    assert_eq!(v.blocks["active"], false);

    // Nevis: the loginId is the e-mail.
    let created = create_nevis(
        &app,
        key,
        json!({
            "loginId": "Grace.Hopper@example.com",
            "languageCode": "de-CH",
            "name": {"title": "Dr.", "firstName": "Grace", "lastName": "Hopper"},
            "contacts": {"telephone": "+41446681800"},
        }),
    )
    .await;
    let id = text(&created["userId"]);
    let v = views(&app, "acme", key, &id).await;
    assert_eq!(v.nevis, created, "Nevis reads what it created");
    let shared = agree(&v);
    assert_eq!(
        shared,
        Shared {
            id,
            username: "Grace.Hopper@example.com".into(),
            email: "Grace.Hopper@example.com".into(),
            title: json!("Dr."),
            first_name: json!("Grace"),
            last_name: json!("Hopper"),
            phone: json!("+41446681800"),
            locale: json!("de-CH"),
            status: "ACTIVE".into(),
            email_verified: false,
            created: shared.created.clone(),
            updated: shared.created.clone(),
            version: 1,
        }
    );
    assert_eq!(v.iklim["locale"], "de_CH");
    assert_eq!(v.iklim["account"]["mobilePhoneNumber"], "+41446681800");
    assert_eq!(v.blocks["active"], true);

    // cl2c: a username apart from the e-mail; no locale.
    let created = create_cl2c(
        &app,
        "acme",
        key,
        json!({
            "firstName": "Alan",
            "lastName": "Turing",
            "email": "alan.turing@example.com",
            "userName": "aturing",
            "phoneNumber": "+14155552671",
        }),
    )
    .await;
    let id = text(&created["id"]);
    let v = views(&app, "acme", key, &id).await;
    assert_eq!(v.cl2c, created, "cl2c reads what it created");
    let shared = agree(&v);
    assert_eq!(
        shared,
        Shared {
            id,
            username: "aturing".into(),
            email: "alan.turing@example.com".into(),
            title: Value::Null,
            first_name: json!("Alan"),
            last_name: json!("Turing"),
            phone: json!("+14155552671"),
            locale: Value::Null,
            status: "ACTIVE".into(),
            email_verified: false,
            created: shared.created.clone(),
            updated: shared.created.clone(),
            version: 1,
        }
    );
    assert_eq!(v.iklim["locale"], Value::Null);

    // Blocks: a username apart from the e-mail, a salutation, a language.
    let created = create_blocks(
        &app,
        key,
        json!({
            "email": "katherine.johnson@example.com",
            "userName": "kjohnson",
            "password": STRONG,
            "salutation": "Ms.",
            "firstName": "Katherine",
            "lastName": "Johnson",
            "language": "en-US",
            "phoneNumber": "+41446681801",
        }),
    )
    .await;
    let id = text(&created["itemId"]);
    let v = views(&app, "acme", key, &id).await;
    assert_eq!(v.blocks, created, "Blocks reads what it created");
    let shared = agree(&v);
    assert_eq!(
        shared,
        Shared {
            id,
            username: "kjohnson".into(),
            email: "katherine.johnson@example.com".into(),
            title: json!("Ms."),
            first_name: json!("Katherine"),
            last_name: json!("Johnson"),
            phone: json!("+41446681801"),
            locale: json!("en-US"),
            status: "ACTIVE".into(),
            email_verified: false,
            created: shared.created.clone(),
            updated: shared.created.clone(),
            version: 1,
        }
    );
    assert_eq!(v.iklim["locale"], "en_US");
    assert_eq!(v.nevis["languageCode"], "en-US");
    assert_eq!(v.iklim["roles"], json!(["STANDARD_USER"]));

    // SCIM: Okta's shape, a username apart from the e-mail, INACTIVE.
    let created = expect(
        "SCIM create",
        bearer(&app, Method::POST, SCIM_USERS, key).json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "dvaughan",
            "externalId": "00u9dv",
            "name": {"honorificPrefix": "Mrs.", "givenName": "Dorothy", "familyName": "Vaughan"},
            "emails": [{"value": "dorothy.vaughan@example.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+41446681802", "type": "work"}],
            "locale": "de-CH",
            "active": false,
            "password": STRONG,
        })),
        StatusCode::CREATED,
    )
    .await;
    let id = text(&created["id"]);
    let v = views(&app, "acme", key, &id).await;
    assert_eq!(v.scim, created, "SCIM reads what it created");
    let shared = agree(&v);
    assert_eq!(
        shared,
        Shared {
            id,
            username: "dvaughan".into(),
            email: "dorothy.vaughan@example.com".into(),
            title: json!("Mrs."),
            first_name: json!("Dorothy"),
            last_name: json!("Vaughan"),
            phone: json!("+41446681802"),
            locale: json!("de-CH"),
            status: "INACTIVE".into(),
            email_verified: false,
            created: shared.created.clone(),
            updated: shared.created.clone(),
            version: 1,
        }
    );
    // Changed through Blocks, read through SCIM; and back.
    let blocks_update = expect(
        "Blocks update of a SCIM user",
        blocks(&app, Method::POST, BLOCKS_UPDATE, key)
            .json(&json!({"itemId": shared.id, "firstName": "Dot"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(blocks_update["firstName"], "Dot", "{blocks_update}");
    let scim = expect(
        "SCIM patch",
        bearer(&app, Method::PATCH, &format!("{SCIM_USERS}/{}", shared.id), key).json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"name.familyName": "Vaughan-Smith", "active": true}}]
        })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(scim["name"]["givenName"], "Dot");
    let v = views(&app, "acme", key, &shared.id).await;
    let after = agree(&v);
    assert_eq!(after.last_name, json!("Vaughan-Smith"));
    assert_eq!(after.first_name, json!("Dot"));
    assert_eq!(after.status, "ACTIVE");
    assert_eq!(after.version, 3);
}

/// Read the user through every dialect after a change: everything agrees,
/// it is `expected`, the version is one more and the change time later
/// than `before`'s.
async fn after_change(app: &TestApp, before: &Shared, expected: Shared) -> (Shared, Views) {
    let v = views(app, "acme", &app.admin_key, &before.id).await;
    let now = agree(&v);
    assert_eq!(now.version, before.version + 1, "one change, one version");
    assert!(
        time_of(&json!(now.updated)) > time_of(&json!(before.updated)),
        "updated {} after {}",
        now.updated,
        before.updated
    );
    assert_eq!(now.created, before.created);
    assert_eq!(
        now,
        Shared {
            version: now.version,
            updated: now.updated.clone(),
            ..expected
        }
    );
    (now, v)
}

/// A change through any dialect that changes users is seen through all,
/// with one version and one change time; Nevis's conditional update sees
/// the version changes through other dialects made.
async fn an_update_through_one_is_seen_through_all(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.admin_key.as_str();
    let created = create_blocks(
        &app,
        key,
        json!({
            "email": "mary.jackson@example.com",
            "userName": "mjackson",
            "password": STRONG,
            "firstName": "Mary",
            "lastName": "Jackson",
            "language": "en-US",
            "phoneNumber": "+14155552671",
        }),
    )
    .await;
    let id = text(&created["itemId"]);
    let token = login(&app, "acme", "mjackson").await;
    let start = agree(&views(&app, "acme", key, &id).await);
    assert_eq!(start.version, 1, "a login is not a change of the user");

    // iklim, as ADMIN.
    let answered = expect(
        "iklim update",
        bearer(&app, Method::PATCH, IKLIM_UPDATE, key).json(&json!({
            "userId": id, "firstName": "Mae", "locale": "tr_TR"
        })),
        StatusCode::OK,
    )
    .await;
    let (after_iklim, v) = after_change(
        &app,
        &start,
        Shared {
            first_name: json!("Mae"),
            locale: json!("tr-TR"),
            ..start.clone()
        },
    )
    .await;
    assert_eq!(answered, v.iklim, "iklim answers the user as read");

    // Nevis, conditional on the version it read.
    let change = json!({
        "version": after_iklim.version,
        "name": {"title": "Dr.", "lastName": "Smith"},
        "contacts": {"telephone": "+41446681800"},
        "languageCode": "de-CH",
    });
    let answered = expect(
        "Nevis PATCH",
        bearer(&app, Method::PATCH, &format!("{NEVIS_USERS}/{id}"), key).json(&change),
        StatusCode::OK,
    )
    .await;
    let (after_nevis, v) = after_change(
        &app,
        &after_iklim,
        Shared {
            title: json!("Dr."),
            last_name: json!("Smith"),
            phone: json!("+41446681800"),
            locale: json!("de-CH"),
            ..after_iklim.clone()
        },
    )
    .await;
    assert_eq!(answered, v.nevis, "Nevis answers the user as read");
    assert_eq!(answered["version"], after_nevis.version);
    assert_eq!(answered["lastModified"], after_nevis.updated);
    // The same version again is stale, and changes nothing.
    let body = expect(
        "Nevis PATCH with a stale version",
        bearer(&app, Method::PATCH, &format!("{NEVIS_USERS}/{id}"), key).json(&change),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        body["errors"][0]["code"], "errors.versionConflict",
        "{body}"
    );
    assert_eq!(agree(&views(&app, "acme", key, &id).await), after_nevis);

    // cl2c, as the logged-in user.
    let answered = expect(
        "cl2c PUT",
        bearer(&app, Method::PUT, CL2C_USER, &token).json(&json!({
            "id": id, "firstName": "Dorothy", "lastName": "Vaughan", "phoneNumber": "+14155552671"
        })),
        StatusCode::OK,
    )
    .await;
    let (after_cl2c, v) = after_change(
        &app,
        &after_nevis,
        Shared {
            first_name: json!("Dorothy"),
            last_name: json!("Vaughan"),
            phone: json!("+14155552671"),
            ..after_nevis.clone()
        },
    )
    .await;
    assert_eq!(answered, v.cl2c, "cl2c answers the user as read");

    // Blocks, as ADMIN: profile, verification and status.
    let answered = expect(
        "Blocks Update",
        blocks(&app, Method::POST, BLOCKS_UPDATE, key).json(&json!({
            "itemId": id,
            "salutation": "Ms.",
            "firstName": "Katherine",
            "language": "en-GB",
            "phoneNumber": "+41446681801",
            "isVarified": true,
            "active": false,
        })),
        StatusCode::OK,
    )
    .await;
    let (after_blocks, v) = after_change(
        &app,
        &after_cl2c,
        Shared {
            title: json!("Ms."),
            first_name: json!("Katherine"),
            locale: json!("en-GB"),
            phone: json!("+41446681801"),
            email_verified: true,
            status: "INACTIVE".into(),
            ..after_cl2c.clone()
        },
    )
    .await;
    assert_eq!(answered, v.blocks, "Blocks answers the user as read");
    assert_eq!(v.iklim["locale"], "en_GB");
    assert_eq!(v.iklim["account"]["emailVerified"], true);
    assert_eq!(v.cl2c["emailConfirmed"], true);

    // A status set through iklim is Blocks' `active`, and back.
    expect(
        "iklim update status",
        bearer(&app, Method::PATCH, IKLIM_UPDATE, key)
            .json(&json!({"userId": id, "status": "BLOCKED"})),
        StatusCode::OK,
    )
    .await;
    let (after_blocked, v) = after_change(
        &app,
        &after_blocks,
        Shared {
            status: "BLOCKED".into(),
            ..after_blocks.clone()
        },
    )
    .await;
    assert_eq!(v.blocks["active"], false);
    expect(
        "Blocks Update active",
        blocks(&app, Method::POST, BLOCKS_UPDATE, key).json(&json!({"itemId": id, "active": true})),
        StatusCode::OK,
    )
    .await;
    let (now, v) = after_change(
        &app,
        &after_blocked,
        Shared {
            status: "ACTIVE".into(),
            ..after_blocked.clone()
        },
    )
    .await;
    assert_eq!(v.iklim["status"], "ACTIVE");

    // Nevis's version counts the changes made through the other dialects:
    // the version it saw before them is stale, the current one is not.
    let body = expect(
        "Nevis PATCH with the version before other dialects' changes",
        bearer(&app, Method::PATCH, &format!("{NEVIS_USERS}/{id}"), key).json(&json!({
            "version": after_nevis.version, "name": {"firstName": "Stale"}
        })),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        body["errors"][0]["code"], "errors.versionConflict",
        "{body}"
    );
    assert_eq!(agree(&views(&app, "acme", key, &id).await), now);
    let answered = expect(
        "Nevis PATCH with the current version",
        bearer(&app, Method::PATCH, &format!("{NEVIS_USERS}/{id}"), key).json(&json!({
            "version": now.version, "name": {"firstName": "Current"}
        })),
        StatusCode::OK,
    )
    .await;
    let (last, _) = after_change(
        &app,
        &now,
        Shared {
            first_name: json!("Current"),
            ..now.clone()
        },
    )
    .await;
    assert_eq!(answered["version"], last.version);
    assert_eq!(last.version, 8);
}

/// The fields a refusal names, sorted.
fn refused(body: &Value) -> Vec<String> {
    let mut fields = error_fields(body);
    fields.sort();
    fields
}

/// iklim's rules in every dialect: a STANDARD_USER changes its own names
/// but not its roles or status; neither it nor a STANDARD_USER key changes
/// anyone else; a refusal changes nothing.
async fn the_update_rules_hold_in_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.admin_key.as_str();
    let me = text(&create_blocks(&app, key, blocks_user("self")).await["itemId"]);
    let other = text(&create_blocks(&app, key, blocks_user("other")).await["itemId"]);
    let token = login(&app, "acme", "self").await;
    let standard_key = app.key(app.tenant.clone(), &[Role::StandardUser]);
    let v = views(&app, "acme", key, &me).await;
    assert_eq!(v.iklim["roles"], json!(["STANDARD_USER"]));
    let mut mine = agree(&v);
    let others = agree(&views(&app, "acme", key, &other).await);

    // Its own names, through each dialect.
    let own_changes = [
        (
            "iklim",
            bearer(&app, Method::PATCH, IKLIM_UPDATE, &token)
                .json(&json!({"userId": me, "firstName": "Iklim"})),
            json!("Iklim"),
            None,
        ),
        (
            "Nevis",
            bearer(&app, Method::PATCH, &format!("{NEVIS_USERS}/{me}"), &token)
                .json(&json!({"name": {"lastName": "Nevis"}})),
            json!("Iklim"),
            Some(json!("Nevis")),
        ),
        (
            "cl2c",
            bearer(&app, Method::PUT, CL2C_USER, &token)
                .json(&json!({"id": me, "firstName": "Cl2c"})),
            json!("Cl2c"),
            None,
        ),
        (
            "Blocks",
            blocks(&app, Method::POST, BLOCKS_UPDATE, &token)
                .json(&json!({"itemId": me, "lastName": "Blocks"})),
            json!("Cl2c"),
            Some(json!("Blocks")),
        ),
    ];
    for (dialect, request, first_name, last_name) in own_changes {
        expect(&format!("{dialect}: own name"), request, StatusCode::OK).await;
        let expected = Shared {
            first_name,
            last_name: last_name.unwrap_or_else(|| mine.last_name.clone()),
            ..mine.clone()
        };
        mine = after_change(&app, &mine, expected).await.0;
    }
    assert_eq!(mine.version, 5);

    // Not its roles or status (nor the verified flag, an ADMIN's), named;
    // nothing changes, not even the names sent with them.
    let refusals = [
        (
            "iklim roles",
            bearer(&app, Method::PATCH, IKLIM_UPDATE, &token)
                .json(&json!({"userId": me, "roles": ["ADMIN"]})),
            vec!["roles"],
        ),
        (
            "iklim status",
            bearer(&app, Method::PATCH, IKLIM_UPDATE, &token)
                .json(&json!({"userId": me, "status": "BLOCKED"})),
            vec!["status"],
        ),
        (
            "iklim names, roles and status",
            bearer(&app, Method::PATCH, IKLIM_UPDATE, &token).json(&json!({
                "userId": me, "firstName": "Mallory", "roles": "['POWER_USER']", "status": "['INACTIVE']"
            })),
            vec!["roles", "status"],
        ),
        (
            "Blocks active",
            blocks(&app, Method::POST, BLOCKS_UPDATE, &token)
                .json(&json!({"itemId": me, "active": false})),
            vec!["active"],
        ),
        (
            "Blocks isVarified",
            blocks(&app, Method::POST, BLOCKS_UPDATE, &token)
                .json(&json!({"itemId": me, "isVarified": true})),
            vec!["isVarified"],
        ),
        (
            "Blocks names and active",
            blocks(&app, Method::POST, BLOCKS_UPDATE, &token)
                .json(&json!({"itemId": me, "firstName": "Mallory", "active": false})),
            vec!["active"],
        ),
        (
            "Nevis DELETE of itself (the status is an ADMIN's)",
            bearer(&app, Method::DELETE, &format!("{NEVIS_USERS}/{me}"), &token),
            vec!["status"],
        ),
    ];
    for (label, request, fields) in refusals {
        let body = expect(label, request, StatusCode::FORBIDDEN).await;
        assert_eq!(refused(&body), fields, "{label}: {body}");
        assert_eq!(
            agree(&views(&app, "acme", key, &me).await),
            mine,
            "{label}: nothing changes"
        );
    }
    let v = views(&app, "acme", key, &me).await;
    assert_eq!(v.iklim["roles"], json!(["STANDARD_USER"]));
    assert_eq!(v.iklim["status"], "ACTIVE");

    // Neither the user nor a STANDARD_USER key changes another user.
    for (who, credential) in [
        ("the logged-in user", token.as_str()),
        ("a STANDARD_USER key", standard_key.as_str()),
    ] {
        let attempts = [
            (
                "iklim update",
                bearer(&app, Method::PATCH, IKLIM_UPDATE, credential)
                    .json(&json!({"userId": other, "firstName": "Mallory"})),
                Some("firstName"),
            ),
            (
                "Nevis PATCH",
                bearer(
                    &app,
                    Method::PATCH,
                    &format!("{NEVIS_USERS}/{other}"),
                    credential,
                )
                .json(&json!({"name": {"firstName": "Mallory"}})),
                Some("name.firstName"),
            ),
            (
                "Nevis DELETE",
                bearer(
                    &app,
                    Method::DELETE,
                    &format!("{NEVIS_USERS}/{other}"),
                    credential,
                ),
                Some("status"),
            ),
            (
                "Blocks Update",
                blocks(&app, Method::POST, BLOCKS_UPDATE, credential)
                    .json(&json!({"itemId": other, "firstName": "Mallory"})),
                Some("firstName"),
            ),
            (
                "cl2c PUT",
                bearer(&app, Method::PUT, CL2C_USER, credential)
                    .json(&json!({"id": other, "firstName": "Mallory"})),
                None,
            ),
        ];
        for (route, request, field) in attempts {
            let body = expect(&format!("{who}: {route}"), request, StatusCode::FORBIDDEN).await;
            if let Some(field) = field {
                assert_eq!(refused(&body), [field], "{who}: {route}: {body}");
            }
            assert_eq!(
                agree(&views(&app, "acme", key, &other).await),
                others,
                "{who}: {route}: nothing changes"
            );
        }
    }
    assert_eq!(others.version, 1);
    assert_eq!(agree(&views(&app, "acme", key, &me).await), mine);
}

/// No route of any dialect tells a credential of tenant B anything about a
/// user of tenant A: every route that names a user answers exactly as for
/// an id nobody has, lists show only B's users, and nothing of A changes.
async fn every_route_of_every_dialect_isolates_tenants(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key_a = app.admin_key.as_str();
    // A's users, one created through each dialect.
    let alice = create_blocks(&app, key_a, blocks_user("alice")).await;
    let a_iklim = create_iklim(
        &app,
        key_a,
        json!({
            "username": "a.iklim@example.com", "password": STRONG, "firstName": "A",
            "lastName": "Iklim", "locale": "en_US", "timezone": "Europe/Zurich",
            "roles": ["STANDARD_USER"], "status": "ACTIVE"
        }),
    )
    .await;
    let a_nevis = create_nevis(&app, key_a, json!({"loginId": "a.nevis@example.com"})).await;
    let a_cl2c = create_cl2c(
        &app,
        "acme",
        key_a,
        json!({"firstName": "A", "lastName": "Cl2c", "email": "a.cl2c@example.com",
               "userName": "acl2c", "phoneNumber": "+14155552671"}),
    )
    .await;
    let a_ids = [
        text(&alice["itemId"]),
        text(&a_iklim["userId"]),
        text(&a_nevis["userId"]),
        text(&a_cl2c["id"]),
    ];
    let a_before: Vec<Shared> = {
        let mut all = Vec::new();
        for id in &a_ids {
            all.push(agree(&views(&app, "acme", key_a, id).await));
        }
        all
    };

    // Tenant B: an ADMIN key and a user with a password.
    let beta = app.new_tenant("beta");
    let key_b = app.key(beta, &[Role::Admin]);
    let bob = create_blocks(&app, &key_b, blocks_user("bob")).await;
    let b_ids = [text(&bob["itemId"])];
    let token_b = login(&app, "beta", "bob").await;

    // Every route that names a user: A's users are users nobody has.
    let unknown = unknown_id();
    let with_key = probes(&app, "beta", &key_b);
    let with_token = probes(&app, "beta", &token_b);
    for id in &a_ids {
        answers_as_unknown(&with_key, id, &unknown, true).await;
        answers_as_unknown(&with_token, id, &unknown, false).await;
    }
    // Nor does logging in to B as A's user (with A's password) tell anything.
    answers_as_unknown(&[login_probe(&app, "beta")], "alice", "nobody", true).await;
    answers_as_unknown(
        &[login_probe(&app, "beta")],
        "a.iklim@example.com",
        "nobody@example.com",
        true,
    )
    .await;

    // Lists show B's users only, whatever the filter.
    lists_show(&app, "beta", &key_b, &b_ids).await;
    for (id, email, name) in [
        (&a_ids[0], "alice@example.com", "alice"),
        (&a_ids[1], "a.iklim@example.com", "a.iklim"),
        (&a_ids[2], "a.nevis@example.com", "a.nevis"),
        (&a_ids[3], "a.cl2c@example.com", "acl2c"),
    ] {
        for query in [
            format!("?userId={id}"),
            format!("?loginId={email}"),
            format!("?email={email}"),
        ] {
            let page = expect(
                &format!("Nevis list{query}"),
                bearer(&app, Method::GET, &format!("{NEVIS_USERS}{query}"), &key_b),
                StatusCode::OK,
            )
            .await;
            assert_eq!(page["items"], json!([]), "Nevis list{query}");
        }
        for filter in [
            json!({"userIds": [id]}),
            json!({"email": email}),
            json!({"name": name}),
        ] {
            let page = expect(
                &format!("Blocks GetUsers {filter}"),
                blocks(&app, Method::POST, BLOCKS_GET_USERS, &key_b)
                    .json(&json!({"filter": filter})),
                StatusCode::OK,
            )
            .await;
            assert_eq!(page["data"], json!([]), "Blocks GetUsers {filter}");
            assert_eq!(page["totalCount"], 0, "Blocks GetUsers {filter}");
        }
    }
    // B's access token lists nothing (a STANDARD_USER may not list at all).
    for (label, request) in [
        (
            "iklim page",
            bearer(&app, Method::POST, IKLIM_PAGE, &token_b).json(&json!({})),
        ),
        (
            "Nevis list",
            bearer(&app, Method::GET, NEVIS_USERS, &token_b),
        ),
        (
            "Blocks GetUsers",
            blocks(&app, Method::POST, BLOCKS_GET_USERS, &token_b).json(&json!({})),
        ),
    ] {
        let (status, body) = reply(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{label}: {body}");
    }

    // A is untouched: the same users, lists, versions and password.
    let mut a_after = Vec::new();
    for id in &a_ids {
        a_after.push(agree(&views(&app, "acme", key_a, id).await));
    }
    assert_eq!(a_after, a_before);
    lists_show(&app, "acme", key_a, &a_ids).await;
    login(&app, "acme", "alice").await;
}

/// Nevis lets a create choose the `userId`. A tenant B key that creates a
/// user with the id of a user of tenant A must get the answer it gets for
/// an id nobody has (201, a user of B), not a conflict that tells it the id
/// exists elsewhere; and A's user stays as it was.
async fn creating_with_another_tenants_user_id_reveals_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a_user = create_nevis(&app, &app.admin_key, json!({"loginId": "a@example.com"})).await;
    let a_id = text(&a_user["userId"]);
    let beta = app.new_tenant("beta");
    let key_b = app.key(beta, &[Role::Admin]);

    // An id nobody has: created.
    let unknown = unknown_id();
    let (status, body) = reply(
        bearer(&app, Method::POST, NEVIS_USERS, &key_b)
            .json(&json!({"loginId": "b1@example.com", "userId": unknown})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A's user's id: the same answer.
    let (status, body) = reply(
        bearer(&app, Method::POST, NEVIS_USERS, &key_b)
            .json(&json!({"loginId": "b2@example.com", "userId": a_id})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a key of tenant B must not learn that tenant A has a user with this id: {body}"
    );
    assert_eq!(body["userId"], a_id);
    assert_eq!(body["loginId"], "b2@example.com");
    assert_eq!(
        agree(&views(&app, "acme", &app.admin_key, &a_id).await).username,
        "a@example.com"
    );
}

/// A user deleted (through Nevis, or as status DELETED through iklim) is,
/// for every dialect, a user that does not exist.
async fn deleted_users_are_unknown_in_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.admin_key.as_str();
    let keeper = text(&create_blocks(&app, key, blocks_user("keeper")).await["itemId"]);
    let by_nevis = text(&create_blocks(&app, key, blocks_user("gone.nevis")).await["itemId"]);
    let by_iklim = text(
        &create_iklim(
            &app,
            key,
            json!({
                "username": "gone.iklim@example.com", "password": STRONG, "firstName": "Gone",
                "lastName": "Iklim", "locale": "en_US", "timezone": "Europe/Zurich",
                "roles": ["STANDARD_USER"], "status": "ACTIVE"
            }),
        )
        .await["userId"],
    );
    let cl2c_by_nevis = text(
        &create_cl2c(
            &app,
            "acme",
            key,
            json!({"firstName": "Gone", "lastName": "Cl2c", "email": "gone.cl2c@example.com",
                   "userName": "gonecl2c", "phoneNumber": "+14155552671"}),
        )
        .await["id"],
    );
    let nevis_by_iklim = text(
        &create_nevis(&app, key, json!({"loginId": "gone.nevis2@example.com"})).await["userId"],
    );
    let token = login(&app, "acme", "gone.nevis").await;

    for id in [&by_nevis, &cl2c_by_nevis] {
        let (status, body) = reply(bearer(
            &app,
            Method::DELETE,
            &format!("{NEVIS_USERS}/{id}"),
            key,
        ))
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for id in [&by_iklim, &nevis_by_iklim] {
        let body = expect(
            "iklim status DELETED",
            bearer(&app, Method::PATCH, IKLIM_UPDATE, key)
                .json(&json!({"userId": id, "status": "DELETED"})),
            StatusCode::OK,
        )
        .await;
        assert_eq!(body["status"], "DELETED");
    }

    // Every route that names a user, as the tenant's ADMIN.
    let unknown = unknown_id();
    let with_key = probes(&app, "acme", key);
    for id in [&by_nevis, &by_iklim, &cl2c_by_nevis, &nevis_by_iklim] {
        answers_as_unknown(&with_key, id, &unknown, true).await;
    }
    // A deleted user cannot log in, and the answer says nothing more.
    answers_as_unknown(&[login_probe(&app, "acme")], "gone.nevis", "nobody", true).await;
    answers_as_unknown(
        &[login_probe(&app, "acme")],
        "gone.iklim@example.com",
        "nobody@example.com",
        true,
    )
    .await;
    // Nor does the token it had before: it is a token nobody has.
    let me = Probe {
        label: "iklim GET /v1/users/me".to_owned(),
        admin: StatusCode::UNAUTHORIZED,
        request: Box::new(|token| bearer(&app, Method::GET, "/v1/users/me", token)),
    };
    let nobodys = format!("{}{}", &token[..4], uuid::Uuid::new_v4().simple());
    answers_as_unknown(&[me], &token, &nobodys, true).await;

    // Lists omit them, whatever the filter.
    lists_show(&app, "acme", key, std::slice::from_ref(&keeper)).await;
    let page = expect(
        "iklim page of DELETED",
        bearer(&app, Method::POST, IKLIM_PAGE, key).json(&json!({"status": ["DELETED"]})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["totalRecords"], 0, "{page}");
    for id in [&by_nevis, &by_iklim, &cl2c_by_nevis, &nevis_by_iklim] {
        let page = expect(
            "Nevis list by userId",
            bearer(
                &app,
                Method::GET,
                &format!("{NEVIS_USERS}?userId={id}"),
                key,
            ),
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["items"], json!([]));
        let page = expect(
            "Blocks GetUsers by userIds",
            blocks(&app, Method::POST, BLOCKS_GET_USERS, key)
                .json(&json!({"filter": {"userIds": [id]}})),
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["totalCount"], 0, "{page}");
    }
    for query in ["?loginId=gone.nevis", "?email=gone.iklim@example.com"] {
        let page = expect(
            "Nevis list",
            bearer(&app, Method::GET, &format!("{NEVIS_USERS}{query}"), key),
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["items"], json!([]), "{query}");
    }
    let page = expect(
        "Blocks GetUsers of DELETED",
        blocks(&app, Method::POST, BLOCKS_GET_USERS, key)
            .json(&json!({"filter": {"status": "DELETED"}})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["totalCount"], 0, "{page}");
    // The keeper is still there, as it was.
    assert_eq!(agree(&views(&app, "acme", key, &keeper).await).version, 1);
}

both_backends!(
    a_user_created_anywhere_reads_the_same_everywhere,
    an_update_through_one_is_seen_through_all,
    the_update_rules_hold_in_every_dialect,
    every_route_of_every_dialect_isolates_tenants,
    creating_with_another_tenants_user_id_reveals_nothing,
    deleted_users_are_unknown_in_every_dialect,
);
