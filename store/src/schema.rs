//! The tables, their columns and the DDL for a server's features.
//!
//! Table and column names are a public interface (BI tools query them directly) and are
//! documented in `docs/schema.md`. Types are limited to what ClickHouse 18.16 has; on current
//! servers strings with few distinct values become `LowCardinality(String)`, columns get
//! compression codecs and tables a retention `TTL`.

use fleet_model::{DeviceStatus, PrinterStatus, Severity};

use crate::Features;

/// The tables Fleetmeter owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    SchemaMigrations,
    Tenants,
    Collectors,
    Tokens,
    Devices,
    Counters,
    CountersDaily,
    Supplies,
    Statuses,
    Alerts,
    Batches,
    TenantSettings,
    Users,
    Sessions,
    ApiTokens,
}

impl Table {
    /// Every table, in creation order.
    pub const ALL: &'static [Table] = &[
        Table::SchemaMigrations,
        Table::Tenants,
        Table::Collectors,
        Table::Tokens,
        Table::Devices,
        Table::Counters,
        Table::CountersDaily,
        Table::Supplies,
        Table::Statuses,
        Table::Alerts,
        Table::Batches,
        Table::TenantSettings,
        Table::Users,
        Table::Sessions,
        Table::ApiTokens,
    ];

    /// The tables of the first schema version; later ones come with their migrations.
    pub const INITIAL: &'static [Table] = &[
        Table::SchemaMigrations,
        Table::Tenants,
        Table::Collectors,
        Table::Tokens,
        Table::Devices,
        Table::Counters,
        Table::CountersDaily,
        Table::Supplies,
        Table::Statuses,
        Table::Alerts,
        Table::Batches,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Table::SchemaMigrations => "schema_migrations",
            Table::Tenants => "tenants",
            Table::Collectors => "collectors",
            Table::Tokens => "tokens",
            Table::Devices => "devices",
            Table::Counters => "counters",
            Table::CountersDaily => "counters_daily",
            Table::Supplies => "supplies",
            Table::Statuses => "statuses",
            Table::Alerts => "alerts",
            Table::Batches => "batches",
            Table::TenantSettings => "tenant_settings",
            Table::Users => "users",
            Table::Sessions => "sessions",
            Table::ApiTokens => "api_tokens",
        }
    }
}

/// One column: its name, its type on an old server, and what a current server adds.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: &'static str,
    ty: String,
    /// Wrap in `LowCardinality` where the server has it.
    low_cardinality: bool,
    /// A compression codec where the server has codecs.
    codec: Option<&'static str>,
}

impl Column {
    /// The type as `system.columns` reports it on a server with `features`.
    pub fn type_on(&self, features: &Features) -> String {
        if self.low_cardinality && features.low_cardinality {
            format!("LowCardinality({})", self.ty)
        } else {
            self.ty.clone()
        }
    }

    fn definition(&self, features: &Features) -> String {
        let mut def = format!("`{}` {}", self.name, self.type_on(features));
        if let (Some(codec), true) = (self.codec, features.codecs) {
            def.push_str(&format!(" CODEC({codec})"));
        }
        def
    }
}

fn col(name: &'static str, ty: &str) -> Column {
    Column {
        name,
        ty: ty.to_owned(),
        low_cardinality: false,
        codec: None,
    }
}

fn lc(name: &'static str) -> Column {
    Column {
        name,
        ty: "String".to_owned(),
        low_cardinality: true,
        codec: None,
    }
}

fn packed(name: &'static str, ty: &str, codec: &'static str) -> Column {
    Column {
        name,
        ty: ty.to_owned(),
        low_cardinality: false,
        codec: Some(codec),
    }
}

const TIME_CODEC: &str = "DoubleDelta, ZSTD(1)";
const RECEIVED_CODEC: &str = "Delta, ZSTD(1)";
const ID_CODEC: &str = "ZSTD(1)";

fn enum8<T: Copy + std::fmt::Display>(members: &[T]) -> String {
    let members: Vec<String> = members
        .iter()
        .enumerate()
        .map(|(i, m)| format!("'{m}' = {}", i + 1))
        .collect();
    format!("Enum8({})", members.join(", "))
}

