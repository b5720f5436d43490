//! Versioned, idempotent schema migrations, recorded in `schema_migrations`.

use crate::Features;
use crate::schema::{Table, create_counters_daily_view, create_table};

/// One schema version: the statements that take the schema from the previous version to it.
/// Every statement is idempotent (`IF NOT EXISTS`), so a migration interrupted half-way can be
/// run again.
#[derive(Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: fn(&str, &Features) -> Vec<String>,
}

/// Every migration, oldest first. The last one's version is the schema this binary needs.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        statements: initial_schema,
    },
    Migration {
        version: 2,
        name: "tenant time zones, users, sessions, API tokens",
        statements: accounts,
    },
];

/// The schema version this binary needs.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

fn initial_schema(database: &str, features: &Features) -> Vec<String> {
    let mut statements: Vec<String> = Table::INITIAL
        .iter()
        .map(|t| create_table(database, *t, features))
        .collect();
    statements.push(create_counters_daily_view(database));
    statements
}

fn accounts(database: &str, features: &Features) -> Vec<String> {
    [
        Table::TenantSettings,
        Table::Users,
        Table::Sessions,
        Table::ApiTokens,
    ]
    .iter()
    .map(|t| create_table(database, *t, features))
    .collect()
}

/// What `migrate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationOutcome {
    /// The schema was already at this version; nothing ran.
    UpToDate(u32),
    /// Migrations after `from` up to `to` were applied.
    Applied { from: u32, to: u32 },
}
