//! The collector's configuration file (TOML). Every setting and its default is listed in
//! `docs/collector.md`. Unknown keys are refused, so a misspelt setting is not silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::deliver::Kind;
use crate::snmp::Credentials;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the spool and state live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub discovery: DiscoveryConfig,
    /// Credential sets tried in order per device; the first that works is remembered.
    #[serde(default = "default_credentials")]
    pub credentials: Vec<Credentials>,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub snmp: SnmpConfig,
    #[serde(default)]
    pub spool: SpoolConfig,
    #[serde(default)]
    pub status_page: StatusPageConfig,
    /// A folder of profiles that override and extend the built-in pack (reloaded on SIGHUP).
    #[serde(default)]
    pub profiles_dir: Option<PathBuf>,
    /// `data_dir` as written in the file, which `save` writes back (a relative folder stays
    /// relative).
    #[serde(skip)]
    pub written_data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The gateway, such as `https://ingest.example.com:8443`.
    #[serde(default)]
    pub url: String,
    /// The collector token from `fleet-ingest token create`.
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub transport: Kind,
    /// A PEM file of extra trusted CA certificates (beside the system roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// An HTTP proxy for the protobuf and xmlrpc transports (`http://proxy:3128`).
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Device reports per batch.
    #[serde(default = "default_batch_devices")]
    pub batch_devices: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// CIDR blocks or address ranges to sweep (`192.168.1.0/24`, `10.0.0.5-10.0.0.90`).
    #[serde(default)]
    pub ranges: Vec<String>,
    /// Fixed device addresses (`192.168.1.20` or `192.168.1.20:1161`), polled without a sweep.
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Hours between sweeps.
    #[serde(default = "default_sweep_hours")]
    pub interval_hours: u64,
    /// Addresses asked at once during a sweep.
    #[serde(default = "default_sweep_concurrency")]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Hours between full reports (inventory, counters, supplies): 1 to 24.
    #[serde(default = "default_full_hours")]
    pub full_interval_hours: u64,
    /// Seconds between status and alert polls.
    #[serde(default = "default_status_seconds")]
    pub status_interval_seconds: u64,
    /// The time zone of the billing boundaries (IANA name).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Extra full reads at midnight on the first of each month (and so at quarter ends).
    #[serde(default = "yes")]
    pub billing_reads: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpConfig {
    /// Timeout of one request, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Attempts of the first request of a poll, each with twice the previous timeout.
    #[serde(default = "default_wake_attempts")]
    pub wake_attempts: u32,
    /// Requests per second across all devices.
    #[serde(default = "default_rate")]
    pub requests_per_second: u32,
    /// Devices polled at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Consecutive failed polls before a device is reported unreachable.
    #[serde(default = "default_unreachable_after")]
    pub unreachable_after: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// Size cap of the spooled batches; past it the oldest non-critical batches are dropped.
    #[serde(default = "default_spool_mb")]
    pub max_megabytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// Loopback only: anything else is refused.
    #[serde(default = "default_status_listen")]
    pub listen: SocketAddr,
    /// Argon2 hash set by `fleet-collector set-password`; without it the page shows only a
    /// notice to set one.
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("fleet-collector-data")
}
fn default_credentials() -> Vec<Credentials> {
    vec![Credentials::public()]
}
fn default_timeout() -> u64 {
    30
}
fn default_batch_devices() -> usize {
    500
}
fn default_port() -> u16 {
    161
}
fn default_sweep_hours() -> u64 {
    24
}
fn default_sweep_concurrency() -> usize {
    1024
}
fn default_full_hours() -> u64 {
    3
}
fn default_status_seconds() -> u64 {
    60
}
fn default_time_zone() -> String {
    "UTC".into()
}
fn default_timeout_ms() -> u64 {
    2000
}
fn default_retries() -> u32 {
    2
}
fn default_wake_attempts() -> u32 {
    3
}
fn default_rate() -> u32 {
    5000
}
fn default_concurrency() -> usize {
    64
}
fn default_unreachable_after() -> u32 {
    3
}
fn default_spool_mb() -> u64 {
    256
}
fn default_status_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 52005))
}

