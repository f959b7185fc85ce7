//! SCIM 2.0 over HTTP: what Okta and Entra ID send (from their published
//! SCIM guides), filters, paging and sorting in the database, versions and
//! If-Match, the error schema, groups as organizations shared with SELISE
//! Blocks, discovery, and tenant isolation on every route.

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use userhub_domain::types::Role;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app};

const USERS: &str = "/scim/v2/Users";
const GROUPS: &str = "/scim/v2/Groups";
const MEDIA: &str = "application/scim+json";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = app.request(method, path, Some(key));
    if let Some(body) = body {
        request = request.header(CONTENT_TYPE, MEDIA).body(body.to_string());
    }
    if let Some(tag) = if_match {
        request = request.header(IF_MATCH, tag);
    }
    let response = request.send().await.unwrap();
    let etag = response
        .headers()
        .get(ETAG)
        .map(|v| v.to_str().unwrap().to_owned());
    if response.status() == StatusCode::NO_CONTENT {
        return (StatusCode::NO_CONTENT, Value::Null, etag);
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(content_type.starts_with(MEDIA), "{content_type}");
    let (status, body) = answer(response).await;
    (status, body, etag)
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, body, _) = send(app, Method::GET, path, &app.admin_key, None, None).await;
    (status, body)
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let (status, body, _) = send(app, Method::POST, path, &app.admin_key, Some(&body), None).await;
    (status, body)
}

async fn patch(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let (status, body, _) = send(app, Method::PATCH, path, &app.admin_key, Some(&body), None).await;
    (status, body)
}

fn ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

/// Okta's create body.
fn okta_user(name: &str, external: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@example.com"),
        "externalId": external,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": format!("{name}@example.com"), "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "password": STRONG,
        "active": true,
        "groups": []
    })
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, user) = post(app, USERS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user
}

