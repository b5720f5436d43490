//! The SQL of every report. Set-based, read-only, and the same text on ClickHouse 18.16 and
//! current servers: no time-zone functions (boundaries arrive as UTC seconds), at most one JOIN
//! per SELECT level, and only aggregates that a duplicated reading cannot change.
//!
//! Every query is filtered by tenant only through [`Scope::condition`].

use fleet_store::Scope;

/// What a query needs besides its scope.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Period start and end (exclusive), UTC seconds.
    pub start: i64,
    pub end: i64,
    /// Meter reads: how far from a boundary a read may be and still count as "nearest".
    pub tolerance: i64,
}

/// Days of history the supply statistics look back from the period's end.
pub const SUPPLY_LOOKBACK_DAYS: i64 = 90;
/// A level that rises by at least this many points from one day to the next is a replacement.
pub const REPLACEMENT_RISE: i64 = 20;

fn device_info(scope: &Scope) -> String {
    format!(
        "SELECT tenant_id, device_id, argMax(serial, last_seen) AS serial, \
         argMax(vendor, last_seen) AS vendor, argMax(model, last_seen) AS model, \
         argMax(name, last_seen) AS device_name, argMax(location, last_seen) AS location \
         FROM devices WHERE {} GROUP BY tenant_id, device_id",
        scope.condition("tenant_id")
    )
}

/// Opening or closing read at boundary `b`: exact, nearest before/after within tolerance
/// (before wins a tie), else the first (opening) or last (closing) read inside the period.
/// Defines `{p}_idx` (1-based index into `ts`/`vs`, 0 when missing) and `{p}_method`.
fn boundary_read(p: &str, b: i64, t: i64, start: i64, end: i64, opening: bool) -> String {
    let fallback = if opening {
        format!(
            "arrayFirstIndex(x -> x >= {start}, ts) AS {p}_in, \
             {p}_in > 0 AND ts[{p}_in] < {end} AS {p}_in_ok,"
        )
    } else {
        format!(
            "arrayCount(x -> x < {end}, ts) AS {p}_in, \
             {p}_in > 0 AND ts[{p}_in] >= {start} AS {p}_in_ok,"
        )
    };
    let fallback_name = if opening {
        "first_in_period"
    } else {
        "last_in_period"
    };
    format!(
        "arrayCount(x -> x <= {b}, ts) AS {p}_le, \
         {p}_le > 0 AND ts[{p}_le] = {b} AS {p}_exact, \
         arrayCount(x -> x < {b}, ts) AS {p}_lt, \
         {p}_lt > 0 AND {b} - ts[{p}_lt] <= {t} AS {p}_before_ok, \
         arrayFirstIndex(x -> x > {b}, ts) AS {p}_gt, \
         {p}_gt > 0 AND ts[{p}_gt] - {b} <= {t} AS {p}_after_ok, \
         {fallback} \
         multiIf({p}_exact, {p}_le, \
                 {p}_before_ok AND (NOT {p}_after_ok OR {b} - ts[{p}_lt] <= ts[{p}_gt] - {b}), \
                 {p}_lt, {p}_after_ok, {p}_gt, {p}_in_ok, {p}_in, 0) AS {p}_idx, \
         multiIf({p}_idx = 0, 'missing', {p}_exact, 'actual', \
                 {p}_idx = {p}_lt AND {p}_before_ok, 'nearest_before', \
                 {p}_idx = {p}_gt AND {p}_after_ok, 'nearest_after', '{fallback_name}') \
             AS {p}_method"
    )
}

