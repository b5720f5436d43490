//! Gateway configuration: parsed and validated without I/O, every setting with a documented
//! default (see the reference table in README.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_store::PartialClickHouseSettings;
use serde::Deserialize;

/// The configuration file, `fleet-ingest serve --config FILE`. Unknown keys are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub clickhouse: PartialClickHouseSettings,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub batching: BatchingConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:8090`.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, serves HTTPS (HTTP/1.1 and HTTP/2).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// How long shutdown waits for in-flight requests. Default 30 s.
    pub shutdown_timeout_ms: u64,
    /// Open connections; further ones wait in the kernel's accept queue. Default 1,024.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            tls_cert: None,
            tls_key: None,
            shutdown_timeout_ms: 30_000,
            max_connections: 1024,
        }
    }
}

/// Group commit. Rows from concurrent requests are gathered and flushed together when any limit
/// is reached. A longer interval means fewer, larger INSERTs (what ClickHouse prefers: it merges
/// every INSERT's part in the background) at the price of a longer wait for every request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchingConfig {
    /// Flush when this many rows are gathered. Default 100,000.
    pub max_batch_rows: usize,
    /// Flush when the gathered rows reach this size. Default 16 MiB.
    pub max_batch_bytes: usize,
    /// Flush at the latest this long after the first row arrived. Default 200 ms.
    pub flush_interval_ms: u64,
    /// Flushes that may run at once. Default 2.
    pub max_concurrent_flushes: usize,
    /// Rows (by estimated size) waiting for a flush, across all requests; past it requests are
    /// answered "retry later". Default 32 MiB.
    pub max_queued_bytes: usize,
    /// Attempts per flush before its requests are answered "retry later". Default 3.
    pub flush_attempts: u32,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        Self {
            max_batch_rows: 100_000,
            max_batch_bytes: 16 << 20,
            flush_interval_ms: 200,
            max_concurrent_flushes: 2,
            max_queued_bytes: 32 << 20,
            flush_attempts: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body, compressed or not, and largest body after gzip decompression.
    /// Default 16 MiB.
    pub max_body_bytes: usize,
    /// Request bodies being read and decoded at once, across all requests; past it requests
    /// are answered "retry later". Bounds the gateway's memory under any load. Default 32 MiB.
    pub max_inflight_body_bytes: usize,
    /// Deepest nesting of XML-RPC values. Default 32.
    pub max_xml_depth: usize,
    /// Most XML elements in one request. Default 2,000,000.
    pub max_xml_elements: usize,
    /// Device reports in one batch. Default 10,000.
    pub max_devices_per_batch: usize,
    /// How old `observed_at` may be. Default 90 days.
    pub max_observation_age_secs: u64,
    /// How far `observed_at` may lie in the future. Default 3,600 s.
    pub max_observation_future_secs: u64,
    /// Characters in any one string. Default 1,024.
    pub max_string_chars: usize,
    /// Entries in any one list of a device report. Default 256.
    pub max_entries: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let model = fleet_model::Limits::default();
        Self {
            max_body_bytes: 16 << 20,
            max_inflight_body_bytes: 32 << 20,
            max_xml_depth: 32,
            max_xml_elements: 2_000_000,
            max_devices_per_batch: model.max_devices,
            max_observation_age_secs: model.max_age.as_secs(),
            max_observation_future_secs: model.max_future.as_secs(),
            max_string_chars: model.max_string_chars,
            max_entries: model.max_entries,
        }
    }
}

impl LimitsConfig {
    pub fn validation(&self) -> fleet_model::Limits {
        fleet_model::Limits {
            max_age: Duration::from_secs(self.max_observation_age_secs),
            max_future: Duration::from_secs(self.max_observation_future_secs),
            max_devices: self.max_devices_per_batch,
            max_string_chars: self.max_string_chars,
            max_entries: self.max_entries,
        }
    }

