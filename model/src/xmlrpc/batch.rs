//! The XML-RPC form of a batch: a struct with the protobuf member names.
//!
//! `counters` is a struct of kind to value; integers may be sent as `<int>`, `<i4>`, `<i8>` or a
//! decimal `<string>` (Python's client cannot send integers above 2^31-1); times as
//! `<dateTime.iso8601>` (UTC) or as an RFC 3339 string with an offset; `<nil/>` anywhere means
//! "absent". Unknown members are refused so that a misspelt member is not lost silently.
//!
//! A structural fault in the envelope refuses the whole batch. A fault inside one device report
//! rejects that report alone, like a validation failure.

use time::OffsetDateTime;

use super::Value;
use crate::proto;
use crate::time_format::{parse_rfc3339, parse_xmlrpc_datetime, to_timestamp};

/// A structural fault in a batch's XML-RPC form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {message}")]
pub struct MappingError {
    pub path: String,
    pub message: String,
}

fn fault(path: impl Into<String>, message: impl Into<String>) -> MappingError {
    MappingError {
        path: path.into(),
        message: message.into(),
    }
}

/// A wire batch from its XML-RPC form. The envelope's `devices` stays empty; each device report
/// is returned in order, as a report or as the reason it could not be read.
pub type MappedBatch = (proto::Batch, Vec<Result<proto::DeviceReport, String>>);

/// Reads a batch from its XML-RPC value.
pub fn batch_from_value(value: Value) -> Result<MappedBatch, MappingError> {
    let Value::Struct(members) = value else {
        return Err(fault(
            "batch",
            format!("expected a struct, found {}", value.type_name()),
        ));
    };
    let mut batch = proto::Batch::default();
    let mut devices = Vec::new();
    for (name, value) in members {
        let path = name.as_str();
        match path {
            "batch_id" => batch.batch_id = string(path, value)?,
            "sequence" => batch.sequence = optional_integer(path, value)?,
            "sent_at" => batch.sent_at = time(path, value)?.map(to_timestamp),
            "devices" => match value {
                Value::Array(items) => {
                    devices = items
                        .into_iter()
                        .map(|item| device_from_value(item).map_err(|e| e.to_string()))
                        .collect();
                }
                Value::Nil => {}
                other => return Err(type_fault(path, "array", &other)),
            },
            other => return Err(fault(other, "unknown member")),
        }
    }
    Ok((batch, devices))
}

fn device_from_value(value: Value) -> Result<proto::DeviceReport, MappingError> {
    let members = members_of("device", value)?;
    let mut report = proto::DeviceReport::default();
    for (name, value) in members {
        match name.as_str() {
            "observed_at" => report.observed_at = time("observed_at", value)?.map(to_timestamp),
            "identity" => report.identity = Some(identity(value)?),
            "capabilities" => {
                if !matches!(value, Value::Nil) {
                    report.capabilities = Some(capabilities(value)?);
                }
            }
            "counters" => {
                for (kind, value) in members_of("counters", value)? {
                    let path = format!("counters.{kind}");
                    let count = optional_integer(&path, value)?
                        .ok_or_else(|| fault(&path, "expected an integer, found nil"))?;
                    report.counters.insert(kind, count);
                }
            }
            "supplies" => {
                for (i, item) in list("supplies", value)?.into_iter().enumerate() {
                    report
                        .supplies
                        .push(supply(&format!("supplies[{i}]"), item)?);
                }
            }
            "status" => {
                if !matches!(value, Value::Nil) {
                    report.status = Some(status(value)?);
                }
            }
            "alerts" => {
                for (i, item) in list("alerts", value)?.into_iter().enumerate() {
                    report.alerts.push(alert(&format!("alerts[{i}]"), item)?);
                }
            }
            other => return Err(fault(other, "unknown member")),
        }
    }
    Ok(report)
}

fn identity(value: Value) -> Result<proto::Identity, MappingError> {
    let mut id = proto::Identity::default();
    for (name, value) in members_of("identity", value)? {
        let path = format!("identity.{name}");
        let field = match name.as_str() {
            "vendor" => &mut id.vendor,
            "model" => &mut id.model,
            "serial" => &mut id.serial,
            "mac" => &mut id.mac,
            "ip" => &mut id.ip,
            "hostname" => &mut id.hostname,
            "firmware" => &mut id.firmware,
            "name" => &mut id.name,
            "location" => &mut id.location,
            "contact" => &mut id.contact,
            "sys_object_id" => &mut id.sys_object_id,
            _ => return Err(fault(path, "unknown member")),
        };
        *field = string(&path, value)?;
    }
    Ok(id)
}

