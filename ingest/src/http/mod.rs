//! The plain HTTP front end: the protobuf batch at `POST /v1/batches`, the health endpoints and
//! the metrics page; and the bounded body reader every HTTP front end uses.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleet_model::proto;
use http_body_util::{BodyExt, Limited};
use prost::Message;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::bearer;
use crate::error::IngestError;
use crate::ingestor::{Submission, Transport};
use crate::metrics as m;
use crate::server::AppState;

/// The address a connection came from, set by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// A share of the in-flight body budget, held while a body is read and decoded.
pub type BodyPermit = OwnedSemaphorePermit;

/// Takes `bytes` from the in-flight body budget, or answers "retry later".
pub fn reserve(budget: &Arc<Semaphore>, bytes: usize) -> Result<BodyPermit, IngestError> {
    Arc::clone(budget)
        .try_acquire_many_owned(bytes.max(1) as u32)
        .map_err(|_| IngestError::unavailable("too many requests in progress"))
}

/// Reads a request body of at most `limit` bytes. A declared `Content-Length` above the limit
/// is refused before anything is read; a body that grows past it is refused as soon as it does.
/// A gzip body (`Content-Encoding: gzip`) is decompressed, to at most `limit` bytes. The
/// declared length (or the limit, when none is declared) is taken from the in-flight budget
/// first; the permit is returned with the body.
pub async fn read_body(
    request: Request,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<(Bytes, BodyPermit), IngestError> {
    let headers = request.headers().clone();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(IngestError::TooLarge { limit });
    }
    let mut permit = reserve(budget, declared.map_or(limit, |n| n as usize))?;

    let body = Limited::new(request.into_body(), limit)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                IngestError::TooLarge { limit }
            } else {
                IngestError::Malformed(format!("cannot read the request body: {e}"))
            }
        })?;
    let body = body.to_bytes();
    let compressed = body.len();
    let body = decompress(&headers, body, limit)?;
    if body.len() > compressed {
        permit.merge(reserve(budget, body.len() - compressed)?);
    }
    Ok((body, permit))
}

fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, IngestError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(body),
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::with_capacity(body.len() * 4);
            flate2::read::GzDecoder::new(&body[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| IngestError::Malformed(format!("bad gzip body: {e}")))?;
            if out.len() > limit {
                return Err(IngestError::TooLarge { limit });
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(IngestError::Malformed(format!(
            "content encoding `{other}` is not supported: send gzip or nothing"
        ))),
    }
}

/// The one place where gateway errors become HTTP statuses.
pub fn status_of(error: &IngestError) -> StatusCode {
    match error {
        IngestError::BadToken => StatusCode::UNAUTHORIZED,
        IngestError::Malformed(_) => StatusCode::BAD_REQUEST,
        IngestError::InvalidBatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
        IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IngestError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        IngestError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn error_response(error: &IngestError) -> Response {
    let body = serde_json::json!({ "error": error.to_string(), "code": error.outcome() });
    let mut response = (status_of(error), axum::Json(body)).into_response();
    if let Some(seconds) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if matches!(error, IngestError::BadToken) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// `POST /v1/batches`: a protobuf `fleet.v1.Batch`, answered with a `SubmitResult` in protobuf
/// or, when the client accepts `application/json`, in JSON.
pub async fn submit_protobuf(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let wants_json = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let result = submit(&state, request).await;
    let outcome = result.as_ref().map_or_else(IngestError::outcome, |_| "ok");
    metrics::counter!(m::REQUESTS, "protocol" => "protobuf", "outcome" => outcome).increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "protocol" => "protobuf")
        .record(started.elapsed().as_secs_f64());

    match result {
        Ok(result) if wants_json => axum::Json(result_json(&result)).into_response(),
        Ok(result) => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Body::from(result.encode_to_vec()),
        )
            .into_response(),
        Err(error) => error_response(&error),
    }
}

async fn submit(state: &AppState, request: Request) -> Result<proto::SubmitResult, IngestError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let accepted = [
        "application/x-protobuf",
        "application/protobuf",
        "application/octet-stream",
    ];
    if !accepted.iter().any(|t| content_type.starts_with(t)) {
        return Err(IngestError::Malformed(format!(
            "content type `{content_type}` is not supported: send application/x-protobuf"
        )));
    }
    let token = bearer(
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .map(str::to_owned);
    let peer = request.extensions().get::<PeerAddr>().map(|p| p.0.ip());

    let (body, permit) =
        read_body(request, state.config.limits.max_body_bytes, &state.bodies).await?;
    let batch = proto::Batch::decode(body)
        .map_err(|e| IngestError::Malformed(format!("invalid protobuf: {e}")))?;
    drop(permit);
    state
        .ingestor
        .submit(
            token.as_deref(),
            peer,
            Transport::Protobuf,
            Submission::from_proto(batch),
        )
        .await
}

/// The JSON form of a `SubmitResult`, with the protobuf member names.
pub fn result_json(result: &proto::SubmitResult) -> serde_json::Value {
    let rejected: Vec<_> = result
        .rejected
        .iter()
        .map(|r| serde_json::json!({ "index": r.index, "reason": r.reason }))
        .collect();
    serde_json::json!({
        "batch_id": result.batch_id,
        "devices": result.devices,
        "rows": result.rows,
        "duplicate": result.duplicate,
        "rejected": rejected,
    })
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: ClickHouse answers, the schema was checked at start-up, and commits are not
/// failing.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.ingestor.committer().health().is_failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "clickhouse commits are failing\n",
        )
            .into_response();
    }
    match state.ingestor.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("clickhouse unreachable: {e}\n"),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics_page(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
