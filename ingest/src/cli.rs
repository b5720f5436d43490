//! Command-line pieces shared by the server binaries (`fleet-ingest`, `fleet-query`): the
//! ClickHouse flags, logging set-up and the wait for a stop signal.

use std::net::SocketAddr;
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

/// The flags of a `serve` command; they override the configuration file's `[server]` table.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides `server.listen`)
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain for HTTPS
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// Applies the flags given to a server configuration's listen address and TLS files.
    pub fn apply(
        self,
        listen: &mut SocketAddr,
        tls_cert: &mut Option<PathBuf>,
        tls_key: &mut Option<PathBuf>,
    ) {
        if let Some(address) = self.listen {
            *listen = address;
        }
        if self.tls_cert.is_some() {
            *tls_cert = self.tls_cert;
            *tls_key = self.tls_key;
        }
    }
}

/// Cancels `stop` on Ctrl-C or SIGTERM, from a task of its own.
pub fn cancel_on_signal(stop: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        stop.cancel();
    });
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