fn capabilities(value: Value) -> Result<proto::Capabilities, MappingError> {
    let mut caps = proto::Capabilities::default();
    for (name, value) in members_of("capabilities", value)? {
        let path = format!("capabilities.{name}");
        match name.as_str() {
            "color" => caps.color = boolean(&path, value)?,
            "duplex" => caps.duplex = boolean(&path, value)?,
            "trays" => {
                caps.trays = optional_integer(&path, value)?
                    .map(|t| i32::try_from(t).map_err(|_| fault(&path, "out of range")))
                    .transpose()?;
            }
            "finisher" => caps.finisher = string(&path, value)?,
            _ => return Err(fault(path, "unknown member")),
        }
    }
    Ok(caps)
}

fn supply(path: &str, value: Value) -> Result<proto::Supply, MappingError> {
    let mut supply = proto::Supply::default();
    for (name, value) in members_of(path, value)? {
        let path = format!("{path}.{name}");
        match name.as_str() {
            "kind" => supply.kind = string(&path, value)?,
            "color" => supply.color = string(&path, value)?,
            "description" => supply.description = string(&path, value)?,
            "part_number" => supply.part_number = string(&path, value)?,
            "level" => supply.level = signed(&path, value)?,
            "max" => supply.max = signed(&path, value)?,
            _ => return Err(fault(path, "unknown member")),
        }
    }
    Ok(supply)
}

fn status(value: Value) -> Result<proto::Status, MappingError> {
    let mut status = proto::Status::default();
    for (name, value) in members_of("status", value)? {
        let path = format!("status.{name}");
        match name.as_str() {
            "device" => status.device = string(&path, value)?,
            "printer" => status.printer = string(&path, value)?,
            "errors" => status.errors = strings(&path, value)?,
            "display" => status.display = strings(&path, value)?,
            _ => return Err(fault(path, "unknown member")),
        }
    }
    Ok(status)
}

fn alert(path: &str, value: Value) -> Result<proto::Alert, MappingError> {
    let mut alert = proto::Alert::default();
    for (name, value) in members_of(path, value)? {
        let path = format!("{path}.{name}");
        match name.as_str() {
            "severity" => alert.severity = string(&path, value)?,
            "group" => alert.group = string(&path, value)?,
            "code" => alert.code = signed(&path, value)?,
            "description" => alert.description = string(&path, value)?,
            "index" => alert.index = signed(&path, value)?,
            "training_level" => alert.training_level = string(&path, value)?,
            _ => return Err(fault(path, "unknown member")),
        }
    }
    Ok(alert)
}

fn members_of(path: &str, value: Value) -> Result<Vec<(String, Value)>, MappingError> {
    match value {
        Value::Struct(members) => Ok(members),
        Value::Nil => Ok(Vec::new()),
        other => Err(type_fault(path, "struct", &other)),
    }
}

fn list(path: &str, value: Value) -> Result<Vec<Value>, MappingError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(type_fault(path, "array", &other)),
    }
}

fn string(path: &str, value: Value) -> Result<String, MappingError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Nil => Ok(String::new()),
        other => Err(type_fault(path, "string", &other)),
    }
}

fn strings(path: &str, value: Value) -> Result<Vec<String>, MappingError> {
    list(path, value)?
        .into_iter()
        .enumerate()
        .map(|(i, item)| string(&format!("{path}[{i}]"), item))
        .collect()
}

fn boolean(path: &str, value: Value) -> Result<Option<bool>, MappingError> {
    match value {
        Value::Bool(b) => Ok(Some(b)),
        Value::Nil => Ok(None),
        other => Err(type_fault(path, "boolean", &other)),
    }
}

/// A non-negative integer from `<int>`, `<i8>` or a decimal string; `None` for nil.
fn optional_integer(path: &str, value: Value) -> Result<Option<u64>, MappingError> {
    match value {
        Value::Int(i) => u64::try_from(i)
            .map(Some)
            .map_err(|_| fault(path, format!("{i} is negative"))),
        Value::String(s) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            fault(
                path,
                format!("`{}` is not a non-negative decimal integer", s.trim()),
            )
        }),
        Value::Nil => Ok(None),
        other => Err(type_fault(path, "integer", &other)),
    }
}

fn signed(path: &str, value: Value) -> Result<i64, MappingError> {
    match value {
        Value::Int(i) => Ok(i),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| fault(path, format!("`{}` is not a decimal integer", s.trim()))),
        other => Err(type_fault(path, "integer", &other)),
    }
}

fn time(path: &str, value: Value) -> Result<Option<OffsetDateTime>, MappingError> {
    match value {
        Value::DateTime(at) => Ok(Some(at)),
        Value::String(s) => parse_rfc3339(&s)
            .or_else(|| parse_xmlrpc_datetime(&s))
            .map(Some)
            .ok_or_else(|| fault(path, format!("`{s}` is not an RFC 3339 time"))),
        Value::Nil => Ok(None),
        other => Err(type_fault(path, "dateTime.iso8601", &other)),
    }
}

