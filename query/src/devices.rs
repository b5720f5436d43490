//! Device queries: the filtered, sorted, paginated list; one device's detail; its counter,
//! supply and alert history. Each takes the caller's [`Scope`] and filters by it alone.

use clickhouse::Row;
use fleet_store::{Scope, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// A query with string values bound to its `?` placeholders, in order.
fn query(store: &Store, sql: &str, binds: &[String]) -> clickhouse::query::Query {
    binds
        .iter()
        .fold(store.client().query(sql), |q, b| q.bind(b.as_str()))
}

/// Filters, sorting and paging of the device list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceFilter {
    /// Only this customer (a tenant id in the caller's scope).
    pub customer: Option<u64>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// Text searched (case-insensitive) in serial, name, location and IP address.
    pub q: Option<String>,
    /// Latest device status: running, warning, down, testing or unknown.
    pub status: Option<String>,
    /// Only devices with (true) or without (false) an open alert.
    pub has_open_alert: Option<bool>,
    /// Only devices with a supply below this percentage.
    pub supply_below: Option<u8>,
    /// Only devices not seen since this date (YYYY-MM-DD, UTC) or instant (RFC 3339).
    pub not_seen_since: Option<String>,
    /// Sort key: serial (default), model, vendor, name, ip or last_seen.
    pub sort: Option<String>,
    /// asc (default) or desc.
    pub order: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Row, Deserialize)]
struct SummaryRow {
    tenant_id: u64,
    device_id: u64,
    vendor: String,
    model: String,
    serial: String,
    name: String,
    location: String,
    ip: String,
    seen: u32,
    status: String,
    open_alerts: u64,
    lowest_supply: i16,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceSummary {
    /// Device ids are strings: they use all 64 bits.
    pub device_id: String,
    pub tenant_id: u64,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub name: String,
    pub location: String,
    pub ip: String,
    /// RFC 3339, UTC.
    pub last_seen: String,
    /// Latest device status within 30 days, if any.
    pub status: Option<String>,
    pub open_alerts: u64,
    /// Lowest known supply level in percent (within 30 days), if any.
    pub lowest_supply_percent: Option<u8>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DevicePage {
    pub devices: Vec<DeviceSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub fn rfc3339(seconds: u32) -> String {
    jiff::Timestamp::from_second(i64::from(seconds))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

const STATUSES: [&str; 5] = ["running", "warning", "down", "testing", "unknown"];

fn sort_column(sort: Option<&str>) -> ApiResult<&'static str> {
    Ok(match sort.unwrap_or("serial") {
        "serial" => "serial",
        "model" => "model",
        "vendor" => "vendor",
        "name" => "name",
        "ip" => "ip",
        "last_seen" => "seen",
        other => {
            return Err(ApiError::Invalid(format!(
                "sort must be serial, model, vendor, name, ip or last_seen, not `{other}`"
            )));
        }
    })
}

fn parse_instant(text: &str) -> ApiResult<u64> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second().max(0) as u64)
            .map_err(|e| ApiError::Invalid(e.to_string()));
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_second().max(0) as u64)
        .map_err(|_| {
            ApiError::Invalid(format!(
                "`{text}` is neither a date (YYYY-MM-DD) nor an RFC 3339 instant"
            ))
        })
}