/// The engine and layout of a table.
struct Layout {
    engine: &'static str,
    partition_by: Option<&'static str>,
    order_by: &'static str,
    /// Retention, where the server has TTL.
    ttl: Option<&'static str>,
}

pub(crate) fn columns(table: Table) -> Vec<Column> {
    let tenant = || packed("tenant_id", "UInt64", ID_CODEC);
    let device = || packed("device_id", "UInt64", ID_CODEC);
    let observed = || packed("observed_at", "DateTime", TIME_CODEC);
    let collector = || packed("collector_id", "UInt64", ID_CODEC);
    let received = || packed("received_at", "DateTime", RECEIVED_CODEC);
    match table {
        Table::SchemaMigrations => vec![
            col("version", "UInt32"),
            col("name", "String"),
            col("applied_at", "DateTime"),
        ],
        Table::Tenants => vec![
            col("tenant_id", "UInt64"),
            col("name", "String"),
            col("parent_id", "UInt64"),
            col("created_at", "DateTime"),
            col("updated_at", "DateTime"),
        ],
        Table::Collectors => vec![
            col("collector_id", "UInt64"),
            col("tenant_id", "UInt64"),
            col("name", "String"),
            col("created_at", "DateTime"),
            col("updated_at", "DateTime"),
        ],
        Table::Tokens => vec![
            col("token_hash", "String"),
            col("token_prefix", "String"),
            col("collector_id", "UInt64"),
            col("tenant_id", "UInt64"),
            col("created_at", "DateTime"),
            col("revoked", "UInt8"),
            col("updated_at", "DateTime"),
        ],
        Table::Devices => vec![
            col("tenant_id", "UInt64"),
            col("device_id", "UInt64"),
            lc("vendor"),
            lc("model"),
            col("serial", "String"),
            col("mac", "String"),
            col("ip", "String"),
            col("hostname", "String"),
            lc("firmware"),
            col("name", "String"),
            col("location", "String"),
            col("contact", "String"),
            lc("sys_object_id"),
            col("color", "Int8"),
            col("duplex", "Int8"),
            col("trays", "Int16"),
            lc("finisher"),
            col("collector_id", "UInt64"),
            col("inventory_hash", "UInt64"),
            col("first_seen", "DateTime"),
            col("last_seen", "DateTime"),
        ],
        Table::Counters => vec![
            tenant(),
            device(),
            lc("kind"),
            observed(),
            packed("value", "UInt64", "Delta, ZSTD(1)"),
            collector(),
            received(),
        ],
        Table::CountersDaily => vec![
            col("tenant_id", "UInt64"),
            col("device_id", "UInt64"),
            lc("kind"),
            col("day", "Date"),
            col("first_value", "AggregateFunction(argMin, UInt64, DateTime)"),
            col("first_at", "AggregateFunction(min, DateTime)"),
            col("last_value", "AggregateFunction(argMax, UInt64, DateTime)"),
            col("last_at", "AggregateFunction(max, DateTime)"),
            col("min_value", "AggregateFunction(min, UInt64)"),
            col("max_value", "AggregateFunction(max, UInt64)"),
        ],
        Table::Supplies => vec![
            tenant(),
            device(),
            lc("kind"),
            lc("color"),
            col("description", "String"),
            lc("part_number"),
            observed(),
            packed("level", "Int32", "T64, ZSTD(1)"),
            packed("max", "Int32", "T64, ZSTD(1)"),
            col("percent", "Nullable(UInt8)"),
            collector(),
            received(),
        ],
        Table::Statuses => vec![
            tenant(),
            device(),
            observed(),
            col("device_status", &enum8(DeviceStatus::ALL)),
            col("printer_status", &enum8(PrinterStatus::ALL)),
            col("errors", "Array(String)"),
            col("display", "Array(String)"),
            collector(),
            received(),
        ],
        Table::Alerts => vec![
            tenant(),
            device(),
            observed(),
            col("alert_index", "Int64"),
            col("severity", &enum8(Severity::ALL)),
            lc("alert_group"),
            col("code", "Int64"),
            col("description", "String"),
            lc("training_level"),
            collector(),
            received(),
        ],
        Table::Batches => vec![
            col("tenant_id", "UInt64"),
            col("collector_id", "UInt64"),
            col("batch_id", "String"),
            col("sequence", "Nullable(UInt64)"),
            col("sequence_gap", "UInt64"),
            col("sent_at", "DateTime"),
            col("received_at", "DateTime"),
            col("devices", "UInt32"),
            col("rejected", "UInt32"),
            col("rows", "UInt64"),
            lc("transport"),
        ],
        Table::TenantSettings => vec![
            col("tenant_id", "UInt64"),
            col("time_zone", "String"),
            col("updated_at", "DateTime"),
        ],
        Table::Users => vec![
            col("email", "String"),
            col("user_id", "UInt64"),
            col("tenant_id", "UInt64"),
            col("role", "String"),
            col("password_hash", "String"),
            col("disabled", "UInt8"),
            col("created_at", "DateTime"),
            col("updated_at", "DateTime"),
        ],
        Table::Sessions => vec![
            col("session_hash", "String"),
            col("user_id", "UInt64"),
            col("csrf_token", "String"),
            col("created_at", "DateTime"),
            col("expires_at", "DateTime"),
            col("revoked", "UInt8"),
            col("updated_at", "DateTime"),
        ],
        Table::ApiTokens => vec![
            col("token_hash", "String"),
            col("token_prefix", "String"),
            col("user_id", "UInt64"),
            col("created_at", "DateTime"),
            col("expires_at", "DateTime"),
            col("revoked", "UInt8"),
            col("updated_at", "DateTime"),
        ],
    }
}

