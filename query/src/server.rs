//! The query service process: the API router on one listener (optionally TLS), health,
//! readiness and metrics, with graceful shutdown. Accepting and TLS are shared with the gateway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fleet_store::{ClickHouseSettings, Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::auth::Auth;
use crate::config::FileConfig;
use crate::state::AppState;
use crate::tenancy::Directory;

#[derive(Debug)]
pub struct QueryService {
    local_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl QueryService {
    /// Connects to ClickHouse, checks the schema, binds and starts serving.
    pub async fn start(config: FileConfig, settings: ClickHouseSettings) -> anyhow::Result<Self> {
        config.validate()?;
        let metrics = fleet_ingest::metrics::install();
        crate::metrics::describe();
        let store = Store::connect(&settings)
            .await
            .with_context(|| format!("cannot reach clickhouse at {}", settings.url))?;
        store.check_schema().await.context("refusing to start")?;
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => Some(fleet_ingest::server::tls_acceptor(cert, key)?),
            _ => None,
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            directory: Directory::new(store.clone()),
            auth: Auth::new(store.clone(), &config.auth),
            reports: Arc::new(tokio::sync::Semaphore::new(config.reports.concurrent)),
            tls: tls.is_some(),
            store,
            metrics,
            config: config.clone(),
        });
        let router = crate::api::router(state);
        let stop = CancellationToken::new();
        let timeout = Duration::from_millis(config.server.shutdown_timeout_ms);
        let task = tokio::spawn({
            let stop = stop.clone();
            let max = config.server.max_connections;
            async move {
                fleet_ingest::server::serve(listener, tls, router, stop, timeout, max).await;
                info!("query service stopped");
            }
        });
        let tls = config.server.tls_cert.is_some();
        info!(listen = %local_addr, tls, "query service listening");
        Ok(QueryService {
            local_addr,
            stop,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stopper(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
