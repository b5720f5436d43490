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

/// A reading packed into one number, `(seconds since base) << 40 | value`, so that `maxIf` and
/// `minIf` find the latest or earliest reading and its value at once (cheaper than `argMaxIf`).
/// Counter values stay below 2^40 (a trillion pages); `base` is one second before the scan, so a
/// packed reading is never 0 and 0 means "none".
fn packed(base: i64) -> String {
    format!("bitOr(bitShiftLeft(toUInt64(toUInt32(observed_at) - {base}), 40), value)")
}

/// The time and value of packed reading `p` as `{p}_t` and `{p}_v` (both 0 when there is none).
fn unpack(p: &str, base: i64) -> String {
    format!(
        "if({p} > 0, toUInt32(bitShiftRight({p}, 40) + {base}), toUInt32(0)) AS {p}_t, \
         bitAnd({p}, 1099511627775) AS {p}_v"
    )
}

/// The read chosen at boundary `b` from the candidates `{p}_x` (exact), `{p}_b` (latest before,
/// within tolerance) and `{p}_a` (earliest after, within tolerance): exact; else the nearer of
/// before and after (before wins a tie); else the fallback reading `f` (the first or last in
/// the period). Defines `{p}_method`, `{p}_t`, `{p}_v`.
fn choose(p: &str, b: i64, fallback: &str, f: &str) -> String {
    format!(
        "multiIf({p}_x_t > 0, 'actual', \
           {p}_b_t > 0 AND ({p}_a_t = 0 OR {b} - {p}_b_t <= {p}_a_t - {b}), 'nearest_before', \
           {p}_a_t > 0, 'nearest_after', {f}_t > 0, '{fallback}', 'missing') AS {p}_method, \
         multiIf({p}_method = 'actual', {p}_x_t, {p}_method = 'nearest_before', {p}_b_t, \
           {p}_method = 'nearest_after', {p}_a_t, {f}_t) AS {p}_t, \
         multiIf({p}_method = 'actual', {p}_x_v, {p}_method = 'nearest_before', {p}_b_v, \
           {p}_method = 'nearest_after', {p}_a_v, {f}_v) AS {p}_v"
    )
}

