//! Command-line pieces shared by the server binaries (`fleet-ingest`, `fleet-query`): the
//! ClickHouse flags, logging set-up and the wait for a stop signal.

use std::path::PathBuf;

use fleet_store::PartialClickHouseSettings;

/// ClickHouse connection flags; each also reads a `FLEET_*` environment variable, and both
/// take precedence over the configuration file.
#[derive(Debug, Clone, clap::Args)]
pub struct ClickHouseArgs {
    /// ClickHouse HTTP URL [default: http://127.0.0.1:8123]
    #[arg(long, env = "FLEET_CLICKHOUSE_URL", global = true)]
    pub clickhouse_url: Option<String>,
    /// ClickHouse user [default: default]
    #[arg(long, env = "FLEET_CLICKHOUSE_USER", global = true)]
    pub clickhouse_user: Option<String>,
    /// ClickHouse password [default: none]
    #[arg(
        long,
        env = "FLEET_CLICKHOUSE_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub clickhouse_password: Option<String>,
    /// Database holding Fleetmeter's tables [default: fleet]
    #[arg(long, env = "FLEET_DATABASE", global = true)]
    pub database: Option<String>,
    /// TOML configuration file; flags and environment take precedence over it
    #[arg(long, env = "FLEET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

impl ClickHouseArgs {
    pub fn partial(&self) -> PartialClickHouseSettings {
        PartialClickHouseSettings {
            url: self.clickhouse_url.clone(),
            user: self.clickhouse_user.clone(),
            password: self.clickhouse_password.clone(),
            database: self.database.clone(),
        }
    }
}

/// Logs to standard error, filtered by `FLEET_LOG` (default `info`), as JSON when
/// `FLEET_LOG_FORMAT=json`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("FLEET_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Returns on Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("can install a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
