//! `fleet-collector run`: discover, poll on schedule, spool, deliver.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

mod delivery;

use crate::config::Config;
use crate::deliver::{self, Transport};
use crate::metrics as m;
use crate::poll::{PollError, Poller, Scope};
use crate::profile::Pack;
use crate::report::Report;
use crate::snmp::backend::AsyncSnmpEngine;
use crate::snmp::{Patience, SnmpEngine, WalkLimits};
use crate::spool::Spool;

/// What the collector knows about one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceState {
    pub address: SocketAddr,
    /// Index of the credential set that works.
    pub credentials: usize,
    /// `vendor|serial`, or `mac|...` without a serial; empty before the first full poll.
    pub identity: String,
    pub profile: String,
    pub failures: u32,
    pub unreachable: bool,
    pub last_report: Option<Report>,
    #[serde(skip)]
    pub last_full: Option<Instant>,
    /// The last poll of any kind, answered or not: a device that fails is not retried before
    /// the next status interval.
    #[serde(skip)]
    pub last_try: Option<Instant>,
    /// Open critical alerts already sent, by `(index, code)`.
    #[serde(skip)]
    pub sent_critical: BTreeSet<(i64, i64)>,
    pub last_error: Option<String>,
}

/// Health for the status page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    pub started: Option<String>,
    pub last_poll: Option<String>,
    pub last_poll_seconds: Option<f64>,
    pub last_poll_error: Option<String>,
    pub last_delivery: Option<String>,
    pub last_delivery_error: Option<String>,
    pub last_discovery: Option<String>,
    pub deliveries: u64,
    pub retries: u64,
    pub polls: u64,
    pub poll_failures: u64,
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The running collector.
pub struct Collector {
    pub config: RwLock<Config>,
    pub config_path: PathBuf,
    engine: Arc<dyn SnmpEngine>,
    pub pack: RwLock<Arc<Pack>>,
    pub spool: Spool,
    pub devices: Mutex<BTreeMap<SocketAddr, DeviceState>>,
    transport: RwLock<Option<Arc<dyn Transport>>>,
    pub health: Mutex<Health>,
    wake_delivery: Notify,
    /// "Send now": wakes delivery even during a backoff.
    send_now: Notify,
    pub poll_now: Notify,
    pub discover_now: Notify,
    pub stop: CancellationToken,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// When a lost device last triggered a sweep.
    last_loss_sweep: Mutex<Option<Instant>>,
}

