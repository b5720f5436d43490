//! `fleet-bench seed` fills ClickHouse with a synthetic fleet's history inside ClickHouse (from
//! `numbers()`, not through the gateway); `fleet-bench report` times the monthly meter-read
//! report as CSV through the query service against the same SQL run straight on ClickHouse.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleet_store::{ClickHouseSettings, PartialClickHouseSettings, Scope, Store};

/// The dealer all seeded customers belong to.
pub const DEALER: u64 = 1_000;
pub const DEALER_NAME: &str = "bench-dealer";

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    #[arg(long, default_value = "http://127.0.0.1:18123")]
    pub clickhouse_url: String,
    #[arg(long, default_value = "fleet_reports_bench")]
    pub database: String,
    #[arg(long, default_value_t = 100_000)]
    pub devices: u64,
    /// Customers the devices are spread over (under one dealer)
    #[arg(long, default_value_t = 100)]
    pub customers: u64,
    /// Readings per day per counter (8: every three hours)
    #[arg(long, default_value_t = 8)]
    pub reads_per_day: u64,
    /// First day of history (UTC)
    #[arg(long, default_value = "2026-10-30")]
    pub from: String,
    /// Days of history
    #[arg(long, default_value_t = 35)]
    pub days: u64,
}

fn settings(url: &str, database: &str) -> anyhow::Result<ClickHouseSettings> {
    Ok(ClickHouseSettings::resolve(&[
        &PartialClickHouseSettings {
            url: Some(url.to_owned()),
            database: Some(database.to_owned()),
            ..Default::default()
        },
    ])?)
}

pub async fn seed(a: SeedArgs) -> anyhow::Result<()> {
    let settings = settings(&a.clickhouse_url, &a.database)?;
    let store = Store::connect(&settings).await?;
    store.drop_database().await?;
    let store = Store::connect(&settings).await?;
    store.migrate().await?;
    let start = a
        .from
        .parse::<jiff::civil::Date>()
        .context("--from is YYYY-MM-DD")?
        .to_zoned(jiff::tz::TimeZone::UTC)?
        .timestamp()
        .as_second();
    let began = Instant::now();
    let (devices, customers) = (a.devices, a.customers.max(1));
    store
        .raw_execute(&format!(
            "INSERT INTO tenants (tenant_id, name, parent_id, created_at, updated_at) \
             SELECT {DEALER}, '{DEALER_NAME}', 0, now(), now() UNION ALL \
             SELECT {DEALER} + 1 + number, concat('bench-customer-', toString(number)), {DEALER}, \
             now(), now() FROM numbers({customers})"
        ))
        .await?;
    // Device d belongs to customer d % customers; its daily volume is 50 to 449 pages.
    store
        .raw_execute(&format!(
            "INSERT INTO devices (tenant_id, device_id, vendor, model, serial, ip, firmware, \
             name, location, color, duplex, trays, collector_id, first_seen, last_seen) \
             SELECT {DEALER} + 1 + number % {customers}, number + 1, 'HP', \
             concat('Model ', toString(number % 20)), concat('SN', toString(100000000 + number)), \
             concat('10.', toString(intDiv(number, 65536) % 256), '.', \
             toString(intDiv(number, 256) % 256), '.', toString(number % 256)), '1.0', \
             concat('printer-', toString(number)), 'Floor 1', toInt8(number % 2), toInt8(1), \
             toInt16(2), toUInt64(1), toDateTime({start}), toDateTime({start} + {days} * 86400) \
             FROM numbers({devices})",
            days = a.days
        ))
        .await?;
    let per_day = devices * 3 * a.reads_per_day;
    let step = 86_400 / a.reads_per_day.max(1);
    for day in 0..a.days {
        // Reading r of the day for device d and kind k (0 total, 1 mono, 2 color).
        store
            .raw_execute(&format!(
                "INSERT INTO counters (tenant_id, device_id, kind, observed_at, value, \
                 collector_id, received_at) \
                 SELECT {DEALER} + 1 + d % {customers}, d + 1, \
                  arrayElement(['total', 'mono', 'color'], k + 1), toDateTime(at), \
                  toUInt64(100000 + intDiv(t * (50 + d % 400) * (3 - k), 3 * {rpd})), \
                  toUInt64(1), toDateTime(at) \
                 FROM (SELECT number % {devices} AS d, intDiv(number, {devices}) % 3 AS k, \
                  intDiv(number, {devices} * 3) AS r, {day} * {rpd} + r AS t, \
                  {start} + {day} * 86400 + r * {step} AS at \
                  FROM numbers({per_day}))",
                rpd = a.reads_per_day
            ))
            .await
            .with_context(|| format!("seeding day {day}"))?;
    }
    println!(
        "seeded {} devices × 3 counters × {} readings a day × {} days ({} rows) \
         into `{}` in {:.1} s",
        devices,
        a.reads_per_day,
        a.days,
        per_day * a.days,
        a.database,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[arg(long, default_value = "http://127.0.0.1:18123")]
    pub clickhouse_url: String,
    #[arg(long, default_value = "fleet_reports_bench")]
    pub database: String,
    /// The fleet-query binary to start
    #[arg(long)]
    pub query_bin: std::path::PathBuf,
    /// The month reported
    #[arg(long, default_value = "2026-11")]
    pub month: String,
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
}

/// Reads a whole response body, returning bytes read.
async fn drain(mut response: reqwest::Response) -> anyhow::Result<u64> {
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
    }
    Ok(bytes)
}

