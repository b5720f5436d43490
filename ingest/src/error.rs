//! The gateway's error type. Each front end maps it to its protocol in exactly one place:
//! `xmlrpc::faults`, `http::status_of`, `grpc::status_of`.

use std::time::Duration;

/// Why a request was not (fully) served.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The token is missing, unknown or revoked.
    #[error("authentication failed: unknown or revoked token")]
    BadToken,
    /// The request could not be read.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The batch's envelope failed validation.
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
    /// The request body is above the configured limit.
    #[error("request too large: more than {limit} bytes")]
    TooLarge { limit: usize },
    /// The caller sends too fast.
    #[error("rate limited: retry in {} ms", retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// The gateway cannot commit now (queue full or ClickHouse failing); nothing was stored.
    #[error("unavailable: {reason}; retry in {} s", retry_after.as_secs())]
    Unavailable {
        reason: String,
        retry_after: Duration,
    },
}

impl IngestError {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        IngestError::Unavailable {
            reason: reason.into(),
            retry_after: Duration::from_secs(5),
        }
    }

    /// The seconds a client should wait, for `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            IngestError::RateLimited { retry_after }
            | IngestError::Unavailable { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => None,
        }
    }

    /// A short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            IngestError::BadToken => "bad_token",
            IngestError::Malformed(_) => "malformed",
            IngestError::InvalidBatch(_) => "invalid",
            IngestError::TooLarge { .. } => "too_large",
            IngestError::RateLimited { .. } => "rate_limited",
            IngestError::Unavailable { .. } => "unavailable",
        }
    }
}
