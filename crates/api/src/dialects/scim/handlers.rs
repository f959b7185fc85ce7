//! SCIM's routes under `/scim/v2`: Users and Groups (create, read, list,
//! search, replace, patch, delete) and the discovery resources. Each
//! handler parses, calls one domain operation through the pipeline and
//! renders; failures are rendered by [`Scim`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde_json::{Map, Value};
use userhub_domain::DomainError;
use userhub_domain::group;
use userhub_domain::service;
use utoipa::OpenApi;

use super::dto::{
    self, ListParams, create_group_command, create_user_command, list_response,
    patch_group_command, patch_user_command, replace_group_command, replace_user_command,
};
use super::resource::{GROUPS, ScimRequest, USERS, base, scim_json};
use super::{MEDIA_TYPE, Scim, ScimError};
use crate::toolkit::openapi::{AnswersIn, BearerAuth, ErrorResponses};
use crate::toolkit::{Body, Failure, Mounted, Reply};

/// A `.search` body's list parameters.
fn search_params(object: Map<String, Value>) -> Result<ListParams, Failure> {
    ListParams::read(&object)
}

// ---- Users ----

/// Create a user.
///
/// `userName` is required; the e-mail is the primary (or first) of `emails`,
/// or the `userName` when it is an e-mail address. `active: false` creates
/// an INACTIVE user. `password` is write-only, judged by the tenant's
/// policy. A taken `userName`, e-mail or `externalId` answers 409
/// `uniqueness`. Needs POWER_USER or ADMIN (`externalId`, `roles`: ADMIN).
#[utoipa::path(
    tag = "scim-users",
    request_body(content = dto::ScimUser, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "Created; `Location` and `ETag` headers", body = dto::ScimUser, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"), ("Location" = String, description = "The new resource's URL"))),
        (status = 403, description = "The caller may not create users", body = ScimError),
        (status = 409, description = "`userName`, e-mail or `externalId` taken (`uniqueness`)", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[post("/scim/v2/Users")]
pub async fn create_user(scim: ScimRequest, body: Body) -> Reply<Scim, HttpResponse> {
    scim.create(
        &USERS,
        body.parse(create_user_command),
        service::create_user,
    )
    .await
}

/// Get a user.
///
/// Answers its `ETag` (`W/"<version>"`, also `meta.version`). A deleted
/// user, another tenant's and an unknown id answer the same 404.
#[utoipa::path(
    tag = "scim-users",
    params(
        ("id" = String, Path, description = "The user's id"),
        ("attributes" = Option<String>, Query, description = "Only these attributes (comma-separated)"),
        ("excludedAttributes" = Option<String>, Query, description = "Not these attributes"),
    ),
    responses(
        (status = 200, description = "The user", body = dto::ScimUser, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 404, description = "No such user", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[get("/scim/v2/Users/{id}")]
pub async fn get_user(scim: ScimRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    scim.get(&USERS, &path, service::get_user).await
}

/// List users.
///
/// `filter` (eq, ne, co, sw, ew, gt, ge, lt, le, pr, and, or, not,
/// parentheses) on `userName`, `emails.value` (also
/// `emails[type eq "work"].value`), `name.givenName`, `name.familyName`,
/// `externalId`, `active`, `meta.created`, `meta.lastModified`; another
/// attribute or a malformed filter answers 400 `invalidFilter`. `startIndex`
/// from 1, `count` at most 200; `sortBy` `userName`, `emails.value`,
/// `meta.created` (the default) or `meta.lastModified`; `sortOrder`. The
/// total is exact. Deleted users are never listed.
#[utoipa::path(
    tag = "scim-users",
    params(
        ("filter" = Option<String>, Query, description = "A SCIM filter, e.g. `userName eq \"bjensen\"`"),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first user; less than 1 is read as 1 (RFC 7644 §3.4.2.4)"),
        ("count" = Option<i64>, Query, description = "Users per page: more than 200 is read as 200, less than 0 as 0"),
        ("sortBy" = Option<String>, Query, description = "userName, emails.value, meta.created, meta.lastModified"),
        ("sortOrder" = Option<String>, Query, pattern = "^(ascending|descending)$", description = "ascending or descending"),
        ("attributes" = Option<String>, Query, description = "Only these attributes"),
        ("excludedAttributes" = Option<String>, Query, description = "Not these attributes"),
    ),
    responses(
        (status = 200, description = "A page of users", body = dto::ScimList, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter (`invalidFilter`) or parameter (`invalidValue`)", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[get("/scim/v2/Users")]
pub async fn list_users(scim: ScimRequest) -> Reply<Scim, HttpResponse> {
    scim.list(&USERS, service::list_users).await
}

/// Search users: the list's parameters in a `SearchRequest` body.
#[utoipa::path(
    tag = "scim-users",
    request_body(content = dto::ScimSearch, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A page of users", body = dto::ScimList, content_type = "application/scim+json"),
    ),
    security(("bearer" = []))
)]
#[post("/scim/v2/Users/.search")]
pub async fn search_users(scim: ScimRequest, body: Body) -> Reply<Scim, HttpResponse> {
    scim.search(&USERS, body.parse(search_params), service::list_users)
        .await
}

/// Replace a user.
///
/// Every attribute SCIM maps is replaced: those left out are removed
/// (`roles`, `active`, `password` and the e-mail are kept when left out).
/// With `If-Match`, a user changed since answers 412 and nothing changes.
#[utoipa::path(
    tag = "scim-users",
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = dto::ScimUser, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The user after the change", body = dto::ScimUser, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 404, description = "No such user", body = ScimError),
        (status = 409, description = "A taken `userName`, e-mail or `externalId`", body = ScimError),
        (status = 412, description = "`If-Match` names an older version; nothing changed", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[put("/scim/v2/Users/{id}")]
pub async fn replace_user(
    scim: ScimRequest,
    path: web::Path<String>,
    body: Body,
) -> Reply<Scim, HttpResponse> {
    scim.change(
        &USERS,
        &path,
        body,
        replace_user_command,
        service::update_user,
    )
    .await
}

/// Patch a user.
///
/// `add`, `replace`, `remove` (any case), with a `path` (`name.givenName`,
/// `emails[type eq "work"].value`, an extension URN) or without one (each
/// key of the value object a path, dotted or URN-prefixed keys included).
/// `active` may be `true`/`false` or `"True"`/`"False"`. Applied as one
/// change; with `If-Match`, a user changed since answers 412.
#[utoipa::path(
    tag = "scim-users",
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = dto::ScimPatch, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The user after the change", body = dto::ScimUser, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 400, description = "A bad operation (`invalidPath`, `noTarget`, `invalidValue`, `mutability`)", body = ScimError),
        (status = 404, description = "No such user", body = ScimError),
        (status = 412, description = "`If-Match` names an older version; nothing changed", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[patch("/scim/v2/Users/{id}")]
pub async fn patch_user(
    scim: ScimRequest,
    path: web::Path<String>,
    body: Body,
) -> Reply<Scim, HttpResponse> {
    scim.change(
        &USERS,
        &path,
        body,
        patch_user_command,
        service::update_user,
    )
    .await
}

/// Delete a user: it is marked DELETED, and from then on answers 404 on
/// every route of every dialect. ADMIN only.
#[utoipa::path(
    tag = "scim-users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user", body = ScimError),
        (status = 412, description = "`If-Match` names an older version", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[delete("/scim/v2/Users/{id}")]
pub async fn delete_user(scim: ScimRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    scim.delete(&USERS, &path, service::delete_user).await
}

// ---- Groups ----

/// Create a group: an organization of the tenant, its `members` given a
/// membership in it (visible to SELISE Blocks). ADMIN only.
#[utoipa::path(
    tag = "scim-groups",
    request_body(content = dto::ScimGroup, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "Created", body = dto::ScimGroup, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"), ("Location" = String, description = "The new resource's URL"))),
        (status = 409, description = "`displayName` or `externalId` taken (`uniqueness`)", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[post("/scim/v2/Groups")]
pub async fn create_group(scim: ScimRequest, body: Body) -> Reply<Scim, HttpResponse> {
    scim.create(
        &GROUPS,
        body.parse(create_group_command),
        group::create_group,
    )
    .await
}

/// Get a group with its members.
#[utoipa::path(
    tag = "scim-groups",
    params(("id" = String, Path, description = "The group's id")),
    responses(
        (status = 200, description = "The group", body = dto::ScimGroup, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 404, description = "No such group", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[get("/scim/v2/Groups/{id}")]
pub async fn get_group(scim: ScimRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    scim.get(&GROUPS, &path, group::get_group).await
}

/// List groups: `filter` on `displayName`, `externalId`, `meta.created`,
/// `meta.lastModified`; paging and sorting (`displayName`, `meta.created`)
/// as for Users.
#[utoipa::path(
    tag = "scim-groups",
    params(
        ("filter" = Option<String>, Query, description = "A SCIM filter, e.g. `displayName eq \"Sales\"`"),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first group; less than 1 is read as 1 (RFC 7644 §3.4.2.4)"),
        ("count" = Option<i64>, Query, description = "Groups per page: more than 200 is read as 200, less than 0 as 0"),
        ("sortBy" = Option<String>, Query, description = "displayName or meta.created"),
        ("sortOrder" = Option<String>, Query, pattern = "^(ascending|descending)$", description = "ascending or descending"),
        ("excludedAttributes" = Option<String>, Query, description = "e.g. `members`"),
    ),
    responses(
        (status = 200, description = "A page of groups", body = dto::ScimList, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter (`invalidFilter`)", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[get("/scim/v2/Groups")]
pub async fn list_groups(scim: ScimRequest) -> Reply<Scim, HttpResponse> {
    scim.list(&GROUPS, group::list_groups).await
}

/// Search groups: the list's parameters in a `SearchRequest` body.
#[utoipa::path(
    tag = "scim-groups",
    request_body(content = dto::ScimSearch, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A page of groups", body = dto::ScimList, content_type = "application/scim+json"),
    ),
    security(("bearer" = []))
)]
#[post("/scim/v2/Groups/.search")]
pub async fn search_groups(scim: ScimRequest, body: Body) -> Reply<Scim, HttpResponse> {
    scim.search(&GROUPS, body.parse(search_params), group::list_groups)
        .await
}

/// Replace a group: name, external id and members.
#[utoipa::path(
    tag = "scim-groups",
    params(("id" = String, Path, description = "The group's id")),
    request_body(content = dto::ScimGroup, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The group after the change", body = dto::ScimGroup, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 404, description = "No such group", body = ScimError),
        (status = 412, description = "`If-Match` names an older version", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[put("/scim/v2/Groups/{id}")]
pub async fn replace_group(
    scim: ScimRequest,
    path: web::Path<String>,
    body: Body,
) -> Reply<Scim, HttpResponse> {
    scim.change(
        &GROUPS,
        &path,
        body,
        replace_group_command,
        group::update_group,
    )
    .await
}

/// Patch a group: `displayName`, `externalId`, and `members` (`add` a list,
/// `remove` with `members[value eq "id"]` or with a value list, `replace`).
#[utoipa::path(
    tag = "scim-groups",
    params(("id" = String, Path, description = "The group's id")),
    request_body(content = dto::ScimPatch, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The group after the change", body = dto::ScimGroup, content_type = "application/scim+json",
            headers(("ETag" = String, description = "The resource's version (`W/\"n\"`), for `If-Match`"))),
        (status = 404, description = "No such group", body = ScimError),
        (status = 412, description = "`If-Match` names an older version", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[patch("/scim/v2/Groups/{id}")]
pub async fn patch_group(
    scim: ScimRequest,
    path: web::Path<String>,
    body: Body,
) -> Reply<Scim, HttpResponse> {
    scim.change(
        &GROUPS,
        &path,
        body,
        patch_group_command,
        group::update_group,
    )
    .await
}

/// Delete a group: its members' memberships in it end too.
#[utoipa::path(
    tag = "scim-groups",
    params(("id" = String, Path, description = "The group's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group", body = ScimError),
    ),
    security(("bearer" = []))
)]
#[delete("/scim/v2/Groups/{id}")]
pub async fn delete_group(scim: ScimRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    scim.delete(&GROUPS, &path, group::delete_group).await
}

/// Search every resource type at once: not supported (501, which RFC 7644
/// §3.12 gives for an operation a service provider does not support);
/// search `/Users/.search` or `/Groups/.search`.
#[utoipa::path(
    tag = "scim-discovery",
    responses((status = 501, description = "Not supported: search /Users/.search or /Groups/.search", body = ScimError)),
)]
#[post("/scim/v2/.search")]
pub async fn search_all() -> HttpResponse {
    scim_json(
        StatusCode::NOT_IMPLEMENTED,
        serde_json::json!({
            "schemas": [super::ERROR_SCHEMA],
            "status": "501",
            "detail": "searching several resource types at once is not supported: search /Users/.search or /Groups/.search",
        }),
    )
}

// ---- discovery ----

/// What this service supports (RFC 7643 §5).
#[utoipa::path(
    tag = "scim-discovery",
    responses((status = 200, description = "The service provider configuration", content_type = "application/scim+json")),
)]
#[get("/scim/v2/ServiceProviderConfig")]
pub async fn service_provider_config(req: HttpRequest) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        super::discovery::service_provider_config(&base(&req)),
    )
}

/// The resource types: User and Group.
#[utoipa::path(
    tag = "scim-discovery",
    responses((status = 200, description = "The resource types", content_type = "application/scim+json")),
)]
#[get("/scim/v2/ResourceTypes")]
pub async fn resource_types(req: HttpRequest) -> HttpResponse {
    let all = super::discovery::resource_types(&base(&req));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, list_response(all, total, 1))
}

/// One resource type.
#[utoipa::path(
    tag = "scim-discovery",
    params(("id" = String, Path, description = "User or Group")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json"),
        (status = 404, description = "No such resource type", body = ScimError),
    ),
)]
#[get("/scim/v2/ResourceTypes/{id}")]
pub async fn resource_type(req: HttpRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    super::discovery::resource_types(&base(&req))
        .into_iter()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(path.as_str()))
        .map(|t| scim_json(StatusCode::OK, t))
        .ok_or_else(|| DomainError::NotFound("resource type").into())
}

