//! What an authenticated handler starts from: the pipeline and the caller,
//! taken from the request together, so that a handler's body is one call
//! (parse, one trip, render) instead of the same few lines in every route.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use userhub_domain::authz::Actor;
use userhub_domain::ports::Ctx;
use userhub_storage::Store;

use super::dialect::{Dialect, DialectError};
use super::extract::{BearerToken, Caller, Credential};
use super::pipeline::{Access, Operation, Pipeline};
use super::report::{Failure, RequestError};

/// A route of dialect `D` whose caller presents credential `C`: the
/// pipeline and the caller, still to be admitted by it.
#[derive(Debug)]
pub struct Call<D, C = BearerToken> {
    pipeline: Pipeline,
    caller: Caller<D, C>,
}

impl<D: Dialect, C: Credential> FromRequest for Call<D, C> {
    type Error = DialectError<D>;
    type Future = Ready<Result<Self, DialectError<D>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Both extractors are ready at once; the caller's 401 comes in `D`'s
        // body, a missing application state as `D`'s 500.
        let caller = match Caller::<D, C>::from_request(req, payload).into_inner() {
            Ok(caller) => caller,
            Err(refused) => return ready(Err(refused)),
        };
        ready(
            Pipeline::from_request(req, payload)
                .into_inner()
                .map(|pipeline| Call { pipeline, caller })
                .map_err(|_| {
                    DialectError::from(RequestError::Internal(
                        "the application state is missing".to_owned(),
                    ))
                }),
        )
    }
}

impl<D: Dialect, C> Call<D, C> {
    /// One trip to the blocking pool: admit the caller, run `op` on the
    /// parsed `command` (or answer what was wrong with the request), then
    /// `render` the result.
    pub async fn run<K, T, R>(
        self,
        command: Result<K, Failure>,
        op: Operation<K, T>,
        render: impl FnOnce(T) -> R,
    ) -> Result<R, DialectError<D>>
    where
        K: Send + 'static,
        T: Send + 'static,
    {
        let done = self.pipeline.run(self.caller.access(), command, op).await?;
        Ok(render(done))
    }

    /// One trip to the blocking pool: admit the caller, run `op`, then
    /// `render` the result (for a route whose operation is more than one
    /// domain call on a parsed command).
    pub async fn call<T, F, R>(
        self,
        op: F,
        render: impl FnOnce(T) -> R,
    ) -> Result<R, DialectError<D>>
    where
        F: FnOnce(&Ctx<'_, Store>, &Actor) -> Result<T, Failure> + Send + 'static,
        T: Send + 'static,
    {
        let done = self.pipeline.call(self.caller.access(), op).await?;
        Ok(render(done))
    }

    /// The pipeline (for what a route reads from the application state).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The pipeline, and what it needs to admit the caller (for a route
    /// that adds to the access, such as a tenant the request claims).
    pub fn into_parts(self) -> (Pipeline, Access) {
        (self.pipeline, self.caller.access())
    }
}
