//! Fleetmeter's ClickHouse store: connection settings, server version detection, the schema and
//! its migrations, the start-up schema check, row types, and every SQL statement that touches a
//! Fleetmeter table. Nothing outside this crate writes SQL, but for the
//! read-only report and device queries of `fleet-reports` and `fleet-query`, which filter tenants
//! only through [`Scope`].
//!
//! The `clickhouse` crate runs with validation off, because ClickHouse 18.x (the Debian package
//! used in development) has no `RowBinaryWithNamesAndTypes`. [`Store::check_schema`] makes up
//! for it: it compares every table with the columns and types the row types expect and refuses
//! to start on any difference.

mod accounts;
mod error;
mod metadata;
mod migrate;
mod rows;
mod schema;
mod scope;
mod script;
mod settings;
mod store;
pub mod testing;
mod version;

pub use accounts::{ApiTokenRecord, SessionRecord, UserRecord};
pub use error::StoreError;
pub use metadata::{CollectorRecord, TenantRecord, TokenRecord};
pub use migrate::{MIGRATIONS, MigrationOutcome};
pub use rows::{
    AlertRow, BatchRow, CounterRow, DeviceRow, KnownDevice, Origin, RowSet, StatusRow, SupplyRow,
    datetime,
};
pub use schema::{Table, ddl_statements};
pub use scope::Scope;
pub use script::sql_statements;
pub use settings::{ClickHouseSettings, PartialClickHouseSettings};
pub use store::Store;
pub use version::{Features, ServerVersion};