fn layout(table: Table) -> Layout {
    let replacing = "ReplacingMergeTree(received_at)";
    match table {
        Table::SchemaMigrations => Layout {
            engine: "MergeTree",
            partition_by: None,
            order_by: "version",
            ttl: None,
        },
        Table::Tenants => Layout {
            engine: "ReplacingMergeTree(updated_at)",
            partition_by: None,
            order_by: "tenant_id",
            ttl: None,
        },
        Table::Collectors => Layout {
            engine: "ReplacingMergeTree(updated_at)",
            partition_by: None,
            order_by: "(tenant_id, collector_id)",
            ttl: None,
        },
        Table::Tokens => Layout {
            engine: "ReplacingMergeTree(updated_at)",
            partition_by: None,
            order_by: "token_hash",
            ttl: None,
        },
        Table::Devices => Layout {
            engine: "ReplacingMergeTree(last_seen)",
            partition_by: None,
            order_by: "(tenant_id, device_id)",
            ttl: None,
        },
        Table::Counters => Layout {
            engine: replacing,
            partition_by: Some("toYYYYMM(observed_at)"),
            order_by: "(tenant_id, device_id, kind, observed_at)",
            ttl: Some("observed_at + INTERVAL 36 MONTH"),
        },
        Table::CountersDaily => Layout {
            engine: "AggregatingMergeTree",
            partition_by: Some("toYYYYMM(day)"),
            order_by: "(tenant_id, device_id, kind, day)",
            ttl: None,
        },
        Table::Supplies => Layout {
            engine: replacing,
            partition_by: Some("toYYYYMM(observed_at)"),
            order_by: "(tenant_id, device_id, kind, color, description, observed_at)",
            ttl: Some("observed_at + INTERVAL 25 MONTH"),
        },
        Table::Statuses => Layout {
            engine: replacing,
            partition_by: Some("toYYYYMM(observed_at)"),
            order_by: "(tenant_id, device_id, observed_at)",
            ttl: Some("observed_at + INTERVAL 13 MONTH"),
        },
        Table::Alerts => Layout {
            engine: replacing,
            partition_by: Some("toYYYYMM(observed_at)"),
            order_by: "(tenant_id, device_id, observed_at, alert_index)",
            ttl: Some("observed_at + INTERVAL 25 MONTH"),
        },
        Table::Batches => Layout {
            engine: replacing,
            partition_by: Some("toYYYYMM(received_at)"),
            order_by: "(tenant_id, collector_id, batch_id)",
            ttl: Some("received_at + INTERVAL 25 MONTH"),
        },
        Table::TenantSettings => metadata("tenant_id"),
        Table::Users => metadata("email"),
        Table::Sessions => metadata("session_hash"),
        Table::ApiTokens => metadata("token_hash"),
    }
}

