//! Row types, one per table the gateway writes, in the tables' column order, and their
//! conversion from validated domain values.

use clickhouse::Row;
use fleet_model::{Alert, CollectorId, DeviceId, DeviceReport, Identity, Status, Supply, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Seconds since 1970 as ClickHouse `DateTime` stores them. Validation keeps every stored time
/// inside the type's range.
pub fn datetime(at: OffsetDateTime) -> u32 {
    at.unix_timestamp().clamp(0, i64::from(u32::MAX)) as u32
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct DeviceRow {
    pub tenant_id: u64,
    pub device_id: u64,
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
    pub sys_object_id: String,
    /// 1 yes, 0 no, -1 unknown.
    pub color: i8,
    pub duplex: i8,
    /// -1 unknown.
    pub trays: i16,
    pub finisher: String,
    pub collector_id: u64,
    pub inventory_hash: u64,
    pub first_seen: u32,
    pub last_seen: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct CounterRow {
    pub tenant_id: u64,
    pub device_id: u64,
    pub kind: String,
    pub observed_at: u32,
    pub value: u64,
    pub collector_id: u64,
    pub received_at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct SupplyRow {
    pub tenant_id: u64,
    pub device_id: u64,
    pub kind: String,
    pub color: String,
    pub description: String,
    pub part_number: String,
    pub observed_at: u32,
    pub level: i32,
    pub max: i32,
    pub percent: Option<u8>,
    pub collector_id: u64,
    pub received_at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct StatusRow {
    pub tenant_id: u64,
    pub device_id: u64,
    pub observed_at: u32,
    /// `Enum8` value: position in `DeviceStatus::ALL`, from 1.
    pub device_status: i8,
    pub printer_status: i8,
    pub errors: Vec<String>,
    pub display: Vec<String>,
    pub collector_id: u64,
    pub received_at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct AlertRow {
    pub tenant_id: u64,
    pub device_id: u64,
    pub observed_at: u32,
    pub alert_index: i64,
    pub severity: i8,
    pub alert_group: String,
    pub code: i64,
    pub description: String,
    pub training_level: String,
    pub collector_id: u64,
    pub received_at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct BatchRow {
    pub tenant_id: u64,
    pub collector_id: u64,
    pub batch_id: String,
    pub sequence: Option<u64>,
    pub sequence_gap: u64,
    pub sent_at: u32,
    pub received_at: u32,
    pub devices: u32,
    pub rejected: u32,
    pub rows: u64,
    pub transport: String,
}

/// What the store knows of a device's last inventory row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct KnownDevice {
    pub device_id: u64,
    pub inventory_hash: u64,
    pub first_seen: u32,
    pub last_seen: u32,
}

/// The rows of one or more batches, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSet {
    pub devices: Vec<DeviceRow>,
    pub counters: Vec<CounterRow>,
    pub supplies: Vec<SupplyRow>,
    pub statuses: Vec<StatusRow>,
    pub alerts: Vec<AlertRow>,
    /// The ledger rows; written only after every other table's rows are committed.
    pub batches: Vec<BatchRow>,
}

/// Where a report came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub tenant: TenantId,
    pub collector: CollectorId,
    pub received_at: OffsetDateTime,
}

fn position<T: PartialEq>(all: &[T], member: T) -> i8 {
    all.iter()
        .position(|m| *m == member)
        .map_or(0, |p| p as i8 + 1)
}

fn tristate(value: Option<bool>) -> i8 {
    value.map_or(-1, i8::from)
}

impl RowSet {
    /// Data rows in this set, the ledger not counted.
    pub fn data_rows(&self) -> usize {
        self.devices.len()
            + self.counters.len()
            + self.supplies.len()
            + self.statuses.len()
            + self.alerts.len()
    }

    /// Every row, the ledger included.
    pub fn total_rows(&self) -> usize {
        self.data_rows() + self.batches.len()
    }

    /// The memory the rows hold: the structs, their strings' heap buffers, and the allocator's
    /// overhead of about 16 bytes per buffer. Used to bound the commit queue.
    pub fn estimated_bytes(&self) -> usize {
        use std::mem::size_of;
        const HEAP: usize = 16;
        let text = |s: &String| if s.is_empty() { 0 } else { s.len() + HEAP };
        let texts = |v: &[String]| {
            v.iter()
                .map(|s| size_of::<String>() + text(s))
                .sum::<usize>()
        };
        let devices: usize = self
            .devices
            .iter()
            .map(|d| {
                let strings = [
                    &d.vendor,
                    &d.model,
                    &d.serial,
                    &d.mac,
                    &d.ip,
                    &d.hostname,
                    &d.firmware,
                    &d.name,
                    &d.location,
                    &d.contact,
                    &d.sys_object_id,
                    &d.finisher,
                ];
                size_of::<DeviceRow>() + strings.into_iter().map(text).sum::<usize>()
            })
            .sum();
        let counters: usize = self
            .counters
            .iter()
            .map(|c| size_of::<CounterRow>() + text(&c.kind))
            .sum();
        let supplies: usize = self
            .supplies
            .iter()
            .map(|s| {
                let strings = [&s.kind, &s.color, &s.description, &s.part_number];
                size_of::<SupplyRow>() + strings.into_iter().map(text).sum::<usize>()
            })
            .sum();
        let statuses: usize = self
            .statuses
            .iter()
            .map(|s| size_of::<StatusRow>() + 2 * HEAP + texts(&s.errors) + texts(&s.display))
            .sum();
        let alerts: usize = self
            .alerts
            .iter()
            .map(|a| {
                let strings = [&a.alert_group, &a.description, &a.training_level];
                size_of::<AlertRow>() + strings.into_iter().map(text).sum::<usize>()
            })
            .sum();
        let batches: usize = self
            .batches
            .iter()
            .map(|b| size_of::<BatchRow>() + text(&b.batch_id) + text(&b.transport))
            .sum();
        devices + counters + supplies + statuses + alerts + batches
    }

    /// Moves every row of `other` into this set.
    pub fn append(&mut self, other: &mut RowSet) {
        self.devices.append(&mut other.devices);
        self.counters.append(&mut other.counters);
        self.supplies.append(&mut other.supplies);
        self.statuses.append(&mut other.statuses);
        self.alerts.append(&mut other.alerts);
        self.batches.append(&mut other.batches);
    }

    /// Adds the measurement rows of one validated device report (not its inventory row).
    pub fn push_report(&mut self, origin: Origin, device: DeviceId, report: &DeviceReport) {
        let base = |observed_at| (origin.tenant.0, device.0, datetime(observed_at));
        let (tenant_id, device_id, observed_at) = base(report.observed_at);
        let collector_id = origin.collector.0;
        let received_at = datetime(origin.received_at);

        for (kind, value) in &report.counters {
            self.counters.push(CounterRow {
                tenant_id,
                device_id,
                kind: kind.as_str().to_owned(),
                observed_at,
                value: *value,
                collector_id,
                received_at,
            });
        }
        for supply in &report.supplies {
            self.supplies.push(supply_row(
                supply,
                tenant_id,
                device_id,
                observed_at,
                origin,
            ));
        }
        if let Some(status) = &report.status {
            self.statuses.push(status_row(
                status,
                tenant_id,
                device_id,
                observed_at,
                origin,
            ));
        }
        for alert in &report.alerts {
            self.alerts
                .push(alert_row(alert, tenant_id, device_id, observed_at, origin));
        }
    }
}

fn supply_row(
    s: &Supply,
    tenant_id: u64,
    device_id: u64,
    observed_at: u32,
    o: Origin,
) -> SupplyRow {
    SupplyRow {
        tenant_id,
        device_id,
        kind: s.kind.as_str().to_owned(),
        color: s.color.clone(),
        description: s.description.clone(),
        part_number: s.part_number.clone(),
        observed_at,
        level: s.level,
        max: s.max,
        percent: s.percent(),
        collector_id: o.collector.0,
        received_at: datetime(o.received_at),
    }
}

fn status_row(
    s: &Status,
    tenant_id: u64,
    device_id: u64,
    observed_at: u32,
    o: Origin,
) -> StatusRow {
    StatusRow {
        tenant_id,
        device_id,
        observed_at,
        device_status: position(fleet_model::DeviceStatus::ALL, s.device),
        printer_status: position(fleet_model::PrinterStatus::ALL, s.printer),
        errors: s.errors.iter().map(|e| e.as_str().to_owned()).collect(),
        display: s.display.clone(),
        collector_id: o.collector.0,
        received_at: datetime(o.received_at),
    }
}

fn alert_row(a: &Alert, tenant_id: u64, device_id: u64, observed_at: u32, o: Origin) -> AlertRow {
    AlertRow {
        tenant_id,
        device_id,
        observed_at,
        alert_index: a.index,
        severity: position(fleet_model::Severity::ALL, a.severity),
        alert_group: a.group.clone(),
        code: a.code,
        description: a.description.clone(),
        training_level: a.training_level.clone(),
        collector_id: o.collector.0,
        received_at: datetime(o.received_at),
    }
}

impl DeviceRow {
    /// The inventory row of a report. `inventory_hash` identifies the inventory content so the
    /// gateway can skip rows that would change nothing.
    pub fn from_report(
        origin: Origin,
        device: DeviceId,
        report: &DeviceReport,
        first_seen: u32,
    ) -> DeviceRow {
        // Destructured field by field on purpose: a field added to `Identity` fails to compile
        // here until the inventory row stores it.
        let Identity {
            vendor,
            model,
            serial,
            mac,
            ip,
            hostname,
            firmware,
            name,
            location,
            contact,
            sys_object_id,
        } = report.identity.clone();
        let caps = report.capabilities.clone().unwrap_or_default();
        let mut row = DeviceRow {
            tenant_id: origin.tenant.0,
            device_id: device.0,
            vendor,
            model,
            serial,
            mac,
            ip,
            hostname,
            firmware,
            name,
            location,
            contact,
            sys_object_id,
            color: tristate(caps.color),
            duplex: tristate(caps.duplex),
            trays: caps.trays.map_or(-1, |t| t as i16),
            finisher: caps.finisher,
            collector_id: origin.collector.0,
            inventory_hash: 0,
            first_seen,
            last_seen: datetime(report.observed_at),
        };
        row.inventory_hash = row.content_hash();
        row
    }

    /// A hash of the inventory content (everything but the times and the hash itself).
    pub fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        // FNV-1a over the fields: stable across releases and processes, unlike `DefaultHasher`
        // with random keys, because it is stored and compared later.
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 ^= u64::from(*b);
                    self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        (
            &self.vendor,
            &self.model,
            &self.serial,
            &self.mac,
            &self.ip,
            &self.hostname,
            &self.firmware,
            &self.name,
            &self.location,
            &self.contact,
            &self.sys_object_id,
        )
            .hash(&mut h);
        (
            self.color,
            self.duplex,
            self.trays,
            &self.finisher,
            self.collector_id,
        )
            .hash(&mut h);
        h.finish()
    }
}