/// Meter reads per device and counter kind. Columns (in order): tenant_id, device_id, kind,
/// serial, vendor, model, device_name, location, open_at, open_value, open_method, close_at,
/// close_value, close_method, usage, resets.
pub fn meter_reads(scope: &Scope, b: &Bounds) -> String {
    let (s, e, t) = (b.start, b.end, b.tolerance);
    let cond = scope.condition("tenant_id");
    let open = boundary_read("open", s, t, s, e, true);
    let close = boundary_read("close", e, t, s, e, false);
    format!(
        "SELECT tenant_id, device_id, kind, serial, vendor, model, device_name, location, \
         open_at, open_value, open_method, close_at, close_value, close_method, usage, resets \
         FROM ( \
          SELECT tenant_id, device_id, kind, \
           if(has = 1, open_method, 'missing') AS open_method, \
           if(has = 1, close_method, 'missing') AS close_method, \
           if(has = 1 AND open_idx > 0, toUInt32(open_ts), NULL) AS open_at, \
           if(has = 1 AND open_idx > 0, open_v, NULL) AS open_value, \
           if(has = 1 AND close_idx > 0, toUInt32(close_ts), NULL) AS close_at, \
           if(has = 1 AND close_idx > 0, close_v, NULL) AS close_value, \
           if(has = 1 AND open_idx > 0 AND close_idx >= open_idx, usage_sum, NULL) AS usage, \
           if(has = 1, resets_n, 0) AS resets \
          FROM ( \
           SELECT DISTINCT tenant_id, device_id, kind FROM counters_daily \
           WHERE {cond} AND day >= toDate(toDateTime({keys_from})) \
             AND day <= toDate(toDateTime({keys_to})) \
          ) AS l ANY LEFT JOIN ( \
           SELECT tenant_id, device_id, kind, toUInt8(1) AS has, \
            {open}, {close}, \
            ts[open_idx] AS open_ts, vs[open_idx] AS open_v, \
            ts[close_idx] AS close_ts, vs[close_idx] AS close_v, \
            arrayDifference(arraySlice(vs, open_idx, close_idx - open_idx + 1)) AS steps, \
            arraySum(arrayFilter(x -> x > 0, steps)) AS usage_sum, \
            if(open_idx > 0 AND close_idx > open_idx, arrayCount(x -> x < 0, steps), 0) \
             AS resets_n \
           FROM ( \
            SELECT tenant_id, device_id, kind, \
             arraySort(x -> x.1, groupUniqArray((toUInt32(observed_at), value))) AS r, \
             arrayMap(x -> toInt64(x.1), r) AS ts, arrayMap(x -> x.2, r) AS vs \
            FROM counters \
            WHERE {cond} AND observed_at >= toDateTime({lo}) AND observed_at <= toDateTime({hi}) \
            GROUP BY tenant_id, device_id, kind \
           ) \
          ) AS r USING (tenant_id, device_id, kind) \
         ) AS l ANY LEFT JOIN ({info}) AS r USING (tenant_id, device_id) \
         ORDER BY tenant_id, device_id, kind",
        keys_from = s - 92 * 86_400,
        keys_to = e + t,
        lo = (s - t).max(0),
        hi = e + t,
        info = device_info(scope),
    )
}

/// Fleet consumption per model, supply kind and colour (for devices with little history).
/// Columns: model, kind, color, rate (points per day), sigma, devices.
pub fn supply_fleet_rates(scope: &Scope, b: &Bounds) -> String {
    format!(
        "SELECT model, kind, color, avg(rate) AS fleet_rate, stddevPop(rate) AS fleet_sigma, \
         count() AS devices \
         FROM ({rates}) WHERE days >= 14 AND rate > 0 GROUP BY model, kind, color \
         ORDER BY model, kind, color",
        rates = supply_rates(scope, b)
    )
}