/// A small metadata table: the newest row per key wins.
fn metadata(order_by: &'static str) -> Layout {
    Layout {
        engine: "ReplacingMergeTree(updated_at)",
        partition_by: None,
        order_by,
        ttl: None,
    }
}

/// `CREATE TABLE IF NOT EXISTS` for one table.
pub(crate) fn create_table(database: &str, table: Table, features: &Features) -> String {
    let columns: Vec<String> = columns(table)
        .iter()
        .map(|c| format!("    {}", c.definition(features)))
        .collect();
    let layout = layout(table);
    let mut ddl = format!(
        "CREATE TABLE IF NOT EXISTS `{database}`.`{}`\n(\n{}\n)\nENGINE = {}",
        table.name(),
        columns.join(",\n"),
        layout.engine
    );
    if let Some(partition) = layout.partition_by {
        ddl.push_str(&format!("\nPARTITION BY {partition}"));
    }
    ddl.push_str(&format!("\nORDER BY {}", layout.order_by));
    if let (Some(ttl), true) = (layout.ttl, features.ttl) {
        ddl.push_str(&format!("\nTTL {ttl}"));
        if features.ttl_only_drop_parts {
            ddl.push_str("\nSETTINGS ttl_only_drop_parts = 1");
        }
    }
    ddl
}

/// The materialized view that keeps `counters_daily` up to date.
pub(crate) fn create_counters_daily_view(database: &str) -> String {
    let select = [
        "    tenant_id,",
        "    device_id,",
        "    kind,",
        "    toDate(observed_at) AS day,",
        "    argMinState(value, observed_at) AS first_value,",
        "    minState(observed_at) AS first_at,",
        "    argMaxState(value, observed_at) AS last_value,",
        "    maxState(observed_at) AS last_at,",
        "    minState(value) AS min_value,",
        "    maxState(value) AS max_value",
    ];
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`counters_daily_mv`\n\
         TO `{database}`.`counters_daily`\nAS SELECT\n{}\nFROM `{database}`.`counters`\n\
         GROUP BY tenant_id, device_id, kind, day",
        select.join("\n")
    )
}

/// Every DDL statement the store can emit for a server with `features`, in order. Used by the
/// migrations and by the compatibility test against a current ClickHouse engine.
pub fn ddl_statements(database: &str, features: &Features) -> Vec<String> {
    crate::migrate::MIGRATIONS
        .iter()
        .flat_map(|migration| (migration.statements)(database, features))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerVersion;

    fn features(version: &str) -> Features {
        Features::of(ServerVersion::parse(version).unwrap())
    }

    #[test]
    fn old_servers_get_no_codecs_ttl_or_low_cardinality() {
        let ddl = create_table("fleet", Table::Counters, &features("18.16.1"));
        assert!(!ddl.contains("CODEC") && !ddl.contains("TTL") && !ddl.contains("LowCard"));
        assert!(ddl.contains("ORDER BY (tenant_id, device_id, kind, observed_at)"));
    }

    #[test]
    fn current_servers_get_codecs_ttl_and_low_cardinality() {
        let ddl = create_table("fleet", Table::Counters, &features("24.8.1"));
        assert!(ddl.contains("`observed_at` DateTime CODEC(DoubleDelta, ZSTD(1))"));
        assert!(ddl.contains("`kind` LowCardinality(String)"));
        assert!(ddl.contains("TTL observed_at + INTERVAL 36 MONTH"));
        assert!(ddl.contains("ttl_only_drop_parts = 1"));
    }

    #[test]
    fn enum_columns_follow_the_model() {
        let statuses = columns(Table::Statuses);
        let device = statuses.iter().find(|c| c.name == "device_status").unwrap();
        assert_eq!(
            device.type_on(&features("18.16.1")),
            "Enum8('running' = 1, 'warning' = 2, 'down' = 3, 'testing' = 4, 'unknown' = 5)"
        );
    }
}
