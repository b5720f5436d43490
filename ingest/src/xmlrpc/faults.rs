//! The XML-RPC fault codes: the one place where gateway errors become faults. The table is
//! documented in `docs/ingest-api.md`.

use crate::error::IngestError;

/// The token is missing, unknown or revoked.
pub const BAD_TOKEN: i32 = 1;
/// The request is not a well-formed XML-RPC call or a parameter has the wrong shape.
pub const MALFORMED: i32 = 2;
/// The batch envelope failed validation (batch id, sent_at, device count).
pub const INVALID_BATCH: i32 = 3;
/// The request body is above the limit.
pub const TOO_LARGE: i32 = 4;
/// The caller sends too fast; retry later.
pub const RATE_LIMITED: i32 = 5;
/// The gateway cannot commit now (queue full, ClickHouse failing); retry later.
pub const UNAVAILABLE: i32 = 6;
/// No such method.
pub const UNKNOWN_METHOD: i32 = 7;
/// Wrong number or types of parameters.
pub const BAD_PARAMS: i32 = 8;

/// The fault code and message of an error.
pub fn fault_of(error: &IngestError) -> (i32, String) {
    let code = match error {
        IngestError::BadToken => BAD_TOKEN,
        IngestError::Malformed(_) => MALFORMED,
        IngestError::InvalidBatch(_) => INVALID_BATCH,
        IngestError::TooLarge { .. } => TOO_LARGE,
        IngestError::RateLimited { .. } => RATE_LIMITED,
        IngestError::Unavailable { .. } => UNAVAILABLE,
    };
    (code, error.to_string())
}