/// Per supply: daily levels over the lookback and the statistics drawn from them, with the
/// device's identity and its daily total counter.
fn supply_rates(scope: &Scope, b: &Bounds) -> String {
    let cond = scope.condition("tenant_id");
    let lo = (b.end - SUPPLY_LOOKBACK_DAYS * 86_400).max(0);
    let rise = REPLACEMENT_RISE;
    format!(
        "SELECT tenant_id, device_id, kind, color, description, model, serial, vendor, \
         device_name, location, level, capacity, percent, last_seen, part_number, days, rate, \
         sigma, replacements, replaced, pages, totals \
         FROM ( \
          SELECT tenant_id, device_id, kind, color, description, \
           argMax(lvl, last_at) AS level, argMax(cap, last_at) AS capacity, \
           argMax(pct, last_at) AS percent, toUInt32(max(last_at)) AS last_seen, \
           argMax(part, last_at) AS part_number, \
           arraySort(x -> x.1, groupArray((toInt64(day), pct))) AS dl, \
           arrayFilter(x -> x.2 <= 100, dl) AS known, \
           arrayMap(x -> x.1, known) AS kd, arrayMap(x -> toInt64(x.2), known) AS kp, \
           arrayDifference(kp) AS dp, arrayDifference(kd) AS dd, \
           if(length(kd) > 1, kd[length(kd)] - kd[1], 0) AS days, \
           arrayFilter((x, g) -> x > -{rise} AND x < {rise} AND g > 0, dp, dd) AS used, \
           arrayMap((x, g) -> -x / g, used, \
             arrayFilter((g, x) -> x > -{rise} AND x < {rise} AND g > 0, dd, dp)) AS rates, \
           arraySum(arrayFilter((g, x) -> x > -{rise} AND x < {rise} AND g > 0, dd, dp)) \
             AS used_days, \
           if(used_days > 0, -arraySum(used) / used_days, 0) AS rate, \
           if(length(rates) > 1, arrayReduce('stddevPop', rates), 0) AS sigma, \
           arrayCount((x, d) -> x >= {rise} AND d >= {s_day} AND d < {e_day}, dp, kd) \
             AS replacements, \
           arrayFilter((d, x) -> x >= {rise}, kd, dp) AS replaced \
          FROM ( \
           SELECT tenant_id, device_id, kind, color, description, toDate(observed_at) AS day, \
            argMax(ifNull(percent, 255), observed_at) AS pct, argMax(level, observed_at) AS lvl, \
            argMax(max, observed_at) AS cap, argMax(part_number, observed_at) AS part, \
            max(observed_at) AS last_at \
           FROM supplies \
           WHERE {cond} AND observed_at >= toDateTime({lo}) AND observed_at < toDateTime({hi}) \
           GROUP BY tenant_id, device_id, kind, color, description, day \
          ) GROUP BY tenant_id, device_id, kind, color, description \
         ) AS l ANY LEFT JOIN ( \
          SELECT tenant_id, device_id, model, serial, vendor, device_name, location, pages, \
           totals FROM ({info}) AS l ANY LEFT JOIN ( \
           SELECT tenant_id, device_id, max(lastv) - min(firstv) AS pages, \
            arraySort(x -> x.1, groupArray((toInt64(day), lastv))) AS totals FROM ( \
            SELECT tenant_id, device_id, day, argMinMerge(first_value) AS firstv, \
             argMaxMerge(last_value) AS lastv FROM counters_daily \
            WHERE {cond} AND kind = 'total' AND day >= toDate(toDateTime({lo})) \
              AND day <= toDate(toDateTime({hi})) \
            GROUP BY tenant_id, device_id, day \
           ) GROUP BY tenant_id, device_id \
          ) AS r USING (tenant_id, device_id) \
         ) AS r USING (tenant_id, device_id)",
        hi = b.end,
        s_day = b.start.div_euclid(86_400),
        e_day = b.end.div_euclid(86_400),
        info = device_info(scope),
    )
}

/// Supplies report rows. Columns: tenant_id, device_id, serial, vendor, model, kind, color,
/// description, part_number, level, capacity, percent, last_seen, days, rate, sigma,
/// replacements, replaced_on (day number), cartridge_pages (what the previous cartridge gave,
/// replacement to replacement), pages_since (since the last replacement), pages (total in the
/// lookback).
pub fn supplies(scope: &Scope, b: &Bounds) -> String {
    let last = total_at("replaced[nr]");
    let before = total_at("replaced[nr - 1]");
    format!(
        "SELECT tenant_id, device_id, serial, vendor, model, kind, color, description, \
         part_number, level, capacity, if(percent <= 100, percent, NULL) AS percent, last_seen, \
         days, rate, sigma, replacements, \
         if(nr > 0, replaced[nr], NULL) AS replaced_on, \
         if(nr > 1 AND length(totals) > 0, {last} - {before}, NULL) AS cartridge_pages, \
         if(nr > 0 AND length(totals) > 0, toInt64(totals[length(totals)].2) - {last}, NULL) \
           AS pages_since, \
         pages \
         FROM (SELECT *, length(replaced) AS nr FROM ({rates})) \
         ORDER BY tenant_id, device_id, kind, color, description",
        rates = supply_rates(scope, b)
    )
}

/// The daily total counter on the first day at or after `day` (the last known day when none).
fn total_at(day: &str) -> String {
    format!(
        "toInt64(totals[if(arrayFirstIndex(x -> x.1 >= {day}, totals) = 0, length(totals), \
         arrayFirstIndex(x -> x.1 >= {day}, totals))].2)"
    )
}