/// Meter reads per device and counter kind. Columns (in order): tenant_id, device_id, kind,
/// serial, vendor, model, device_name, location, open_at, open_value, open_method, close_at,
/// close_value, close_method, usage, resets.
///
/// One scan of the raw readings in `[start − tolerance, end + tolerance]` gathers, per device
/// and kind, the candidate reads at both boundaries, the first and last read in the period and
/// the lowest and highest value in it. A counter is monotonic when its first read in the period
/// is its lowest and its last its highest (and the boundary reads fit around them); then usage is
/// closing − opening. Otherwise the counter went down (a reset): usage is the rise up to the
/// highest value plus the rise from the lowest, and the row is flagged (`resets` = 1).
///
/// Devices and kinds that reported in the 92 days before the scan but not in it are joined in
/// from the daily roll-up, so a device that stopped reporting is listed with missing reads.
pub fn meter_reads(scope: &Scope, b: &Bounds) -> String {
    let (s, e, t) = (b.start, b.end, b.tolerance);
    let cond = scope.condition("tenant_id");
    let lo = (s - t).max(1);
    let base = lo - 1;
    let pk = packed(base);
    let at = |x: i64| format!("toDateTime({x})");
    let in_period = format!("observed_at >= {} AND observed_at < {}", at(s), at(e));
    let mut unpacked: Vec<String> = ["open_le", "close_ge", "first", "last"]
        .iter()
        .map(|p| unpack(p, base))
        .collect();
    // The candidates of `choose`, from four packed aggregates: the latest reading at or before
    // the start (exact or before), the earliest at or after the end (exact or after), and the
    // first and last in the period (after the start, before the end, or the fallbacks).
    unpacked.push(format!(
        "if(open_le_t = {s}, open_le_t, toUInt32(0)) AS open_x_t, open_le_v AS open_x_v, \
         if(open_le_t > 0 AND open_le_t < {s}, open_le_t, toUInt32(0)) AS open_b_t, \
         open_le_v AS open_b_v, \
         if(first_t > {s} AND first_t <= {s_hi}, first_t, toUInt32(0)) AS open_a_t, \
         first_v AS open_a_v, \
         if(close_ge_t = {e}, close_ge_t, toUInt32(0)) AS close_x_t, close_ge_v AS close_x_v, \
         if(close_ge_t > {e}, close_ge_t, toUInt32(0)) AS close_a_t, close_ge_v AS close_a_v, \
         if(last_t > 0 AND last_t >= {e_lo}, last_t, toUInt32(0)) AS close_b_t, \
         last_v AS close_b_v",
        s_hi = s + t,
        e_lo = (e - t).max(0),
    ));
    format!(
        "SELECT tenant_id, device_id, kind, serial, vendor, model, device_name, location, \
         open_at, open_value, open_method, close_at, close_value, close_method, usage, resets \
         FROM ( \
          SELECT tenant_id, device_id, kind, \
           if(has = 1, open_method, 'missing') AS open_method, \
           if(has = 1, close_method, 'missing') AS close_method, \
           if(has = 1 AND open_t > 0, open_t, NULL) AS open_at, \
           if(has = 1 AND open_t > 0, open_v, NULL) AS open_value, \
           if(has = 1 AND close_t > 0, close_t, NULL) AS close_at, \
           if(has = 1 AND close_t > 0, close_v, NULL) AS close_value, \
           if(has = 1 AND open_t > 0 AND close_t >= open_t, toUInt64(rises), NULL) AS usage, \
           if(has = 1 AND open_t > 0 AND close_t > open_t AND NOT monotonic, 1, 0) AS resets \
          FROM ( \
           SELECT tenant_id, device_id, kind, has, {unpacked}, {open}, {close}, \
            first_t = 0 OR (min_in = first_v AND max_in = last_v AND open_v <= first_v \
              AND last_v <= close_v) OR close_t < open_t AS monotonic, \
            if(first_t = 0, greatest(open_v, close_v), \
              greatest(max_in, greatest(open_v, close_v))) AS hi, \
            if(first_t = 0, least(open_v, close_v), least(min_in, least(open_v, close_v))) AS lo, \
            if(monotonic, if(close_v >= open_v, close_v - open_v, 0), \
              (hi - open_v) + (close_v - lo)) AS rises \
           FROM ( \
            SELECT tenant_id, device_id, kind, toUInt8(1) AS has, \
             maxIf({pk}, observed_at <= {s_at}) AS open_le, \
             minIf({pk}, observed_at >= {e_at}) AS close_ge, \
             minIf({pk}, {in_period}) AS first, maxIf({pk}, {in_period}) AS last, \
             minIf(value, {in_period}) AS min_in, maxIf(value, {in_period}) AS max_in \
            FROM counters \
            WHERE {cond} AND observed_at >= {s_lo} AND observed_at <= {e_hi} \
            GROUP BY tenant_id, device_id, kind \
           ) \
          ) AS l ALL FULL OUTER JOIN ( \
           SELECT DISTINCT tenant_id, device_id, kind FROM counters_daily \
           WHERE {cond} AND day >= toDate(toDateTime({keys_from})) \
             AND day <= toDate(toDateTime({keys_to})) \
          ) AS r USING (tenant_id, device_id, kind) \
         ) AS l ANY LEFT JOIN ({info}) AS r USING (tenant_id, device_id) \
         ORDER BY tenant_id, device_id, kind",
        unpacked = unpacked.join(", "),
        open = choose("open", s, "first_in_period", "first"),
        close = choose("close", e, "last_in_period", "last"),
        s_at = at(s),
        s_lo = at(lo),
        e_at = at(e),
        e_hi = at(e + t),
        keys_from = s - 92 * 86_400,
        keys_to = lo,
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