/// A device that stops answering triggers a sweep (it may have a new address), at most this
/// often.
const LOSS_SWEEP_GAP: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("config_path", &self.config_path)
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// Opens the spool, binds the SNMP socket and loads the profiles.
    pub async fn open(config: Config, config_path: PathBuf) -> Result<Arc<Collector>, String> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("data_dir {}: {e}", config.data_dir.display()))?;
        let spool = Spool::open(
            &config.data_dir.join("spool.db"),
            config.spool.max_megabytes.saturating_mul(1 << 20),
        )
        .map_err(|e| e.to_string())?;
        let pack = Pack::load(config.profiles_dir.as_deref()).map_err(|problems| {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let engine = AsyncSnmpEngine::bind(config.snmp.requests_per_second)
            .await
            .map_err(|e| e.to_string())?
            .with_des_state(config.data_dir.join("des-salt-epoch"));
        let transport = match deliver::transport(&config.server) {
            Ok(t) => Some(Arc::from(t)),
            Err(e) => {
                tracing::warn!("delivery is off until the server is configured: {e}");
                None
            }
        };
        let devices = restore_devices(&spool);
        let collector = Arc::new(Collector {
            config: RwLock::new(config),
            config_path,
            engine: Arc::new(engine),
            pack: RwLock::new(Arc::new(pack)),
            spool,
            devices: Mutex::new(devices),
            transport: RwLock::new(transport),
            health: Mutex::new(Health {
                started: Some(now_text()),
                ..Health::default()
            }),
            wake_delivery: Notify::new(),
            send_now: Notify::new(),
            poll_now: Notify::new(),
            discover_now: Notify::new(),
            stop: CancellationToken::new(),
            metrics: m::install(),
            last_loss_sweep: Mutex::new(None),
        });
        metrics::gauge!(m::DEVICES)
            .set(collector.devices.lock().expect("not poisoned").len() as f64);
        collector.update_spool_metrics();
        Ok(collector)
    }

    pub fn config(&self) -> Config {
        self.config.read().expect("not poisoned").clone()
    }

    /// Applies a new configuration (from the status page): saved, then used.
    pub fn reconfigure(&self, config: Config) -> Result<(), String> {
        config.check()?;
        config.save(&self.config_path)?;
        if config.credentials != self.config().credentials {
            // Remembered indices may point at other sets now: start each device from the top.
            for d in self.devices.lock().expect("not poisoned").values_mut() {
                d.credentials = 0;
            }
        }
        let transport = deliver::transport(&config.server).ok().map(Arc::from);
        *self.transport.write().expect("not poisoned") = transport;
        *self.config.write().expect("not poisoned") = config;
        self.discover_now.notify_one();
        self.send_now.notify_one();
        Ok(())
    }

    /// Reloads the profile folder; on any problem the old pack stays.
    pub fn reload_profiles(&self) -> Result<(), String> {
        let dir = self.config().profiles_dir;
        let pack = Pack::load(dir.as_deref()).map_err(|problems| {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        *self.pack.write().expect("not poisoned") = Arc::new(pack);
        tracing::info!("profiles reloaded");
        Ok(())
    }

    pub fn send_now(&self) {
        self.send_now.notify_one();
    }

    /// Runs every loop until `stop` is cancelled.
    pub async fn run(self: Arc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(self.clone().discovery_loop());
        tasks.spawn(self.clone().poll_loop());
        tasks.spawn(self.clone().delivery_loop());
        self.stop.cancelled().await;
        tasks.shutdown().await;
    }

    async fn discovery_loop(self: Arc<Self>) {
        loop {
            self.discover().await;
            let hours = self.config().discovery.interval_hours.max(1);
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = self.discover_now.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(hours * 3600)) => {}
            }
        }
    }

    /// Sweeps the configured ranges and adds fixed devices to the registry.
    pub async fn discover(&self) {
        let config = self.config();
        let mut fixed = Vec::new();
        for d in &config.discovery.devices {
            if let Ok(a) = config.device_address(d) {
                fixed.push(a);
            }
        }
        let mut addresses = Vec::new();
        for r in &config.discovery.ranges {
            if let Ok(list) = crate::discover::parse_range(r) {
                addresses.extend(list);
            }
        }
        let pack = self.pack.read().expect("not poisoned").clone();
        let found = crate::discover::sweep(
            self.engine.clone(),
            pack,
            addresses,
            config.discovery.port,
            Arc::new(config.credentials.clone()),
            config.discovery.concurrency,
        )
        .await;
        let mut devices = self.devices.lock().expect("not poisoned");
        for f in &found {
            // New devices get their first full read at the next tick of the poll loop; known
            // ones keep their schedule, with the credential set that answered now.
            devices
                .entry(f.address)
                .and_modify(|d| d.credentials = f.credentials)
                .or_insert_with(|| new_device(f.address, f.credentials));
        }
        for a in fixed {
            devices.entry(a).or_insert_with(|| new_device(a, 0));
        }
        metrics::gauge!(m::DEVICES).set(devices.len() as f64);
        tracing::info!(
            found = found.len(),
            known = devices.len(),
            "discovery finished"
        );
        self.health.lock().expect("not poisoned").last_discovery = Some(now_text());
    }

    async fn poll_loop(self: Arc<Self>) {
        let mut next_boundary = self.boundary_after(jiff::Timestamp::now());
        let mut next_status = Instant::now();
        loop {
            let config = self.config();
            let full_every = Duration::from_secs(config.schedule.full_interval_hours * 3600);
            let status_every = Duration::from_secs(config.schedule.status_interval_seconds);
            let mut forced = false;
            if let Some(b) = next_boundary
                && jiff::Timestamp::now() >= b
            {
                // A billing boundary passed: read every device now.
                forced = true;
                next_boundary = self.boundary_after(jiff::Timestamp::now());
            }
            let due_full: Vec<SocketAddr> = {
                let devices = self.devices.lock().expect("not poisoned");
                devices
                    .values()
                    .filter(|d| {
                        let due = d.last_full.is_none_or(|t| t.elapsed() >= full_every);
                        let rested = d.last_try.is_none_or(|t| t.elapsed() >= status_every);
                        forced || (due && rested)
                    })
                    .map(|d| d.address)
                    .collect()
            };
            if !due_full.is_empty() {
                self.poll_round(due_full, Scope::Full).await;
            }
            if Instant::now() >= next_status {
                let all: Vec<SocketAddr> = self
                    .devices
                    .lock()
                    .expect("not poisoned")
                    .keys()
                    .copied()
                    .collect();
                if !all.is_empty() {
                    self.poll_round(all, Scope::Status).await;
                }
                next_status = Instant::now() + status_every;
            }
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = self.poll_now.notified() => {
                    // "Poll now": a full read of every device.
                    for d in self.devices.lock().expect("not poisoned").values_mut() {
                        d.last_full = None;
                        d.last_try = None;
                    }
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn boundary_after(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let config = self.config();
        if !config.schedule.billing_reads {
            return None;
        }
        let tz = jiff::tz::TimeZone::get(&config.schedule.time_zone).ok()?;
        Some(crate::schedule::next_boundary(now, &tz))
    }

    /// Polls `addresses` (bounded concurrency), spools the reports, wakes delivery.
    pub async fn poll_round(self: &Arc<Self>, addresses: Vec<SocketAddr>, scope: Scope) {
        let started = Instant::now();
        let config = self.config();
        let limit = Arc::new(Semaphore::new(config.snmp.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let count = addresses.len();
        for address in addresses {
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let this = self.clone();
            tasks.spawn(async move {
                let _permit = permit;
                (address, this.poll_one(address, scope).await)
            });
        }
        // New critical alerts first, in batches of their own, so they are delivered first.
        let mut critical = Vec::new();
        let mut reports = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok((address, Some((report, true)))) => critical.push((address, report)),
                Ok((address, Some((report, false)))) => reports.push((address, report)),
                Ok((_, None)) => {}
                Err(e) => tracing::error!("a poll task failed: {e}"),
            }
        }
        let count_reports = critical.len() + reports.len();
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!(m::POLL_SECONDS).record(seconds);
        tracing::info!(
            ?scope,
            devices = count,
            reports = count_reports,
            seconds,
            "poll round finished"
        );
        {
            let mut h = self.health.lock().expect("not poisoned");
            h.last_poll = Some(now_text());
            h.last_poll_seconds = Some(seconds);
        }
        if count_reports == 0 {
            return;
        }
        for (list, is_critical) in [(critical, true), (reports, false)] {
            for chunk in list.chunks(config.server.batch_devices) {
                let batch: Vec<Report> = chunk.iter().map(|(_, r)| r.clone()).collect();
                if let Err(e) = self.spool_batch(&batch, is_critical) {
                    tracing::error!("cannot spool {} reports: {e}", chunk.len());
                    self.health.lock().expect("not poisoned").last_poll_error = Some(e);
                    // Not spooled, so not sent: forget what these devices last reported, so
                    // that the next poll sends their state (and their critical alerts) again.
                    let mut devices = self.devices.lock().expect("not poisoned");
                    for (address, _) in chunk {
                        if let Some(d) = devices.get_mut(address) {
                            d.sent_critical.clear();
                            d.last_report = None;
                            d.last_full = None;
                        }
                    }
                }
            }
        }
        self.wake_delivery.notify_one();
    }

    /// Polls one device; returns the report to send (if any) and whether it carries a new
    /// critical alert.
    async fn poll_one(&self, address: SocketAddr, scope: Scope) -> Option<(Report, bool)> {
        let config = self.config();
        let pack = self.pack.read().expect("not poisoned").clone();
        let patience = Patience {
            timeout: Duration::from_millis(config.snmp.timeout_ms),
            retries: config.snmp.retries,
            wake_attempts: config.snmp.wake_attempts,
        };
        let poller = Poller {
            engine: &*self.engine,
            pack: &pack,
            patience,
            limits: WalkLimits::default(),
        };
        let (credentials_index, known_identity, full_needed) = {
            let mut devices = self.devices.lock().expect("not poisoned");
            let d = devices.get_mut(&address)?;
            d.last_try = Some(Instant::now());
            (d.credentials, d.identity.clone(), d.identity.is_empty())
        };
        let scope = if full_needed { Scope::Full } else { scope };
        // The remembered credential set first, then the others in order.
        let mut order: Vec<usize> = vec![credentials_index];
        order.extend((0..config.credentials.len()).filter(|i| *i != credentials_index));
        let mut result = Err(PollError::NoSystemGroup { peer: address });
        let mut used = credentials_index;
        for i in order {
            let Some(c) = config.credentials.get(i) else {
                continue;
            };
            if i != credentials_index && matches!(result, Err(PollError::Unreachable { .. })) {
                // v1/v2c agents ignore a wrong community: after silence, ask the other sets
                // with a short discovery probe first, so an offline device costs little.
                let one = std::slice::from_ref(c);
                let engine = &*self.engine;
                if crate::discover::identify(engine, &pack, address, one)
                    .await
                    .is_none()
                {
                    continue;
                }
            }
            result = poller.poll(address, c, scope).await;
            used = i;
            match &result {
                Ok(_) => break,
                Err(PollError::Snmp {
                    source: crate::snmp::SnmpError::Auth(_),
                    ..
                })
                | Err(PollError::Unreachable { .. }) => continue,
                Err(_) => break,
            }
        }
        metrics::counter!(m::POLLS).increment(1);
        {
            let mut h = self.health.lock().expect("not poisoned");
            h.polls += 1;
            h.poll_failures += u64::from(result.is_err());
        }
        let mut devices = self.devices.lock().expect("not poisoned");
        match result {
            Ok(polled) => {
                let mut report = polled.report;
                for w in &polled.warnings {
                    tracing::debug!(%address, "{w}");
                }
                let identity = identity_key(&report);
                if scope == Scope::Status
                    && !known_identity.is_empty()
                    && identity != known_identity
                    && !identity.is_empty()
                {
                    // Another device answers on this address now: read it in full next round.
                    tracing::info!(
                        %address,
                        old = known_identity,
                        new = identity,
                        "a different device answers on this address"
                    );
                    if let Some(d) = devices.get_mut(&address) {
                        d.identity.clear();
                        d.last_full = None;
                    }
                    return None;
                }
                if let Err(e) = report.validate() {
                    tracing::warn!(%address, "reading not sent: {e}");
                    if let Some(d) = devices.get_mut(&address) {
                        d.last_error = Some(e);
                    }
                    return None;
                }
                if scope == Scope::Status {
                    // Status polls carry identity from the last full read (device ids derive
                    // from it) and no counters.
                    if let Some(last) = devices.get(&address).and_then(|d| d.last_report.as_ref()) {
                        let ip = report.identity.ip.clone();
                        report.identity = last.identity.clone();
                        report.identity.ip = ip;
                    }
                }
                // The same device seen at a new address: forget the old address.
                if !identity.is_empty() {
                    let moved: Vec<SocketAddr> = devices
                        .iter()
                        .filter(|(a, d)| **a != address && d.identity == identity)
                        .map(|(a, _)| *a)
                        .collect();
                    for old in moved {
                        tracing::info!(%old, new = %address, "device moved to a new address");
                        devices.remove(&old);
                        let _ = self.spool.delete_state(&format!("device:{old}"));
                    }
                }
                let d = devices
                    .entry(address)
                    .or_insert_with(|| new_device(address, used));
                let remembered = (d.credentials, d.identity.clone());
                d.credentials = used;
                d.failures = 0;
                d.unreachable = false;
                d.profile = polled.profile;
                d.last_error = None;
                if scope == Scope::Full {
                    d.identity = identity;
                    d.last_full = Some(Instant::now());
                }
                let open: BTreeSet<(i64, i64)> = report
                    .critical_alerts()
                    .map(|a| (a.index, a.code))
                    .collect();
                let new_critical = open.difference(&d.sent_critical).next().is_some();
                d.sent_critical = open;
                let changed = d.last_report.as_ref().is_none_or(|last| {
                    last.status != report.status || last.alerts != report.alerts
                });
                let merged = merge_last(d.last_report.take(), &report, scope);
                d.last_report = Some(merged);
                // Persisted only when it changes: a write per poll would fsync for nothing.
                if remembered != (d.credentials, d.identity.clone()) {
                    save_device(&self.spool, d);
                }
                let unreachable = devices.values().filter(|d| d.unreachable).count();
                metrics::gauge!(m::DEVICES).set(devices.len() as f64);
                metrics::gauge!(m::DEVICES_UNREACHABLE).set(unreachable as f64);
                // Status polls send only what changed; full polls always send.
                (scope == Scope::Full || changed).then_some((report, new_critical))
            }
            Err(e) => {
                metrics::counter!(m::POLL_FAILURES).increment(1);
                let unreachable_after = config.snmp.unreachable_after.max(1);
                let first_failure = devices.get(&address).is_some_and(|d| d.failures == 0);
                if first_failure && !config.discovery.ranges.is_empty() {
                    let mut last = self.last_loss_sweep.lock().expect("not poisoned");
                    if last.is_none_or(|t| t.elapsed() >= LOSS_SWEEP_GAP) {
                        *last = Some(Instant::now());
                        self.discover_now.notify_one();
                    }
                }
                if let Some(d) = devices.get_mut(&address) {
                    d.failures += 1;
                    d.last_error = Some(e.to_string());
                    if d.failures >= unreachable_after && !d.unreachable {
                        d.unreachable = true;
                        tracing::warn!(%address, failures = d.failures, "device unreachable: {e}");
                        // Declared to the server as well, as a status reading: device down,
                        // printer unknown, flag `offline`, and the reason as panel text.
                        if let Some(report) = unreachable_report(d, &e) {
                            return Some((report, false));
                        }
                    }
                }
                self.health.lock().expect("not poisoned").last_poll_error = Some(e.to_string());
                None
            }
        }
    }
}

/// The status reading that declares a known device unreachable. The next answered poll
/// differs from it, so the device's real status follows as soon as it answers again.
fn unreachable_report(d: &mut DeviceState, error: &PollError) -> Option<Report> {
    let last = d.last_report.as_mut()?;
    let mut r = Report::new(time::OffsetDateTime::now_utc());
    r.identity = last.identity.clone();
    let status = crate::report::Status {
        device: "down".into(),
        printer: "unknown".into(),
        errors: vec!["offline".into()],
        display: vec![
            format!("Fleetmeter: no answer to {} polls ({error})", d.failures)
                .chars()
                .take(200)
                .collect(),
        ],
    };
    r.status = Some(status.clone());
    last.status = Some(status);
    last.alerts.clear();
    d.sent_critical.clear();
    Some(r)
}

fn new_device(address: SocketAddr, credentials: usize) -> DeviceState {
    DeviceState {
        address,
        credentials,
        identity: String::new(),
        profile: String::new(),
        failures: 0,
        unreachable: false,
        last_report: None,
        last_full: None,
        last_try: None,
        sent_critical: BTreeSet::new(),
        last_error: None,
    }
}

/// The identity the collector tracks a device by: its serial number, or its MAC address.
/// (The vendor stays out: a status poll does not read the model the brand may come from.)
pub fn identity_key(r: &Report) -> String {
    let i = &r.identity;
    if !i.serial.is_empty() {
        format!("serial|{}", i.serial)
    } else if !i.mac.is_empty() {
        format!("mac|{}", i.mac)
    } else {
        String::new()
    }
}

/// The latest full picture of a device for the status page: a status poll updates status
/// and alerts and keeps the counters and supplies of the last full read.
fn merge_last(last: Option<Report>, new: &Report, scope: Scope) -> Report {
    match (last, scope) {
        (Some(mut last), Scope::Status) => {
            last.status = new.status.clone();
            last.alerts = new.alerts.clone();
            last.observed_at = new.observed_at;
            last
        }
        _ => new.clone(),
    }
}

/// Devices are remembered in the spool's state table, so a restart keeps credentials and
/// identities (and does not take a known device for a new one).
fn save_device(spool: &Spool, d: &DeviceState) {
    #[derive(Serialize)]
    struct Saved<'a> {
        credentials: usize,
        identity: &'a str,
    }
    let value = serde_json::to_string(&Saved {
        credentials: d.credentials,
        identity: &d.identity,
    })
    .expect("serializable");
    if let Err(e) = spool.set_state(&format!("device:{}", d.address), &value) {
        tracing::warn!("cannot remember device {}: {e}", d.address);
    }
}

fn restore_devices(spool: &Spool) -> BTreeMap<SocketAddr, DeviceState> {
    #[derive(serde::Deserialize)]
    struct Saved {
        credentials: usize,
        identity: String,
    }
    let mut out = BTreeMap::new();
    let Ok(keys) = spool.state_keys("device:") else {
        return out;
    };
    for (key, value) in keys {
        let Some(addr) = key
            .strip_prefix("device:")
            .and_then(|a| a.parse::<SocketAddr>().ok())
        else {
            continue;
        };
        if let Ok(s) = serde_json::from_str::<Saved>(&value) {
            let mut d = new_device(addr, s.credentials);
            d.identity = s.identity;
            out.insert(addr, d);
        }
    }
    out
}
