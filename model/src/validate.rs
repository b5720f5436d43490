//! Validation: from a wire batch to domain values.
//!
//! A batch whose envelope is wrong (no batch id, too many devices) is refused whole. Each device
//! report is then checked alone: a bad one is rejected with its index and reason while the
//! others are kept.

use std::time::Duration;

use time::OffsetDateTime;

use crate::identity::normalize_mac;
use crate::supply::{LEVEL_SOME_REMAINING, LEVEL_UNKNOWN};
use crate::time_format::from_timestamp;
use crate::{
    Alert, BatchId, Capabilities, CounterKind, DeviceStatus, ErrorFlag, Identity, PrinterStatus,
    Severity, Status, Supply, SupplyKind, proto,
};

/// Validation limits, all with documented defaults (see `docs/ingest-api.md`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// How far in the past `observed_at` may lie. Default 90 days: a collector may spool
    /// readings through a long outage.
    pub max_age: Duration,
    /// How far in the future `observed_at` may lie. Default 1 hour, for clock skew.
    pub max_future: Duration,
    /// Device reports per batch. Default 10,000.
    pub max_devices: usize,
    /// Characters in any one string. Default 1,024.
    pub max_string_chars: usize,
    /// Entries in any one list or map of a device report (counters, supplies, alerts,
    /// errors, display lines). Default 256.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(90 * 24 * 3600),
            max_future: Duration::from_secs(3600),
            max_devices: 10_000,
            max_string_chars: 1024,
            max_entries: 256,
        }
    }
}

/// Why a whole batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    #[error("`batch_id` is missing")]
    MissingBatchId,
    #[error("`batch_id` `{0}` is not a UUID")]
    BadBatchId(String),
    #[error("`sent_at` is missing or out of range")]
    BadSentAt,
    #[error("batch has {count} device reports, more than the limit of {limit}")]
    TooManyDevices { count: usize, limit: usize },
}

/// A device report refused by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The report's position in the batch, from 0.
    pub index: u32,
    pub reason: String,
}

/// A validated device report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    pub observed_at: OffsetDateTime,
    pub identity: Identity,
    pub capabilities: Option<Capabilities>,
    /// Sorted by kind.
    pub counters: Vec<(CounterKind, u64)>,
    pub supplies: Vec<Supply>,
    pub status: Option<Status>,
    pub alerts: Vec<Alert>,
}

/// A batch that passed validation: its valid device reports and the rejected ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBatch {
    pub batch_id: BatchId,
    pub sequence: Option<u64>,
    pub sent_at: OffsetDateTime,
    pub devices: Vec<DeviceReport>,
    pub rejected: Vec<Rejection>,
}

