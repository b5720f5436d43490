//! Fleetmeter's ClickHouse store: connection settings, server version detection, the schema and
//! its migrations, the start-up schema check, row types, and every SQL statement that touches a
//! Fleetmeter table. Nothing outside this crate writes SQL.
//!
//! The `clickhouse` crate runs with validation off, because ClickHouse 18.x (the Debian package
//! used in development) has no `RowBinaryWithNamesAndTypes`. [`Store::check_schema`] makes up
//! for it: it compares every table with the columns and types the row types expect and refuses
//! to start on any difference.

mod error;
mod metadata;
mod migrate;
mod rows;
mod schema;
mod settings;
mod store;
pub mod testing;
mod version;

pub use error::StoreError;
pub use metadata::{CollectorRecord, TenantRecord, TokenRecord};
pub use migrate::{MIGRATIONS, MigrationOutcome};
pub use rows::{
    AlertRow, BatchRow, CounterRow, DeviceRow, KnownDevice, Origin, RowSet, StatusRow, SupplyRow,
    datetime,
};
pub use schema::{Table, ddl_statements};
pub use settings::{ClickHouseSettings, PartialClickHouseSettings};
pub use store::Store;
pub use version::{Features, ServerVersion};
