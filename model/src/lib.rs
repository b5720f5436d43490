//! Fleetmeter's domain model: identifiers, counter and supply kinds, status flags, the protobuf
//! wire schema every transport carries, its XML-RPC mapping, and the validation rules that turn a
//! wire batch into domain values.
//!
//! This crate does no I/O. The XML-RPC codec works on byte slices handed to it; the protobuf
//! types are generated from `proto/fleet/v1/*.proto` at build time with protox.

#[macro_use]
mod closed_enum;

mod alert;
mod counter;
mod identity;
mod ids;
pub mod password;
mod status;
mod supply;
pub mod time_format;
pub mod validate;
pub mod xmlrpc;

/// Types generated from `proto/fleet/v1/batch.proto`.
#[allow(
    missing_docs,
    clippy::all,
    unused_qualifications,
    missing_debug_implementations
)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/fleet.v1.rs"));
}

pub use alert::{Alert, Severity};
pub use counter::{CounterKind, StandardCounter, UnknownCounterKind};
pub use identity::{Capabilities, Identity, identity_fields, normalize_mac};
pub use ids::{BatchId, CollectorId, DeviceId, TenantId};
pub use status::{DeviceStatus, ErrorFlag, PrinterStatus, Status};
pub use supply::{LEVEL_NO_LIMIT, LEVEL_SOME_REMAINING, LEVEL_UNKNOWN, Supply, SupplyKind};
pub use validate::{DeviceReport, Limits, Rejection, ValidBatch};

/// Returned when a string names no member of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownName {
    /// What kind of name was expected, such as "supply kind".
    pub what: &'static str,
    /// The name as received (truncated to 64 characters).
    pub value: String,
}

impl UnknownName {
    pub(crate) fn new(what: &'static str, value: &str) -> Self {
        let value = value.chars().take(64).collect();
        Self { what, value }
    }
}
