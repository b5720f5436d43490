//! The XML-RPC front end at `POST /RPC2`. The codec lives in `fleet_model::xmlrpc`; this module
//! reads the bounded body, dispatches methods and writes the response or fault.

pub mod faults;
mod methods;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleet_model::xmlrpc::{decode_call, encode_fault, encode_response};

use crate::error::IngestError;
use crate::http::{PeerAddr, read_body};
use crate::metrics as m;
use crate::server::AppState;
use methods::Fault;

/// Bodies above this size are decoded on the blocking pool, so that a large batch never holds
/// up the runtime's threads.
const INLINE_DECODE_BYTES: usize = 64 * 1024;

pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let peer = request.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    let outcome = serve(&state, peer, request).await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(f) if f.code == faults::UNAVAILABLE => "unavailable",
        Err(f) if f.code == faults::RATE_LIMITED => "rate_limited",
        Err(f) if f.code == faults::BAD_TOKEN => "bad_token",
        Err(_) => "fault",
    };
    metrics::counter!(m::REQUESTS, "protocol" => "xmlrpc", "outcome" => label).increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "protocol" => "xmlrpc")
        .record(started.elapsed().as_secs_f64());

    match outcome {
        Ok(body) => xml_response(body, None),
        Err(fault) => xml_response(encode_fault(fault.code, &fault.message), fault.retry_after),
    }
}

async fn serve(
    state: &AppState,
    peer: Option<std::net::IpAddr>,
    request: Request,
) -> Result<String, Fault> {
    let limit = state.config.limits.max_body_bytes;
    let (body, permit) = read_body(request, limit, &state.bodies)
        .await
        .map_err(Fault::from)?;

    let limits = state.config.limits.xml();
    let call = if body.len() <= INLINE_DECODE_BYTES {
        decode_call(&body, &limits)
    } else {
        tokio::task::spawn_blocking(move || decode_call(&body, &limits))
            .await
            .map_err(|e| Fault::from(IngestError::Malformed(format!("decoder failed: {e}"))))?
    }
    .map_err(|e| Fault::from(IngestError::Malformed(e.to_string())))?;
    // The body is decoded: what remains is accounted by the commit queue.
    drop(permit);

    let value = methods::call(&state.ingestor, peer, &call.method, call.params, false).await?;
    Ok(encode_response(&value))
}

fn xml_response(body: String, retry_after: Option<u64>) -> Response {
    let mut response = (StatusCode::OK, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
