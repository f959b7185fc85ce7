//! What SCIM's Users and Groups routes share: a route's request (the
//! caller, the base URL, the projection, `If-Match`) and the answers every
//! resource type gives the same way, so that each handler is one call
//! naming its resource type and its domain operation.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, HeaderValue, IF_MATCH, LOCATION};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use userhub_domain::group::{DeleteGroup, GroupPage, GroupQuery, GroupView};
use userhub_domain::query::UserPage;
use userhub_domain::service::{DeleteUser, ListUsers};
use userhub_domain::types::{OrganizationId, UserId};
use userhub_domain::user::User;

use super::dto::{
    ListParams, Projection, group_id, group_resource, if_match, list_response, user_resource,
};
use super::{MEDIA_TYPE, Scim};
use crate::toolkit::pipeline::Operation;
use crate::toolkit::{
    Access, Body, Call, DialectError, Failure, Pipeline, Reply, base_url, delete_path_user,
    path_user, query_pairs,
};

/// A SCIM resource type as its routes treat it: how a path names one
/// (`Id`), how one (`View`) is rendered, how a list's parameters become the
/// domain's `Query` and how its `Page` reads, and the `Delete` command.
#[derive(Debug)]
pub struct Resource<Id, View, Query, Page, Delete> {
    /// The one a path segment names (an id that is not valid names none: 404).
    id: fn(&str) -> Result<Id, Failure>,
    /// One in SCIM's JSON, its `meta.location` under the base URL.
    render: fn(&View, &str) -> Value,
    /// The list query the parameters ask for.
    query: fn(&ListParams) -> Result<Query, Failure>,
    /// A page's resources and how many pass the filter.
    page: fn(&Page) -> (&[View], u64),
    /// The command deleting the one a path segment names, if it is still at
    /// the `If-Match` version.
    delete: fn(&str, Option<u64>) -> Result<Delete, Failure>,
}

/// SCIM Users: the tenant's users.
pub const USERS: Resource<UserId, User, ListUsers, UserPage, DeleteUser> = Resource {
    id: path_user,
    render: user_resource,
    query: ListParams::users_command,
    page: |page| (&page.users, page.total.unwrap_or(0)),
    delete: delete_path_user,
};

/// SCIM Groups: the tenant's organizations.
pub const GROUPS: Resource<OrganizationId, GroupView, GroupQuery, GroupPage, DeleteGroup> =
    Resource {
        id: group_id,
        render: group_resource,
        query: ListParams::groups_query,
        page: |page| (&page.groups, page.total),
        delete: |segment, expected_version| {
            group_id(segment).map(|id| DeleteGroup {
                id,
                expected_version,
            })
        },
    };

/// How a PUT or PATCH body becomes a change of the one a path names (`Id`,
/// or why the path names none), at the `If-Match` version if any.
pub type ParseChange<Id, C> =
    fn(Result<Id, Failure>, Option<u64>, Map<String, Value>) -> Result<C, Failure>;

/// An answer in SCIM's media type.
pub fn scim_json(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(MEDIA_TYPE)
        .body(body.to_string())
}

/// A request to a SCIM route: the pipeline, its caller, and the request
/// (the answer depends on its URL, query string and `If-Match`).
#[derive(Debug)]
pub struct ScimRequest {
    pipeline: Pipeline,
    access: Access,
    req: HttpRequest,
}

impl FromRequest for ScimRequest {
    type Error = DialectError<Scim>;
    type Future = Ready<Result<Self, DialectError<Scim>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            Call::<Scim>::from_request(req, payload)
                .into_inner()
                .map(|call| {
                    let (pipeline, access) = call.into_parts();
                    ScimRequest {
                        pipeline,
                        access,
                        req: req.clone(),
                    }
                }),
        )
    }
}

/// The SCIM base URL the client addressed (`https://host/scim/v2`).
pub fn base(req: &HttpRequest) -> String {
    format!("{}/scim/v2", base_url(req))
}

/// The query string's `attributes` and `excludedAttributes`.
fn projection(req: &HttpRequest) -> Projection {
    let pairs = query_pairs(req).unwrap_or_default();
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::new(find("attributes"), find("excludedAttributes"))
}

/// The `If-Match` header's version, if any.
fn expected_version(req: &HttpRequest) -> Option<u64> {
    if_match(req.headers().get(IF_MATCH).and_then(|v| v.to_str().ok()))
}

