//! The Nevis dialect over HTTP: the documented create example, every field,
//! every route, properties, continuation paging, versions, history, delete,
//! tenant isolation and the update rules.

use reqwest::header::{CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use userhub_api::state::now;
use userhub_domain::UserField;
use userhub_domain::authz::ActorRef;
use userhub_domain::history::HistoryEntry;
use userhub_domain::repository::{
    ApiKeyRepository, AttributeRepository, HistoryRepository, UserRepository,
};
use userhub_domain::tenant::{AttributeDefinition, Tenant};
use userhub_domain::types::{AttributeName, Email, Role, UserId, Username};
use userhub_domain::user::NewUser;

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, error_fields, spawn_app};

const USERS: &str = "/nevis/api/v1/users";

fn user_path(id: &str) -> String {
    format!("{USERS}/{id}")
}

fn define(app: &TestApp, tenant: &Tenant, name: &str) {
    app.store
        .define_attribute(&AttributeDefinition {
            tenant: tenant.id,
            name: AttributeName::parse(name).unwrap(),
            description: None,
            created_at: now(),
        })
        .unwrap();
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Response {
    app.request(Method::DELETE, path, Some(token))
        .send()
        .await
        .unwrap()
}

/// Create through Nevis; answers the user.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, body) = answer(app.post(USERS, token, &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn id_of(user: &Value) -> String {
    user["userId"].as_str().unwrap().to_owned()
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

fn time_of(user: &Value, field: &str) -> time::OffsetDateTime {
    let text = user[field].as_str().unwrap();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{field} {text}: {e}"))
}

/// The status and exact text of a response, to compare two answers byte for byte.
async fn raw(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn full_user() -> Value {
    json!({
        "loginId": "Max.Muster@Example.com",
        "userId": "6f1f6f7e-2a0b-4c1d-9e8f-7a6b5c4d3e2f",
        "languageCode": "de_CH",
        "name": {"title": "Dr.", "firstName": "Max", "lastName": "Muster"},
        "gender": "MALE",
        "birthDate": "1985-04-12",
        "address": {
            "countryCode": "ch",
            "city": "Zürich",
            "postalCode": "8001",
            "addressline1": "c/o Example AG",
            "addressline2": "3rd floor",
            "street": "Bahnhofstrasse",
            "houseNumber": "1a",
            "dwellingNumber": "12",
            "postOfficeBoxText": "Postfach",
            "postOfficeBoxNumber": "1234",
            "locality": "Altstadt"
        },
        "contacts": {"telephone": "+41446681800", "telefax": "+41446681801"},
        "remarks": "Remarks to a food delivery",
        "modificationComment": "imported from the CRM",
        "properties": {"employeeNumber": "E-1234", "costCenter": "CC-7"},
        "someFieldNevisMayAddLater": {"ignored": true}
    })
}

async fn documented_example(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The vendor's example: nothing but the loginId.
    let response = app
        .post(
            USERS,
            &app.admin_key,
            &json!({"loginId": "jane.doe@example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, user) = answer(response).await;
    let id = id_of(&user);
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(location, format!("{}{USERS}/{id}", app.address));
    assert_eq!(user["loginId"], "jane.doe@example.com");
    assert_eq!(user["contacts"]["email"], "jane.doe@example.com");
    assert_eq!(user["languageCode"], "en");
    assert_eq!(user["version"], 1);
    assert_eq!(
        user["name"],
        json!({"title": null, "firstName": null, "lastName": null})
    );
    assert_eq!(user["properties"], json!({}));
    assert_eq!(user["created"], user["lastModified"]);
    // The loginId is both the username and the e-mail.
    let stored = app.stored_user(&user["userId"]);
    assert_eq!(stored.username.as_str(), "jane.doe@example.com");
    assert_eq!(stored.email.as_str(), "jane.doe@example.com");
    assert!(stored.password.is_none());

    // The Location is the user.
    let (status, got) = answer(app.get(&user_path(&id), &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got, user);

    // The Location's base is the host (and, behind a proxy, the scheme) the
    // client used.
    let response = app
        .request(Method::POST, USERS, Some(&app.admin_key))
        .header("Host", "acme.id.example.test:8443")
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"loginId": "second@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, second) = answer(response).await;
    assert_eq!(
        location,
        format!(
            "https://acme.id.example.test:8443{USERS}/{}",
            id_of(&second)
        )
    );
}

async fn fully_populated_create(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    define(&app, &app.tenant, "costCenter");
    let response = app.post(USERS, &app.admin_key, &full_user()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, user) = answer(response).await;
    assert!(location.ends_with("/nevis/api/v1/users/6f1f6f7e-2a0b-4c1d-9e8f-7a6b5c4d3e2f"));
    assert_eq!(user["userId"], "6f1f6f7e-2a0b-4c1d-9e8f-7a6b5c4d3e2f");
    assert_eq!(user["loginId"], "Max.Muster@Example.com");
    assert_eq!(user["languageCode"], "de-CH");
    assert_eq!(
        user["name"],
        json!({"title": "Dr.", "firstName": "Max", "lastName": "Muster"})
    );
    assert_eq!(user["gender"], "male");
    assert_eq!(user["birthDate"], "1985-04-12");
    assert_eq!(
        user["address"],
        json!({
            "countryCode": "CH",
            "city": "Zürich",
            "postalCode": "8001",
            "addressline1": "c/o Example AG",
            "addressline2": "3rd floor",
            "street": "Bahnhofstrasse",
            "houseNumber": "1a",
            "dwellingNumber": "12",
            "postOfficeBoxText": "Postfach",
            "postOfficeBoxNumber": "1234",
            "locality": "Altstadt"
        })
    );
    assert_eq!(
        user["contacts"],
        json!({"email": "Max.Muster@Example.com", "telephone": "+41446681800", "telefax": "+41446681801"})
    );
    assert_eq!(user["remarks"], "Remarks to a food delivery");
    assert_eq!(
        user["properties"],
        json!({"costCenter": "CC-7", "employeeNumber": "E-1234"})
    );
    assert!(user.get("someFieldNevisMayAddLater").is_none());
    assert!(user.get("modificationComment").is_none());

    // The domain holds each value in its own field.
    let stored = app.stored_user(&user["userId"]);
    assert_eq!(stored.phone.unwrap().as_str(), "+41446681800");
    assert_eq!(stored.fax.unwrap().as_str(), "+41446681801");
    assert_eq!(stored.locale.unwrap().as_str(), "de-CH");
    assert_eq!(stored.title.unwrap().as_str(), "Dr.");
    assert_eq!(stored.address.country.unwrap().as_str(), "CH");
    assert_eq!(stored.attributes.len(), 2);
    assert_eq!(
        stored.remarks.unwrap().as_str(),
        "Remarks to a food delivery"
    );

    // The same id, or the same loginId in other letters' case, is taken.
    let mut again = full_user();
    again["loginId"] = json!("other@example.com");
    let (status, body) = answer(app.post(USERS, &app.admin_key, &again).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(codes(&body), ["errors.alreadyExists"]);
    assert_eq!(error_fields(&body), ["userId"]);
    let (status, body) = answer(
        app.post(
            USERS,
            &app.admin_key,
            &json!({"loginId": "max.muster@example.COM"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_fields(&body), ["loginId"]);
}

async fn invalid_content_names_every_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    let (status, body) = answer(
        app.post(
            USERS,
            &app.admin_key,
            &json!({
                "loginId": "not-an-email",
                "userId": "42",
                "languageCode": "english!",
                "name": {"title": 7, "firstName": "x".repeat(101), "lastName": ""},
                "gender": "robot",
                "birthDate": "31.01.1990",
                "address": {"countryCode": "XX", "postalCode": 8001, "city": "Bern"},
                "contacts": {"telephone": "+41 44 668 18 00", "telefax": "0446681801"},
                "remarks": "r".repeat(1001),
                "modificationComment": 5,
                "properties": {"employeeNumber": "", "shoeSize": "44"}
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "loginId",
            "userId",
            "languageCode",
            "name.title",
            "name.firstName",
            "gender",
            "birthDate",
            "address.countryCode",
            "address.postalCode",
            "contacts.telephone",
            "contacts.telefax",
            "remarks",
            "modificationComment",
            "properties.shoeSize",
        ]
    );
    assert_eq!(
        codes(&body),
        [
            "errors.invalidEmail",
            "errors.invalidFormat",
            "errors.invalidFormat",
            "errors.invalidType",
            "errors.tooLong",
            "errors.unknownValue",
            "errors.invalidFormat",
            "errors.unknownCountry",
            "errors.invalidType",
            "errors.invalidFormat",
            "errors.invalidFormat",
            "errors.tooLong",
            "errors.invalidType",
            "errors.undeclaredAttribute",
        ]
    );
    // Only `errors`, each with a message.
    assert_eq!(body.as_object().unwrap().len(), 1);
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["message"].as_str().unwrap().is_empty())
    );
    // Nothing was created.
    let (_, list) = answer(app.get(USERS, &app.admin_key).await).await;
    assert_eq!(list["items"], json!([]));

    // No loginId at all.
    let (status, body) = answer(app.post(USERS, &app.admin_key, &json!({})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["loginId"]);
    assert_eq!(codes(&body), ["errors.required"]);

    // A body that is not JSON, or not an object: 422 too, in the same body.
    for text in ["{\"loginId\": ", "[1, 2]", "\"jane@example.com\""] {
        let (status, body) = answer(
            app.request(Method::POST, USERS, Some(&app.admin_key))
                .header(CONTENT_TYPE, "application/json")
                .body(text)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}: {body}");
        assert_eq!(codes(&body), ["errors.malformedJson"], "{text}");
        assert!(body["errors"][0].get("field").is_none());
    }
    let (status, body) = answer(
        app.request(Method::POST, USERS, Some(&app.admin_key))
            .header(CONTENT_TYPE, "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(codes(&body), ["errors.unsupportedMediaType"]);
}

async fn bad_credentials_answer_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, &app.admin_key, json!({"loginId": "jane@example.com"})).await;
    let path = user_path(&id_of(&user));
    let revoked = app.key(app.tenant.clone(), &[Role::Admin]);
    let prefix = userhub_api::secrets::api_key_prefix(&revoked).unwrap();
    let key = app.store.find_api_key_by_prefix(prefix).unwrap().unwrap();
    app.store.revoke_api_key(key.id, now()).unwrap();

    let last = if app.admin_key.ends_with('x') {
        'y'
    } else {
        'x'
    };
    let unknown = format!("{}{last}", &app.admin_key[..app.admin_key.len() - 1]);
    let credentials: Vec<Option<String>> = vec![
        None,
        Some(format!("Basic {}", app.admin_key)),
        Some("Bearer".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {revoked}")),
        Some("Bearer uha_not-a-token".to_owned()),
    ];
    let routes = [
        (Method::POST, USERS.to_owned()),
        (Method::GET, USERS.to_owned()),
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
    ];
    for credential in &credentials {
        for (method, route) in &routes {
            let mut request = app.request(method.clone(), route, None);
            if let Some(value) = credential {
                request = request.header("Authorization", value);
            }
            if *method == Method::POST || *method == Method::PATCH {
                // A bad body too: the credential is judged first.
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body("{not json");
            }
            let response = request.send().await.unwrap();
            assert!(response.headers().contains_key(WWW_AUTHENTICATE));
            let (status, body) = answer(response).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {route} {credential:?}: {body}"
            );
            assert_eq!(codes(&body), ["errors.unauthorized"]);
            assert_eq!(body.as_object().unwrap().len(), 1);
            assert_eq!(body["errors"][0].as_object().unwrap().len(), 2);
        }
    }
    // Nothing changed.
    assert_eq!(app.stored_user(&user["userId"]).version, 1);
}

async fn properties_must_be_declared(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    define(&app, &app.tenant, "costCenter");
    // Declared by another tenant: not this one's.
    let other = app.new_tenant("globex");
    define(&app, &other, "shoeSize");

    let user = create(
        &app,
        &app.admin_key,
        json!({"loginId": "jane@example.com", "properties": {"employeeNumber": "E-1"}}),
    )
    .await;
    assert_eq!(user["properties"], json!({"employeeNumber": "E-1"}));
    let path = user_path(&id_of(&user));

    let (status, body) = answer(
        app.post(
            USERS,
            &app.admin_key,
            &json!({"loginId": "john@example.com", "properties": {"shoeSize": "44", "employeeNumber": 7}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        ["properties.employeeNumber", "properties.shoeSize"]
    );
    assert_eq!(
        codes(&body),
        ["errors.invalidType", "errors.undeclaredAttribute"]
    );

    // Set one more; the others stay.
    let (status, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"properties": {"costCenter": "CC-7"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["properties"],
        json!({"costCenter": "CC-7", "employeeNumber": "E-1"})
    );
    // An empty string removes one.
    let (_, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"properties": {"employeeNumber": ""}}),
        )
        .await,
    )
    .await;
    assert_eq!(body["properties"], json!({"costCenter": "CC-7"}));
    assert_eq!(body["version"], 3);
    // An undeclared one is refused, and nothing changes.
    let (status, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"properties": {"shoeSize": "44", "costCenter": "CC-8"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["properties.shoeSize"]);
    // `"properties": null` removes them all.
    let (_, body) = answer(
        app.patch(&path, &app.admin_key, &json!({"properties": null}))
            .await,
    )
    .await;
    assert_eq!(body["properties"], json!({}));
    assert_eq!(body["version"], 4);
    assert!(app.stored_user(&user["userId"]).attributes.is_empty());
}

/// The login ids a list answers, in order.
async fn logins(app: &TestApp, url: String) -> Vec<String> {
    let (status, page) = answer(app.get(&url, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{url}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["loginId"].as_str().unwrap().to_owned())
        .collect()
}

async fn list_filters_and_continuation_paging(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    let people = [
        ("ann.lee@example.com", "Ann", "Lee"),
        ("bob.lee@example.com", "Bob", "Lee"),
        ("ann.kim@example.com", "ann", "Kim"),
        ("carl.ito@example.com", "Carl", "Ito"),
        ("dora.ito@example.com", "Dora", "Ito"),
    ];
    let mut ids = Vec::new();
    for (i, (login, first, last)) in people.iter().enumerate() {
        let user = create(
            &app,
            &app.admin_key,
            json!({
                "loginId": login,
                "name": {"firstName": first, "lastName": last},
                "properties": {"employeeNumber": format!("E-{i}")}
            }),
        )
        .await;
        ids.push(id_of(&user));
    }

    // The default page holds everything, and ends with an empty token.
    let (status, page) = answer(app.get(USERS, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["_pagination"],
        json!({"continuationToken": "", "limit": 1000})
    );
    let all: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(all, ids, "oldest first");

    // Two at a time, following the token to the empty one.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let query = format!("{USERS}?limit=2&continuationToken={token}");
        let (status, page) = answer(app.get(&query, &app.admin_key).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["_pagination"]["limit"], 2);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(id_of));
        pages += 1;
        token = page["_pagination"]["continuationToken"]
            .as_str()
            .unwrap()
            .to_owned();
        if token.is_empty() {
            break;
        }
        assert!(pages < 10, "the token never came back empty");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    // Filters.
    let filtered = |query: &str| logins(&app, format!("{USERS}?{query}"));
    assert_eq!(
        filtered("loginId=ANN.LEE@example.com").await,
        ["ann.lee@example.com"]
    );
    assert_eq!(
        filtered("email=bob.lee%40EXAMPLE.com").await,
        ["bob.lee@example.com"]
    );
    assert_eq!(
        filtered("name.firstName=ANN").await,
        ["ann.lee@example.com", "ann.kim@example.com"]
    );
    assert_eq!(
        filtered("name.lastName=ito&limit=1").await,
        ["carl.ito@example.com"]
    );
    assert_eq!(
        filtered("name.firstName=ann&name.lastName=kim").await,
        ["ann.kim@example.com"]
    );
    assert_eq!(
        filtered("employeeNumber=E-3").await,
        ["carl.ito@example.com"]
    );
    assert_eq!(
        filtered("properties.employeeNumber=E-4").await,
        ["dora.ito@example.com"]
    );
    assert_eq!(
        filtered(&format!("userId={}", ids[1])).await,
        ["bob.lee@example.com"]
    );
    assert!(filtered("loginId=nobody@example.com").await.is_empty());

    // Unknown filters and bad paging values are named.
    let (status, body) = answer(
        app.get(
            &format!("{USERS}?shoeSize=44&limit=0&status=ACTIVE"),
            &app.admin_key,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The syntactic errors first, then the domain's: it judges which
    // properties the tenant declared.
    assert_eq!(error_fields(&body), ["limit", "shoeSize", "status"]);
    assert_eq!(
        codes(&body),
        [
            "errors.outOfRange",
            "errors.unknownFilter",
            "errors.unknownFilter"
        ]
    );
    let (status, body) = answer(
        app.get(
            &format!("{USERS}?continuationToken=garbage"),
            &app.admin_key,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["continuationToken"]);

    // Deleted users are not listed.
    assert_eq!(
        delete(&app, &user_path(&ids[0]), &app.admin_key)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(filtered("limit=10").await.len(), 4);
    assert!(filtered("loginId=ann.lee@example.com").await.is_empty());
}

/// A continuation token is signed for its tenant and its filters: altered,
/// forged or foreign tokens answer the documented 422; a good one survives a
/// restart (the key is in the database).
async fn continuation_tokens_are_signed(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..3 {
        create(
            &app,
            &app.admin_key,
            json!({"loginId": format!("u{i}.lee@example.com"), "name": {"lastName": "Lee"}}),
        )
        .await;
    }
    let url = format!("{USERS}?limit=1&name.lastName=Lee");
    let (status, page) = answer(app.get(&url, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let token = page["_pagination"]["continuationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!token.is_empty());
    let refused = |status: StatusCode, body: &Value| {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error_fields(body), ["continuationToken"]);
        assert_eq!(codes(body), ["errors.invalidCursor"]);
    };
    // Its own query (another page size is fine) continues.
    let next = format!("{USERS}?limit=2&name.lastName=Lee&continuationToken={token}");
    let (status, page) = answer(app.get(&next, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    // Other filters, no filter: refused.
    for query in [
        format!("name.lastName=Kim&continuationToken={token}"),
        format!("continuationToken={token}"),
    ] {
        let (status, body) =
            answer(app.get(&format!("{USERS}?{query}"), &app.admin_key).await).await;
        refused(status, &body);
    }
    // Altered (one character of the position changed) or forged: refused.
    let (position, tag) = token.split_once('.').unwrap();
    let mut altered = position.as_bytes().to_vec();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let altered = format!("{}.{tag}", String::from_utf8(altered).unwrap());
    let forged = "eyJjcmVhdGVkIjowfQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for bad in [altered.as_str(), forged, position, "garbage"] {
        let url = format!("{USERS}?name.lastName=Lee&continuationToken={bad}");
        let (status, body) = answer(app.get(&url, &app.admin_key).await).await;
        refused(status, &body);
    }
    // Another tenant's key with this tenant's token: refused.
    let other = app.new_tenant("globex");
    let other_key = app.key(other, &[Role::Admin]);
    let url = format!("{USERS}?name.lastName=Lee&continuationToken={token}");
    let (status, body) = answer(app.get(&url, &other_key).await).await;
    refused(status, &body);
    // The key is the database's: the token outlives a restart.
    app.restart_with(|_| {});
    let (status, page) = answer(app.get(&url, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
}

async fn partial_update_and_versions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    define(&app, &app.tenant, "costCenter");
    let user = create(&app, &app.admin_key, full_user()).await;
    let id = id_of(&user);
    let path = user_path(&id);

    // One name part: only it changes.
    let (status, after) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"name": {"firstName": "Maximilian"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["version"], 2);
    assert!(time_of(&after, "lastModified") > time_of(&user, "lastModified"));
    assert_eq!(after["created"], user["created"]);
    assert_eq!(
        after["name"],
        json!({"title": "Dr.", "firstName": "Maximilian", "lastName": "Muster"})
    );
    for same in [
        "loginId",
        "languageCode",
        "gender",
        "birthDate",
        "address",
        "contacts",
        "remarks",
        "properties",
    ] {
        assert_eq!(after[same], user[same], "{same}");
    }

    // Address parts change one by one; null removes.
    let (status, after) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"address": {"city": "Bern", "postalCode": "3011", "street": null}, "remarks": null, "gender": null}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["version"], 3);
    assert_eq!(after["address"]["city"], "Bern");
    assert_eq!(after["address"]["postalCode"], "3011");
    assert_eq!(after["address"]["street"], Value::Null);
    assert_eq!(after["address"]["houseNumber"], "1a");
    assert_eq!(after["address"]["countryCode"], "CH");
    assert_eq!(after["remarks"], Value::Null);
    assert_eq!(after["gender"], Value::Null);
    assert_eq!(after["birthDate"], "1985-04-12");

    // One phone number; a new loginId changes the e-mail too; a null
    // language goes back to the default.
    let (status, after) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"contacts": {"telefax": null}, "loginId": "max@example.com", "languageCode": null}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["version"], 4);
    assert_eq!(
        after["contacts"],
        json!({"email": "max@example.com", "telephone": "+41446681800", "telefax": null})
    );
    assert_eq!(after["loginId"], "max@example.com");
    assert_eq!(after["languageCode"], "en");

    // A stale version: 409, and nothing changes.
    let (status, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"version": 2, "name": {"lastName": "Stale"}, "address": {"city": "Basel"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(codes(&body), ["errors.versionConflict"]);
    assert_eq!(error_fields(&body), ["version"]);
    let (_, now_stored) = answer(app.get(&path, &app.admin_key).await).await;
    assert_eq!(now_stored, after);

    // The current version: applied.
    let (status, fresh) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"version": 4, "name": {"lastName": "Fresh"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["version"], 5);
    assert_eq!(fresh["name"]["lastName"], "Fresh");

    // Nothing to change: nothing written, the same version.
    let (status, same) = answer(app.patch(&path, &app.admin_key, &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same, fresh);

    // The id is set on creation only; a version must be a version.
    let (status, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"userId": UserId::new_random().to_string(), "version": "latest", "birthDate": "2999-01-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["version", "userId", "birthDate"]);
    // A version is a JSON number: a string is the wrong type.
    assert_eq!(
        codes(&body),
        ["errors.invalidType", "errors.immutable", "errors.inFuture"]
    );

    // A loginId taken by another user: 409.
    create(
        &app,
        &app.admin_key,
        json!({"loginId": "taken@example.com"}),
    )
    .await;
    let (status, body) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"loginId": "TAKEN@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(codes(&body), ["errors.alreadyExists"]);
    assert_eq!(error_fields(&body), ["loginId"]);
    assert_eq!(app.stored_user(&user["userId"]).version, 5);
}

fn comment_of(entry: &HistoryEntry) -> Option<&str> {
    entry.comment.as_ref().map(|c| c.as_str())
}

async fn modification_comment_in_history(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(
        &app,
        &app.admin_key,
        json!({"loginId": "jane@example.com", "modificationComment": "imported from the CRM"}),
    )
    .await;
    let path = user_path(&id_of(&user));
    for body in [
        json!({"address": {"city": "Bern"}, "modificationComment": "moved to Bern"}),
        json!({"name": {"lastName": "Doe"}}),
        json!({"name": {"lastName": "Roe"}, "modificationComment": "  married  "}),
    ] {
        let (status, body) = answer(app.patch(&path, &app.admin_key, &body).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        delete(&app, &path, &app.admin_key).await.status(),
        StatusCode::NO_CONTENT
    );
    let id = UserId::parse(&id_of(&user)).unwrap();
    let history = app.store.user_history(app.tenant.id, id).unwrap();
    let comments: Vec<Option<&str>> = history.iter().map(comment_of).collect();
    assert_eq!(
        comments,
        [
            Some("imported from the CRM"),
            Some("moved to Bern"),
            None,
            Some("married"),
            None
        ]
    );
    let versions: Vec<u64> = history.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    assert_eq!(history[1].changes.len(), 1);
    assert_eq!(history[1].changes[0].field, UserField::Address);
    assert_eq!(history[4].changes[0].field, UserField::Status);
    assert!(
        history
            .iter()
            .all(|e| matches!(e.actor, ActorRef::ApiKey(_)))
    );
}

async fn delete_then_no_record(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = create(&app, &app.admin_key, json!({"loginId": "jane@example.com"})).await;
    let path = user_path(&id_of(&user));
    let unknown = user_path(&UserId::new_random().to_string());

    let response = delete(&app, &path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());

    // Exactly Nevis's documented body.
    let (status, body) = answer(app.get(&path, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"errors": [{"code": "errors.noRecord", "message": "no user with this userId exists"}]})
    );

    // A deleted user answers as one that never existed, on every route.
    let patch_body = json!({"name": {"firstName": "Ghost"}});
    let answers_for = |path: String| {
        let app = &app;
        let patch_body = patch_body.clone();
        async move {
            vec![
                raw(app.get(&path, &app.admin_key).await).await,
                raw(app.patch(&path, &app.admin_key, &patch_body).await).await,
                raw(delete(app, &path, &app.admin_key).await).await,
            ]
        }
    };
    let deleted = answers_for(path.clone()).await;
    assert_eq!(deleted, answers_for(unknown).await);
    assert_eq!(deleted, answers_for(user_path("not-a-uuid")).await);
    assert!(deleted.iter().all(|(s, _)| *s == StatusCode::NOT_FOUND));

    // Not listed; its loginId stays taken (the row is kept, marked deleted).
    let (_, list) = answer(app.get(USERS, &app.admin_key).await).await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = answer(
        app.post(
            USERS,
            &app.admin_key,
            &json!({"loginId": "jane@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn other_tenants_get_no_record(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    define(&app, &app.tenant, "employeeNumber");
    let globex = app.new_tenant("globex");
    define(&app, &globex, "employeeNumber");
    let theirs = app.key(globex.clone(), &[Role::Admin]);
    let user = create(
        &app,
        &app.admin_key,
        json!({"loginId": "jane@example.com", "properties": {"employeeNumber": "E-1"}}),
    )
    .await;
    let path = user_path(&id_of(&user));
    let unknown = user_path(&UserId::new_random().to_string());
    let patch_body = json!({"name": {"firstName": "Mallory"}, "version": 1});

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(patch_body.clone())),
        (Method::DELETE, None),
    ] {
        let send = |target: String| {
            let mut request = app.request(method.clone(), &target, Some(&theirs));
            if let Some(body) = &body {
                request = request.json(body);
            }
            async move { raw(request.send().await.unwrap()).await }
        };
        let for_theirs = send(path.clone()).await;
        let for_unknown = send(unknown.clone()).await;
        assert_eq!(for_theirs, for_unknown, "{method}");
        assert_eq!(for_theirs.0, StatusCode::NOT_FOUND, "{method}");
    }
    // Untouched.
    let stored = app.stored_user(&user["userId"]);
    assert_eq!(stored.version, 1);
    assert!(!stored.is_deleted());

    // Lists never cross.
    for query in [
        String::new(),
        "?loginId=jane@example.com".to_owned(),
        "?employeeNumber=E-1".to_owned(),
        format!("?userId={}", id_of(&user)),
    ] {
        let (status, page) = answer(app.get(&format!("{USERS}{query}"), &theirs).await).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(page["items"], json!([]), "{query}");
    }
    // The same loginId is free in the other tenant; each sees only its own.
    let mine = create(&app, &theirs, json!({"loginId": "jane@example.com"})).await;
    let (_, page) = answer(app.get(USERS, &app.admin_key).await).await;
    let listed: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(listed, [id_of(&user)]);
    let (_, page) = answer(app.get(USERS, &theirs).await).await;
    let listed: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(listed, [id_of(&mine)]);
}

async fn update_authorization(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let me = app
        .create_user("me@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let other = app
        .create_user("other@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let my_path = user_path(me["userId"].as_str().unwrap());
    let other_path = user_path(other["userId"].as_str().unwrap());
    let (my_token, _) = app.login("me@example.com", STRONG).await;
    let api_user = app.key(app.tenant.clone(), &[Role::ApiUser]);
    let power_user = app.key(app.tenant.clone(), &[Role::PowerUser]);

    // The user themselves: their own profile and login id.
    let (status, body) = answer(
        app.patch(
            &my_path,
            &my_token,
            &json!({"name": {"firstName": "Me"}, "loginId": "me2@example.com", "contacts": {"telephone": "+41446681800"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["loginId"], "me2@example.com");
    let (status, _) = answer(app.get(&my_path, &my_token).await).await;
    assert_eq!(status, StatusCode::OK);

    // ...but not someone else, whom they may not even read.
    let refused = json!({"name": {"firstName": "X", "title": "Sir"}, "contacts": {"telephone": "+41446681800"}, "properties": null});
    let (status, body) = answer(app.patch(&other_path, &my_token, &refused).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        error_fields(&body),
        ["name.title", "name.firstName", "contacts.telephone"]
    );
    assert!(codes(&body).iter().all(|c| c == "errors.forbidden"));
    let (status, body) = answer(app.get(&other_path, &my_token).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = answer(app.get(USERS, &my_token).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor delete themselves (the status is an ADMIN's).
    let (status, body) = answer(delete(&app, &my_path, &my_token).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_fields(&body), ["status"]);

    // An API_USER reads and lists, and changes nothing.
    let (status, _) = answer(app.get(&other_path, &api_user).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = answer(app.get(USERS, &api_user).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (status, body) = answer(app.patch(&other_path, &api_user, &refused).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        error_fields(&body),
        ["name.title", "name.firstName", "contacts.telephone"]
    );
    let (status, body) = answer(
        app.post(USERS, &api_user, &json!({"loginId": "new@example.com"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(codes(&body), ["errors.forbidden"]);
    let (status, _) = answer(delete(&app, &other_path, &api_user).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A POWER_USER changes profiles and login ids, creates, but does not delete.
    let (status, body) = answer(
        app.patch(
            &other_path,
            &power_user,
            &json!({"loginId": "other2@example.com", "name": {"lastName": "Changed"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    create(
        &app,
        &power_user,
        json!({"loginId": "by.power@example.com"}),
    )
    .await;
    let (status, body) = answer(delete(&app, &other_path, &power_user).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_fields(&body), ["status"]);

    // Refusals changed nothing.
    let stored = app.stored_user(&other["userId"]);
    assert_eq!(stored.version, 2);
    assert!(stored.title.is_none());
    assert!(stored.phone.is_none());
    let response = delete(&app, &other_path, &app.admin_key).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn users_of_other_dialects_read_sensibly(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Through iklim.
    let iklim = app
        .create_user("iklim.user@example.com", &["STANDARD_USER"], "ACTIVE")
        .await;
    let path = user_path(iklim["userId"].as_str().unwrap());
    let (status, user) = answer(app.get(&path, &app.admin_key).await).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["loginId"], "iklim.user@example.com");
    assert_eq!(user["contacts"]["email"], "iklim.user@example.com");
    assert_eq!(user["name"]["firstName"], "Test");
    assert_eq!(user["name"]["lastName"], "User");
    assert_eq!(user["languageCode"], "en-US");
    assert_eq!(user["version"], 1);
    // A change through Nevis is seen through iklim.
    let (status, _) = answer(
        app.patch(
            &path,
            &app.admin_key,
            &json!({"name": {"firstName": "Nevis"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = answer(
        app.post("/v1/users/page", &app.admin_key, &json!({"pageSize": 10}))
            .await,
    )
    .await;
    assert_eq!(page["users"][0]["firstName"], "Nevis");

    // A username that is not an e-mail (as cl2c and Blocks allow) is the loginId.
    let new = NewUser::new(
        Username::parse("jdoe").unwrap(),
        Email::parse("j.doe@example.com").unwrap(),
    );
    let stored = new.into_user(app.tenant.id, now());
    app.store
        .create_user(
            &stored,
            &HistoryEntry::for_creation(&stored, ActorRef::System, None),
        )
        .unwrap();
    let (status, user) = answer(
        app.get(&user_path(&stored.id.to_string()), &app.admin_key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["loginId"], "jdoe");
    assert_eq!(user["contacts"]["email"], "j.doe@example.com");
    assert_eq!(user["languageCode"], Value::Null);
    let (_, page) = answer(
        app.get(&format!("{USERS}?loginId=JDOE"), &app.admin_key)
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["userId"], stored.id.to_string());
    let (_, page) = answer(
        app.get(&format!("{USERS}?email=j.doe@example.com"), &app.admin_key)
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["loginId"], "jdoe");
}

/// Under `/nevis`, a path no route has and a method a path does not take
/// answer in Nevis's body too.
async fn unknown_routes_and_methods(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let path = user_path(&UserId::new_random().to_string());
    let response = app
        .request(Method::PUT, &path, Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "DELETE, GET, PATCH");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(codes(&body), ["errors.methodNotAllowed"]);
    let (status, body) = answer(app.get("/nevis/api/v1/nothing", &app.admin_key).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(codes(&body), ["errors.noRoute"]);
    assert_eq!(body.as_object().unwrap().len(), 1);
}

async fn openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, document) = answer(
        app.request(Method::GET, "/openapi/nevis.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let error_ref = "#/components/schemas/NevisErrorBody";
    let operations = [
        (
            USERS,
            "post",
            &["201", "401", "403", "409", "422", "500"][..],
        ),
        (USERS, "get", &["200", "401", "403", "422", "500"][..]),
        (
            "/nevis/api/v1/users/{userId}",
            "get",
            &["200", "401", "403", "404", "500"][..],
        ),
        (
            "/nevis/api/v1/users/{userId}",
            "patch",
            &["200", "401", "403", "404", "409", "422", "500"][..],
        ),
        (
            "/nevis/api/v1/users/{userId}",
            "delete",
            &["204", "401", "403", "404", "500"][..],
        ),
    ];
    for (path, method, statuses) in operations {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path}");
        assert!(operation["description"].is_string(), "{method} {path}");
        for status in statuses {
            let response = &operation["responses"][*status];
            assert!(response.is_object(), "{method} {path} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], error_ref,
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert!(document["components"]["schemas"]["NevisErrorBody"].is_object());
    assert!(
        document["components"]["schemas"]["CreateUserRequest"]["properties"]["loginId"].is_object()
    );
}

both_backends!(
    documented_example,
    fully_populated_create,
    invalid_content_names_every_field,
    bad_credentials_answer_401,
    properties_must_be_declared,
    list_filters_and_continuation_paging,
    continuation_tokens_are_signed,
    partial_update_and_versions,
    modification_comment_in_history,
    delete_then_no_record,
    other_tenants_get_no_record,
    update_authorization,
    users_of_other_dialects_read_sensibly,
    unknown_routes_and_methods,
    openapi_document,
);
