//! Errors as RFC 9457 problem documents (`application/problem+json`), each with a stable
//! `type` URI that clients can match on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleet_reports::ReportError;
use fleet_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Base of every problem `type`.
pub const TYPE_BASE: &str = "https://fleetmeter.dev/problems/";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or a value is out of range.
    #[error("{0}")]
    Invalid(String),
    /// No credentials, or they are wrong, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but its role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or outside the caller's tenants (the two are not told apart).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with what exists (a name or e-mail taken).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("{0}")]
    RateLimited(String, u64),
    /// A state-changing request with a session cookie and no valid CSRF token.
    #[error("{0}")]
    Csrf(String),
    /// The report does not fit the format.
    #[error("{0}")]
    TooLarge(String),
    /// ClickHouse failed or could not be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// The framework refused the request before a handler ran (bad JSON, bad query string).
    #[error("{1}")]
    Rejected(StatusCode, String),
}

/// A problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, for example
    /// `https://fleetmeter.dev/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Invalid(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
            ),
            ApiError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::RateLimited(..) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many attempts",
            ),
            ApiError::Csrf(_) => (StatusCode::FORBIDDEN, "csrf", "CSRF token missing or wrong"),
            ApiError::TooLarge(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "too-large",
                "Too large for this format",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Database unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            ApiError::Rejected(status, _) => (*status, "invalid-request", "Invalid request"),
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("no {what} with this id"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let problem = Problem {
            kind: format!("{TYPE_BASE}{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
        };
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::RateLimited(_, seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Refused(m) => ApiError::Conflict(m),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Invalid(m) => ApiError::Invalid(m),
            ReportError::TooLarge(m) => ApiError::TooLarge(m),
            ReportError::Query(m) => ApiError::Unavailable(m),
            ReportError::Write(m) => ApiError::Internal(m),
        }
    }
}

impl From<clickhouse::error::Error> for ApiError {
    fn from(e: clickhouse::error::Error) -> ApiError {
        ApiError::Unavailable(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The error answers every endpoint documents: a problem document for any 4xx or 5xx status.
#[derive(Debug, utoipa::IntoResponses)]
pub enum Problems {
    /// The request was refused: see the problem's `type` and `detail`.
    #[response(status = "4XX", content_type = "application/problem+json")]
    Client(#[to_schema] Problem),
    /// The service or its database failed.
    #[response(status = "5XX", content_type = "application/problem+json")]
    Server(#[to_schema] Problem),
}