/// The schemas: core User and Group, the enterprise extension, userhub's.
#[utoipa::path(
    tag = "scim-discovery",
    responses((status = 200, description = "The schemas", content_type = "application/scim+json")),
)]
#[get("/scim/v2/Schemas")]
pub async fn list_schemas(req: HttpRequest) -> HttpResponse {
    let all = super::discovery::schemas(&base(&req));
    let total = all.len() as u64;
    scim_json(StatusCode::OK, list_response(all, total, 1))
}

/// One schema, by its URN.
#[utoipa::path(
    tag = "scim-discovery",
    params(("id" = String, Path, description = "The schema's URN")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json"),
        (status = 404, description = "No such schema", body = ScimError),
    ),
)]
#[get("/scim/v2/Schemas/{id}")]
pub async fn get_schema(req: HttpRequest, path: web::Path<String>) -> Reply<Scim, HttpResponse> {
    super::discovery::schemas(&base(&req))
        .into_iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some(path.as_str()))
        .map(|s| scim_json(StatusCode::OK, s))
        .ok_or_else(|| DomainError::NotFound("schema").into())
}

/// The dialect as the application mounts it.
pub const MOUNTED: Mounted = Mounted::of::<Scim>(super::PREFIXES, configure, openapi);

/// Mount SCIM's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(search_users)
        .service(create_user)
        .service(list_users)
        .service(get_user)
        .service(replace_user)
        .service(patch_user)
        .service(delete_user)
        .service(search_groups)
        .service(create_group)
        .service(list_groups)
        .service(get_group)
        .service(replace_group)
        .service(patch_group)
        .service(delete_group)
        .service(search_all)
        .service(service_provider_config)
        .service(resource_types)
        .service(resource_type)
        .service(list_schemas)
        .service(get_schema);
}