/// The latest inventory, status, open alerts and lowest supply of every device in scope.
fn summary_sql(scope: &Scope) -> String {
    let cond = scope.condition("tenant_id");
    format!(
        "SELECT tenant_id, device_id, vendor, model, serial, name, location, ip, seen, \
          status, if(alerts_at > toDateTime(0) AND alerts_at >= status_at, alert_rows, 0) \
          AS open_alerts, if(has_supply = 1, lowest, toInt16(-1)) AS lowest_supply FROM ( \
          SELECT tenant_id, device_id, vendor, model, serial, name, location, ip, seen, status, \
           status_at, alerts_at, alert_rows FROM ( \
           SELECT tenant_id, device_id, vendor, model, serial, name, location, ip, seen, \
            status, status_at FROM ( \
            SELECT tenant_id, device_id, argMax(vendor, last_seen) AS vendor, \
             argMax(model, last_seen) AS model, argMax(serial, last_seen) AS serial, \
             argMax(name, last_seen) AS name, argMax(location, last_seen) AS location, \
             argMax(ip, last_seen) AS ip, toUInt32(max(last_seen)) AS seen \
            FROM devices WHERE {cond} GROUP BY tenant_id, device_id \
           ) AS l ANY LEFT JOIN ( \
            SELECT tenant_id, device_id, argMax(toString(device_status), observed_at) AS status, \
             max(observed_at) AS status_at FROM statuses \
            WHERE {cond} AND observed_at >= now() - 30 * 86400 GROUP BY tenant_id, device_id \
           ) AS r USING (tenant_id, device_id) \
          ) AS l ANY LEFT JOIN ( \
           SELECT tenant_id, device_id, max(at) AS alerts_at, argMax(n, at) AS alert_rows FROM ( \
            SELECT tenant_id, device_id, observed_at AS at, count(DISTINCT alert_index) AS n \
            FROM alerts WHERE {cond} AND observed_at >= now() - 86400 \
            GROUP BY tenant_id, device_id, observed_at \
           ) GROUP BY tenant_id, device_id \
          ) AS r USING (tenant_id, device_id) \
         ) AS l ANY LEFT JOIN ( \
          SELECT tenant_id, device_id, toInt16(min(p)) AS lowest, toUInt8(1) AS has_supply FROM ( \
           SELECT tenant_id, device_id, argMax(ifNull(percent, 255), observed_at) AS p \
           FROM supplies WHERE {cond} AND observed_at >= now() - 30 * 86400 \
           GROUP BY tenant_id, device_id, kind, color, description \
          ) WHERE p <= 100 GROUP BY tenant_id, device_id \
         ) AS r USING (tenant_id, device_id)"
    )
}

pub async fn list(store: &Store, scope: &Scope, f: &DeviceFilter) -> ApiResult<DevicePage> {
    let scope = match f.customer {
        Some(c) => scope.narrow(&Scope::tenants([c])),
        None => scope.clone(),
    };
    let limit = f.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid("limit must be between 1 and 500".into()));
    }
    let column = sort_column(f.sort.as_deref())?;
    let descending = match f.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::Invalid(format!(
                "order must be asc or desc, not `{other}`"
            )));
        }
    };
    let mut conditions = vec!["1".to_owned()];
    let mut binds = Vec::new();
    for (column, value) in [("vendor", &f.vendor), ("model", &f.model)] {
        if let Some(v) = value {
            conditions.push(format!("{column} = ?"));
            binds.push(v.clone());
        }
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        conditions.push(
            "(positionCaseInsensitiveUTF8(serial, ?) > 0 \
             OR positionCaseInsensitiveUTF8(name, ?) > 0 \
             OR positionCaseInsensitiveUTF8(location, ?) > 0 \
             OR positionCaseInsensitiveUTF8(ip, ?) > 0)"
                .into(),
        );
        binds.extend(std::iter::repeat_n(q.to_owned(), 4));
    }
    if let Some(status) = &f.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::Invalid(format!(
                "status must be one of {}, not `{status}`",
                STATUSES.join(", ")
            )));
        }
        conditions.push("status = ?".into());
        binds.push(status.clone());
    }
    match f.has_open_alert {
        Some(true) => conditions.push("open_alerts > 0".into()),
        Some(false) => conditions.push("open_alerts = 0".into()),
        None => {}
    }
    if let Some(below) = f.supply_below {
        if below > 100 {
            return Err(ApiError::Invalid(
                "supply_below is a percentage, 0 to 100".into(),
            ));
        }
        conditions.push(format!("lowest_supply >= 0 AND lowest_supply < {below}"));
    }
    if let Some(since) = &f.not_seen_since {
        conditions.push(format!("seen < {}", parse_instant(since)?));
    }
    if let Some(cursor) = &f.cursor {
        let (value, id) = decode_cursor(cursor)?;
        let op = if descending { "<" } else { ">" };
        if column == "seen" {
            let v: u64 = value.parse().map_err(|_| bad_cursor())?;
            conditions.push(format!(
                "(seen {op} {v} OR (seen = {v} AND device_id {op} {id}))"
            ));
        } else {
            conditions.push(format!(
                "({column} {op} ? OR ({column} = ? AND device_id {op} {id}))"
            ));
            binds.push(value.clone());
            binds.push(value);
        }
    }
    let direction = if descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT ?fields FROM ({}) WHERE {} ORDER BY {column} {direction}, device_id {direction} \
         LIMIT {}",
        summary_sql(&scope),
        conditions.join(" AND "),
        limit + 1
    );
    // `?fields` is filled in by the client before the binds.
    let mut rows: Vec<SummaryRow> = query(store, &sql, &binds).fetch_all().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            let value = match column {
                "seen" => last.seen.to_string(),
                "model" => last.model.clone(),
                "vendor" => last.vendor.clone(),
                "name" => last.name.clone(),
                "ip" => last.ip.clone(),
                _ => last.serial.clone(),
            };
            Some(encode_cursor(&value, last.device_id))
        }
        _ => None,
    };
    Ok(DevicePage {
        devices: rows.into_iter().map(summary).collect(),
        next_cursor,
    })
}