/// Validates a wire batch received at `now`.
pub fn validate_batch(
    mut batch: proto::Batch,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<ValidBatch, BatchError> {
    let devices = std::mem::take(&mut batch.devices)
        .into_iter()
        .map(Ok)
        .collect();
    validate_parts(batch, devices, now, limits)
}

/// Validates a batch whose device reports were read separately: each is a report or the reason
/// it could not be read (the XML-RPC mapping rejects a malformed report alone). The envelope's
/// own `devices` is ignored.
pub fn validate_parts(
    envelope: proto::Batch,
    reports: Vec<Result<proto::DeviceReport, String>>,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<ValidBatch, BatchError> {
    if envelope.batch_id.trim().is_empty() {
        return Err(BatchError::MissingBatchId);
    }
    let batch_id = BatchId::parse(&envelope.batch_id)
        .ok_or_else(|| BatchError::BadBatchId(envelope.batch_id.chars().take(64).collect()))?;
    let sent_at = envelope
        .sent_at
        .as_ref()
        .and_then(from_timestamp)
        .ok_or(BatchError::BadSentAt)?;
    if reports.len() > limits.max_devices {
        return Err(BatchError::TooManyDevices {
            count: reports.len(),
            limit: limits.max_devices,
        });
    }

    let mut devices = Vec::with_capacity(reports.len());
    let mut rejected = Vec::new();
    for (index, report) in reports.into_iter().enumerate() {
        match report.and_then(|report| validate_device(report, now, limits)) {
            Ok(device) => devices.push(device),
            Err(reason) => rejected.push(Rejection {
                index: index as u32,
                reason,
            }),
        }
    }
    Ok(ValidBatch {
        batch_id,
        sequence: envelope.sequence,
        sent_at,
        devices,
        rejected,
    })
}

/// Validates one device report; the error is the reason shown to the sender.
pub fn validate_device(
    report: proto::DeviceReport,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<DeviceReport, String> {
    let observed_at = check_observed_at(report.observed_at.as_ref(), now, limits)?;
    let identity = check_identity(report.identity.unwrap_or_default(), limits)?;
    let capabilities = report
        .capabilities
        .map(|c| check_capabilities(c, limits))
        .transpose()?;

    check_count("counters", report.counters.len(), limits)?;
    let mut counters = Vec::with_capacity(report.counters.len());
    for (kind, value) in report.counters {
        let kind: CounterKind = kind.parse().map_err(|e| format!("{e}"))?;
        if value > i64::MAX as u64 {
            return Err(format!("counter `{kind}` value {value} is above 2^63-1"));
        }
        counters.push((kind, value));
    }
    counters.sort();

    check_count("supplies", report.supplies.len(), limits)?;
    let supplies = report
        .supplies
        .into_iter()
        .enumerate()
        .map(|(i, s)| check_supply(s, limits).map_err(|e| format!("supplies[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    let status = report.status.map(|s| check_status(s, limits)).transpose()?;

    check_count("alerts", report.alerts.len(), limits)?;
    let alerts = report
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| check_alert(a, limits).map_err(|e| format!("alerts[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(DeviceReport {
        observed_at,
        identity,
        capabilities,
        counters,
        supplies,
        status,
        alerts,
    })
}

fn check_observed_at(
    at: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<OffsetDateTime, String> {
    let at = at.ok_or("`observed_at` is missing")?;
    let at = from_timestamp(at).ok_or("`observed_at` is out of range")?;
    if at < now - limits.max_age {
        return Err(format!(
            "`observed_at` {at} is more than {} days in the past",
            limits.max_age.as_secs() / 86_400
        ));
    }
    if at > now + limits.max_future {
        return Err(format!(
            "`observed_at` {at} is more than {} s in the future",
            limits.max_future.as_secs()
        ));
    }
    // ClickHouse `DateTime` holds seconds since 1970 in 32 unsigned bits.
    if at.unix_timestamp() < 0 || at.unix_timestamp() > i64::from(u32::MAX) {
        return Err("`observed_at` is outside 1970..2106".into());
    }
    Ok(at)
}

fn check_identity(id: proto::Identity, limits: &Limits) -> Result<Identity, String> {
    let fields = crate::identity_fields(&id);
    for (name, value) in fields {
        check_string(&format!("identity.{name}"), value, limits)?;
    }

    let mac = if id.mac.trim().is_empty() {
        String::new()
    } else {
        normalize_mac(&id.mac)
            .ok_or_else(|| format!("`identity.mac` `{}` is not a MAC address", id.mac))?
    };
    let serial = id.serial.trim().to_owned();
    if serial.is_empty() && mac.is_empty() {
        return Err("`identity` has neither `serial` nor `mac`".into());
    }

    Ok(Identity {
        vendor: id.vendor.trim().to_owned(),
        model: id.model.trim().to_owned(),
        serial,
        mac,
        ip: id.ip.trim().to_owned(),
        hostname: id.hostname.trim().to_owned(),
        firmware: id.firmware.trim().to_owned(),
        name: id.name,
        location: id.location,
        contact: id.contact,
        sys_object_id: id.sys_object_id.trim().trim_start_matches('.').to_owned(),
    })
}

fn check_capabilities(c: proto::Capabilities, limits: &Limits) -> Result<Capabilities, String> {
    check_string("capabilities.finisher", &c.finisher, limits)?;
    let trays = match c.trays {
        None => None,
        Some(t) if (0..=255).contains(&t) => Some(t as u16),
        Some(t) => return Err(format!("`capabilities.trays` {t} is outside 0..=255")),
    };
    Ok(Capabilities {
        color: c.color,
        duplex: c.duplex,
        trays,
        finisher: c.finisher,
    })
}

fn check_supply(s: proto::Supply, limits: &Limits) -> Result<Supply, String> {
    let kind: SupplyKind = s.kind.parse().map_err(|e| format!("{e}"))?;
    for (name, value) in [
        ("color", &s.color),
        ("description", &s.description),
        ("part_number", &s.part_number),
    ] {
        check_string(name, value, limits)?;
    }
    let level = i32::try_from(s.level)
        .ok()
        .filter(|l| *l >= LEVEL_SOME_REMAINING)
        .ok_or_else(|| format!("`level` {} is outside -3..=2147483647", s.level))?;
    let max = i32::try_from(s.max)
        .ok()
        .filter(|m| *m >= LEVEL_UNKNOWN)
        .ok_or_else(|| format!("`max` {} is outside -2..=2147483647", s.max))?;
    Ok(Supply {
        kind,
        color: s.color.trim().to_lowercase(),
        description: s.description,
        part_number: s.part_number.trim().to_owned(),
        level,
        max,
    })
}

fn check_status(s: proto::Status, limits: &Limits) -> Result<Status, String> {
    let device = parse_or_unknown(&s.device, DeviceStatus::Unknown)?;
    let printer = parse_or_unknown(&s.printer, PrinterStatus::Unknown)?;
    check_count("status.errors", s.errors.len(), limits)?;
    let mut errors = s
        .errors
        .iter()
        .map(|e| {
            e.parse::<ErrorFlag>()
                .map_err(|e| format!("`status.errors`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    errors.sort();
    errors.dedup();
    check_count("status.display", s.display.len(), limits)?;
    for line in &s.display {
        check_string("status.display", line, limits)?;
    }
    Ok(Status {
        device,
        printer,
        errors,
        display: s.display,
    })
}

fn check_alert(a: proto::Alert, limits: &Limits) -> Result<Alert, String> {
    let severity: Severity = a.severity.parse().map_err(|e| format!("{e}"))?;
    for (name, value) in [
        ("group", &a.group),
        ("description", &a.description),
        ("training_level", &a.training_level),
    ] {
        check_string(name, value, limits)?;
    }
    Ok(Alert {
        severity,
        group: a.group,
        code: a.code,
        description: a.description,
        index: a.index,
        training_level: a.training_level,
    })
}

/// An empty status string means the collector could not read it: that is "unknown".
fn parse_or_unknown<T>(text: &str, unknown: T) -> Result<T, String>
where
    T: std::str::FromStr<Err = crate::UnknownName>,
{
    if text.is_empty() {
        Ok(unknown)
    } else {
        text.parse().map_err(|e| format!("{e}"))
    }
}

fn check_string(name: &str, value: &str, limits: &Limits) -> Result<(), String> {
    if value.len() > limits.max_string_chars && value.chars().count() > limits.max_string_chars {
        return Err(format!(
            "`{name}` is longer than {} characters",
            limits.max_string_chars
        ));
    }
    if value.contains('\0') {
        return Err(format!("`{name}` contains a NUL character"));
    }
    Ok(())
}

fn check_count(name: &str, count: usize, limits: &Limits) -> Result<(), String> {
    if count > limits.max_entries {
        return Err(format!(
            "`{name}` has {count} entries, more than {}",
            limits.max_entries
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time_format::to_timestamp;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn report() -> proto::DeviceReport {
        proto::DeviceReport {
            observed_at: Some(to_timestamp(NOW - Duration::from_secs(60))),
            identity: Some(proto::Identity {
                vendor: "HP".into(),
                serial: "CNB123".into(),
                ..Default::default()
            }),
            counters: [("total".to_string(), 1200), ("mono".to_string(), 1000)].into(),
            supplies: vec![proto::Supply {
                kind: "toner".into(),
                color: "Black".into(),
                level: 40,
                max: 100,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn batch(devices: Vec<proto::DeviceReport>) -> proto::Batch {
        proto::Batch {
            batch_id: "7c3e0d3a-0b7e-4c1a-9f59-6b2d8f8c2a11".into(),
            sequence: Some(7),
            sent_at: Some(to_timestamp(NOW)),
            devices,
        }
    }

    fn reason(report: proto::DeviceReport) -> String {
        validate_device(report, NOW, &Limits::default()).unwrap_err()
    }

    #[test]
    fn valid_report_is_normalised() {
        let device = validate_device(report(), NOW, &Limits::default()).unwrap();
        assert_eq!(device.supplies[0].color, "black");
        let kinds: Vec<_> = device.counters.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["total", "mono"]);
    }

    #[test]
    fn bad_device_is_rejected_alone() {
        let mut bad = report();
        bad.identity = Some(proto::Identity {
            vendor: "hp".into(),
            ..Default::default()
        });
        let valid = validate_batch(
            batch(vec![report(), bad, report()]),
            NOW,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(valid.devices.len(), 2);
        assert_eq!(valid.rejected.len(), 1);
        assert_eq!(valid.rejected[0].index, 1);
        assert!(
            valid.rejected[0]
                .reason
                .contains("neither `serial` nor `mac`")
        );
    }

    #[test]
    fn envelope_errors_refuse_the_whole_batch() {
        let mut b = batch(vec![]);
        b.batch_id = "nope".into();
        assert!(matches!(
            validate_batch(b, NOW, &Limits::default()),
            Err(BatchError::BadBatchId(_))
        ));
        let mut b = batch(vec![]);
        b.sent_at = None;
        assert_eq!(
            validate_batch(b, NOW, &Limits::default()),
            Err(BatchError::BadSentAt)
        );
        let limits = Limits {
            max_devices: 1,
            ..Limits::default()
        };
        assert!(matches!(
            validate_batch(batch(vec![report(), report()]), NOW, &limits),
            Err(BatchError::TooManyDevices { count: 2, limit: 1 })
        ));
    }

    #[test]
    fn unknown_counter_kind_is_refused_unless_x_prefixed() {
        let mut r = report();
        r.counters.insert("colour_copies".into(), 5);
        assert!(reason(r).contains("unknown counter kind `colour_copies`"));
        let mut r = report();
        r.counters.insert("x-colour_copies".into(), 5);
        assert!(validate_device(r, NOW, &Limits::default()).is_ok());
    }

    #[test]
    fn counters_must_fit_in_63_bits() {
        let mut r = report();
        r.counters.insert("total".into(), u64::MAX);
        assert!(reason(r).contains("above 2^63-1"));
    }

    #[test]
    fn supply_levels_keep_their_documented_domain() {
        for (level, max, ok) in [
            (-3, 100, true),
            (-2, -2, true),
            (-1, -1, true),
            (-4, 100, false),
            (5, -3, false),
        ] {
            let mut r = report();
            r.supplies[0].level = level;
            r.supplies[0].max = max;
            assert_eq!(
                validate_device(r, NOW, &Limits::default()).is_ok(),
                ok,
                "{level}/{max}"
            );
        }
        let mut r = report();
        r.supplies[0].level = i64::from(i32::MAX) + 1;
        assert!(reason(r).contains("supplies[0]: `level`"));
    }

    #[test]
    fn observed_at_must_lie_within_the_window() {
        let mut r = report();
        r.observed_at = Some(to_timestamp(NOW - Duration::from_secs(91 * 86_400)));
        assert!(reason(r).contains("in the past"));
        let mut r = report();
        r.observed_at = Some(to_timestamp(NOW + Duration::from_secs(7200)));
        assert!(reason(r).contains("in the future"));
        let mut r = report();
        r.observed_at = None;
        assert!(reason(r).contains("missing"));
    }

    #[test]
    fn strings_are_capped_and_nul_free() {
        let mut r = report();
        r.identity.as_mut().unwrap().location = "x".repeat(1025);
        assert!(reason(r).contains("longer than 1024"));
        let mut r = report();
        r.identity.as_mut().unwrap().model = "a\0b".into();
        assert!(reason(r).contains("NUL"));
    }

    #[test]
    fn status_and_alert_names_come_from_closed_sets() {
        let mut r = report();
        r.status = Some(proto::Status {
            device: "running".into(),
            printer: String::new(),
            errors: vec!["jammed".into(), "door_open".into(), "jammed".into()],
            display: vec!["Paper jam".into()],
        });
        let device = validate_device(r.clone(), NOW, &Limits::default()).unwrap();
        let status = device.status.unwrap();
        assert_eq!(status.printer, PrinterStatus::Unknown);
        assert_eq!(status.errors, [ErrorFlag::DoorOpen, ErrorFlag::Jammed]);

        r.status.as_mut().unwrap().errors.push("on_fire".into());
        assert!(reason(r).contains("unknown status flag `on_fire`"));

        let mut r = report();
        r.alerts.push(proto::Alert {
            severity: "fatal".into(),
            ..Default::default()
        });
        assert!(reason(r).contains("alerts[0]: unknown alert severity `fatal`"));
    }

    #[test]
    fn bad_mac_is_refused_and_mac_alone_identifies() {
        let mut r = report();
        r.identity = Some(proto::Identity {
            mac: "00:11:22:33:44:55".into(),
            ..Default::default()
        });
        let device = validate_device(r, NOW, &Limits::default()).unwrap();
        assert_eq!(device.identity.mac, "001122334455");
        let mut r = report();
        r.identity.as_mut().unwrap().mac = "garbage".into();
        assert!(reason(r).contains("not a MAC address"));
    }
}
