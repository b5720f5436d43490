//! The store's error type.

/// Everything that can go wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// ClickHouse could not be reached or answered with an error.
    #[error("clickhouse: {0}")]
    ClickHouse(#[source] Box<clickhouse::error::Error>),
    /// A ClickHouse call did not finish in time.
    #[error("clickhouse did not answer within {0} ms")]
    Timeout(u64),
    /// `SELECT version()` gave something that is not a version number.
    #[error("cannot read the server version `{0}`")]
    BadVersion(String),
    /// The database holds a newer schema than this binary knows.
    #[error(
        "database `{database}` has schema version {found}, newer than {known}, the newest this \
         binary knows: upgrade Fleetmeter before running it against this database"
    )]
    SchemaTooNew {
        database: String,
        found: u32,
        known: u32,
    },
    /// The schema is older than this binary needs.
    #[error(
        "database `{database}` has schema version {found}, this binary needs {needed}: run \
         `fleet-ingest migrate`"
    )]
    SchemaTooOld {
        database: String,
        found: u32,
        needed: u32,
    },
    /// A table does not have the columns the store writes.
    #[error("schema check failed: {0}")]
    SchemaMismatch(String),
    /// Settings are incomplete or malformed.
    #[error("invalid clickhouse settings: {0}")]
    Settings(String),
    /// A metadata operation was refused (unknown tenant, duplicate name, ...).
    #[error("{0}")]
    Refused(String),
}

impl From<clickhouse::error::Error> for StoreError {
    fn from(error: clickhouse::error::Error) -> Self {
        StoreError::ClickHouse(Box::new(error))
    }
}
