//! [`Store`]: the connection to ClickHouse and every statement Fleetmeter runs there.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::{debug, info};

use crate::BatchRow;
use crate::migrate::{MIGRATIONS, MigrationOutcome, latest_version};
use crate::rows::datetime;
use crate::schema::{Table, columns};
use crate::{
    ClickHouseSettings, CollectorRecord, Features, KnownDevice, RowSet, ServerVersion, StoreError,
    TenantRecord, TokenRecord,
};

/// How long a query may take before it counts as failed.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a schema statement may take (a `DROP` waits for running merges).
const DDL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one INSERT may take.
const INSERT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to Fleetmeter's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    /// The same connection without a default database, for `CREATE`/`DROP DATABASE`.
    server: Client,
    database: String,
    version: ServerVersion,
    features: Features,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.database)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

pub(crate) async fn timed<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, clickhouse::error::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Timeout(limit.as_millis() as u64)),
    }
}

pub(crate) fn now() -> u32 {
    datetime(OffsetDateTime::now_utc())
}

#[derive(Row, Deserialize)]
struct VersionRow {
    version: String,
}

#[derive(Row, Deserialize)]
struct ColumnRow {
    table: String,
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Row, Serialize, Deserialize)]
struct MigrationRow {
    version: u32,
    name: String,
    applied_at: u32,
}

#[derive(Row, Deserialize)]
struct MaxVersion {
    version: u32,
}

#[derive(Row, Deserialize)]
struct MaxSequence {
    sequence: Option<u64>,
}

#[derive(Row, Deserialize)]
struct TokenState {
    collector_id: u64,
    tenant_id: u64,
    revoked: u8,
}

impl Store {
    /// Connects and reads the server version. Fails when ClickHouse cannot be reached.
    pub async fn connect(settings: &ClickHouseSettings) -> Result<Store, StoreError> {
        let client = Client::default()
            .with_url(&settings.url)
            .with_user(&settings.user)
            .with_password(&settings.password)
            .with_validation(false);
        let row: VersionRow = timed(
            QUERY_TIMEOUT,
            client.query("SELECT version() AS version").fetch_one(),
        )
        .await?;
        let version =
            ServerVersion::parse(&row.version).ok_or(StoreError::BadVersion(row.version))?;
        let features = Features::of(version);
        debug!(%version, ?features, "connected to clickhouse");
        Ok(Store {
            server: client.clone(),
            client: client.with_database(&settings.database),
            database: settings.database.clone(),
            version,
            features,
        })
    }

    pub fn version(&self) -> ServerVersion {
        self.version
    }

    pub fn features(&self) -> Features {
        self.features
    }