/// Fleet inventory: devices first seen before the period's end.
/// Columns: tenant_id, device_id, vendor, model, serial, mac, ip, hostname, firmware, name,
/// location, color, duplex, trays, finisher, first_at, last_at.
pub fn inventory(scope: &Scope, b: &Bounds) -> String {
    format!(
        "SELECT tenant_id, device_id, argMax(vendor, last_seen) AS vendor, \
         argMax(model, last_seen) AS model, argMax(serial, last_seen) AS serial, \
         argMax(mac, last_seen) AS mac, argMax(ip, last_seen) AS ip, \
         argMax(hostname, last_seen) AS hostname, argMax(firmware, last_seen) AS firmware, \
         argMax(name, last_seen) AS name, argMax(location, last_seen) AS location, \
         argMax(color, last_seen) AS color, argMax(duplex, last_seen) AS duplex, \
         argMax(trays, last_seen) AS trays, argMax(finisher, last_seen) AS finisher, \
         toUInt32(min(first_seen)) AS first_at, toUInt32(max(last_seen)) AS last_at \
         FROM devices WHERE {} \
         GROUP BY tenant_id, device_id HAVING first_at < {} \
         ORDER BY tenant_id, model, serial",
        scope.condition("tenant_id"),
        b.end
    )
}

/// Utilisation: total pages in the period per device, from the daily roll-up, with the
/// model's fleet average. Columns: tenant_id, device_id, serial, vendor, model, device_name,
/// location, pages, fleet_pages, fleet_devices.
pub fn utilization(scope: &Scope, b: &Bounds) -> String {
    let cond = scope.condition("tenant_id");
    let per_device = format!(
        "SELECT tenant_id, device_id, model, serial, vendor, device_name, location, pages FROM ( \
          SELECT tenant_id, device_id, max(lastv) - min(firstv) AS pages FROM ( \
           SELECT tenant_id, device_id, day, argMinMerge(first_value) AS firstv, \
            argMaxMerge(last_value) AS lastv FROM counters_daily \
           WHERE {cond} AND kind = 'total' AND day >= toDate(toDateTime({s})) \
             AND day < toDate(toDateTime({e})) \
           GROUP BY tenant_id, device_id, day \
          ) GROUP BY tenant_id, device_id \
         ) AS l ANY LEFT JOIN ({info}) AS r USING (tenant_id, device_id)",
        s = b.start,
        e = b.end,
        info = device_info(scope),
    );
    format!(
        "SELECT tenant_id, device_id, serial, vendor, model, device_name, location, pages, \
         fleet_pages, fleet_devices FROM ({per_device}) AS l ANY LEFT JOIN ( \
          SELECT model, avg(pages) AS fleet_pages, count() AS fleet_devices \
          FROM ({per_device}) GROUP BY model \
         ) AS r USING (model) ORDER BY tenant_id, model, serial"
    )
}

/// Sightings of one alert further apart than this start a new episode.
pub const EPISODE_GAP: i64 = 900;

/// Alert history: per device, code, severity and group, the episodes of each alert-table row
/// (sightings no more than [`EPISODE_GAP`] apart) and their summed duration. Columns:
/// tenant_id, device_id, serial, vendor, model, code, severity, alert_group, description,
/// episodes, seconds, first_at, last_at.
pub fn alerts(scope: &Scope, b: &Bounds) -> String {
    let cond = scope.condition("tenant_id");
    format!(
        "SELECT tenant_id, device_id, serial, vendor, model, code, severity, alert_group, \
         description, episodes, seconds, first_at, last_at FROM ( \
          SELECT tenant_id, device_id, code, severity, alert_group, \
           any(descr) AS description, sum(eps) AS episodes, sum(dur) AS seconds, \
           min(since) AS first_at, max(till) AS last_at FROM ( \
            SELECT tenant_id, device_id, alert_index, code, toString(severity) AS severity, \
             alert_group, any(description) AS descr, \
             arraySort(groupUniqArray(toInt64(toUInt32(observed_at)))) AS seen, \
             arrayDifference(seen) AS gaps, \
             1 + arrayCount(x -> x > {gap}, gaps) AS eps, \
             arraySum(arrayFilter(x -> x <= {gap}, gaps)) AS dur, \
             seen[1] AS since, seen[length(seen)] AS till \
            FROM alerts \
            WHERE {cond} AND observed_at >= toDateTime({s}) AND observed_at < toDateTime({e}) \
            GROUP BY tenant_id, device_id, alert_index, code, severity, alert_group \
           ) GROUP BY tenant_id, device_id, code, severity, alert_group \
         ) AS l ANY LEFT JOIN ({info}) AS r USING (tenant_id, device_id) \
         ORDER BY tenant_id, device_id, code, severity",
        gap = EPISODE_GAP,
        s = b.start,
        e = b.end,
        info = device_info(scope),
    )
}
