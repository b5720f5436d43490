//! Metadata records: tenants, collectors and collector tokens.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct TenantRecord {
    pub tenant_id: u64,
    pub name: String,
    /// 0 for a top-level tenant.
    pub parent_id: u64,
    pub created_at: u32,
    pub updated_at: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct CollectorRecord {
    pub collector_id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub created_at: u32,
    pub updated_at: u32,
}

/// A collector token as stored: only its SHA-256 hash and a short prefix for listing.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_hash: String,
    pub token_prefix: String,
    pub collector_id: u64,
    pub tenant_id: u64,
    pub created_at: u32,
    pub revoked: u8,
    pub updated_at: u32,
}
