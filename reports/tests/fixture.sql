-- Report fixture: hand-computed cases for the October 2026 reports of dealer 100 in
-- Europe/Berlin (start 2026-09-30T22:00Z = 1790805600, end 2026-10-31T23:00Z = 1793487600).
-- `{db}` is replaced by the database; statements end with `;` on a line of its own.
-- Loaded into the real server by reports/tests/fixtures.rs and into chdb by
-- tests/test_reports_chdb.py. Expected figures are in those tests and docs/reports.md.

INSERT INTO {db}.tenants (tenant_id, name, parent_id, created_at, updated_at)
SELECT toUInt64(r.1), r.2, toUInt64(r.3), toDateTime(1780000000), toDateTime(1780000000)
FROM (SELECT arrayJoin([(100, 'fixture-dealer', 0), (101, 'fixture-a', 100), (102, 'fixture-b', 100)]) AS r)
;

INSERT INTO {db}.tenant_settings (tenant_id, time_zone, updated_at)
SELECT toUInt64(100), 'Europe/Berlin', toDateTime(1780000000)
;

INSERT INTO {db}.counters (tenant_id, device_id, kind, observed_at, value, collector_id, received_at)
SELECT toUInt64(r.1), toUInt64(r.2), r.3, toDateTime(r.4), toUInt64(r.5), toUInt64(1), toDateTime(r.4)
FROM (SELECT arrayJoin([
  (101, 1, 'total', 1790802000, 990),
  (101, 1, 'total', 1790805600, 1000),
  (101, 1, 'total', 1791669600, 1500),
  (101, 1, 'total', 1793487600, 2000),
  (101, 1, 'total', 1793491200, 2010),
  (101, 1, 'color', 1790798400, 500),
  (101, 1, 'color', 1793494800, 800),
  (101, 2, 'total', 1790794800, 5000),
  (101, 2, 'total', 1790823600, 5100),
  (101, 2, 'total', 1793480400, 9000),
  (101, 2, 'total', 1793491200, 9050),
  (101, 2, 'mono', 1790802000, 100),
  (101, 2, 'mono', 1790809200, 110),
  (101, 2, 'mono', 1793487600, 300),
  (101, 3, 'total', 1789941600, 7000),
  (102, 4, 'total', 1790805600, 10000),
  (102, 4, 'total', 1791237600, 12000),
  (102, 4, 'total', 1791324000, 50),
  (102, 4, 'total', 1793487600, 1050),
  (101, 6, 'total', 1790805600, 20000),
  (101, 6, 'total', 1792101600, 21000),
  (102, 7, 'total', 1792188000, 21100),
  (102, 7, 'total', 1793487600, 22000),
  (101, 8, 'total', 1790805600, 100),
  (101, 8, 'total', 1793484000, 500),
  (101, 8, 'total', 1793491200, 520)]) AS r)
;

INSERT INTO {db}.counters (tenant_id, device_id, kind, observed_at, value, collector_id, received_at)
SELECT toUInt64(r.1), toUInt64(r.2), r.3, toDateTime(r.4), toUInt64(r.5), toUInt64(1), toDateTime(r.4)
FROM (SELECT arrayJoin([
  (102, 5, 'total', 1790805600, 100),
  (102, 5, 'total', 1791842400, 200),
  (102, 5, 'total', 1793487600, 400)]) AS r)
;

-- The same readings of device 5 stored a second time (a retried commit, not yet merged).
INSERT INTO {db}.counters (tenant_id, device_id, kind, observed_at, value, collector_id, received_at)
SELECT toUInt64(r.1), toUInt64(r.2), r.3, toDateTime(r.4), toUInt64(r.5), toUInt64(1), toDateTime(r.4)
FROM (SELECT arrayJoin([
  (102, 5, 'total', 1790805600, 100),
  (102, 5, 'total', 1791842400, 200),
  (102, 5, 'total', 1793487600, 400)]) AS r)
;

