//! The dialect toolkit: everything a dialect module needs besides its own
//! request and response shapes, so that a handler reads as parse, one call,
//! render.
//!
//! - [`call`]: the pipeline and the caller of a route, taken together, so
//!   that a handler's body is one call;
//! - [`fields`]: the one field reader for request bodies (required,
//!   optional, patch, list), every failure a field error at its JSON path;
//! - [`extract`]: the body, the query string, the credentials and the
//!   client's address of a request;
//! - [`pipeline`]: one trip to the blocking pool that authenticates and runs
//!   the domain operation;
//! - [`report`]: every failure as one neutral report;
//! - [`dialect`]: the [`Dialect`] trait a dialect implements to name fields
//!   and render a report in its own documented body;
//! - [`openapi`]: the error answers and security scheme every document shares;
//! - [`render`]: small pieces of every dialect's response shapes;
//! - [`tokens`]: continuation tokens signed for a tenant and a query.

pub mod call;
pub mod dialect;
pub mod extract;
pub mod fields;
pub mod openapi;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod stream;
pub mod tokens;

pub use call::Call;
pub use dialect::{Dialect, DialectError, ErrorBody, FieldErrorBody, Mounted, Service};
pub use extract::{
    Bearer, BearerToken, Body, BodySettings, Caller, ClientAddr, Credential, base_url,
    delete_path_user, header_text, path_user, path_user_field, query_pairs,
};
pub use fields::{Expected, In, SecretText};
pub use pipeline::{Accepts, Access, ClaimRefused, Pipeline};
pub use report::{Challenge, ErrorReport, Failure, FieldNames, FieldProblem, Kind, RequestError};

/// A handler's answer in dialect `D`.
pub type Reply<D, T> = Result<T, DialectError<D>>;
