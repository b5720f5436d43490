//! Migrations and the start-up schema check against the real ClickHouse server.

use fleet_store::testing::{fresh_settings, fresh_store};
use fleet_store::{MigrationOutcome, Store, StoreError};

#[tokio::test]
async fn migrate_creates_the_schema_and_a_second_run_is_a_no_op() {
    let settings = fresh_settings("migrate_twice");
    let store = Store::connect(&settings).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 0);
    assert!(matches!(
        store.check_schema().await,
        Err(StoreError::SchemaTooOld { .. })
    ));

    assert_eq!(
        store.migrate().await.unwrap(),
        MigrationOutcome::Applied { from: 0, to: 2 }
    );
    assert_eq!(
        store.migrate().await.unwrap(),
        MigrationOutcome::UpToDate(2)
    );
    store.check_schema().await.unwrap();
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_newer_schema_than_the_binary_knows_is_refused() {
    let store = fresh_store("too_new").await;
    store
        .raw_execute(
            "INSERT INTO schema_migrations (version, name, applied_at) \
             VALUES (99, 'future', now())",
        )
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                known: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade Fleetmeter"), "{err}");
    assert!(matches!(
        store.check_schema().await,
        Err(StoreError::SchemaTooNew { .. })
    ));
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn schema_check_names_a_changed_column() {
    let store = fresh_store("changed_column").await;
    store
        .raw_execute("ALTER TABLE counters MODIFY COLUMN value Int64")
        .await
        .unwrap();
    store
        .raw_execute("ALTER TABLE supplies DROP COLUMN percent")
        .await
        .unwrap();
    let message = store.check_schema().await.unwrap_err().to_string();
    assert!(
        message.contains("`counters.value` is Int64, expected UInt64"),
        "{message}"
    );
    assert!(
        message.contains("`supplies.percent` is missing"),
        "{message}"
    );
    store.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_version_1_database_gets_the_account_tables() {
    let store = fresh_store("from_v1").await;
    // Back to version 1: without migration 2's tables and its ledger row.
    for table in ["users", "sessions", "api_tokens", "tenant_settings"] {
        store
            .raw_execute(&format!("DROP TABLE {table}"))
            .await
            .unwrap();
    }
    store
        .raw_execute("DROP TABLE schema_migrations")
        .await
        .unwrap();
    store
        .raw_execute(
            "CREATE TABLE schema_migrations (version UInt32, name String, applied_at DateTime) \
             ENGINE = MergeTree ORDER BY version",
        )
        .await
        .unwrap();
    store
        .raw_execute(
            "INSERT INTO schema_migrations (version, name, applied_at) \
             VALUES (1, 'initial schema', now())",
        )
        .await
        .unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        MigrationOutcome::Applied { from: 1, to: 2 }
    );
    store.check_schema().await.unwrap();
    store.drop_database().await.unwrap();
}
