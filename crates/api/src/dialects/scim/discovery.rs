//! The discovery resources (RFC 7643 §5–7): what this service supports,
//! its resource types and their schemas, describing exactly what the
//! handlers do (patch, filter with its maximum, sort, ETags; no bulk, no
//! changePassword).

use serde_json::{Value, json};

use super::dto::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_COUNT, USER_SCHEMA, USERHUB_SCHEMA};

/// Suggested locales (any BCP 47 tag is accepted).
const LOCALES: [&str; 6] = ["en", "en-US", "en-GB", "de-CH", "fr-FR", "tr-TR"];
/// Suggested time zones (any IANA name is accepted).
const TIME_ZONES: [&str; 5] = [
    "UTC",
    "Europe/Zurich",
    "Europe/Istanbul",
    "America/New_York",
    "Asia/Tokyo",
];
/// Suggested countries (any ISO 3166-1 alpha-2 code is accepted).
const COUNTRIES: [&str; 5] = ["CH", "DE", "FR", "TR", "US"];

/// `attribute` with suggested values (RFC 7643 `canonicalValues`): any
/// valid value is accepted.
fn suggest(attribute: Value, values: &[&str]) -> Value {
    with(attribute, "canonicalValues", json!(values))
}

/// `attribute`, required.
fn required(attribute: Value) -> Value {
    with(attribute, "required", json!(true))
}

/// Unique per tenant (`uniqueness: server`).
fn unique(attribute: Value) -> Value {
    with(attribute, "uniqueness", json!("server"))
}

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/userhub/userhub/blob/main/docs/scim.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "Authorization: Bearer <userhub API key>",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// `/ResourceTypes`.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A user of the tenant",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_SCHEMA, "required": false},
                {"schema": USERHUB_SCHEMA, "required": false},
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "An organization of the tenant",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

/// One attribute definition.
fn attr(name: &str, kind: &str, mutability: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut attribute: Value, key: &str, value: Value) -> Value {
    if let Some(object) = attribute.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
    attribute
}

/// `externalId`, as Users and Groups have it: unique per tenant, exact case.
fn external_id() -> Value {
    let given = "The identity provider's id, unique per tenant";
    let id = attr("externalId", "string", "readWrite", given);
    unique(with(id, "caseExact", json!(true)))
}

/// A multi-valued attribute's `type` that is always `work`.
fn always_work() -> Value {
    let kind = attr("type", "string", "readWrite", "Always work");
    with(kind, "canonicalValues", json!(["work"]))
}