fn peak_memory(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub async fn report(a: ReportArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = settings(&a.clickhouse_url, &a.database)?;
    let store = Store::connect(&settings).await?;
    // The same SQL the service runs for the dealer's whole subtree, straight on ClickHouse.
    let tenants: Vec<u64> = store
        .client()
        .query("SELECT tenant_id FROM tenants WHERE tenant_id = ? OR parent_id = ?")
        .bind(DEALER)
        .bind(DEALER)
        .fetch_all()
        .await?;
    let period = fleet_reports::Period::parse(&a.month, None, "UTC")?;
    let sql = fleet_reports::report_sql(
        fleet_reports::ReportName::MeterReads,
        &Scope::tenants(tenants),
        &period,
        &fleet_reports::Options::default(),
    );
    let hash =
        fleet_model::password::hash_password("bench password").map_err(anyhow::Error::msg)?;
    let email = format!("bench-{}@example.com", rand::random::<u32>());
    let user = store.create_user(&email, 0, "admin", &hash).await?;
    let token = fleet_query::api::tokens::issue_api_token(&store, user.user_id, Some(1))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let port = 18_099;
    let mut child = tokio::process::Command::new(&a.query_bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("FLEET_CLICKHOUSE_URL", &a.clickhouse_url)
        .env("FLEET_DATABASE", &a.database)
        .env("FLEET_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start fleet-query")?;
    let pid = child.id().unwrap_or(0);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!(
        "{base}/api/v1/reports/meter-reads?tenant={DEALER_NAME}&from={}&format=csv",
        a.month
    );
    println!("round\tdirect SQL (s)\tservice CSV (s)\tratio\tCSV bytes\tSQL bytes");
    for round in 1..=a.rounds {
        let started = Instant::now();
        let mut cursor = store.client().query(&sql).fetch_bytes("TabSeparated")?;
        let mut sql_bytes = 0u64;
        while let Some(chunk) = cursor.next().await? {
            sql_bytes += chunk.len() as u64;
        }
        let direct = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let response = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
        let csv_bytes = drain(response).await?;
        let service = started.elapsed().as_secs_f64();
        println!(
            "{round}\t{direct:.2}\t{service:.2}\t{:.2}\t{csv_bytes}\t{sql_bytes}",
            service / direct
        );
    }
    println!("fleet-query peak memory (VmHWM): {}", peak_memory(pid));
    let _ = child.kill().await;
    Ok(())
}