    /// The connection with the database as default, for crates that own their SQL (reports, the
    /// query service's device queries). Everything they run must pass a [`crate::Scope`].
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// A cheap round trip, for readiness and recovery probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        timed(
            Duration::from_secs(2),
            self.client.query("SELECT 1").execute(),
        )
        .await
    }

    /// The schema version recorded in the database; 0 before the first migration.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let exists: u8 = timed(
            QUERY_TIMEOUT,
            self.server
                .query(
                    "SELECT toUInt8(count() > 0) FROM system.tables \
                     WHERE database = ? AND name = ?",
                )
                .bind(&self.database)
                .bind(Table::SchemaMigrations.name())
                .fetch_one(),
        )
        .await?;
        if exists == 0 {
            return Ok(0);
        }
        let row: MaxVersion = timed(
            QUERY_TIMEOUT,
            self.client
                .query("SELECT toUInt32(max(version)) AS version FROM schema_migrations")
                .fetch_one(),
        )
        .await?;
        Ok(row.version)
    }

    /// Applies every migration the database has not seen. Running it twice is a no-op; running
    /// it against a newer schema than this binary knows is refused.
    pub async fn migrate(&self) -> Result<MigrationOutcome, StoreError> {
        let create_db = format!("CREATE DATABASE IF NOT EXISTS `{}`", self.database);
        timed(DDL_TIMEOUT, self.server.query(&create_db).execute()).await?;

        let from = self.schema_version().await?;
        let latest = latest_version();
        if from > latest {
            return Err(StoreError::SchemaTooNew {
                database: self.database.clone(),
                found: from,
                known: latest,
            });
        }
        if from == latest {
            return Ok(MigrationOutcome::UpToDate(from));
        }

        for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
            for statement in (migration.statements)(&self.database, &self.features) {
                timed(DDL_TIMEOUT, self.client.query(&statement).execute()).await?;
            }
            let row = MigrationRow {
                version: migration.version,
                name: migration.name.to_owned(),
                applied_at: now(),
            };
            self.insert_rows(Table::SchemaMigrations.name(), std::slice::from_ref(&row))
                .await?;
            info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
        }
        Ok(MigrationOutcome::Applied { from, to: latest })
    }

    /// Checks that the schema is at the version this binary needs and that every table has the
    /// columns and types the store reads and writes. The error names each difference.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let found = self.schema_version().await?;
        let needed = latest_version();
        if found > needed {
            let database = self.database.clone();
            return Err(StoreError::SchemaTooNew {
                database,
                found,
                known: needed,
            });
        }
        if found < needed {
            return Err(StoreError::SchemaTooOld {
                database: self.database.clone(),
                found,
                needed,
            });
        }

        let rows: Vec<ColumnRow> = timed(
            QUERY_TIMEOUT,
            self.server
                .query(
                    "SELECT table, name, type FROM system.columns \
                     WHERE database = ? ORDER BY table",
                )
                .bind(&self.database)
                .fetch_all(),
        )
        .await?;
        let mut actual: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for row in &rows {
            actual
                .entry(&row.table)
                .or_default()
                .push((&row.name, &row.ty));
        }
        let problems = schema_differences(&actual, &self.features);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaMismatch(problems.join("; ")))
        }
    }

    /// Inserts rows into one table in one INSERT.
    pub async fn insert_rows<T>(&self, table: &str, rows: &[T]) -> Result<(), StoreError>
    where
        T: Row + Serialize + for<'a> Row<Value<'a> = T>,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let write = async {
            let mut insert = self.client.insert::<T>(table).await?;
            for row in rows {
                insert.write(row).await?;
            }
            insert.end().await
        };
        timed(INSERT_TIMEOUT, write).await
    }

    /// Commits a row set: one INSERT per data table, run concurrently, and then, only when all
    /// of them succeeded, the ledger rows in `batches`. A ledger row therefore never names a
    /// batch whose rows are not stored.
    pub async fn commit(&self, rows: &RowSet) -> Result<(), StoreError> {
        let (devices, counters, supplies, statuses, alerts) = tokio::join!(
            self.insert_rows(Table::Devices.name(), &rows.devices),
            self.insert_rows(Table::Counters.name(), &rows.counters),
            self.insert_rows(Table::Supplies.name(), &rows.supplies),
            self.insert_rows(Table::Statuses.name(), &rows.statuses),
            self.insert_rows(Table::Alerts.name(), &rows.alerts),
        );
        devices?;
        counters?;
        supplies?;
        statuses?;
        alerts?;
        self.insert_rows(Table::Batches.name(), &rows.batches).await
    }

    // --- batches ledger

    /// The ledger rows of any of these batches, in one query. Batch ids must be UUIDs in their
    /// canonical text form (they are formatted into the statement).
    pub async fn find_batches(
        &self,
        keys: &[(u64, u64, uuid::Uuid)],
    ) -> Result<Vec<BatchRow>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let tuples: Vec<String> = keys
            .iter()
            .map(|(t, c, b)| format!("({t},{c},'{}')", b.hyphenated()))
            .collect();
        let mut tenants: Vec<u64> = keys.iter().map(|k| k.0).collect();
        let mut collectors: Vec<u64> = keys.iter().map(|k| k.1).collect();
        tenants.sort_unstable();
        tenants.dedup();
        collectors.sort_unstable();
        collectors.dedup();
        let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        // The plain `IN` lists on the key's leading columns let every server version prune
        // by the primary index; the tuple `IN` then picks the exact batches.
        let sql = format!(
            "SELECT ?fields FROM batches WHERE tenant_id IN ({}) AND collector_id IN ({}) \
             AND (tenant_id, collector_id, batch_id) IN ({})",
            list(&tenants),
            list(&collectors),
            tuples.join(",")
        );
        timed(QUERY_TIMEOUT, self.client.query(&sql).fetch_all()).await
    }

    /// The highest sequence number accepted from a collector.
    pub async fn last_sequence(
        &self,
        tenant_id: u64,
        collector_id: u64,
    ) -> Result<Option<u64>, StoreError> {
        let row: MaxSequence = timed(
            QUERY_TIMEOUT,
            self.client
                .query(
                    "SELECT max(sequence) AS sequence FROM batches \
                     WHERE tenant_id = ? AND collector_id = ?",
                )
                .bind(tenant_id)
                .bind(collector_id)
                .fetch_one(),
        )
        .await?;
        Ok(row.sequence)
    }

    // --- devices

    /// The last inventory the store holds for some devices of a tenant.
    pub async fn known_devices(
        &self,
        tenant_id: u64,
        device_ids: &[u64],
    ) -> Result<Vec<KnownDevice>, StoreError> {
        if device_ids.is_empty() {
            return Ok(Vec::new());
        }
        // A tuple literal: ClickHouse 18.x does not take an array on the right of `IN`. The
        // values are integers, so formatting them in is safe.
        let list: Vec<String> = device_ids.iter().map(u64::to_string).collect();
        let sql = format!(
            "SELECT device_id, argMax(inventory_hash, last_seen) AS inventory_hash, \
             min(first_seen) AS earliest_seen, max(last_seen) AS latest_seen \
             FROM devices WHERE tenant_id = ? AND device_id IN ({}) GROUP BY device_id",
            list.join(",")
        );
        timed(
            QUERY_TIMEOUT,
            self.client.query(&sql).bind(tenant_id).fetch_all(),
        )
        .await
    }

    // --- tenants, collectors, tokens

    /// Creates a tenant with a unique name, under `parent` when given.
    pub async fn create_tenant(
        &self,
        name: &str,
        parent: Option<&str>,
    ) -> Result<TenantRecord, StoreError> {
        check_name("tenant", name)?;
        if self.find_tenant(name).await?.is_some() {
            return Err(StoreError::Refused(format!(
                "tenant `{name}` already exists"
            )));
        }
        let parent_id = match parent {
            Some(parent) => {
                self.find_tenant(parent)
                    .await?
                    .ok_or_else(|| StoreError::Refused(format!("no tenant named `{parent}`")))?
                    .tenant_id
            }
            None => 0,
        };
        let at = now();
        let record = TenantRecord {
            tenant_id: new_id(),
            name: name.to_owned(),
            parent_id,
            created_at: at,
            updated_at: at,
        };
        self.insert_rows(Table::Tenants.name(), std::slice::from_ref(&record))
            .await?;
        Ok(record)
    }

    pub async fn find_tenant(&self, name: &str) -> Result<Option<TenantRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client
                .query("SELECT ?fields FROM tenants FINAL WHERE name = ? LIMIT 1")
                .bind(name)
                .fetch_optional(),
        )
        .await
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client
                .query("SELECT ?fields FROM tenants FINAL ORDER BY name")
                .fetch_all(),
        )
        .await
    }

    /// The collector of a tenant with this name, created when it does not exist yet.
    pub async fn ensure_collector(
        &self,
        tenant_id: u64,
        name: &str,
    ) -> Result<CollectorRecord, StoreError> {
        check_name("collector", name)?;
        let existing: Option<CollectorRecord> = timed(
            QUERY_TIMEOUT,
            self.client
                .query(
                    "SELECT ?fields FROM collectors FINAL WHERE tenant_id = ? AND name = ? LIMIT 1",
                )
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(),
        )
        .await?;
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let at = now();
        let record = CollectorRecord {
            collector_id: new_id(),
            tenant_id,
            name: name.to_owned(),
            created_at: at,
            updated_at: at,
        };
        self.insert_rows(Table::Collectors.name(), std::slice::from_ref(&record))
            .await?;
        Ok(record)
    }

    pub async fn find_collector(
        &self,
        collector_id: u64,
    ) -> Result<Option<CollectorRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client
                .query("SELECT ?fields FROM collectors FINAL WHERE collector_id = ? LIMIT 1")
                .bind(collector_id)
                .fetch_optional(),
        )
        .await
    }

    /// Stores a new token's hash.
    pub async fn add_token(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.insert_rows(Table::Tokens.name(), std::slice::from_ref(record))
            .await
    }

    /// Every token, newest state of each, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client
                .query("SELECT ?fields FROM tokens FINAL ORDER BY created_at DESC, token_prefix")
                .fetch_all(),
        )
        .await
    }

    /// Revokes every token whose listing prefix or full hash is `key`; returns how many.
    pub async fn revoke_tokens(&self, key: &str) -> Result<usize, StoreError> {
        let matching: Vec<TokenRecord> = timed(
            QUERY_TIMEOUT,
            self.client
                .query(
                    "SELECT ?fields FROM tokens FINAL \
                     WHERE (token_prefix = ? OR token_hash = ?) AND revoked = 0",
                )
                .bind(key)
                .bind(key)
                .fetch_all(),
        )
        .await?;
        let at = now();
        let revoked: Vec<TokenRecord> = matching
            .into_iter()
            .map(|t| TokenRecord {
                revoked: 1,
                updated_at: at.max(t.updated_at + 1),
                ..t
            })
            .collect();
        self.insert_rows(Table::Tokens.name(), &revoked).await?;
        Ok(revoked.len())
    }

    /// The collector and tenant a token hash belongs to, unless it is unknown or revoked.
    pub async fn lookup_token(&self, token_hash: &str) -> Result<Option<(u64, u64)>, StoreError> {
        let state: Option<TokenState> = timed(
            QUERY_TIMEOUT,
            self.client
                .query(
                    "SELECT collector_id, tenant_id, argMax(revoked, updated_at) AS revoked \
                     FROM tokens WHERE token_hash = ? GROUP BY collector_id, tenant_id LIMIT 1",
                )
                .bind(token_hash)
                .fetch_optional(),
        )
        .await?;
        Ok(state
            .filter(|s| s.revoked == 0)
            .map(|s| (s.collector_id, s.tenant_id)))
    }

    /// Runs a read-only query and returns its rows; for tests, benchmarks and tools that need a
    /// figure from the database.
    pub async fn count(&self, table: Table, condition: &str) -> Result<u64, StoreError> {
        let sql = format!("SELECT count() FROM `{}` WHERE {condition}", table.name());
        timed(QUERY_TIMEOUT, self.client.query(&sql).fetch_one()).await
    }

    /// Rows of a table as `T`, ordered by `order_by`; for tests and tools.
    pub async fn fetch_all<T>(&self, table: Table, order_by: &str) -> Result<Vec<T>, StoreError>
    where
        T: Row + for<'a> Row<Value<'a> = T> + for<'de> Deserialize<'de> + 'static,
    {
        let sql = format!("SELECT ?fields FROM `{}` ORDER BY {order_by}", table.name());
        timed(QUERY_TIMEOUT, self.client.query(&sql).fetch_all()).await
    }

    /// Runs one statement as it is; for tests and operators' tools, never for telemetry.
    pub async fn raw_execute(&self, sql: &str) -> Result<(), StoreError> {
        timed(QUERY_TIMEOUT, self.client.query(sql).execute()).await
    }

    /// Drops the database; for tests that create their own.
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.database);
        timed(DDL_TIMEOUT, self.server.query(&sql).execute()).await
    }
}

