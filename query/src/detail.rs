//! One device: inventory, latest counters, supplies, status and open alerts; and its history of
//! counters (bucketed in ClickHouse by hour, day or month in the tenant's zone), supplies and
//! alerts. The device is first found within the caller's scope ([`devices::owner`]).

use clickhouse::Row;
use fleet_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::devices::rfc3339;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Row, Deserialize, Serialize, ToSchema)]
pub struct Inventory {
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub mac: String,
    pub ip: String,
    pub hostname: String,
    pub firmware: String,
    pub name: String,
    pub location: String,
    pub contact: String,
    /// 1 yes, 0 no, -1 unknown.
    pub color: i8,
    pub duplex: i8,
    pub trays: i16,
    pub finisher: String,
    pub collector_id: u64,
    #[serde(skip_serializing)]
    first: u32,
    #[serde(skip_serializing)]
    last: u32,
}

#[derive(Debug, Row, Deserialize)]
struct CounterRow {
    kind: String,
    value: u64,
    at: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Counter {
    pub kind: String,
    pub value: u64,
    pub observed_at: String,
}

#[derive(Debug, Row, Deserialize)]
struct SupplyRow {
    kind: String,
    color: String,
    description: String,
    part_number: String,
    level: i32,
    max: i32,
    percent: Option<u8>,
    at: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Supply {
    pub kind: String,
    pub color: String,
    pub description: String,
    pub part_number: String,
    /// As the device reports it: -1 no limit, -2 unknown, -3 some remaining.
    pub level: i32,
    pub max: i32,
    pub percent: Option<u8>,
    pub observed_at: String,
}

#[derive(Debug, Row, Deserialize)]
struct StatusRow {
    device_status: String,
    printer_status: String,
    errors: Vec<String>,
    display: Vec<String>,
    at: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    pub device_status: String,
    pub printer_status: String,
    pub errors: Vec<String>,
    pub display: Vec<String>,
    pub observed_at: String,
}

#[derive(Debug, Row, Deserialize)]
struct AlertRow {
    alert_index: i64,
    severity: String,
    alert_group: String,
    code: i64,
    description: String,
    first: u32,
    last: u32,
    sightings: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Alert {
    pub alert_index: i64,
    pub severity: String,
    pub group: String,
    pub code: i64,
    pub description: String,
    pub first_seen: String,
    pub last_seen: String,
    /// Readings that showed it.
    pub sightings: u64,
}

fn alert(r: AlertRow) -> Alert {
    Alert {
        alert_index: r.alert_index,
        severity: r.severity,
        group: r.alert_group,
        code: r.code,
        description: r.description,
        first_seen: rfc3339(r.first),
        last_seen: rfc3339(r.last),
        sightings: r.sightings,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDetail {
    pub device_id: String,
    pub tenant_id: u64,
    pub inventory: Inventory,
    pub first_seen: String,
    pub last_seen: String,
    pub counters: Vec<Counter>,
    pub supplies: Vec<Supply>,
    pub status: Option<Status>,
    /// Alerts in the device's latest reading of its alert table.
    pub open_alerts: Vec<Alert>,
}

/// Every read below addresses one device: its tenant and id lead the primary key.
fn key(tenant: u64, device: u64) -> String {
    format!("tenant_id = {tenant} AND device_id = {device}")
}

pub async fn detail(store: &Store, tenant: u64, device: u64) -> ApiResult<DeviceDetail> {
    let k = key(tenant, device);
    let c = store.client();
    let inventory: Inventory = c
        .query(&format!(
            "SELECT argMax(vendor, last_seen), argMax(model, last_seen), \
             argMax(serial, last_seen), \
             argMax(mac, last_seen), argMax(ip, last_seen), argMax(hostname, last_seen), \
             argMax(firmware, last_seen), argMax(name, last_seen), argMax(location, last_seen), \
             argMax(contact, last_seen), argMax(color, last_seen), argMax(duplex, last_seen), \
             argMax(trays, last_seen), argMax(finisher, last_seen), \
             argMax(collector_id, last_seen), toUInt32(min(first_seen)), toUInt32(max(last_seen)) \
             FROM devices WHERE {k}"
        ))
        .fetch_one()
        .await?;
    let counters: Vec<CounterRow> = c
        .query(&format!(
            "SELECT kind, argMax(value, observed_at), toUInt32(max(observed_at)) FROM counters \
             WHERE {k} GROUP BY kind ORDER BY kind"
        ))
        .fetch_all()
        .await?;
    let supplies: Vec<SupplyRow> = c
        .query(&format!(
            "SELECT kind, color, description, argMax(part_number, observed_at), \
             argMax(level, observed_at), argMax(max, observed_at), argMax(percent, observed_at), \
             toUInt32(max(observed_at)) FROM supplies WHERE {k} \
             GROUP BY kind, color, description ORDER BY kind, color, description"
        ))
        .fetch_all()
        .await?;
    let status: Option<StatusRow> = c
        .query(&format!(
            "SELECT toString(device_status), toString(printer_status), errors, display, \
             toUInt32(observed_at) FROM statuses WHERE {k} ORDER BY observed_at DESC LIMIT 1"
        ))
        .fetch_optional()
        .await?;
    let status_at = status.as_ref().map_or(0, |s| s.at);
    let open: Vec<AlertRow> = c
        .query(&format!(
            "SELECT alert_index, toString(severity), alert_group, code, any(description), \
             toUInt32(min(observed_at)), toUInt32(max(observed_at)), count() FROM alerts \
             WHERE {k} AND observed_at = (SELECT max(observed_at) FROM alerts WHERE {k}) \
             AND observed_at >= toDateTime({status_at}) \
             GROUP BY alert_index, severity, alert_group, code ORDER BY alert_index"
        ))
        .fetch_all()
        .await?;
    Ok(DeviceDetail {
        device_id: device.to_string(),
        tenant_id: tenant,
        first_seen: rfc3339(inventory.first),
        last_seen: rfc3339(inventory.last),
        inventory,
        counters: counters
            .into_iter()
            .map(|r| Counter {
                kind: r.kind,
                value: r.value,
                observed_at: rfc3339(r.at),
            })
            .collect(),
        supplies: supplies
            .into_iter()
            .map(|r| Supply {
                kind: r.kind,
                color: r.color,
                description: r.description,
                part_number: r.part_number,
                level: r.level,
                max: r.max,
                percent: r.percent.filter(|p| *p <= 100),
                observed_at: rfc3339(r.at),
            })
            .collect(),
        status: status.map(|s| Status {
            device_status: s.device_status,
            printer_status: s.printer_status,
            errors: s.errors,
            display: s.display,
            observed_at: rfc3339(s.at),
        }),
        open_alerts: open.into_iter().map(alert).collect(),
    })
}

/// The period and bucketing of a history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Counter kind (counter history only; all kinds when absent).
    pub kind: Option<String>,
    /// First day, YYYY-MM-DD in the tenant's time zone (default: 30 days before `to`).
    pub from: Option<String>,
    /// Day after the last, exclusive (default: tomorrow).
    pub to: Option<String>,
    /// Counter history bucket: hour, day (default) or month.
    pub step: Option<String>,
}

/// `from` and `to` as UTC seconds in `zone`, with the defaults filled in.
pub fn window(q: &HistoryQuery, zone: &str) -> ApiResult<fleet_reports::Period> {
    let today = jiff::Zoned::now()
        .with_time_zone(
            jiff::tz::TimeZone::get(zone).map_err(|e| ApiError::Invalid(e.to_string()))?,
        )
        .date();
    let to = match &q.to {
        Some(t) => fleet_reports::period::parse_date("to", t)?,
        None => today
            .tomorrow()
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
    };
    let from = match &q.from {
        Some(f) => fleet_reports::period::parse_date("from", f)?,
        None => to
            .checked_sub(jiff::Span::new().days(30))
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
    };
    Ok(fleet_reports::Period::new(from, to, zone)?)
}

#[derive(Debug, Row, Deserialize)]
struct BucketRow {
    kind: String,
    bucket: String,
    first: u64,
    last: u64,
    readings: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterPoint {
    pub kind: String,
    /// Start of the bucket, local time in the tenant's zone.
    pub bucket: String,
    /// First and last reading in the bucket.
    pub first: u64,
    pub last: u64,
    pub readings: u64,
}

pub async fn counter_history(
    store: &Store,
    tenant: u64,
    device: u64,
    q: &HistoryQuery,
    zone: &str,
) -> ApiResult<Vec<CounterPoint>> {
    let period = window(q, zone)?;
    let bucket = match q.step.as_deref().unwrap_or("day") {
        "hour" => "toString(toStartOfHour(observed_at, ?), ?)",
        "day" => "toString(toStartOfDay(observed_at, ?), ?)",
        "month" => "concat(toString(toStartOfMonth(observed_at, ?)), substring(?, 1, 0))",
        other => {
            return Err(ApiError::Invalid(format!(
                "step must be hour, day or month, not `{other}`"
            )));
        }
    };
    let kind_filter = if q.kind.is_some() { "AND kind = ?" } else { "" };
    let sql = format!(
        "SELECT kind, {bucket} AS b, argMin(value, observed_at), argMax(value, observed_at), \
         count(DISTINCT observed_at) FROM counters WHERE {} {kind_filter} \
         AND observed_at >= toDateTime({}) AND observed_at < toDateTime({}) \
         GROUP BY kind, b ORDER BY kind, b LIMIT 100000",
        key(tenant, device),
        period.start,
        period.end
    );
    let mut query = store.client().query(&sql).bind(zone).bind(zone);
    if let Some(kind) = &q.kind {
        query = query.bind(kind.as_str());
    }
    let rows: Vec<BucketRow> = query.fetch_all().await?;
    Ok(rows
        .into_iter()
        .map(|r| CounterPoint {
            kind: r.kind,
            bucket: r.bucket,
            first: r.first,
            last: r.last,
            readings: r.readings,
        })
        .collect())
}

#[derive(Debug, Row, Deserialize)]
struct SupplyPointRow {
    kind: String,
    color: String,
    description: String,
    day: String,
    percent: u8,
    level: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyPoint {
    pub kind: String,
    pub color: String,
    pub description: String,
    /// Local date in the tenant's zone.
    pub day: String,
    /// The day's last level in percent, when it has one.
    pub percent: Option<u8>,
    pub level: i32,
}

pub async fn supply_history(
    store: &Store,
    tenant: u64,
    device: u64,
    q: &HistoryQuery,
    zone: &str,
) -> ApiResult<Vec<SupplyPoint>> {
    let period = window(q, zone)?;
    let sql = format!(
        "SELECT kind, color, description, toString(toDate(observed_at, ?)) AS day, \
         argMax(ifNull(percent, 255), observed_at), argMax(level, observed_at) FROM supplies \
         WHERE {} AND observed_at >= toDateTime({}) AND observed_at < toDateTime({}) \
         GROUP BY kind, color, description, day ORDER BY kind, color, description, day \
         LIMIT 100000",
        key(tenant, device),
        period.start,
        period.end
    );
    let rows: Vec<SupplyPointRow> = store.client().query(&sql).bind(zone).fetch_all().await?;
    Ok(rows
        .into_iter()
        .map(|r| SupplyPoint {
            kind: r.kind,
            color: r.color,
            description: r.description,
            day: r.day,
            percent: (r.percent <= 100).then_some(r.percent),
            level: r.level,
        })
        .collect())
}

pub async fn alert_history(
    store: &Store,
    tenant: u64,
    device: u64,
    q: &HistoryQuery,
    zone: &str,
) -> ApiResult<Vec<Alert>> {
    let period = window(q, zone)?;
    let sql = format!(
        "SELECT alert_index, toString(severity), alert_group, code, any(description), \
         toUInt32(min(observed_at)), toUInt32(max(observed_at)), count(DISTINCT observed_at) \
         FROM alerts WHERE {} AND observed_at >= toDateTime({}) AND observed_at < toDateTime({}) \
         GROUP BY alert_index, severity, alert_group, code ORDER BY min(observed_at) LIMIT 10000",
        key(tenant, device),
        period.start,
        period.end
    );
    let rows: Vec<AlertRow> = store.client().query(&sql).fetch_all().await?;
    Ok(rows.into_iter().map(alert).collect())
}
