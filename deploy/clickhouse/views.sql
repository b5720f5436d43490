-- Curated views for BI tools. See docs/bi.md for what each column means.
--
-- `{db}` is replaced by the Fleetmeter database name before the file runs. Each statement ends
-- with a line that holds only a semicolon. The statements must run unchanged on ClickHouse 18.16
-- and on current servers, so they use no LowCardinality, no window functions and no newer
-- array functions.
--
-- Every view keeps `tenant_id`: per-tenant row policies filter on it.
--
-- Every view is duplicate-safe. The source tables are ReplacingMergeTree or AggregatingMergeTree,
-- and rows that arrived twice stay visible until the parts merge, which may never happen. So
-- each view groups by its key and uses only aggregates that a duplicate cannot change (argMax,
-- argMin, min, max and the -Merge combinators). None of them relies on FINAL.
--
-- The aggregates are computed in an inner query under temporary names and renamed outside.
-- Writing `max(last_seen) AS last_seen` next to `argMax(vendor, last_seen)` in one SELECT does
-- not work: the alias would replace the column inside the other aggregate.

-- Daily meter reads: the first and last reading of each counter on each day (UTC).
-- ClickHouse types UInt64 - UInt64 as Int64, and `if` finds no common type for Int64 and
-- UInt64, so the difference goes through toUInt64. It is never negative there.
CREATE VIEW IF NOT EXISTS {db}.bi_daily_meter_reads AS
SELECT
    tenant_id,
    device_id,
    kind,
    day,
    r_first_value AS first_value,
    r_last_value AS last_value,
    r_first_at AS first_at,
    r_last_at AS last_at,
    if(r_last_value >= r_first_value, toUInt64(r_last_value - r_first_value), toUInt64(0))
        AS usage_in_day
FROM
(
    SELECT
        tenant_id,
        device_id,
        kind,
        day,
        argMinMerge(first_value) AS r_first_value,
        argMaxMerge(last_value) AS r_last_value,
        minMerge(first_at) AS r_first_at,
        maxMerge(last_at) AS r_last_at
    FROM {db}.counters_daily
    GROUP BY tenant_id, device_id, kind, day
)
;
-- Latest supply levels: one row per supply of a device, from its most recent reading.
-- `percent` is taken through a tuple so that a NULL in the latest reading stays NULL:
-- argMax on a Nullable column would skip the NULL and return an older percentage.
CREATE VIEW IF NOT EXISTS {db}.bi_latest_supplies AS
SELECT
    tenant_id,
    device_id,
    kind,
    color,
    description,
    r_part_number AS part_number,
    r_observed_at AS observed_at,
    r_level AS level,
    r_max AS max,
    tupleElement(r_percent, 1) AS percent
FROM
(
    SELECT
        tenant_id,
        device_id,
        kind,
        color,
        description,
        argMax(part_number, observed_at) AS r_part_number,
        max(observed_at) AS r_observed_at,
        argMax(level, observed_at) AS r_level,
        argMax(`max`, observed_at) AS r_max,
        argMax(tuple(percent), observed_at) AS r_percent
    FROM {db}.supplies
    GROUP BY tenant_id, device_id, kind, color, description
)
;
-- Device inventory: one row per device, with the inventory of its most recent row.
CREATE VIEW IF NOT EXISTS {db}.bi_devices AS
SELECT
    tenant_id,
    device_id,
    r_vendor AS vendor,
    r_model AS model,
    r_serial AS serial,
    r_mac AS mac,
    r_ip AS ip,
    r_hostname AS hostname,
    r_firmware AS firmware,
    r_name AS name,
    r_location AS location,
    r_contact AS contact,
    r_sys_object_id AS sys_object_id,
    r_color AS color,
    r_duplex AS duplex,
    r_trays AS trays,
    r_finisher AS finisher,
    r_collector_id AS collector_id,
    r_first_seen AS first_seen,
    r_last_seen AS last_seen
FROM
(
    SELECT
        tenant_id,
        device_id,
        argMax(vendor, last_seen) AS r_vendor,
        argMax(model, last_seen) AS r_model,
        argMax(serial, last_seen) AS r_serial,
        argMax(mac, last_seen) AS r_mac,
        argMax(ip, last_seen) AS r_ip,
        argMax(hostname, last_seen) AS r_hostname,
        argMax(firmware, last_seen) AS r_firmware,
        argMax(name, last_seen) AS r_name,
        argMax(location, last_seen) AS r_location,
        argMax(contact, last_seen) AS r_contact,
        argMax(sys_object_id, last_seen) AS r_sys_object_id,
        argMax(color, last_seen) AS r_color,
        argMax(duplex, last_seen) AS r_duplex,
        argMax(trays, last_seen) AS r_trays,
        argMax(finisher, last_seen) AS r_finisher,
        argMax(collector_id, last_seen) AS r_collector_id,
        min(first_seen) AS r_first_seen,
        max(last_seen) AS r_last_seen
    FROM {db}.devices
    GROUP BY tenant_id, device_id
)
;
-- Open alerts: every alert that a device reported in the last 24 hours, one row per device
-- and alert index, with the details of the most recent reading.
CREATE VIEW IF NOT EXISTS {db}.bi_open_alerts AS
SELECT
    tenant_id,
    device_id,
    alert_index,
    r_severity AS severity,
    r_alert_group AS alert_group,
    r_code AS code,
    r_description AS description,
    r_training_level AS training_level,
    r_first_seen AS first_seen,
    r_last_seen AS last_seen
FROM
(
    SELECT
        tenant_id,
        device_id,
        alert_index,
        argMax(severity, observed_at) AS r_severity,
        argMax(alert_group, observed_at) AS r_alert_group,
        argMax(code, observed_at) AS r_code,
        argMax(description, observed_at) AS r_description,
        argMax(training_level, observed_at) AS r_training_level,
        min(observed_at) AS r_first_seen,
        max(observed_at) AS r_last_seen
    FROM {db}.alerts
    WHERE observed_at >= now() - 86400
    GROUP BY tenant_id, device_id, alert_index
)
;