/// Differences between the tables found and the ones the store expects.
fn schema_differences(
    actual: &BTreeMap<&str, Vec<(&str, &str)>>,
    features: &Features,
) -> Vec<String> {
    let mut problems = Vec::new();
    for table in Table::ALL {
        let Some(found) = actual.get(table.name()) else {
            problems.push(format!("table `{}` is missing", table.name()));
            continue;
        };
        for column in columns(*table) {
            let expected = column.type_on(features);
            match found.iter().find(|(name, _)| *name == column.name) {
                None => problems.push(format!(
                    "`{}.{}` is missing (expected {expected})",
                    table.name(),
                    column.name
                )),
                Some((_, ty)) if *ty != expected => problems.push(format!(
                    "`{}.{}` is {ty}, expected {expected}",
                    table.name(),
                    column.name
                )),
                Some(_) => {}
            }
        }
    }
    problems
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    let ok = !name.trim().is_empty() && name.len() <= 128 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(StoreError::Refused(format!(
            "{what} name must be 1 to 128 characters without control characters"
        )))
    }
}

/// A random id below 2^53, so that it survives JSON and spreadsheets unchanged.
pub(crate) fn new_id() -> u64 {
    loop {
        let id = rand::random::<u64>() & ((1 << 53) - 1);
        if id != 0 {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_differences_name_each_problem() {
        let features = Features::of(ServerVersion::parse("18.16.1").unwrap());
        let mut actual: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        actual.insert(
            "counters",
            vec![("tenant_id", "UInt64"), ("value", "Int64")],
        );
        let problems = schema_differences(&actual, &features);
        assert!(problems.contains(&"table `devices` is missing".to_owned()));
        assert!(problems.contains(&"`counters.value` is Int64, expected UInt64".to_owned()));
        assert!(problems.contains(&"`counters.kind` is missing (expected String)".to_owned()));
    }
}