fn id(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

fn query(filter: &str) -> String {
    let encoded: String = url_encode(filter);
    format!("{USERS}?filter={encoded}")
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources in {list}"))
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

async fn okta_provisions_a_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Okta looks the user up before creating it.
    let lookup = format!(
        "{}&startIndex=1&count=100",
        query(r#"userName eq "ada@example.com""#)
    );
    let (status, list) = get(&app, &lookup).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    let response = app
        .request(Method::POST, USERS, Some(&app.admin_key))
        .header(CONTENT_TYPE, MEDIA)
        .body(okta_user("ada", "00u1ada").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
    let user: Value = response.json().await.unwrap();
    let user_id = id(&user);
    assert_eq!(location, app.url(&format!("{USERS}/{user_id}")));
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(user["meta"]["version"], etag);
    assert_eq!(user["meta"]["location"], location);
    assert_eq!(user["userName"], "ada@example.com");
    assert_eq!(user["externalId"], "00u1ada");
    assert_eq!(user["name"]["givenName"], "Ada");
    assert_eq!(user["active"], true);
    assert!(user.get("password").is_none(), "{user}");
    let stored = app.stored_user(&user["id"]);
    assert!(stored.password.is_some());
    assert_eq!(stored.external_id.unwrap().as_str(), "00u1ada");

    // Now the lookup finds it; a taken userName or externalId is refused.
    let (_, list) = get(&app, &lookup).await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(user_names(&list), ["ada@example.com"]);
    for body in [
        okta_user("ada", "00u1other"),
        json!({"userName": "other@example.com", "externalId": "00u1ada"}),
    ] {
        let (status, error) = post(&app, USERS, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert_eq!(error["scimType"], "uniqueness");
        assert_eq!(error["status"], "409");
        assert_eq!(
            error["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
    }

    // Deactivation: a path-less replace; the user is INACTIVE and still there.
    let path = format!("{USERS}/{user_id}");
    let (status, user) = patch(
        &app,
        &path,
        ops(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["active"], false);
    assert_eq!(user["meta"]["version"], "W/\"2\"");
    let (status, again, etag) = send(&app, Method::GET, &path, &app.admin_key, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["active"], false);
    assert_eq!(etag.as_deref(), Some("W/\"2\""));
    assert_eq!(
        app.stored_user(&user["id"]).status,
        userhub_domain::types::Status::Inactive
    );

    // PUT replaces: a stale If-Match changes nothing (412), the current one does.
    let mut whole = okta_user("ada", "00u1ada");
    whole["name"] = json!({"givenName": "Augusta", "familyName": "King"});
    whole["active"] = json!(true);
    let (status, error, _) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&whole),
        Some("W/\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{error}");
    assert_eq!(error["status"], "412");
    assert_eq!(app.stored_user(&user["id"]).version, 2);
    let (status, user, etag) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&whole),
        Some("W/\"2\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["name"]["givenName"], "Augusta");
    assert_eq!(user["active"], true);
    assert_eq!(etag.as_deref(), Some("W/\"3\""));
    // The locale left out of a PUT is removed.
    whole.as_object_mut().unwrap().remove("locale");
    let (_, user, _) = send(&app, Method::PUT, &path, &app.admin_key, Some(&whole), None).await;
    assert!(user.get("locale").is_none(), "{user}");

    // DELETE with a stale If-Match: 412; then soft delete, and 404 after.
    let (status, _, _) = send(
        &app,
        Method::DELETE,
        &path,
        &app.admin_key,
        None,
        Some("W/\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send(&app, Method::DELETE, &path, &app.admin_key, None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = get(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["status"], "404");
    assert_eq!(
        app.stored_user(&json!(user_id)).status,
        userhub_domain::types::Status::Deleted
    );
    let (_, list) = get(&app, &lookup).await;
    assert_eq!(list["totalResults"], 0);
}

async fn entra_id_provisions_a_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The connection test: a random filter answers an empty list.
    let (status, list) = get(
        &app,
        &query(r#"userName eq "8a2c4f1e-13b7-4c2b-9d0e-6a8f7b2c1d3e""#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], 0);

    let user = create(
        &app,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "externalId": "e7c1",
            "userName": "Grace@Contoso.com",
            "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "grace@contoso.com"}],
            "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
            ENTERPRISE: {"employeeNumber": "7", "organization": "Navy"}
        }),
    )
    .await;
    assert_eq!(user["active"], true);
    assert_eq!(user[ENTERPRISE]["organization"], "Navy");
    let path = format!("{USERS}/{}", id(&user));

    // Entra's filters.
    for filter in [
        r#"externalId eq "e7c1""#,
        r#"userName eq "grace@contoso.com""#,
        r#"emails[type eq "work"].value eq "GRACE@contoso.com""#,
    ] {
        let (status, list) = get(&app, &query(filter)).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {list}");
        assert_eq!(list["totalResults"], 1, "{filter}");
    }
    let (_, list) = get(&app, &query(r#"externalId eq "E7C1""#)).await;
    assert_eq!(list["totalResults"], 0, "externalId is case-exact");

    // Capitalised ops, "False", dotted and URN-prefixed keys.
    let (status, user) = patch(
        &app,
        &path,
        ops(json!([
            {"op": "Replace", "value": {
                "name.givenName": "Amazing Grace",
                "active": "False",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "8",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization": "US Navy"
            }},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "grace.hopper@contoso.com"},
            {"op": "Replace", "path": "externalId", "value": "e7c2"}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["name"]["givenName"], "Amazing Grace");
    assert_eq!(user["active"], false);
    assert_eq!(user[ENTERPRISE]["organization"], "US Navy");
    assert_eq!(user["emails"][0]["value"], "grace.hopper@contoso.com");
    assert_eq!(user["externalId"], "e7c2");
    let (status, user) = patch(
        &app,
        &path,
        ops(json!([{"op": "Replace", "path": "active", "value": "True"},
                   {"op": "Remove", "path": "name.givenName"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["active"], true);
    assert!(user["name"].get("givenName").is_none(), "{user}");

    // `add` to roles adds; `remove` with a value filter removes that one.
    let (status, user) = patch(
        &app,
        &path,
        ops(json!([{"op": "add", "path": "roles", "value": [{"value": "POWER_USER"}]}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        user["roles"],
        json!([{"value": "STANDARD_USER"}, {"value": "POWER_USER"}])
    );
    let (status, user) = patch(
        &app,
        &path,
        ops(json!([{"op": "remove", "path": "roles[value eq \"STANDARD_USER\"]"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["roles"], json!([{"value": "POWER_USER"}]));

    // Bad operations: SCIM error types.
    for (body, scim_type) in [
        (
            ops(json!([{"op": "explode", "path": "active"}])),
            "invalidSyntax",
        ),
        (ops(json!([{"op": "remove"}])), "noTarget"),
        (
            ops(json!([{"op": "replace", "path": "nickNameX", "value": "x"}])),
            "invalidPath",
        ),
        (
            ops(json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}])),
            "mutability",
        ),
        (
            ops(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            "invalidValue",
        ),
    ] {
        let (status, error) = patch(&app, &path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["scimType"], scim_type, "{body}: {error}");
    }
    // Malformed JSON.
    let response = app
        .request(Method::POST, USERS, Some(&app.admin_key))
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, error) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["scimType"], "invalidSyntax");
}

async fn filters_pages_and_sorts_in_the_database(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (name, given, external) in [
        ("anna", "Anna", Some("x-1")),
        ("bert", "Bert", Some("x-2")),
        ("carl", "Carl", None),
        ("dora", "Dora", Some("y-1")),
        ("emil", "Emil", None),
    ] {
        let mut body = json!({
            "userName": name,
            "emails": [{"value": format!("{name}@example.org")}],
            "name": {"givenName": given, "familyName": "Muster"},
        });
        if let Some(external) = external {
            body["externalId"] = json!(external);
        }
        create(&app, body).await;
    }
    let names = |list: &Value| user_names(list);
    for (filter, expected) in [
        (r#"userName sw "b""#, vec!["bert"]),
        (r#"userName co "r""#, vec!["bert", "carl", "dora"]),
        (r#"userName ew "A""#, vec!["anna", "dora"]),
        (r#"name.givenName eq "carl""#, vec!["carl"]),
        (r#"externalId pr"#, vec!["anna", "bert", "dora"]),
        (r#"not (externalId pr)"#, vec!["carl", "emil"]),
        (
            r#"externalId sw "x" and not (userName eq "anna")"#,
            vec!["bert"],
        ),
        (
            r#"(userName eq "anna" or userName eq "emil") and active eq true"#,
            vec!["anna", "emil"],
        ),
        (
            r#"emails.value ew "@example.org" and userName gt "c""#,
            vec!["carl", "dora", "emil"],
        ),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z""#,
            vec!["anna", "bert", "carl", "dora", "emil"],
        ),
        (
            r#"userName ne "anna" and name.familyName eq "MUSTER" and userName le "bert""#,
            vec!["bert"],
        ),
    ] {
        let (status, list) = get(&app, &query(filter)).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {list}");
        assert_eq!(names(&list), expected, "{filter}");
        assert_eq!(list["totalResults"], expected.len(), "{filter}");
    }
    // Paging: exact total, 1-based startIndex, sort.
    let (_, list) = get(
        &app,
        &format!("{USERS}?startIndex=2&count=2&sortBy=userName&sortOrder=descending"),
    )
    .await;
    assert_eq!(names(&list), ["dora", "carl"]);
    assert_eq!(list["totalResults"], 5);
    assert_eq!(list["startIndex"], 2);
    assert_eq!(list["itemsPerPage"], 2);
    let (_, list) = get(&app, &format!("{USERS}?count=0")).await;
    assert_eq!(list["totalResults"], 5);
    assert_eq!(list["Resources"], json!([]));
    // attributes / excludedAttributes.
    let (_, list) = get(
        &app,
        &format!("{}&attributes=userName", query(r#"userName eq "anna""#)),
    )
    .await;
    let anna = &list["Resources"][0];
    assert!(
        anna.get("name").is_none() && anna.get("userName").is_some(),
        "{anna}"
    );
    assert!(anna.get("id").is_some());
    let (_, list) = get(
        &app,
        &format!(
            "{}&excludedAttributes=name,emails",
            query(r#"userName eq "anna""#)
        ),
    )
    .await;
    let anna = &list["Resources"][0];
    assert!(
        anna.get("name").is_none() && anna.get("emails").is_none(),
        "{anna}"
    );
    // .search.
    let (status, list) = post(
        &app,
        &format!("{USERS}/.search"),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "name.givenName sw \"d\" or name.givenName sw \"e\"",
            "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 10,
            "attributes": ["userName"]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(names(&list), ["emil", "dora"]);
    // Bad filters and parameters.
    for filter in [
        r#"nickName eq "x""#,
        r#"userName eq"#,
        r#"userName eq "x" or"#,
        r#"(userName eq "x""#,
        r#"meta.created gt "yesterday""#,
    ] {
        let (status, error) = get(&app, &query(filter)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}: {error}");
        assert_eq!(error["scimType"], "invalidFilter", "{filter}");
    }
    let (status, error) = get(&app, &format!("{USERS}?sortBy=nickName")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["scimType"], "invalidValue");
}

async fn groups_are_the_organizations_blocks_sees(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ada = id(&create(&app, okta_user("ada", "u-ada")).await);
    let bob = id(&create(&app, okta_user("bob", "u-bob")).await);
    let cy = id(&create(&app, okta_user("cy", "u-cy")).await);

    let (status, group) = post(
        &app,
        GROUPS,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "g-eng",
            "members": [{"value": ada}]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = id(&group);
    let path = format!("{GROUPS}/{group_id}");
    assert_eq!(group["members"][0]["value"], ada.as_str());

    // The membership is the one Blocks reads.
    let blocks = |user: &str| format!("/idp/v1/Iam/GetUser?Id={user}");
    let response = app
        .request(Method::GET, &blocks(&ada), None)
        .header("x-blocks-key", &app.admin_key)
        .send()
        .await
        .unwrap();
    let (_, envelope) = answer(response).await;
    assert_eq!(
        envelope["data"]["memberships"][0]["organizationId"],
        group_id.as_str(),
        "{envelope}"
    );
    // And a user Blocks gives a membership in it is a member.
    let response = app
        .request(Method::POST, "/idp/v1/Iam/Create", None)
        .header("x-blocks-key", &app.admin_key)
        .json(&json!({
            "userName": "dee", "email": "dee@example.com", "password": STRONG,
            "memberships": [{"organizationId": group_id, "roles": ["lead"]}]
        }))
        .send()
        .await
        .unwrap();
    let (status, dee) = answer(response).await;
    assert_eq!(status, StatusCode::OK, "{dee}");
    let dee = dee["itemId"].as_str().unwrap().to_owned();
    let (_, group) = get(&app, &path).await;
    let members = |g: &Value| -> Vec<String> {
        let mut ids: Vec<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut expected = vec![ada.clone(), dee.clone()];
    expected.sort();
    assert_eq!(members(&group), expected);

    // Okta: add, then remove by value filter; Entra: remove with a list.
    let (status, group) = patch(
        &app,
        &path,
        ops(json!([{"op": "add", "path": "members", "value": [{"value": bob}, {"value": cy}]}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(members(&group).len(), 4);
    let (status, group) = patch(
        &app,
        &path,
        ops(json!([{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert!(!members(&group).contains(&bob));
    let (status, group) = patch(
        &app,
        &path,
        ops(
            json!([{"op": "Remove", "path": "members", "value": [{"value": cy}]},
                   {"op": "Replace", "path": "displayName", "value": "R&D"}]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(group["displayName"], "R&D");
    assert_eq!(members(&group), expected);
    // The Blocks roles of dee's membership are kept.
    let response = app
        .request(Method::GET, &blocks(&dee), None)
        .header("x-blocks-key", &app.admin_key)
        .send()
        .await
        .unwrap();
    let (_, envelope) = answer(response).await;
    assert_eq!(envelope["data"]["memberships"][0]["roles"], json!(["lead"]));
    // The user's groups.
    let (_, user) = get(&app, &format!("{USERS}/{ada}")).await;
    assert_eq!(user["groups"][0]["value"], group_id.as_str());

    // An unknown member is refused, nothing changes.
    let (status, error) = patch(
        &app,
        &path,
        ops(json!([{"op": "add", "path": "members", "value": [{"value": "8a2c4f1e-13b7-4c2b-9d0e-6a8f7b2c1d3e"}]}])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["scimType"], "invalidValue");

    // Lists and filters; a taken name.
    let (status, error) = post(&app, GROUPS, json!({"displayName": "r&d"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["scimType"], "uniqueness");
    post(&app, GROUPS, json!({"displayName": "Sales"})).await;
    let (_, list) = get(
        &app,
        &format!(
            "{GROUPS}?filter={}&excludedAttributes=members",
            url_encode(r#"displayName eq "r&d" or externalId eq "nope""#)
        ),
    )
    .await;
    assert_eq!(list["totalResults"], 1, "{list}");
    assert!(list["Resources"][0].get("members").is_none());
    let (_, list) = get(
        &app,
        &format!("{GROUPS}?sortBy=displayName&sortOrder=descending"),
    )
    .await;
    assert_eq!(list["totalResults"], 2);
    assert_eq!(list["Resources"][0]["displayName"], "Sales");

    // PUT replaces members; If-Match guards it.
    let version = group["meta"]["version"].as_str().unwrap().to_owned();
    let body = json!({"displayName": "R&D", "externalId": "g-eng", "members": [{"value": bob}]});
    let (status, _, _) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&body),
        Some("W/\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, group, _) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&body),
        Some(&version),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(members(&group), vec![bob.clone()]);

    // Delete: the memberships end with it.
    let (status, _, _) = send(&app, Method::DELETE, &path, &app.admin_key, None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = get(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, user) = get(&app, &format!("{USERS}/{bob}")).await;
    assert!(user.get("groups").is_none(), "{user}");
}

async fn another_tenant_gets_the_answer_for_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = id(&create(&app, okta_user("ada", "u-ada")).await);
    let (_, group) = post(&app, GROUPS, json!({"displayName": "Eng"})).await;
    let group = id(&group);
    let other = app.new_tenant("globex");
    let key = app.key(other, &[Role::Admin]);
    let nothing = "8a2c4f1e-13b7-4c2b-9d0e-6a8f7b2c1d3e";
    let patch_body = ops(json!([{"op": "replace", "value": {"active": false}}]));
    let put_user = okta_user("zed", "u-zed");
    let put_group = json!({"displayName": "X"});
    for (base, existing, body) in [(USERS, &user, &put_user), (GROUPS, &group, &put_group)] {
        for (method, payload) in [
            (Method::GET, None),
            (Method::PUT, Some(body)),
            (Method::PATCH, Some(&patch_body)),
            (Method::DELETE, None),
        ] {
            let theirs = send(
                &app,
                method.clone(),
                &format!("{base}/{existing}"),
                &key,
                payload,
                None,
            )
            .await;
            let unknown = send(
                &app,
                method.clone(),
                &format!("{base}/{nothing}"),
                &key,
                payload,
                None,
            )
            .await;
            assert_eq!(
                theirs.0,
                StatusCode::NOT_FOUND,
                "{method} {base}: {}",
                theirs.1
            );
            assert_eq!(
                (theirs.0, theirs.1),
                (unknown.0, unknown.1),
                "{method} {base}"
            );
        }
    }
    // Their lists are empty.
    let (_, list, _) = send(&app, Method::GET, USERS, &key, None, None).await;
    assert_eq!(list["totalResults"], 0);
    let (_, list, _) = send(&app, Method::GET, GROUPS, &key, None, None).await;
    assert_eq!(list["totalResults"], 0);
    // Nothing changed for acme.
    assert_eq!(app.stored_user(&json!(user)).version, 1);

    // Unknown routes, wrong methods and no credential: SCIM errors.
    let (status, error) = get(&app, "/scim/v2/Nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["status"], "404");
    let response = app.request(Method::GET, USERS, None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (_, error) = answer(response).await;
    assert_eq!(error["status"], "401");

    // Discovery.
    let (status, config) = get(&app, "/scim/v2/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["filter"]["maxResults"], 200);
    assert_eq!(config["etag"]["supported"], true);
    let (_, types) = get(&app, "/scim/v2/ResourceTypes").await;
    assert_eq!(types["totalResults"], 2);
    let (status, _) = get(&app, "/scim/v2/ResourceTypes/User").await;
    assert_eq!(status, StatusCode::OK);
    let (_, schemas) = get(&app, "/scim/v2/Schemas").await;
    assert_eq!(schemas["totalResults"], 4);
    let (status, _) = get(
        &app,
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = app
        .client
        .get(app.url("/openapi/scim.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/scim/v2/Users/{id}"]["patch"].is_object());
}

/// `schemas`, when sent, is a list of URNs, and a role names its `value`:
/// anything else is a 400 naming the field, and nothing changes.
async fn malformed_schemas_and_roles_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, okta_user("grace", "00u-grace")).await;
    let path = format!("{USERS}/{}", id(&user));
    let mut replace = okta_user("grace", "00u-grace");
    replace["schemas"] = json!({});
    let (status, _, _) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&replace),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut replace = okta_user("grace", "00u-grace");
    replace["roles"] = json!({});
    let (status, body, _) = send(
        &app,
        Method::PUT,
        &path,
        &app.admin_key,
        Some(&replace),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("roles[0].value"),
        "{body}"
    );
    let (status, body) = patch(
        &app,
        &path,
        json!({"schemas": "urn:ietf:params:scim:api:messages:2.0:PatchOp",
               "Operations": [{"op": "replace", "value": {"active": false}}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("schemas"),
        "{body}"
    );
    let (status, body) = post(&app, &format!("{USERS}/.search"), json!({"schemas": [{}]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("schemas"),
        "{body}"
    );
    // Nothing changed.
    let (status, after) = get(&app, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["active"], true);
    assert_eq!(after["meta"]["version"], user["meta"]["version"]);
}

both_backends!(
    malformed_schemas_and_roles_are_refused,
    okta_provisions_a_user,
    entra_id_provisions_a_user,
    filters_pages_and_sorts_in_the_database,
    groups_are_the_organizations_blocks_sees,
    another_tenant_gets_the_answer_for_nothing,
);