fn complex(
    name: &str,
    multi: bool,
    mutability: &str,
    description: &str,
    subs: Vec<Value>,
) -> Value {
    let a = with(
        attr(name, "complex", mutability, description),
        "subAttributes",
        Value::Array(subs),
    );
    with(a, "multiValued", json!(multi))
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// `/Schemas`: exactly the attributes the service stores.
pub fn schemas(base: &str) -> Vec<Value> {
    let rw = "readWrite";
    let user = vec![
        with(
            unique(required(attr(
                "userName",
                "string",
                rw,
                "Login name, unique per tenant",
            ))),
            "returned",
            json!("always"),
        ),
        external_id(),
        complex(
            "name",
            false,
            rw,
            "The user's name",
            vec![
                attr("familyName", "string", rw, "Family name"),
                attr("givenName", "string", rw, "Given name"),
                attr("middleName", "string", rw, "Middle name"),
                attr("honorificPrefix", "string", rw, "Title"),
            ],
        ),
        attr("displayName", "string", "readOnly", "The name parts joined"),
        required(complex(
            "emails",
            true,
            rw,
            "One work e-mail address, unique per tenant (every user has one)",
            vec![
                required(attr("value", "string", rw, "The address")),
                always_work(),
                attr("primary", "boolean", rw, "Always true"),
            ],
        )),
        complex(
            "phoneNumbers",
            true,
            rw,
            "A work and a fax number (E.164)",
            vec![
                attr("value", "string", rw, "The number, E.164"),
                with(
                    attr("type", "string", rw, "work or fax"),
                    "canonicalValues",
                    json!(["work", "fax"]),
                ),
                attr("primary", "boolean", rw, "The work number"),
            ],
        ),
        complex(
            "addresses",
            true,
            rw,
            "One address",
            vec![
                attr("streetAddress", "string", rw, "Street"),
                attr("locality", "string", rw, "City"),
                attr("postalCode", "string", rw, "Postal code"),
                suggest(
                    attr("country", "string", rw, "ISO 3166-1 alpha-2"),
                    &COUNTRIES,
                ),
                always_work(),
                attr("primary", "boolean", rw, "Always true"),
            ],
        ),
        attr(
            "preferredLanguage",
            "string",
            "readOnly",
            "The same as locale (write locale)",
        ),
        suggest(
            attr("locale", "string", rw, "BCP 47 language tag"),
            &LOCALES,
        ),
        suggest(
            attr("timezone", "string", rw, "IANA time zone"),
            &TIME_ZONES,
        ),
        attr("active", "boolean", rw, "false: INACTIVE"),
        with(
            with(
                attr(
                    "password",
                    "string",
                    "writeOnly",
                    "Write-only; judged by the tenant's policy",
                ),
                "returned",
                json!("never"),
            ),
            "caseExact",
            json!(true),
        ),
        complex(
            "roles",
            true,
            rw,
            "Service roles",
            vec![with(
                attr(
                    "value",
                    "string",
                    rw,
                    "GUEST, API_USER, STANDARD_USER, POWER_USER, EXTENDED_USER, ADMIN",
                ),
                "canonicalValues",
                json!([
                    "GUEST",
                    "API_USER",
                    "STANDARD_USER",
                    "POWER_USER",
                    "EXTENDED_USER",
                    "ADMIN"
                ]),
            )],
        ),
        complex(
            "groups",
            true,
            "readOnly",
            "The groups the user is a member of",
            vec![
                attr("value", "string", "readOnly", "The group's id"),
                with(
                    attr("$ref", "reference", "readOnly", "The group's URI"),
                    "referenceTypes",
                    json!(["Group"]),
                ),
                attr("type", "string", "readOnly", "direct"),
            ],
        ),
    ];
    let group = vec![
        unique(required(attr(
            "displayName",
            "string",
            rw,
            "Unique per tenant",
        ))),
        external_id(),
        complex(
            "members",
            true,
            rw,
            "The users with a membership in the organization",
            vec![
                with(
                    attr("value", "string", "immutable", "The user's id"),
                    "required",
                    json!(true),
                ),
                with(
                    attr("$ref", "reference", "immutable", "The user's URI"),
                    "referenceTypes",
                    json!(["User"]),
                ),
                with(
                    attr("type", "string", "immutable", "User"),
                    "canonicalValues",
                    json!(["User"]),
                ),
            ],
        ),
    ];
    let enterprise = vec![attr("organization", "string", rw, "The user's company")];
    let userhub = vec![
        attr(
            "status",
            "string",
            "readOnly",
            "ACTIVE, INACTIVE, EXPIRED, BLOCKED (write `active`)",
        ),
        attr(
            "emailVerified",
            "boolean",
            rw,
            "Whether the e-mail address is verified",
        ),
        attr(
            "phoneVerified",
            "boolean",
            rw,
            "Whether the phone number is verified",
        ),
        complex(
            "memberships",
            true,
            "readOnly",
            "Organization memberships with their roles and permissions",
            vec![attr(
                "organization",
                "string",
                "readOnly",
                "The organization (a Group's id)",
            )],
        ),
        attr(
            "attributes",
            "complex",
            "readOnly",
            "The tenant's declared custom attributes",
        ),
    ];
    vec![
        schema(USER_SCHEMA, "User", "User Account", user, base),
        schema(
            GROUP_SCHEMA,
            "Group",
            "Group (an organization of the tenant)",
            group,
            base,
        ),
        schema(
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            "Enterprise User (the parts userhub stores)",
            enterprise,
            base,
        ),
        schema(
            USERHUB_SCHEMA,
            "UserhubUser",
            "userhub's domain fields with no core place",
            userhub,
            base,
        ),
    ]
}