    pub fn xml(&self) -> fleet_model::xmlrpc::DecodeLimits {
        fleet_model::xmlrpc::DecodeLimits {
            max_bytes: self.max_body_bytes,
            max_depth: self.max_xml_depth,
            max_elements: self.max_xml_elements,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a token lookup is cached; a revoked token stops working within this time.
    /// Default 30 s.
    pub token_cache_ttl_ms: u64,
    /// How long an unknown token is remembered as unknown. Default 5 s.
    pub negative_cache_ttl_ms: u64,
    /// Tokens cached. Default 100,000.
    pub token_cache_capacity: u64,
    /// Devices whose last inventory is remembered, so that unchanged inventory is not written
    /// again. Default 200,000.
    pub inventory_cache_capacity: u64,
    /// An unchanged inventory row is written again after this long, to keep `last_seen` fresh.
    /// Default 24 h.
    pub inventory_refresh_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_cache_ttl_ms: 30_000,
            negative_cache_ttl_ms: 5_000,
            token_cache_capacity: 100_000,
            inventory_cache_capacity: 200_000,
            inventory_refresh_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per second each collector may make. Default 20.
    pub collector_per_second: u32,
    /// Burst above that rate. Default 100.
    pub collector_burst: u32,
    /// Failed authentications per minute from one address before it is refused. Default 30.
    pub failed_auth_per_minute: u32,
    /// Burst of failed authentications. Default 30.
    pub failed_auth_burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            collector_per_second: 20,
            collector_burst: 100,
            failed_auth_per_minute: 30,
            failed_auth_burst: 30,
        }
    }
}

impl FileConfig {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file `{}`", path.display()))?;
        let config: FileConfig = toml::from_str(&text)
            .with_context(|| format!("invalid config file `{}`", path.display()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        let b = &self.batching;
        anyhow::ensure!(
            b.max_batch_rows > 0,
            "`batching.max_batch_rows` must be above 0"
        );
        anyhow::ensure!(
            b.max_batch_bytes > 0,
            "`batching.max_batch_bytes` must be above 0"
        );
        anyhow::ensure!(
            (1..=60_000).contains(&b.flush_interval_ms),
            "`batching.flush_interval_ms` must be 1..=60000"
        );
        anyhow::ensure!(
            b.max_concurrent_flushes > 0,
            "`batching.max_concurrent_flushes` must be above 0"
        );
        anyhow::ensure!(
            b.flush_attempts > 0,
            "`batching.flush_attempts` must be above 0"
        );
        anyhow::ensure!(
            b.max_queued_bytes >= self.limits.max_body_bytes,
            "`batching.max_queued_bytes` must be at least `limits.max_body_bytes`"
        );
        anyhow::ensure!(
            b.max_queued_bytes <= u32::MAX as usize,
            "`batching.max_queued_bytes` must be below 4 GiB"
        );
        anyhow::ensure!(
            self.server.max_connections > 0,
            "`server.max_connections` must be above 0"
        );
        let l = &self.limits;
        anyhow::ensure!(
            l.max_inflight_body_bytes >= l.max_body_bytes
                && l.max_inflight_body_bytes <= u32::MAX as usize,
            "`limits.max_inflight_body_bytes` must be at least `limits.max_body_bytes` \
             and below 4 GiB"
        );
        let r = &self.rate_limit;
        anyhow::ensure!(
            r.collector_per_second > 0 && r.collector_burst > 0,
            "`rate_limit.collector_per_second` and `collector_burst` must be above 0"
        );
        anyhow::ensure!(
            r.failed_auth_per_minute > 0 && r.failed_auth_burst > 0,
            "`rate_limit.failed_auth_per_minute` and `failed_auth_burst` must be above 0"
        );
        anyhow::ensure!(
            self.server.tls_cert.is_some() == self.server.tls_key.is_some(),
            "`server.tls_cert` and `server.tls_key` go together"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config: FileConfig = toml::from_str("").unwrap();
        config.validate().unwrap();
        assert_eq!(config.batching.flush_interval_ms, 200);
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8090");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<FileConfig>("[batching]\nflush_interval = 5\n").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `flush_interval`"),
            "{err}"
        );
    }

    #[test]
    fn nonsense_values_are_refused() {
        let config: FileConfig = toml::from_str("[batching]\nmax_batch_rows = 0\n").unwrap();
        assert!(config.validate().is_err());
        let config: FileConfig =
            toml::from_str("[server]\ntls_cert = \"/tmp/cert.pem\"\n").unwrap();
        assert!(config.validate().is_err());
    }
}
