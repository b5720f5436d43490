//! Synthetic fleets: realistic device reports whose counters grow and toner falls over time.

use std::time::Duration;

use fleet_model::DeviceId;
use fleet_model::proto;
use fleet_model::time_format::to_timestamp;
use fleet_model::validate::{BatchError, validate_batch};
use fleet_store::{DeviceRow, Origin, RowSet};
use time::OffsetDateTime;

const MODELS: &[(&str, &str, bool)] = &[
    ("HP", "Color LaserJet Pro MFP M479fdw", true),
    ("Kyocera", "ECOSYS M2540dn", false),
    ("Ricoh", "IM C3000", true),
    ("Brother", "HL-L2350DW", false),
    ("Canon", "imageRUNNER ADVANCE DX C5840i", true),
    ("Lexmark", "MS621dn", false),
];

/// A fleet of `devices` devices for one collector, identified by `site`.
#[derive(Debug, Clone)]
pub struct Fleet {
    site: u32,
    devices: u32,
    round: u64,
    sequence: u64,
}

impl Fleet {
    pub fn new(site: u32, devices: u32) -> Fleet {
        Fleet {
            site,
            devices,
            round: 0,
            sequence: 0,
        }
    }

    /// The next batch: every device read once more, a few minutes of printing later.
    pub fn next_batch(&mut self) -> proto::Batch {
        self.round += 1;
        self.sequence += 1;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("0 is valid");
        proto::Batch {
            batch_id: uuid::Uuid::new_v4().to_string(),
            sequence: Some(self.sequence),
            sent_at: Some(to_timestamp(now)),
            devices: (0..self.devices).map(|i| self.report(i, now)).collect(),
        }
    }

    fn report(&self, i: u32, now: OffsetDateTime) -> proto::DeviceReport {
        let (vendor, model, color) = MODELS[i as usize % MODELS.len()];
        let seed = u64::from(self.site) * 7919 + u64::from(i) * 104_729;
        let per_round = 5 + seed % 40;
        let total = 10_000 + seed % 500_000 + self.round * per_round;
        let color_pages = if color {
            total * (10 + seed % 30) / 100
        } else {
            0
        };
        let toner = 100 - ((seed + self.round) % 97) as i64;

        let mut counters = vec![
            ("total".to_string(), total),
            ("mono".to_string(), total - color_pages),
            ("print_total".to_string(), total * 7 / 10),
            ("copy_total".to_string(), total * 3 / 10),
            ("scan".to_string(), total / 4),
        ];
        if color {
            counters.push(("color".to_string(), color_pages));
        }
        let mut supplies = vec![supply("toner", "black", toner)];
        if color {
            for (k, c) in ["cyan", "magenta", "yellow"].iter().enumerate() {
                supplies.push(supply("toner", c, (toner + 17 * k as i64 + 5) % 100));
            }
        }
        supplies.push(supply("drum", "", 60));
        let low = toner < 10;

        proto::DeviceReport {
            observed_at: Some(to_timestamp(now - Duration::from_secs(u64::from(i % 60)))),
            identity: Some(proto::Identity {
                vendor: vendor.into(),
                model: model.into(),
                serial: format!("S{:05}X{:06}", self.site, i),
                mac: format!(
                    "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
                    self.site >> 8 & 0xff,
                    self.site & 0xff,
                    i >> 8 & 0xff,
                    i & 0xff
                ),
                ip: format!("10.{}.{}.{}", self.site % 250, i / 250, i % 250 + 1),
                hostname: format!("prn-{:05}-{i:04}", self.site),
                firmware: format!("{}.{}.{}", 2 + seed % 3, seed % 10, seed % 100),
                location: format!("Building {}, floor {}", seed % 5 + 1, seed % 7),
                ..Default::default()
            }),
            capabilities: Some(proto::Capabilities {
                color: Some(color),
                duplex: Some(true),
                trays: Some(1 + (seed % 4) as i32),
                finisher: String::new(),
            }),
            counters: counters.into_iter().collect(),
            supplies,
            status: Some(proto::Status {
                device: if low { "warning" } else { "running" }.into(),
                printer: "idle".into(),
                errors: if low {
                    vec!["low_toner".into()]
                } else {
                    vec![]
                },
                display: vec!["Ready".into()],
            }),
            alerts: if low {
                vec![proto::Alert {
                    severity: "warning".into(),
                    group: "markerSupplies".into(),
                    code: 1104,
                    description: "Toner low".into(),
                    index: 1,
                    training_level: "untrained".into(),
                }]
            } else {
                vec![]
            },
        }
    }
}

/// The rows the gateway would build for a batch (validated, device ids derived), with an
/// inventory row per device when `inventory` is set. Adds them to `rows`.
pub fn add_rows(
    rows: &mut RowSet,
    batch: proto::Batch,
    origin: Origin,
    inventory: bool,
) -> Result<(), BatchError> {
    let valid = validate_batch(batch, OffsetDateTime::now_utc(), &Default::default())?;
    for report in &valid.devices {
        let id = &report.identity;
        let device = DeviceId::derive(origin.tenant, &id.vendor, &id.serial, &id.mac)
            .expect("validation requires a serial or a MAC");
        rows.push_report(origin, device, report);
        if inventory {
            rows.devices
                .push(DeviceRow::from_report(origin, device, report, 0));
        }
    }
    Ok(())
}

fn supply(kind: &str, color: &str, level: i64) -> proto::Supply {
    proto::Supply {
        kind: kind.into(),
        color: color.into(),
        description: format!("{color} {kind}").trim().to_string(),
        part_number: String::new(),
        level,
        max: 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_batches_pass_validation_and_counters_grow() {
        let mut fleet = Fleet::new(3, 12);
        let first = fleet.next_batch();
        let second = fleet.next_batch();
        let now = OffsetDateTime::now_utc();
        let limits = fleet_model::Limits::default();
        let valid = validate_batch(first.clone(), now, &limits).unwrap();
        assert_eq!(valid.devices.len(), 12);
        assert!(valid.rejected.is_empty(), "{:?}", valid.rejected);
        assert!(second.devices[0].counters["total"] > first.devices[0].counters["total"]);
        assert_ne!(first.batch_id, second.batch_id);
    }
}
