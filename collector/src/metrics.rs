//! Metric names. The status page shows them and `/metrics` serves them to Prometheus.

pub const DEVICES: &str = "fleet_collector_devices";
pub const DEVICES_UNREACHABLE: &str = "fleet_collector_devices_unreachable";
pub const POLLS: &str = "fleet_collector_polls_total";
pub const POLL_FAILURES: &str = "fleet_collector_poll_failures_total";
pub const POLL_SECONDS: &str = "fleet_collector_poll_seconds";
pub const SPOOL_BATCHES: &str = "fleet_collector_spool_batches";
pub const SPOOL_BYTES: &str = "fleet_collector_spool_bytes";
pub const SPOOL_AGE: &str = "fleet_collector_spool_oldest_age_seconds";
pub const SPOOL_DROPPED: &str = "fleet_collector_spool_dropped_total";
pub const DELIVERIES: &str = "fleet_collector_deliveries_total";
pub const DELIVERY_RETRIES: &str = "fleet_collector_delivery_retries_total";
pub const DELIVERY_REFUSED: &str = "fleet_collector_delivery_refused_total";

/// Installs the Prometheus recorder once per process; the handle renders `/metrics`.
pub fn install() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (a test embedding the gateway): the
            // collector's metrics then go there, and this handle shows none.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
