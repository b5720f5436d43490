//! Read-only ClickHouse users for BI tools, one per tenant, limited by row policies to the
//! tenant's subtree (docs/bi.md). Servers without row policies (before 20.4) are refused: a
//! read-only user there would see every tenant's rows.

use anyhow::Context;
use fleet_store::{ServerVersion, Store};

use crate::tenancy::Directory;

/// The curated views, applied (idempotently) before a user is granted them.
pub const VIEWS_SQL: &str = include_str!("../../deploy/clickhouse/views.sql");
pub const VIEWS: [&str; 4] = [
    "bi_daily_meter_reads",
    "bi_latest_supplies",
    "bi_devices",
    "bi_open_alerts",
];
/// Tables a BI user reads, each with a `tenant_id` column its row policy filters on.
pub const TABLES: [&str; 9] = [
    "counters",
    "counters_daily",
    "supplies",
    "statuses",
    "alerts",
    "devices",
    "batches",
    "collectors",
    "tenants",
];
/// Names of BI users: this prefix and the tenant's name.
pub const USER_PREFIX: &str = "fleet_bi_";
/// The policy that keeps every other user (the services, administrators) unrestricted.
const OPEN_POLICY: &str = "fleet_unrestricted";

/// Row policies exist from ClickHouse 20.4.
pub fn check_row_policies(version: ServerVersion) -> anyhow::Result<()> {
    anyhow::ensure!(
        version.at_least(20, 4),
        "ClickHouse {version} has no row policies (they arrived in 20.4), so a read-only user \
         would see the rows of every tenant; refusing. Run a current ClickHouse release for BI \
         access, or use the report endpoints (docs/bi.md)"
    );
    Ok(())
}

pub fn user_name(tenant: &str) -> String {
    let clean: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{USER_PREFIX}{clean}")
}

/// The views' statements for `database`.
pub fn view_statements(database: &str) -> Vec<String> {
    fleet_store::sql_statements(VIEWS_SQL, &format!("`{database}`"))
}

pub async fn apply_views(store: &Store) -> anyhow::Result<()> {
    for statement in view_statements(store.database()) {
        store
            .raw_execute(&statement)
            .await
            .with_context(|| format!("creating a view failed:\n{statement}"))?;
    }
    Ok(())
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Creates (or replaces) the BI user of `tenant`; returns its name.
pub async fn create(
    store: &Store,
    directory: &Directory,
    tenant: &str,
    password: &str,
) -> anyhow::Result<String> {
    check_row_policies(store.version())?;
    anyhow::ensure!(
        password.chars().count() >= 12,
        "the password needs at least 12 characters"
    );
    let tree = directory.tree().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = tree
        .by_name(tenant)
        .with_context(|| format!("no tenant named `{tenant}`"))?;
    let ids: Vec<String> = tree
        .subtree(record.tenant_id)
        .iter()
        .map(u64::to_string)
        .collect();
    let user = user_name(tenant);
    let db = format!("`{}`", store.database());
    apply_views(store).await?;
    let mut statements = vec![format!(
        "CREATE USER OR REPLACE `{user}` IDENTIFIED WITH sha256_password BY {} \
             SETTINGS readonly = 2",
        quote(password)
    )];
    for object in VIEWS.iter().chain(TABLES.iter()) {
        statements.push(format!("GRANT SELECT ON {db}.`{object}` TO `{user}`"));
    }
    for table in TABLES {
        statements.push(format!(
            "CREATE ROW POLICY OR REPLACE `{user}` ON {db}.`{table}` FOR SELECT \
             USING tenant_id IN ({}) TO `{user}`",
            ids.join(", ")
        ));
    }
    for statement in statements {
        store.raw_execute(&statement).await?;
    }
    open_policy(store).await?;
    Ok(user)
}

/// Drops the BI user of `tenant` and its policies.
pub async fn drop(store: &Store, tenant: &str) -> anyhow::Result<String> {
    check_row_policies(store.version())?;
    let user = user_name(tenant);
    let db = format!("`{}`", store.database());
    for table in TABLES {
        store
            .raw_execute(&format!(
                "DROP ROW POLICY IF EXISTS `{user}` ON {db}.`{table}`"
            ))
            .await?;
    }
    store
        .raw_execute(&format!("DROP USER IF EXISTS `{user}`"))
        .await?;
    open_policy(store).await?;
    Ok(user)
}

/// Once a table has a row policy, users named by none see none of its rows; this permissive
/// policy keeps everyone but the BI users unrestricted.
async fn open_policy(store: &Store) -> anyhow::Result<()> {
    let users: Vec<String> = store
        .client()
        .query("SELECT name FROM system.users WHERE startsWith(name, ?) ORDER BY name")
        .bind(USER_PREFIX)
        .fetch_all()
        .await?;
    let db = format!("`{}`", store.database());
    for table in TABLES {
        let statement = if users.is_empty() {
            format!("DROP ROW POLICY IF EXISTS {OPEN_POLICY} ON {db}.`{table}`")
        } else {
            let except: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
            format!(
                "CREATE ROW POLICY OR REPLACE {OPEN_POLICY} ON {db}.`{table}` FOR SELECT \
                 USING 1 TO ALL EXCEPT {}",
                except.join(", ")
            )
        };
        store.raw_execute(&statement).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_servers_are_refused_with_the_reason() {
        let old = ServerVersion::parse("18.16.1").unwrap();
        let err = check_row_policies(old).unwrap_err().to_string();
        assert!(err.contains("no row policies"), "{err}");
        assert!(check_row_policies(ServerVersion::parse("24.8.4").unwrap()).is_ok());
    }

    #[test]
    fn the_view_file_splits_into_four_views() {
        let statements = view_statements("fleet");
        assert_eq!(statements.len(), 4, "{statements:?}");
        assert!(
            statements
                .iter()
                .all(|s| s.contains("CREATE VIEW IF NOT EXISTS `fleet`.bi_"))
        );
        assert_eq!(user_name("ACME Corp."), "fleet_bi_acme_corp_");
    }
}
