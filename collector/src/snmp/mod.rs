//! SNMP as the rest of the collector sees it: object identifiers, values, credentials, and the
//! small [`SnmpEngine`]/[`SnmpSession`] traits.
//!
//! The engine behind the traits is `async-snmp` (see [`backend`]); nothing outside this module
//! names that crate, so it can be replaced by another engine without touching profiles, polling
//! or discovery.

pub mod backend;
mod oid;
pub mod snmprec;
mod walk;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

pub use oid::{Oid, OidError};
pub use walk::{WalkGuard, WalkLimits};

/// A boxed future, as the object-safe traits below return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Answers to a GET, one per requested OID (`None`: the object does not exist).
pub type Values = Vec<Option<Value>>;

/// Answers to a GETNEXT or GETBULK: the next OIDs and their values (`None`: end of the MIB).
pub type NextRows = Vec<(Oid, Option<Value>)>;

/// A value read from a device. Integer types are folded to two variants: signed `INTEGER` and
/// the unsigned application types (`Counter32`, `Gauge32`, `Unsigned32`, `Counter64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    Unsigned(u64),
    TimeTicks(u32),
    Bytes(Vec<u8>),
    Oid(Oid),
    IpAddress([u8; 4]),
    Null,
}

impl Value {
    /// The value as a signed integer, for any integer type (and a decimal string, which some
    /// agents send for numbers).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(v) => Some(*v),
            Value::Unsigned(v) => i64::try_from(*v).ok(),
            Value::TimeTicks(v) => Some(i64::from(*v)),
            Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
            _ => None,
        }
    }

    /// The raw octets of an OCTET STRING.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A short type name, for `--walk` output and error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Integer(_) => "INTEGER",
            Value::Unsigned(_) => "UNSIGNED",
            Value::TimeTicks(_) => "TimeTicks",
            Value::Bytes(_) => "OCTET STRING",
            Value::Oid(_) => "OID",
            Value::IpAddress(_) => "IpAddress",
            Value::Null => "NULL",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(v) => write!(f, "{v}"),
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::TimeTicks(v) => write!(f, "{v}"),
            Value::Bytes(b) => {
                let printable = b
                    .iter()
                    .all(|&c| c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c));
                if printable {
                    write!(f, "{}", String::from_utf8_lossy(b))
                } else {
                    write!(f, "0x{}", hex::encode(b))
                }
            }
            Value::Oid(o) => write!(f, "{o}"),
            Value::IpAddress(a) => write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
            Value::Null => f.write_str("NULL"),
        }
    }
}

/// SNMPv3 authentication protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    Md5,
    Sha,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// SNMPv3 privacy protocols. AES-192/256 use the Blumenthal key extension (net-snmp's
/// `AES192`/`AES256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    Des,
    Aes,
    Aes192,
    Aes256,
}

impl std::str::FromStr for AuthProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => AuthProtocol::Md5,
            "sha" | "sha1" => AuthProtocol::Sha,
            "sha224" => AuthProtocol::Sha224,
            "sha256" => AuthProtocol::Sha256,
            "sha384" => AuthProtocol::Sha384,
            "sha512" => AuthProtocol::Sha512,
            _ => {
                return Err(format!(
                    "unknown authentication protocol `{s}` (md5, sha, sha256, ...)"
                ));
            }
        })
    }
}

impl std::str::FromStr for PrivProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().replace('-', "").as_str() {
            "des" => PrivProtocol::Des,
            "aes" | "aes128" => PrivProtocol::Aes,
            "aes192" => PrivProtocol::Aes192,
            "aes256" => PrivProtocol::Aes256,
            _ => return Err(format!("unknown privacy protocol `{s}` (des, aes, aes256)")),
        })
    }
}

/// One set of credentials. Secrets are never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "version", rename_all = "lowercase", deny_unknown_fields)]
pub enum Credentials {
    #[serde(rename = "1")]
    V1 { community: String },
    #[serde(rename = "2c")]
    V2c { community: String },
    #[serde(rename = "3")]
    V3(UsmCredentials),
}

/// SNMPv3 user-based security settings.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsmCredentials {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_protocol: Option<AuthProtocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priv_protocol: Option<PrivProtocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priv_password: Option<String>,
    /// SNMPv3 context name; empty on almost every printer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

impl Credentials {
    /// `v2c/public`, the default when nothing is configured.
    pub fn public() -> Self {
        Credentials::V2c {
            community: "public".into(),
        }
    }

    /// A label without secrets: `v2c`, `v3 user monitor (sha256/aes)`.
    pub fn label(&self) -> String {
        match self {
            Credentials::V1 { .. } => "v1 community".into(),
            Credentials::V2c { .. } => "v2c community".into(),
            Credentials::V3(u) => {
                let auth = u.auth_protocol.map(|a| format!("{a:?}").to_lowercase());
                let privacy = u.priv_protocol.map(|p| format!("{p:?}").to_lowercase());
                format!(
                    "v3 user {} ({}/{})",
                    u.user,
                    auth.as_deref().unwrap_or("noauth"),
                    privacy.as_deref().unwrap_or("nopriv")
                )
            }
        }
    }

