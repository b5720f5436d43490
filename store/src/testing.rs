//! Helpers for integration tests across the workspace: a fresh database per test on the
//! development ClickHouse server (`FLEET_TEST_CLICKHOUSE_URL`, default `http://127.0.0.1:18123`,
//! which `deploy/dev.sh test` starts).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{ClickHouseSettings, PartialClickHouseSettings, Store};

/// The test server's URL.
pub fn clickhouse_url() -> String {
    std::env::var("FLEET_TEST_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:18123".into())
}

/// Settings for a new, uniquely named database on the test server.
pub fn fresh_settings(label: &str) -> ClickHouseSettings {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let unique = format!(
        "t_{}_{}_{}_{}",
        label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(24)
            .collect::<String>(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let partial = PartialClickHouseSettings {
        url: Some(clickhouse_url()),
        database: Some(unique),
        ..Default::default()
    };
    ClickHouseSettings::resolve(&[&partial]).expect("test settings are valid")
}

/// A connected store on a new database with the schema applied.
pub async fn fresh_store(label: &str) -> Store {
    let settings = fresh_settings(label);
    let store = Store::connect(&settings).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the test ClickHouse at {} ({e}); \
             start it with `deploy/dev.sh clickhouse`",
            settings.url
        )
    });
    store.migrate().await.expect("migrations apply");
    store
}
