//! The gateway process: one listener serving XML-RPC, protobuf, gRPC, health and metrics,
//! optionally over TLS (HTTP/1.1 and HTTP/2 by ALPN), with graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use fleet_store::{ClickHouseSettings, Store};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, info, warn};

use crate::commit::Committer;
use crate::config::FileConfig;
use crate::grpc::{IngestServer, IngestService};
use crate::http::{self, PeerAddr};
use crate::ingestor::Ingestor;
use crate::{metrics as m, xmlrpc};

/// What handlers share.
#[derive(Debug)]
pub struct AppState {
    pub ingestor: Arc<Ingestor>,
    /// The in-flight body budget (`limits.max_inflight_body_bytes`).
    pub bodies: Arc<tokio::sync::Semaphore>,
    pub config: FileConfig,
    pub metrics: PrometheusHandle,
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    local_addr: SocketAddr,
    stop_accepting: CancellationToken,
    task: JoinHandle<()>,
}

impl Gateway {
    /// Connects to ClickHouse, checks the schema, binds the listener and starts serving.
    pub async fn start(
        config: FileConfig,
        settings: ClickHouseSettings,
    ) -> anyhow::Result<Gateway> {
        config.validate()?;
        let metrics = m::install();
        let store = Store::connect(&settings)
            .await
            .with_context(|| format!("cannot reach clickhouse at {}", settings.url))?;
        store.check_schema().await.context("refusing to start")?;
        info!(version = %store.version(), database = store.database(), "clickhouse schema checked");

        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let local_addr = listener.local_addr()?;

        let stop_accepting = CancellationToken::new();
        let commit_shutdown = CancellationToken::new();
        let (committer, writer) = Committer::start(
            store.clone(),
            config.batching.clone(),
            stop_accepting.clone(),
            commit_shutdown.clone(),
        );
        let ingestor = Arc::new(Ingestor::new(store, committer, &config));
        let bodies = Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_inflight_body_bytes,
        ));
        let router = router(Arc::new(AppState {
            ingestor: Arc::clone(&ingestor),
            bodies: Arc::clone(&bodies),
            config: config.clone(),
            metrics,
        }));

        let shutdown_timeout = Duration::from_millis(config.server.shutdown_timeout_ms);
        let max_connections = config.server.max_connections;
        let pruner = tokio::spawn(prune_periodically(Arc::clone(&ingestor)));
        let task = tokio::spawn({
            let stop = stop_accepting.clone();
            async move {
                serve(
                    listener,
                    tls,
                    router,
                    stop,
                    shutdown_timeout,
                    max_connections,
                )
                .await;
                // Requests are answered; commit what is queued and stop the writer.
                commit_shutdown.cancel();
                if let Err(e) = writer.await {
                    warn!(error = %e, "commit writer ended abnormally");
                }
                pruner.abort();
                info!("gateway stopped");
            }
        });
        info!(listen = %local_addr, tls = config.server.tls_cert.is_some(), "gateway listening");
        Ok(Gateway {
            local_addr,
            stop_accepting,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, answers what is in flight, commits what is queued, and returns.
    pub async fn shutdown(self) {
        self.stop_accepting.cancel();
        let _ = self.task.await;
    }

    /// Runs until the gateway stops (after [`Gateway::shutdown`] from elsewhere).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// A token that stops the gateway when cancelled, for signal handlers.
    pub fn stopper(&self) -> CancellationToken {
        self.stop_accepting.clone()
    }
}

fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.limits.max_body_bytes;
    let grpc = tonic::service::Routes::new(
        IngestServer::new(IngestService::new(
            Arc::clone(&state.ingestor),
            Arc::clone(&state.bodies),
        ))
        .max_decoding_message_size(limit)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
    )
    .into_axum_router();
    Router::new()
        .route("/RPC2", post(xmlrpc::handle))
        .route("/v1/batches", post(http::submit_protobuf))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .route("/metrics", get(http::metrics_page))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
        .merge(grpc)
}

/// Accepts connections until `stop`, serving `router` on each (over TLS when given), then waits
/// up to `timeout` for requests in flight. Shared with the query service.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    stop: CancellationToken,
    timeout: Duration,
    max_connections: usize,
) {
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        // At the connection limit, new connections wait in the kernel's accept queue: each
        // open connection holds buffers, so their number bounds memory too.
        let slot = tokio::select! {
            slot = Arc::clone(&connections).acquire_owned() => slot.expect("never closed"),
            () = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, peer, router, watcher).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(stream)) => serve_connection(stream, peer, router, watcher).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "tls handshake failed"),
                        Err(_) => debug!(%peer, "tls handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    info!("stopped accepting; answering requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(timeout) => {
            let timeout_ms = timeout.as_millis() as u64;
            warn!(timeout_ms, "requests still open at shutdown timeout");
        }
    }
}

/// The most an HTTP/1.1 connection buffers while reading a request.
const CONNECTION_BUFFER_BYTES: usize = 64 * 1024;

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        router.clone().oneshot(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper lets a connection's read buffer grow to 400 KiB; with hundreds of collectors
    // uploading at once that alone would be most of the gateway's memory.
    builder.http1().max_buf_size(CONNECTION_BUFFER_BYTES);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection.into_owned()).await {
        debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// A TLS acceptor (HTTP/2 and HTTP/1.1 by ALPN) from PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read certificates from `{}`", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid certificate in `{}`", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in `{}`", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the private key from `{}`", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn prune_periodically(ingestor: Arc<Ingestor>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        ingestor.prune_rate_limiters();
    }
}