/// SCIM answers everything in its media type, whatever a handler declares.
const ANSWERS_IN_SCIM: AnswersIn = AnswersIn(MEDIA_TYPE);

const ERRORS: ErrorResponses = ErrorResponses {
    schema: "ScimError",
    content_type: MEDIA_TYPE,
    invalid: StatusCode::BAD_REQUEST,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "userhub — SCIM 2.0",
        description = "SCIM 2.0 (RFC 7643, RFC 7644) Users and Groups over userhub's store, under `/scim/v2`. Authenticate with `Authorization: Bearer <API key>`. Answers `application/scim+json` (requests may be `application/json` too); every error is a SCIM error (`ScimError`). A Group is an organization of the tenant; its members are the users with a membership in it.",
    ),
    paths(
        create_user, get_user, list_users, search_users, replace_user, patch_user, delete_user,
        create_group, get_group, list_groups, search_groups, replace_group, patch_group, delete_group,
        search_all, service_provider_config, resource_types, resource_type, list_schemas, get_schema,
    ),
    components(schemas(ScimError, dto::ScimUser, dto::ScimGroup, dto::ScimList, dto::ScimPatch, dto::ScimSearch)),
    tags(
        (name = "scim-users", description = "SCIM Users"),
        (name = "scim-groups", description = "SCIM Groups (organizations)"),
        (name = "scim-discovery", description = "ServiceProviderConfig, ResourceTypes, Schemas"),
    ),
    modifiers(&BearerAuth, &ERRORS, &ANSWERS_IN_SCIM),
)]
struct ScimApi;

/// SCIM's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ScimApi::openapi()
}