macro_rules! default_from_serde {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                toml::from_str("").expect("every field has a default")
            }
        }
    )*};
}
default_from_serde!(
    ServerConfig,
    DiscoveryConfig,
    ScheduleConfig,
    SnmpConfig,
    SpoolConfig,
    StatusPageConfig,
    Config
);

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // A relative data folder is relative to the configuration file.
        config.written_data_dir = Some(config.data_dir.clone());
        if config.data_dir.is_relative()
            && let Some(parent) = path.parent()
        {
            config.data_dir = parent.join(&config.data_dir);
        }
        config
            .check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// Semantic checks; the message names the setting.
    pub fn check(&self) -> Result<(), String> {
        let s = &self.schedule;
        if !(1..=24).contains(&s.full_interval_hours) {
            return Err(format!(
                "schedule.full_interval_hours = {} (allowed: 1 to 24)",
                s.full_interval_hours
            ));
        }
        if !(10..=3600).contains(&s.status_interval_seconds) {
            return Err(format!(
                "schedule.status_interval_seconds = {} (allowed: 10 to 3600)",
                s.status_interval_seconds
            ));
        }
        jiff::tz::TimeZone::get(&s.time_zone)
            .map_err(|e| format!("schedule.time_zone `{}`: {e}", s.time_zone))?;
        if !self.status_page.listen.ip().is_loopback() {
            return Err(format!(
                "status_page.listen = {}: the status page binds loopback addresses only",
                self.status_page.listen
            ));
        }
        if self.credentials.is_empty() {
            return Err("credentials: at least one credential set is needed".into());
        }
        for (i, c) in self.credentials.iter().enumerate() {
            c.validate().map_err(|e| format!("credentials[{i}]: {e}"))?;
        }
        for r in &self.discovery.ranges {
            crate::discover::parse_range(r).map_err(|e| format!("discovery.ranges: {e}"))?;
        }
        for d in &self.discovery.devices {
            self.device_address(d)?;
        }
        if self.snmp.timeout_ms < 100 || self.snmp.timeout_ms > 60_000 {
            return Err(format!(
                "snmp.timeout_ms = {} (allowed: 100 to 60000)",
                self.snmp.timeout_ms
            ));
        }
        if self.snmp.retries > 10 || !(1..=6).contains(&self.snmp.wake_attempts) {
            return Err(format!(
                "snmp.retries = {} (allowed: 0 to 10), snmp.wake_attempts = {} (allowed: 1 to 6)",
                self.snmp.retries, self.snmp.wake_attempts
            ));
        }
        if self.snmp.concurrency == 0 || self.snmp.requests_per_second == 0 {
            return Err("snmp.concurrency and snmp.requests_per_second must be above 0".into());
        }
        if self.server.batch_devices == 0 {
            return Err("server.batch_devices must be above 0".into());
        }
        Ok(())
    }

    /// A fixed device address with the default port filled in.
    pub fn device_address(&self, s: &str) -> Result<SocketAddr, String> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(a);
        }
        s.parse::<std::net::IpAddr>()
            .map(|ip| SocketAddr::new(ip, self.discovery.port))
            .map_err(|_| format!("discovery.devices: `{s}` is not an address"))
    }

    /// Writes the configuration back (the status page's edits), atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let mut written = self.clone();
        if let Some(d) = &self.written_data_dir {
            written.data_dir = d.clone();
        }
        let text = toml::to_string_pretty(&written).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("toml.tmp");
        let fail = |e: std::io::Error| format!("{}: {e}", tmp.display());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The file holds the token and the SNMP secrets: readable by its owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(fail)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.schedule.full_interval_hours, 3);
        assert_eq!(c.schedule.status_interval_seconds, 60);
        assert_eq!(c.status_page.listen.to_string(), "127.0.0.1:52005");
        assert_eq!(c.credentials, vec![Credentials::public()]);
        c.check().unwrap();
        let bad = |t: &str| {
            toml::from_str::<Config>(t)
                .map_err(|e| e.to_string())
                .and_then(|c| c.check())
        };
        assert!(
            bad("[schedule]\nfull_interval_hours = 30")
                .unwrap_err()
                .contains("1 to 24")
        );
        assert!(
            bad("[status_page]\nlisten = \"0.0.0.0:52005\"")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(
            bad("[schedule]\ntime_zone = \"Mars/Olympus\"")
                .unwrap_err()
                .contains("Mars")
        );
        assert!(
            bad("[server]\nurl_typo = \"x\"")
                .unwrap_err()
                .contains("url_typo")
        );
        let v3 = "[[credentials]]\nversion = \"3\"\nuser = \"u\"\n\
                  auth_protocol = \"sha256\"\nauth_password = \"short\"";
        assert!(bad(v3).unwrap_err().contains("8 characters"));
        let ok = "[[credentials]]\nversion = \"3\"\nuser = \"u\"\nauth_protocol = \"sha\"\n\
                  auth_password = \"longenough\"\npriv_protocol = \"aes\"\n\
                  priv_password = \"longenough\"";
        bad(ok).unwrap();
        let round = toml::to_string_pretty(&toml::from_str::<Config>(ok).unwrap()).unwrap();
        assert!(round.contains("priv_protocol = \"aes\""), "{round}");
    }
}
