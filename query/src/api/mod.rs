//! The REST API under `/api/v1`: routes, the OpenAPI document generated from them, Swagger UI,
//! health, readiness and metrics.

// utoipa's `path` macro repeats extractor types with their full paths in generated code.
#![allow(unused_qualifications)]

mod collectors;
mod devices;
mod reports;
mod session;
mod tenants;
pub mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleet_store::Scope;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::metrics as m;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fleetmeter query API",
        description = "Devices, counters, supplies, alerts and reports of a printer fleet, for \
                       exactly the tenants the caller may see. Log in with POST /api/v1/session \
                       (cookie; send the CSRF token in X-CSRF-Token on changes) or send an API \
                       token as `Authorization: Bearer`. Errors are problem documents \
                       (application/problem+json)."
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The caller and the tenants it may see, resolved once per request by
/// [`crate::tenancy::Directory::scope`].
#[derive(Debug)]
pub struct Scoped {
    pub caller: Caller,
    pub scope: Scope,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> ApiResult<Scoped> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let scope = state.directory.scope(&caller).await?;
        Ok(Scoped { caller, scope })
    }
}

/// `axum::extract::Query`, answering a malformed query string with a problem document.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> ApiResult<Query<T>> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::Rejected(e.status(), e.body_text()))
    }
}

/// `axum::Json`, answering a malformed body with a problem document.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Json<T>> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|j| Json(j.0))
            .map_err(|e| ApiError::Rejected(e.status(), e.body_text()))
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path`, answering an undecodable path with a problem document.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> ApiResult<Path<T>> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::Rejected(e.status(), e.body_text()))
    }
}

/// Parses an id from a path; anything that is not one is simply not found.
pub fn path_id(text: &str, what: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| ApiError::not_found(what))
}

fn api_router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(session::routes())
        .merge(tenants::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(devices::routes())
        .merge(collectors::routes())
        .merge(reports::routes())
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    let (_, doc) = api_router().split_for_parts();
    doc.to_pretty_json().unwrap_or_default()
}

pub fn router(state: Arc<AppState>) -> Router {
    let (api, doc) = api_router().split_for_parts();
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", doc))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .fallback(not_found)
        .layer(middleware::from_fn(count_requests))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; the API is described at /api/v1/openapi.json".into())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("clickhouse: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics_page(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let class = format!("{}xx", response.status().as_u16() / 100);
    metrics::counter!(m::REQUESTS, "route" => route.clone(), "status" => class).increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
