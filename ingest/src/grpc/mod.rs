//! The gRPC front end: service `fleet.v1.Ingest`, with the token in the `authorization:
//! Bearer <token>` metadata.

use std::pin::Pin;
use std::sync::Arc;

use fleet_model::proto;
use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::bearer;
use crate::error::IngestError;
use crate::http::PeerAddr;
use crate::ingestor::{Ingestor, Submission, Transport};
use crate::metrics as m;

/// Code generated from `proto/fleet/v1/ingest.proto`.
#[allow(
    missing_docs,
    clippy::all,
    unused_qualifications,
    missing_debug_implementations
)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/fleet.v1.rs"));
}

pub use generated::ingest_client::IngestClient;
pub use generated::ingest_server::{Ingest, IngestServer};

/// Batches of one stream committed at once; more would hold more memory per stream.
const STREAM_CONCURRENCY: usize = 8;

/// The one place where gateway errors become gRPC statuses.
pub fn status_of(error: &IngestError) -> Status {
    let message = error.to_string();
    let mut status = match error {
        IngestError::BadToken => Status::unauthenticated(message),
        IngestError::Malformed(_) | IngestError::InvalidBatch(_) => {
            Status::invalid_argument(message)
        }
        IngestError::TooLarge { .. } => Status::resource_exhausted(message),
        IngestError::RateLimited { .. } => Status::resource_exhausted(message),
        IngestError::Unavailable { .. } => Status::unavailable(message),
    };
    if let Some(seconds) = error.retry_after_secs()
        && let Ok(value) = seconds.to_string().parse()
    {
        status.metadata_mut().insert("retry-after", value);
    }
    status
}

#[derive(Debug, Clone)]
pub struct IngestService {
    ingestor: Arc<Ingestor>,
    bodies: Arc<tokio::sync::Semaphore>,
}

impl IngestService {
    pub fn new(ingestor: Arc<Ingestor>, bodies: Arc<tokio::sync::Semaphore>) -> Self {
        Self { ingestor, bodies }
    }
}

fn caller<T>(request: &Request<T>) -> (Option<String>, Option<std::net::IpAddr>) {
    let token = bearer(
        request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
    )
    .map(str::to_owned);
    let peer = request.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    (token, peer)
}

fn record(outcome: &Result<(), IngestError>, started: std::time::Instant) {
    let label = outcome
        .as_ref()
        .map_or_else(IngestError::outcome, |()| "ok");
    metrics::counter!(m::REQUESTS, "protocol" => "grpc", "outcome" => label).increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "protocol" => "grpc")
        .record(started.elapsed().as_secs_f64());
}

/// Submits one decoded batch. tonic has decoded the message already; taking its size from the
/// in-flight budget still caps how many decoded messages are held at once.
async fn submit_one(
    ingestor: &Ingestor,
    bodies: &Arc<tokio::sync::Semaphore>,
    token: Option<&str>,
    peer: Option<std::net::IpAddr>,
    batch: proto::Batch,
) -> Result<proto::SubmitResult, IngestError> {
    let _permit = crate::http::reserve(bodies, prost::Message::encoded_len(&batch))?;
    ingestor
        .submit(token, peer, Transport::Grpc, Submission::from_proto(batch))
        .await
}

#[tonic::async_trait]
impl Ingest for IngestService {
    async fn submit(
        &self,
        request: Request<proto::Batch>,
    ) -> Result<Response<proto::SubmitResult>, Status> {
        let started = std::time::Instant::now();
        let (token, peer) = caller(&request);
        let batch = request.into_inner();
        let result = submit_one(&self.ingestor, &self.bodies, token.as_deref(), peer, batch).await;
        record(&result.as_ref().map(|_| ()).map_err(Clone::clone), started);
        result.map(Response::new).map_err(|e| status_of(&e))
    }

    async fn submit_stream(
        &self,
        request: Request<Streaming<proto::Batch>>,
    ) -> Result<Response<proto::SubmitStreamResult>, Status> {
        let started = std::time::Instant::now();
        let (token, peer) = caller(&request);
        let ingestor = Arc::clone(&self.ingestor);
        let bodies = Arc::clone(&self.bodies);
        let stream = request.into_inner();

        // Batches of the stream are committed concurrently (they share group commits) and
        // answered in the order sent. The first failure ends the call; the client resends,
        // and the batches already stored come back as duplicates.
        let submissions: Pin<
            Box<dyn Stream<Item = Result<proto::SubmitResult, IngestError>> + Send>,
        > = Box::pin(
            stream
                .map(move |message| {
                    let (ingestor, bodies) = (Arc::clone(&ingestor), Arc::clone(&bodies));
                    let token = token.clone();
                    async move {
                        let batch = message.map_err(|s| {
                            IngestError::Malformed(format!("stream failed: {}", s.message()))
                        })?;
                        submit_one(&ingestor, &bodies, token.as_deref(), peer, batch).await
                    }
                })
                .buffered(STREAM_CONCURRENCY),
        );
        let mut submissions = submissions;
        let mut results = Vec::new();
        while let Some(result) = submissions.next().await {
            match result {
                Ok(result) => results.push(result),
                Err(e) => {
                    record(&Err(e.clone()), started);
                    return Err(status_of(&e));
                }
            }
        }
        record(&Ok(()), started);
        Ok(Response::new(proto::SubmitStreamResult { results }))
    }
}