    /// Whether GETBULK exists in this version.
    pub fn has_bulk(&self) -> bool {
        !matches!(self, Credentials::V1 { .. })
    }

    /// Checks what the engine would otherwise reject at the first request.
    pub fn validate(&self) -> Result<(), String> {
        let Credentials::V3(u) = self else {
            return Ok(());
        };
        if u.user.is_empty() {
            return Err("SNMPv3 credentials need a user name".into());
        }
        match (&u.auth_protocol, &u.auth_password) {
            (Some(_), Some(p)) if p.len() < 8 => {
                return Err(
                    "the SNMPv3 authentication password needs at least 8 characters".into(),
                );
            }
            (Some(_), None) => {
                return Err("an authentication protocol needs --auth-password".into());
            }
            (None, Some(_)) => return Err("--auth-password needs --auth-protocol".into()),
            _ => {}
        }
        match (&u.priv_protocol, &u.priv_password) {
            (Some(_), _) if u.auth_protocol.is_none() => {
                Err("SNMPv3 privacy needs authentication as well".into())
            }
            (Some(_), Some(p)) if p.len() < 8 => {
                Err("the SNMPv3 privacy password needs at least 8 characters".into())
            }
            (Some(_), None) => Err("a privacy protocol needs --priv-password".into()),
            (None, Some(_)) => Err("--priv-password needs --priv-protocol".into()),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl fmt::Debug for UsmCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsmCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// How long to wait for a device. Printers in deep sleep take seconds for their first answer,
/// so the first request of a poll gets escalating timeouts; later requests use `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of one request after a timeout.
    pub retries: u32,
    /// Timeouts of the wake-up attempts of the first request: each attempt doubles the
    /// previous timeout, `wake_attempts` attempts in all.
    pub wake_attempts: u32,
}

impl Patience {
    /// Polling defaults: 2 s per request, 2 retries, and 3 wake-up attempts (2 s, 4 s, 8 s).
    pub const POLL: Patience = Patience {
        timeout: Duration::from_secs(2),
        retries: 2,
        wake_attempts: 3,
    };
    /// Discovery defaults: one attempt of 800 ms and one retry, so that a sweep of addresses
    /// where nothing answers ends quickly.
    pub const DISCOVERY: Patience = Patience {
        timeout: Duration::from_millis(800),
        retries: 1,
        wake_attempts: 2,
    };
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    #[error("no answer after {attempts} attempt(s)")]
    Timeout { attempts: u32 },
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("the agent answered with error status {0}")]
    Status(String),
    #[error("walk of {root} stopped: {reason}")]
    Walk { root: String, reason: String },
    #[error("network error: {0}")]
    Network(String),
    #[error("bad credentials: {0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

impl SnmpError {
    /// Whether the device simply did not answer (as opposed to answering badly).
    pub fn is_timeout(&self) -> bool {
        matches!(self, SnmpError::Timeout { .. })
    }
}

/// How the first answer of a session came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wake {
    /// Attempts the first request needed (1 = answered at once).
    pub attempts: u32,
    /// How long the first answer took.
    pub latency: Duration,
}

/// A session with one device, with credentials fixed.
pub trait SnmpSession: Send + Sync {
    /// GETs `oids`, in as few requests as the agent allows. A missing object comes back as
    /// `None`; SNMPv1's whole-PDU `noSuchName` is handled by asking one at a time.
    fn get<'a>(&'a self, oids: &'a [Oid]) -> BoxFuture<'a, Result<Values, SnmpError>>;

    /// GETs `oids` with the escalating wake-up timeouts of [`Patience`]; reports how the answer
    /// came. Use it for the first request to a device.
    fn wake<'a>(&'a self, oids: &'a [Oid]) -> BoxFuture<'a, Result<(Values, Wake), SnmpError>>;

    /// One GETNEXT (`bulk` = 0) or GETBULK request after each of `oids`.
    fn next<'a>(&'a self, oids: &'a [Oid], bulk: u32)
    -> BoxFuture<'a, Result<NextRows, SnmpError>>;

    /// The address the session talks to.
    fn peer(&self) -> SocketAddr;
}

/// Opens sessions. One engine serves every device of a collector and owns the shared socket,
/// the request rate limit and the SNMPv3 engine cache.
pub trait SnmpEngine: Send + Sync {
    fn open<'a>(
        &'a self,
        peer: SocketAddr,
        credentials: &'a Credentials,
        patience: Patience,
    ) -> BoxFuture<'a, Result<Box<dyn SnmpSession>, SnmpError>>;
}

/// Walks the subtree under `root`: GETBULK where the version has it (with `max_repetitions`),
/// GETNEXT otherwise or when `bulk` is false. The walk ends at the end of the subtree or the
/// MIB view, and stops with an error when the agent returns an OID that does not increase
/// (agents that loop) or when more than `limits.max_rows` rows come back.
pub async fn walk(
    session: &dyn SnmpSession,
    root: &Oid,
    bulk: bool,
    limits: WalkLimits,
) -> Result<Vec<(Oid, Value)>, SnmpError> {
    walk::walk(session, root, bulk, limits).await
}
