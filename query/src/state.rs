//! What every handler shares.

use fleet_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Auth;
use crate::config::FileConfig;
use crate::tenancy::Directory;

#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub directory: Directory,
    pub auth: Auth,
    pub config: FileConfig,
    pub metrics: PrometheusHandle,
    /// Reports running at once (`reports.concurrent`).
    pub reports: std::sync::Arc<tokio::sync::Semaphore>,
    /// Served over TLS: session cookies get `Secure`.
    pub tls: bool,
}
