//! One username rule in every dialect (issue 15): a username holding an
//! invisible or bidi character is refused with a field error naming the
//! dialect's username field, and a look-alike of an existing user's name
//! is answered as taken (409), whichever dialect created that user.
//!
//! Black-box through HTTP only. These tests check statuses and which field
//! is named, never message texts or the exact error body layout: they read
//! field names from either an `errors` list of `{field, ...}` objects or an
//! `errors` map keyed by field.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, STRONG, TestApp, answer, spawn_app};

/// Zero width space, zero width joiner, soft hyphen, right-to-left override:
/// what cl2c and Blocks accepted before.
const INVISIBLE: [char; 4] = ['\u{200b}', '\u{200d}', '\u{ad}', '\u{202e}'];

/// Latin `alice` with its first letter in Cyrillic (U+0430).
const CYRILLIC_ALICE: &str = "\u{430}lice";

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Iklim,
    Nevis,
    Cl2c,
    Blocks,
}

const DIALECTS: [Dialect; 4] = [
    Dialect::Iklim,
    Dialect::Nevis,
    Dialect::Cl2c,
    Dialect::Blocks,
];

impl Dialect {
    /// The dialect's name for the username in requests and field errors.
    fn username_field(self) -> &'static str {
        match self {
            Dialect::Iklim => "username",
            Dialect::Nevis => "loginId",
            Dialect::Cl2c | Dialect::Blocks => "userName",
        }
    }

    /// Whether its username is also the user's e-mail address.
    fn username_is_email(self) -> bool {
        matches!(self, Dialect::Iklim | Dialect::Nevis)
    }

    /// The status of a refused value.
    fn invalid_status(self) -> StatusCode {
        match self {
            Dialect::Nevis => StatusCode::UNPROCESSABLE_ENTITY,
            Dialect::Iklim | Dialect::Cl2c | Dialect::Blocks => StatusCode::BAD_REQUEST,
        }
    }

    /// The status of a successful create.
    fn created_status(self) -> StatusCode {
        match self {
            Dialect::Nevis => StatusCode::CREATED,
            Dialect::Iklim | Dialect::Cl2c | Dialect::Blocks => StatusCode::OK,
        }
    }

    /// Create a user named `username` (with an unrelated e-mail where the
    /// dialect has a field for it), as `acme`'s ADMIN key.
    async fn create(self, app: &TestApp, username: &str) -> (StatusCode, Value) {
        let email = format!("{}@example.org", uuid::Uuid::new_v4().simple());
        let (method, path, body) = match self {
            Dialect::Iklim => (
                Method::POST,
                "/v1/users/create",
                json!({
                    "username": username,
                    "password": STRONG,
                    "firstName": "Test",
                    "lastName": "User",
                    "locale": "en_US",
                    "timezone": "Europe/Zurich",
                    "roles": ["STANDARD_USER"],
                    "status": "ACTIVE"
                }),
            ),
            Dialect::Nevis => (
                Method::POST,
                "/nevis/api/v1/users",
                json!({"loginId": username}),
            ),
            Dialect::Cl2c => (
                Method::POST,
                "/v1/cl2c/user",
                json!({
                    "firstName": "Test",
                    "lastName": "User",
                    "email": email,
                    "userName": username,
                    "phoneNumber": "+14155552671"
                }),
            ),
            Dialect::Blocks => (
                Method::POST,
                "/idp/v1/Iam/Create",
                json!({"userName": username, "email": email, "password": STRONG}),
            ),
        };
        let request = match self {
            Dialect::Iklim | Dialect::Nevis => app.request(method, path, Some(&app.admin_key)),
            Dialect::Cl2c => app
                .request(method, path, None)
                .header("tenant", "acme")
                .header("X-API-Key", &app.admin_key),
            Dialect::Blocks => app
                .request(method, path, None)
                .header("x-blocks-key", &app.admin_key),
        };
        answer(request.json(&body).send().await.unwrap()).await
    }
}

/// The fields an error body names: `field` members of the objects in an
/// `errors` list, or the keys of an `errors` map; sorted, without repeats.
fn named_fields(body: &Value) -> Vec<String> {
    let mut fields: Vec<String> = match &body["errors"] {
        Value::Array(errors) => errors
            .iter()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect(),
        Value::Object(errors) => errors.keys().cloned().collect(),
        _ => Vec::new(),
    };
    fields.sort();
    fields.dedup();
    fields
}

/// `name` as the dialect's username: an e-mail address where it must be one.
fn username(dialect: Dialect, name: &str) -> String {
    if dialect.username_is_email() {
        format!("{name}@example.com")
    } else {
        name.to_owned()
    }
}

async fn an_invisible_character_is_refused_by_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for c in INVISIBLE {
        for dialect in DIALECTS {
            let name = username(dialect, &format!("al{c}ice"));
            let (status, body) = dialect.create(&app, &name).await;
            let what = format!("{dialect:?} U+{:04X}", u32::from(c));
            assert_eq!(status, dialect.invalid_status(), "{what}: {body}");
            assert_eq!(
                named_fields(&body),
                [dialect.username_field()],
                "{what}: {body}"
            );
            // The refused value is not echoed.
            assert!(!body.to_string().contains(&name), "{what}: {body}");
        }
    }
    // And the same name without the character is a user like any other.
    for dialect in DIALECTS {
        let name = username(dialect, &format!("alice{dialect:?}"));
        let (status, body) = dialect.create(&app, &name).await;
        assert_eq!(status, dialect.created_status(), "{dialect:?}: {body}");
    }
}

async fn a_look_alike_is_taken_in_every_dialect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // The originals, each created through a dialect other than most of
    // those that then refuse the look-alike: `alice@example.com` through
    // Blocks (an e-mail-shaped username) and `alice` through cl2c.
    let (status, body) = Dialect::Blocks
        .create(&app, &username(Dialect::Iklim, "alice"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = Dialect::Cl2c.create(&app, "alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for dialect in DIALECTS {
        for look_alike in [CYRILLIC_ALICE, "\u{430}LICE", "AL\u{406}CE"] {
            let name = username(dialect, look_alike);
            let (status, body) = dialect.create(&app, &name).await;
            assert_eq!(
                status,
                StatusCode::CONFLICT,
                "{dialect:?} {look_alike:?}: {body}"
            );
            assert_eq!(
                named_fields(&body),
                [dialect.username_field()],
                "{dialect:?} {look_alike:?}: {body}"
            );
        }
    }
    // A name that only resembles them is free.
    for dialect in DIALECTS {
        let name = username(dialect, &format!("alicia{dialect:?}"));
        let (status, body) = dialect.create(&app, &name).await;
        assert_eq!(status, dialect.created_status(), "{dialect:?}: {body}");
    }
}

both_backends!(
    an_invisible_character_is_refused_by_every_dialect,
    a_look_alike_is_taken_in_every_dialect,
);