fn type_fault(path: &str, expected: &str, found: &Value) -> MappingError {
    fault(
        path,
        format!("expected {expected}, found {}", found.type_name()),
    )
}

/// The XML-RPC form of a wire batch (what a collector sends).
pub fn batch_to_value(batch: &proto::Batch) -> Value {
    let mut members = vec![("batch_id".to_owned(), Value::String(batch.batch_id.clone()))];
    if let Some(sequence) = batch.sequence {
        members.push(("sequence".into(), integer(sequence)));
    }
    if let Some(at) = batch
        .sent_at
        .as_ref()
        .and_then(crate::time_format::from_timestamp)
    {
        members.push(("sent_at".into(), Value::DateTime(at)));
    }
    let devices = batch.devices.iter().map(device_to_value).collect();
    members.push(("devices".into(), Value::Array(devices)));
    Value::Struct(members)
}

fn device_to_value(d: &proto::DeviceReport) -> Value {
    let mut members = Vec::new();
    if let Some(at) = d
        .observed_at
        .as_ref()
        .and_then(crate::time_format::from_timestamp)
    {
        members.push(("observed_at".to_owned(), Value::DateTime(at)));
    }
    if let Some(id) = &d.identity {
        let fields = crate::identity_fields(id);
        let id = fields
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.to_owned(), Value::String(v.clone())))
            .collect();
        members.push(("identity".into(), Value::Struct(id)));
    }
    if let Some(c) = &d.capabilities {
        let mut caps = Vec::new();
        if let Some(color) = c.color {
            caps.push(("color".to_owned(), Value::Bool(color)));
        }
        if let Some(duplex) = c.duplex {
            caps.push(("duplex".to_owned(), Value::Bool(duplex)));
        }
        if let Some(trays) = c.trays {
            caps.push(("trays".to_owned(), Value::Int(i64::from(trays))));
        }
        caps.push(("finisher".to_owned(), Value::String(c.finisher.clone())));
        members.push(("capabilities".into(), Value::Struct(caps)));
    }
    let mut counters: Vec<_> = d.counters.iter().collect();
    counters.sort();
    let counters = counters
        .into_iter()
        .map(|(k, v)| (k.clone(), integer(*v)))
        .collect();
    members.push(("counters".into(), Value::Struct(counters)));
    let supplies = d
        .supplies
        .iter()
        .map(|s| {
            Value::structure([
                ("kind", Value::String(s.kind.clone())),
                ("color", Value::String(s.color.clone())),
                ("description", Value::String(s.description.clone())),
                ("part_number", Value::String(s.part_number.clone())),
                ("level", Value::Int(s.level)),
                ("max", Value::Int(s.max)),
            ])
        })
        .collect();
    members.push(("supplies".into(), Value::Array(supplies)));
    if let Some(s) = &d.status {
        let strings =
            |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
        members.push((
            "status".into(),
            Value::structure([
                ("device", Value::String(s.device.clone())),
                ("printer", Value::String(s.printer.clone())),
                ("errors", strings(&s.errors)),
                ("display", strings(&s.display)),
            ]),
        ));
    }
    let alerts = d
        .alerts
        .iter()
        .map(|a| {
            Value::structure([
                ("severity", Value::String(a.severity.clone())),
                ("group", Value::String(a.group.clone())),
                ("code", Value::Int(a.code)),
                ("description", Value::String(a.description.clone())),
                ("index", Value::Int(a.index)),
                ("training_level", Value::String(a.training_level.clone())),
            ])
        })
        .collect();
    members.push(("alerts".into(), Value::Array(alerts)));
    Value::Struct(members)
}

/// Counters above 2^63-1 cannot be an XML-RPC integer; they travel as decimal strings.
fn integer(value: u64) -> Value {
    i64::try_from(value)
        .map(Value::Int)
        .unwrap_or_else(|_| Value::String(value.to_string()))
}

/// The XML-RPC form of the gateway's answer to `fleet.submit`.
pub fn submit_result_to_value(result: &proto::SubmitResult) -> Value {
    let rejected = result
        .rejected
        .iter()
        .map(|r| {
            Value::structure([
                ("index", Value::Int(i64::from(r.index))),
                ("reason", Value::String(r.reason.clone())),
            ])
        })
        .collect();
    Value::structure([
        ("batch_id", Value::String(result.batch_id.clone())),
        ("devices", Value::Int(i64::from(result.devices))),
        ("rows", integer(result.rows)),
        ("duplicate", Value::Bool(result.duplicate)),
        ("rejected", Value::Array(rejected)),
    ])
}
