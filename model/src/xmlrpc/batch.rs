//! The XML-RPC form of a batch: a struct with the protobuf member names.
//!
//! `counters` is a struct of kind to value; integers may be sent as `<int>`, `<i4>`, `<i8>` or a
//! decimal `<string>` (Python's client cannot send integers above 2^31-1); times as
//! `<dateTime.iso8601>` (UTC) or as an RFC 3339 string with an offset; `<nil/>` anywhere means
//! "absent". Unknown members are refused so that a misspelt member is not lost silently.
//!
//! A structural fault in the envelope refuses the whole batch. A fault inside one device report
//! rejects that report alone, like a validation failure.

use std::fmt;

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

/// Where a value sits in the batch, such as `supplies[0].level`. Formatted only when an error
/// names it, so reading a valid batch builds no path strings.
#[derive(Clone, Copy)]
struct At<'a> {
    parent: Option<&'a At<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl<'a> At<'a> {
    fn root(name: &'a str) -> At<'a> {
        At {
            parent: None,
            name,
            index: None,
        }
    }

    fn child(&'a self, name: &'a str) -> At<'a> {
        At {
            parent: Some(self),
            name,
            index: None,
        }
    }

    fn item(&'a self, index: usize) -> At<'a> {
        At {
            parent: Some(self),
            name: "",
            index: Some(index),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
            if !self.name.is_empty() {
                f.write_str(".")?;
            }
        }
        f.write_str(self.name)?;
        match self.index {
            Some(i) => write!(f, "[{i}]"),
            None => Ok(()),
        }
    }
}

fn fault(at: At<'_>, message: impl Into<String>) -> MappingError {
    MappingError {
        path: at.to_string(),
        message: message.into(),
    }
}

/// A wire batch from its XML-RPC form. The envelope's `devices` stays empty; each device report
/// is returned in order, as a report or as the reason it could not be read.
pub type MappedBatch = (proto::Batch, Vec<Result<proto::DeviceReport, String>>);

