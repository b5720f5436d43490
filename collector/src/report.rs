//! One device report as the collector builds, spools and prints it. Member names are those of
//! the wire batch (`fleet.v1.DeviceReport`); `percent` and `percent_full` are computed for
//! people reading `probe` output and are not sent.

use std::collections::BTreeMap;

use fleet_model::proto;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub color: Option<bool>,
    pub duplex: Option<bool>,
    pub trays: Option<i32>,
    #[serde(default)]
    pub finisher: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supply {
    pub kind: String,
    pub color: String,
    pub description: String,
    pub part_number: String,
    /// Printer-MIB meaning kept: -3 some remaining, -2 unknown, -1 no limit.
    pub level: i64,
    pub max: i64,
    /// Amount left in percent, where level and capacity allow it (not for waste containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// Fullness of a waste container in percent, where level and capacity allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_full: Option<u8>,
    /// Where the supply was read: the table row index (`1.3`) or `record:6f`. Not sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

impl Supply {
    /// Fills `percent`/`percent_full` from level and capacity.
    pub fn with_percentages(mut self) -> Self {
        let kind = self
            .kind
            .parse::<fleet_model::SupplyKind>()
            .unwrap_or(fleet_model::SupplyKind::Other);
        let percent = (self.level >= 0 && self.max > 0)
            .then(|| (self.level * 100 / self.max).clamp(0, 100) as u8);
        if kind.counts_free_space() {
            self.percent_full = percent.map(|p| 100 - p);
            self.percent = None;
        } else {
            self.percent = percent;
            self.percent_full = None;
        }
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub device: String,
    pub printer: String,
    pub errors: Vec<String>,
    pub display: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub severity: String,
    pub group: String,
    pub code: i64,
    pub description: String,
    pub index: i64,
    pub training_level: String,
}

/// One reading of one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    pub identity: Identity,
    pub capabilities: Option<Capabilities>,
    pub counters: BTreeMap<String, u64>,
    pub supplies: Vec<Supply>,
    pub status: Option<Status>,
    pub alerts: Vec<Alert>,
}

impl Report {
    pub fn new(observed_at: OffsetDateTime) -> Self {
        Report {
            observed_at,
            identity: Identity::default(),
            capabilities: None,
            counters: BTreeMap::new(),
            supplies: Vec::new(),
            status: None,
            alerts: Vec::new(),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> proto::DeviceReport {
        let i = &self.identity;
        proto::DeviceReport {
            observed_at: Some(prost_types::Timestamp {
                seconds: self.observed_at.unix_timestamp(),
                nanos: self.observed_at.nanosecond() as i32,
            }),
            identity: Some(proto::Identity {
                vendor: i.vendor.clone(),
                model: i.model.clone(),
                serial: i.serial.clone(),
                mac: i.mac.clone(),
                ip: i.ip.clone(),
                hostname: i.hostname.clone(),
                firmware: i.firmware.clone(),
                name: i.name.clone(),
                location: i.location.clone(),
                contact: i.contact.clone(),
                sys_object_id: i.sys_object_id.clone(),
            }),
            capabilities: self.capabilities.as_ref().map(|c| proto::Capabilities {
                color: c.color,
                duplex: c.duplex,
                trays: c.trays,
                finisher: c.finisher.clone(),
            }),
            counters: self.counters.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            supplies: self
                .supplies
                .iter()
                .map(|s| proto::Supply {
                    kind: s.kind.clone(),
                    color: s.color.clone(),
                    description: s.description.clone(),
                    part_number: s.part_number.clone(),
                    level: s.level,
                    max: s.max,
                })
                .collect(),
            status: self.status.as_ref().map(|s| proto::Status {
                device: s.device.clone(),
                printer: s.printer.clone(),
                errors: s.errors.clone(),
                display: s.display.clone(),
            }),
            alerts: self
                .alerts
                .iter()
                .map(|a| proto::Alert {
                    severity: a.severity.clone(),
                    group: a.group.clone(),
                    code: a.code,
                    description: a.description.clone(),
                    index: a.index,
                    training_level: a.training_level.clone(),
                })
                .collect(),
        }
    }

    /// Checks the report against the gateway's rules, so that a bad reading is caught on site
    /// (and logged) instead of being refused after delivery.
    pub fn validate(&self) -> Result<(), String> {
        fleet_model::validate::validate_device(
            self.to_proto(),
            OffsetDateTime::now_utc(),
            &fleet_model::Limits::default(),
        )
        .map(|_| ())
    }

    /// Critical alerts (for immediate delivery).
    pub fn critical_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.severity == "critical")
    }
}