fn summary(r: SummaryRow) -> DeviceSummary {
    DeviceSummary {
        device_id: r.device_id.to_string(),
        tenant_id: r.tenant_id,
        vendor: r.vendor,
        model: r.model,
        serial: r.serial,
        name: r.name,
        location: r.location,
        ip: r.ip,
        last_seen: rfc3339(r.seen),
        status: (!r.status.is_empty()).then_some(r.status),
        open_alerts: r.open_alerts,
        lowest_supply_percent: u8::try_from(r.lowest_supply).ok(),
    }
}

fn encode_cursor(value: &str, id: u64) -> String {
    hex::encode(format!("{id}\u{1}{value}"))
}

fn bad_cursor() -> ApiError {
    ApiError::Invalid("the cursor is not one this API gave out".into())
}

fn decode_cursor(cursor: &str) -> ApiResult<(String, u64)> {
    let bytes = hex::decode(cursor).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let (id, value) = text.split_once('\u{1}').ok_or_else(bad_cursor)?;
    Ok((value.to_owned(), id.parse().map_err(|_| bad_cursor())?))
}

/// The tenant of a device the caller may see; 404 for any other id.
pub async fn owner(store: &Store, scope: &Scope, device_id: &str) -> ApiResult<u64> {
    let id: u64 = device_id
        .parse()
        .map_err(|_| ApiError::not_found("device"))?;
    let sql = format!(
        "SELECT tenant_id FROM devices WHERE {} AND device_id = ? LIMIT 1",
        scope.condition("tenant_id")
    );
    let found: Option<u64> = store.client().query(&sql).bind(id).fetch_optional().await?;
    found.ok_or_else(|| ApiError::not_found("device"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor("SER 1\u{1}x", 42);
        assert_eq!(decode_cursor(&c).unwrap(), ("SER 1\u{1}x".to_owned(), 42));
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor(&hex::encode("no separator")).is_err());
    }

    #[test]
    fn instants_are_dates_or_rfc3339() {
        assert_eq!(parse_instant("1970-01-02").unwrap(), 86_400);
        assert_eq!(parse_instant("1970-01-01T00:01:00Z").unwrap(), 60);
        assert!(parse_instant("yesterday").is_err());
    }
}
