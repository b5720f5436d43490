//! Metric names, their descriptions, and the Prometheus recorder. Every metric the gateway
//! emits is named here, with its unit in the name.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS: &str = "fleet_ingest_requests_total";
pub const REQUEST_SECONDS: &str = "fleet_ingest_request_seconds";
pub const DEVICES_ACCEPTED: &str = "fleet_ingest_devices_accepted_total";
pub const DEVICES_REJECTED: &str = "fleet_ingest_devices_rejected_total";
pub const DUPLICATES: &str = "fleet_ingest_duplicate_batches_total";
pub const SEQUENCE_GAPS: &str = "fleet_ingest_sequence_gap_batches_total";
pub const ROWS_COMMITTED: &str = "fleet_ingest_rows_committed_total";
pub const FLUSH_SECONDS: &str = "fleet_ingest_flush_seconds";
pub const FLUSH_ROWS: &str = "fleet_ingest_flush_rows";
pub const QUEUE_BYTES: &str = "fleet_ingest_queue_bytes";
pub const QUEUE_REQUESTS: &str = "fleet_ingest_queue_requests";
pub const AUTH_FAILURES: &str = "fleet_ingest_auth_failures_total";
pub const RATE_LIMITED: &str = "fleet_ingest_rate_limited_total";
pub const CLICKHOUSE_ERRORS: &str = "fleet_ingest_clickhouse_errors_total";

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(FLUSH_ROWS.into()),
                        &[
                            10.0, 100.0, 1_000.0, 10_000.0, 50_000.0, 100_000.0, 500_000.0,
                        ],
                    )
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program; then our
            // handle renders nothing but the gateway keeps working.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(REQUESTS, "Ingest requests by protocol and outcome.");
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer an ingest request."
    );
    describe_counter!(DEVICES_ACCEPTED, "Device reports stored.");
    describe_counter!(DEVICES_REJECTED, "Device reports refused by validation.");
    describe_counter!(DUPLICATES, "Batches acknowledged as already stored.");
    describe_counter!(
        SEQUENCE_GAPS,
        "Batches whose sequence number skipped ahead."
    );
    describe_counter!(ROWS_COMMITTED, "Rows committed to ClickHouse, by table.");
    describe_histogram!(
        FLUSH_SECONDS,
        Unit::Seconds,
        "Duration of one group commit."
    );
    describe_histogram!(FLUSH_ROWS, Unit::Count, "Rows in one group commit.");
    describe_gauge!(
        QUEUE_BYTES,
        Unit::Bytes,
        "Estimated bytes of rows waiting to commit."
    );
    describe_gauge!(
        QUEUE_REQUESTS,
        Unit::Count,
        "Requests waiting for a commit."
    );
    describe_counter!(
        AUTH_FAILURES,
        "Requests with a missing, unknown or revoked token."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by kind.");
    describe_counter!(CLICKHOUSE_ERRORS, "Failed ClickHouse calls.");
}