/// A resource answer: SCIM's media type, its `ETag`, and for a creation
/// its `Location`.
fn resource(req: &HttpRequest, status: StatusCode, body: Value) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type(MEDIA_TYPE);
    let meta = body.get("meta");
    if let Some(version) = meta.and_then(|m| m.get("version")).and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(version)
    {
        response.insert_header((ETAG, value));
    }
    if status == StatusCode::CREATED
        && let Some(location) = meta.and_then(|m| m.get("location")).and_then(Value::as_str)
        && let Ok(value) = HeaderValue::from_str(location)
    {
        response.insert_header((LOCATION, value));
    }
    response.body(projection(req).apply(body).to_string())
}

impl ScimRequest {
    /// Run `op` on `command` and answer the resource it gives (`render`ed)
    /// with `status`.
    async fn answer<C: Send + 'static, V: Send + 'static>(
        self,
        status: StatusCode,
        command: Result<C, Failure>,
        op: Operation<C, V>,
        render: fn(&V, &str) -> Value,
    ) -> Reply<Scim, HttpResponse> {
        let view = self.pipeline.run(self.access, command, op).await?;
        Ok(resource(&self.req, status, render(&view, &base(&self.req))))
    }

    /// POST: create one (201 with `Location`).
    pub async fn create<I, V: Send + 'static, Q, P, D, C: Send + 'static>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        command: Result<C, Failure>,
        op: Operation<C, V>,
    ) -> Reply<Scim, HttpResponse> {
        self.answer(StatusCode::CREATED, command, op, kind.render)
            .await
    }

    /// GET: the one the path names.
    pub async fn get<I: Send + 'static, V: Send + 'static, Q, P, D>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        segment: &str,
        op: Operation<I, V>,
    ) -> Reply<Scim, HttpResponse> {
        self.answer(StatusCode::OK, (kind.id)(segment), op, kind.render)
            .await
    }

    /// PUT or PATCH: `parse` the body into a change of the one the path
    /// names (at the `If-Match` version, if any), then apply it.
    pub async fn change<I, V: Send + 'static, Q, P, D, C: Send + 'static>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        segment: &str,
        body: Body,
        parse: ParseChange<I, C>,
        op: Operation<C, V>,
    ) -> Reply<Scim, HttpResponse> {
        let (id, version) = ((kind.id)(segment), expected_version(&self.req));
        let command = body.parse(|object| parse(id, version, object));
        self.answer(StatusCode::OK, command, op, kind.render).await
    }

    /// DELETE: the one the path names (at the `If-Match` version, if any).
    pub async fn delete<I, V, Q, P, D: Send + 'static, T: Send + 'static>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        segment: &str,
        op: Operation<D, T>,
    ) -> Reply<Scim, HttpResponse> {
        let command = (kind.delete)(segment, expected_version(&self.req));
        self.pipeline.run(self.access, command, op).await?;
        Ok(HttpResponse::NoContent().finish())
    }

    /// GET of the collection: the query string's filter, paging and sort.
    pub async fn list<I, V, Q: Send + 'static, P: Send + 'static, D>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        op: Operation<Q, P>,
    ) -> Reply<Scim, HttpResponse> {
        let params = query_pairs(&self.req)
            .map_err(Failure::from)
            .and_then(ListParams::from_pairs);
        self.search(kind, params, op).await
    }

    /// A list by `params` (the query string's, or a `.search` body's).
    pub async fn search<I, V, Q: Send + 'static, P: Send + 'static, D>(
        self,
        kind: &Resource<I, V, Q, P, D>,
        params: Result<ListParams, Failure>,
        op: Operation<Q, P>,
    ) -> Reply<Scim, HttpResponse> {
        let (start_index, projection) = match &params {
            Ok(p) => (p.start_index, p.projection.clone()),
            Err(_) => (1, Projection::default()),
        };
        let query = params.and_then(|p| (kind.query)(&p));
        let page = self.pipeline.run(self.access, query, op).await?;
        let base = base(&self.req);
        let (views, total) = (kind.page)(&page);
        let resources = views
            .iter()
            .map(|view| projection.apply((kind.render)(view, &base)))
            .collect();
        Ok(scim_json(
            StatusCode::OK,
            list_response(resources, total, start_index),
        ))
    }
}
