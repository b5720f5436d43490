//! The query service's configuration file (TOML). Every key is optional; unknown keys are
//! refused with their name.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use fleet_store::PartialClickHouseSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub clickhouse: PartialClickHouseSettings,
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub reports: ReportsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub shutdown_timeout_ms: u64,
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            shutdown_timeout_ms: 10_000,
            max_connections: 1_024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session ends this many hours after login.
    pub session_hours: u32,
    /// Failed logins allowed per account per minute (then 429 until the minute is over).
    pub login_attempts_per_account_per_minute: u32,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_address_per_minute: u32,
    /// How long a resolved token or session is trusted before it is looked up again.
    pub cache_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            session_hours: 12,
            login_attempts_per_account_per_minute: 5,
            login_attempts_per_address_per_minute: 30,
            cache_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Meter reads: default tolerance around a boundary, in hours.
    pub tolerance_hours: i64,
    /// Utilisation: default recommended monthly volume.
    pub min_monthly_pages: f64,
    pub max_monthly_pages: f64,
    /// Reports running at once; more wait.
    pub concurrent: usize,
}

impl Default for ReportsConfig {
    fn default() -> ReportsConfig {
        let d = fleet_reports::Options::default();
        ReportsConfig {
            tolerance_hours: d.tolerance_hours,
            min_monthly_pages: d.min_monthly,
            max_monthly_pages: d.max_monthly,
            concurrent: 4,
        }
    }
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid configuration `{}`", path.display()))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.server.tls_cert.is_some() == self.server.tls_key.is_some(),
            "server.tls_cert and server.tls_key go together"
        );
        anyhow::ensure!(
            self.auth.session_hours >= 1,
            "auth.session_hours must be at least 1"
        );
        anyhow::ensure!(
            self.auth.login_attempts_per_account_per_minute >= 1
                && self.auth.login_attempts_per_address_per_minute >= 1,
            "login attempt limits must be at least 1"
        );
        anyhow::ensure!(
            self.reports.concurrent >= 1,
            "reports.concurrent must be at least 1"
        );
        self.report_options().check()?;
        Ok(())
    }

    pub fn report_options(&self) -> fleet_reports::Options {
        fleet_reports::Options {
            tolerance_hours: self.reports.tolerance_hours,
            subtotals: true,
            min_monthly: self.reports.min_monthly_pages,
            max_monthly: self.reports.max_monthly_pages,
        }
    }
}
