//! Delivery of spooled batches to the gateway, one way: gRPC (default), protobuf over HTTPS, or
//! XML-RPC. Each is a [`Transport`]; encrypted e-mail will be another.

mod grpc;
mod http;
mod proxy;

use std::time::Duration;

use fleet_model::proto;

use crate::config::ServerConfig;
use crate::snmp::BoxFuture;

/// The gateway's answer to a stored (or already stored) batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub duplicate: bool,
    /// Device reports the gateway refused, with the reason (they are not retried).
    pub rejected: Vec<(u32, String)>,
}

/// Why a batch was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The gateway is busy or its database is failing: send the same batch again later.
    #[error("the gateway asked to retry later: {reason}")]
    RetryLater {
        after: Option<Duration>,
        reason: String,
    },
    /// The token was refused. Retried with backoff (an operator may fix the token).
    #[error("the gateway refused the token: {0}")]
    Auth(String),
    /// The batch is above the gateway's size limit: split it and send the halves.
    #[error("the batch is too large for the gateway: {0}")]
    TooLarge(String),
    /// The gateway refused the batch itself; sending it again cannot succeed.
    #[error("the gateway refused the batch: {0}")]
    Refused(String),
    /// No answer: connection, TLS or timeout.
    #[error("{0}")]
    Network(String),
}

/// A way to hand a batch to the gateway.
pub trait Transport: Send + Sync {
    /// Sends one batch; `encoded` is its protobuf encoding.
    fn send<'a>(
        &'a self,
        batch: &'a proto::Batch,
        encoded: &'a [u8],
    ) -> BoxFuture<'a, Result<Stored, SendError>>;
    fn name(&self) -> &'static str;
}

/// Which transport the configuration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Grpc,
    Protobuf,
    Xmlrpc,
}

/// Builds the configured transport.
pub fn transport(server: &ServerConfig) -> Result<Box<dyn Transport>, String> {
    if server.url.is_empty() {
        return Err("server.url is not set".into());
    }
    if server.token.is_empty() {
        return Err("server.token is not set (create one with `fleet-ingest token create`)".into());
    }
    let ca = match &server.ca_file {
        Some(path) => Some(
            std::fs::read(path).map_err(|e| format!("server.ca_file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    Ok(match server.transport {
        Kind::Grpc => Box::new(grpc::Grpc::new(server, ca.as_deref())?),
        Kind::Protobuf => Box::new(http::Http::new(
            server,
            ca.as_deref(),
            http::Format::Protobuf,
        )?),
        Kind::Xmlrpc => Box::new(http::Http::new(
            server,
            ca.as_deref(),
            http::Format::XmlRpc,
        )?),
    })
}

/// Exponential backoff with full jitter: attempt 0 waits up to 1 s, doubling up to `max`.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    use rand::RngExt;
    let ceiling = Duration::from_secs(1)
        .saturating_mul(1u32 << attempt.min(16))
        .min(max);
    let ms = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// Parses a `Retry-After` of seconds.
pub(crate) fn retry_after(v: Option<&str>) -> Option<Duration> {
    v?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_cap() {
        let max = Duration::from_secs(300);
        for attempt in 0..20 {
            let d = backoff(attempt, max);
            let ceiling = Duration::from_secs(1u64 << attempt.min(16)).min(max);
            assert!(d <= ceiling && d >= ceiling / 2, "{attempt}: {d:?}");
        }
        assert_eq!(retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("soon")), None);
    }
}