/// Reads a batch from its XML-RPC value.
pub fn batch_from_value(value: Value) -> Result<MappedBatch, MappingError> {
    let root = At::root("batch");
    let Value::Struct(members) = value else {
        return Err(type_fault(root, "a struct", &value));
    };
    let mut batch = proto::Batch::default();
    let mut devices = Vec::new();
    for (name, value) in members {
        let at = At::root(&name);
        match name.as_str() {
            "batch_id" => batch.batch_id = string(at, value)?,
            "sequence" => batch.sequence = optional_integer(at, value)?,
            "sent_at" => batch.sent_at = time(at, value)?.map(to_timestamp),
            "devices" => {
                devices = list(at, value)?
                    .into_iter()
                    .map(|item| device_from_value(item).map_err(|e| e.to_string()))
                    .collect();
            }
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok((batch, devices))
}

fn device_from_value(value: Value) -> Result<proto::DeviceReport, MappingError> {
    let members = members_of(At::root("device"), value)?;
    let mut report = proto::DeviceReport::default();
    for (name, value) in members {
        let at = At::root(&name);
        match name.as_str() {
            "observed_at" => report.observed_at = time(at, value)?.map(to_timestamp),
            "identity" => report.identity = Some(identity(at, value)?),
            "capabilities" if matches!(value, Value::Nil) => {}
            "capabilities" => report.capabilities = Some(capabilities(at, value)?),
            "counters" => {
                for (kind, value) in members_of(at, value)? {
                    let at = at.child(&kind);
                    let count = optional_integer(at, value)?
                        .ok_or_else(|| fault(at, "expected an integer, found nil"))?;
                    report.counters.insert(kind, count);
                }
            }
            "supplies" => {
                for (i, item) in list(at, value)?.into_iter().enumerate() {
                    report.supplies.push(supply(at.item(i), item)?);
                }
            }
            "status" if matches!(value, Value::Nil) => {}
            "status" => report.status = Some(status(at, value)?),
            "alerts" => {
                for (i, item) in list(at, value)?.into_iter().enumerate() {
                    report.alerts.push(alert(at.item(i), item)?);
                }
            }
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok(report)
}

fn identity(at: At<'_>, value: Value) -> Result<proto::Identity, MappingError> {
    let mut id = proto::Identity::default();
    for (name, value) in members_of(at, value)? {
        let at = at.child(&name);
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
            _ => return Err(fault(at, "unknown member")),
        };
        *field = string(at, value)?;
    }
    Ok(id)
}

fn capabilities(at: At<'_>, value: Value) -> Result<proto::Capabilities, MappingError> {
    let mut caps = proto::Capabilities::default();
    for (name, value) in members_of(at, value)? {
        let at = at.child(&name);
        match name.as_str() {
            "color" => caps.color = boolean(at, value)?,
            "duplex" => caps.duplex = boolean(at, value)?,
            "trays" => {
                caps.trays = optional_integer(at, value)?
                    .map(|t| i32::try_from(t).map_err(|_| fault(at, "out of range")))
                    .transpose()?;
            }
            "finisher" => caps.finisher = string(at, value)?,
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok(caps)
}

fn supply(at: At<'_>, value: Value) -> Result<proto::Supply, MappingError> {
    let mut supply = proto::Supply::default();
    for (name, value) in members_of(at, value)? {
        let at = at.child(&name);
        match name.as_str() {
            "kind" => supply.kind = string(at, value)?,
            "color" => supply.color = string(at, value)?,
            "description" => supply.description = string(at, value)?,
            "part_number" => supply.part_number = string(at, value)?,
            "level" => supply.level = signed(at, value)?,
            "max" => supply.max = signed(at, value)?,
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok(supply)
}

fn status(at: At<'_>, value: Value) -> Result<proto::Status, MappingError> {
    let mut status = proto::Status::default();
    for (name, value) in members_of(at, value)? {
        let at = at.child(&name);
        match name.as_str() {
            "device" => status.device = string(at, value)?,
            "printer" => status.printer = string(at, value)?,
            "errors" => status.errors = strings(at, value)?,
            "display" => status.display = strings(at, value)?,
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok(status)
}

fn alert(at: At<'_>, value: Value) -> Result<proto::Alert, MappingError> {
    let mut alert = proto::Alert::default();
    for (name, value) in members_of(at, value)? {
        let at = at.child(&name);
        match name.as_str() {
            "severity" => alert.severity = string(at, value)?,
            "group" => alert.group = string(at, value)?,
            "code" => alert.code = signed(at, value)?,
            "description" => alert.description = string(at, value)?,
            "index" => alert.index = signed(at, value)?,
            "training_level" => alert.training_level = string(at, value)?,
            _ => return Err(fault(at, "unknown member")),
        }
    }
    Ok(alert)
}

fn members_of(at: At<'_>, value: Value) -> Result<Vec<(String, Value)>, MappingError> {
    match value {
        Value::Struct(members) => Ok(members),
        Value::Nil => Ok(Vec::new()),
        other => Err(type_fault(at, "struct", &other)),
    }
}

fn list(at: At<'_>, value: Value) -> Result<Vec<Value>, MappingError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(type_fault(at, "array", &other)),
    }
}

fn string(at: At<'_>, value: Value) -> Result<String, MappingError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Nil => Ok(String::new()),
        other => Err(type_fault(at, "string", &other)),
    }
}

fn strings(at: At<'_>, value: Value) -> Result<Vec<String>, MappingError> {
    list(at, value)?
        .into_iter()
        .enumerate()
        .map(|(i, item)| string(at.item(i), item))
        .collect()
}

fn boolean(at: At<'_>, value: Value) -> Result<Option<bool>, MappingError> {
    match value {
        Value::Bool(b) => Ok(Some(b)),
        Value::Nil => Ok(None),
        other => Err(type_fault(at, "boolean", &other)),
    }
}

/// A non-negative integer from `<int>`, `<i8>` or a decimal string; `None` for nil.
fn optional_integer(at: At<'_>, value: Value) -> Result<Option<u64>, MappingError> {
    match value {
        Value::Int(i) => u64::try_from(i)
            .map(Some)
            .map_err(|_| fault(at, format!("{i} is negative"))),
        Value::String(s) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            fault(
                at,
                format!("`{}` is not a non-negative decimal integer", s.trim()),
            )
        }),
        Value::Nil => Ok(None),
        other => Err(type_fault(at, "integer", &other)),
    }
}

fn signed(at: At<'_>, value: Value) -> Result<i64, MappingError> {
    match value {
        Value::Int(i) => Ok(i),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| fault(at, format!("`{}` is not a decimal integer", s.trim()))),
        other => Err(type_fault(at, "integer", &other)),
    }
}

fn time(at: At<'_>, value: Value) -> Result<Option<OffsetDateTime>, MappingError> {
    match value {
        Value::DateTime(t) => Ok(Some(t)),
        Value::String(s) => parse_rfc3339(&s)
            .or_else(|| parse_xmlrpc_datetime(&s))
            .map(Some)
            .ok_or_else(|| fault(at, format!("`{s}` is not an RFC 3339 time"))),
        Value::Nil => Ok(None),
        other => Err(type_fault(at, "dateTime.iso8601", &other)),
    }
}

fn type_fault(at: At<'_>, expected: &str, found: &Value) -> MappingError {
    fault(
        at,
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