INSERT INTO {db}.devices (tenant_id, device_id, vendor, model, serial, mac, ip, hostname, firmware,
 name, location, contact, sys_object_id, color, duplex, trays, finisher, collector_id, inventory_hash,
 first_seen, last_seen)
SELECT toUInt64(r.1), toUInt64(r.2), r.3, r.4, r.5, '', concat('10.0.0.', toString(r.2)), '', '1.0',
 concat('Printer ', toString(r.2)), 'Floor 1', '', '', toInt8(r.6), toInt8(1), toInt16(2), '', toUInt64(1),
 toUInt64(r.2), toDateTime(1780000000), toDateTime(1793480000)
FROM (SELECT arrayJoin([
  (101, 1, 'HP', 'LaserJet M455', 'SER1', 1),
  (101, 2, 'HP', 'LaserJet M455', 'SER2', 1),
  (101, 3, 'Brother', 'HL-L5100', 'SER3', 0),
  (102, 4, 'Kyocera', 'TASKalfa 2554ci', 'SER4', 1),
  (102, 5, 'Kyocera', 'ECOSYS M2540', 'SER5', 0),
  (101, 6, 'Ricoh', 'IM C3000', 'SER6', 1),
  (102, 7, 'Ricoh', 'IM C3000', 'SER6', 1),
  (101, 8, 'Canon', 'iR-ADV C5535', 'SER8', 1)]) AS r)
;

-- Device 1's black toner: 80 % on 10 Sep, 2 points a day, replaced on 20 Oct (to 100 %).
INSERT INTO {db}.supplies (tenant_id, device_id, kind, color, description, part_number, observed_at,
 level, max, percent, collector_id, received_at)
SELECT toUInt64(101), toUInt64(1), 'toner', 'black', 'Black Cartridge', 'CF259A', at, toInt32(p),
 toInt32(100), toUInt8(p), toUInt64(1), at FROM (
 SELECT toDateTime(1789041600 + number * 86400) AS at,
  if(toUInt32(at) < 1792497600, toInt64(80 - 2 * number),
   toInt64(100 - 2 * intDiv(toUInt32(at) - 1792497600, 86400))) AS p
 FROM numbers(52))
;

-- Device 2's black toner: five days at 60 %, then 'some remaining' of the cyan (level -3).
INSERT INTO {db}.supplies (tenant_id, device_id, kind, color, description, part_number, observed_at,
 level, max, percent, collector_id, received_at)
SELECT toUInt64(101), toUInt64(2), 'toner', 'black', 'Black Cartridge', 'CF259A',
 toDateTime(1793097600 + number * 86400), toInt32(60), toInt32(100), toUInt8(60), toUInt64(1),
 toDateTime(1793097600 + number * 86400) FROM numbers(5)
;

INSERT INTO {db}.supplies (tenant_id, device_id, kind, color, description, part_number, observed_at,
 level, max, percent, collector_id, received_at)
SELECT toUInt64(102), toUInt64(4), 'toner', 'cyan', 'Cyan Toner', '', toDateTime(1793400000), toInt32(-3),
 toInt32(-2), CAST(NULL AS Nullable(UInt8)), toUInt64(1), toDateTime(1793400000)
;

-- Device 1: a paper jam (alert row 1, code 8) seen each minute 10:00-10:09 on 5 Oct and
-- 10:00-10:04 on 6 Oct (UTC): two episodes, 9 + 4 minutes.
INSERT INTO {db}.alerts (tenant_id, device_id, observed_at, alert_index, severity, alert_group, code,
 description, training_level, collector_id, received_at)
SELECT toUInt64(101), toUInt64(1), at, toInt64(1), 'warning', 'mediaPath', toInt64(8), 'Paper jam', '',
 toUInt64(1), at FROM (
 SELECT toDateTime(if(number < 10, toInt64(1791194400 + number * 60),
  toInt64(1791280800 + (number - 10) * 60))) AS at
 FROM numbers(15))
;
