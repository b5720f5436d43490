//! Reading one device: wake it, pick its profile, read what the profiles plan, evaluate.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::profile::{Pack, Profile, Snapshot, evaluate};
use crate::report::Report;
use crate::snmp::{
    self, Credentials, Oid, Patience, SnmpEngine, SnmpError, Value, Wake, WalkLimits,
};

pub use crate::profile::{Plan, Scope};

macro_rules! oid_const {
    ($name:ident, $($arc:expr),+) => {
        pub static $name: std::sync::LazyLock<Oid> =
            std::sync::LazyLock::new(|| Oid::new(vec![$($arc),+]));
    };
}

oid_const!(SYS_DESCR, 1, 3, 6, 1, 2, 1, 1, 1, 0);
oid_const!(SYS_OBJECT_ID, 1, 3, 6, 1, 2, 1, 1, 2, 0);
oid_const!(SYS_UPTIME, 1, 3, 6, 1, 2, 1, 1, 3, 0);
oid_const!(HR_DEVICE_TYPE_1, 1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 2, 1);
oid_const!(PRT_GENERAL_SERIAL, 1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 17, 1);
oid_const!(HR_DEVICE_PRINTER, 1, 3, 6, 1, 2, 1, 25, 3, 1, 5);
oid_const!(PRINTER_MIB, 1, 3, 6, 1, 2, 1, 43);

/// A device that answered slowly, or only after a retry, is asleep rather than unreachable.
pub const SLOW_ANSWER: Duration = Duration::from_millis(1500);

/// The outcome of one poll.
#[derive(Debug, Clone)]
pub struct Polled {
    pub report: Report,
    /// The vendor profile that matched (`generic` when none did).
    pub profile: String,
    pub wake: Wake,
    /// Parts that could not be read (the rest of the report is still good).
    pub warnings: Vec<String>,
    /// Everything read, for `probe --walk`.
    pub snapshot: Snapshot,
    pub elapsed: Duration,
}

/// Why a poll produced no report.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PollError {
    #[error("no answer from {peer}: {source}")]
    Unreachable { peer: SocketAddr, source: SnmpError },
    #[error("{peer}: {source}")]
    Snmp { peer: SocketAddr, source: SnmpError },
    #[error("{peer} answers SNMP but has no system group (sysDescr/sysObjectID)")]
    NoSystemGroup { peer: SocketAddr },
}

impl PollError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, PollError::Unreachable { .. })
    }
}

/// Reads devices with a profile pack through an SNMP engine.
pub struct Poller<'a> {
    pub engine: &'a dyn SnmpEngine,
    pub pack: &'a Pack,
    pub patience: Patience,
    pub limits: WalkLimits,
}

impl std::fmt::Debug for Poller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("patience", &self.patience)
            .finish_non_exhaustive()
    }
}

impl Poller<'_> {
    /// Polls `peer` with `credentials`.
    pub async fn poll(
        &self,
        peer: SocketAddr,
        credentials: &Credentials,
        scope: Scope,
    ) -> Result<Polled, PollError> {
        let started = Instant::now();
        let session = self
            .engine
            .open(peer, credentials, self.patience)
            .await
            .map_err(|source| PollError::Snmp { peer, source })?;
        let system = [SYS_DESCR.clone(), SYS_OBJECT_ID.clone(), SYS_UPTIME.clone()];
        let (values, wake) = session.wake(&system).await.map_err(|source| {
            if source.is_timeout() {
                PollError::Unreachable { peer, source }
            } else {
                PollError::Snmp { peer, source }
            }
        })?;
        let mut snapshot = Snapshot::default();
        for (oid, v) in system.iter().zip(values) {
            if let Some(v) = v {
                snapshot.values.insert(oid.clone(), v);
            }
        }
        let sys_object_id = match snapshot.get(&SYS_OBJECT_ID) {
            Some(Value::Oid(o)) => Some(o.clone()),
            _ => None,
        };
        let sys_descr = snapshot
            .get(&SYS_DESCR)
            .map(|v| crate::profile::transform::text_of(v, Default::default()))
            .unwrap_or_default();
        if sys_object_id.is_none() && sys_descr.is_empty() {
            return Err(PollError::NoSystemGroup { peer });
        }

        let mut warnings = Vec::new();
        let vendor = self
            .choose(&*session, sys_object_id.as_ref(), &sys_descr)
            .await;
        let profiles: Vec<&Profile> = std::iter::once(&self.pack.generic).chain(vendor).collect();
        let plan = Plan::for_profiles(&profiles, scope);
        for chunk in plan.gets.chunks(16) {
            match session.get(chunk).await {
                Ok(values) => {
                    for (oid, v) in chunk.iter().zip(values) {
                        if let Some(v) = v {
                            snapshot.values.insert(oid.clone(), v);
                        }
                    }
                }
                Err(e) => warnings.push(format!("GET of {} objects: {e}", chunk.len())),
            }
        }
        let mut bulk = credentials.has_bulk() && vendor.is_none_or(|v| v.profile.bulk);
        let mut limits = self.limits;
        if let Some(r) = vendor.and_then(|v| v.profile.max_repetitions) {
            limits.max_repetitions = r;
        }
        for root in &plan.walks {
            let mut result = snmp::walk(&*session, root, bulk, limits).await;
            if bulk && result.is_err() {
                // GETBULK misbehaves on this agent (a wrong answer, or none: some agents drop
                // GETBULK silently): fall back to GETNEXT for the rest of the poll.
                bulk = false;
                result = snmp::walk(&*session, root, false, limits).await;
            }
            match result {
                Ok(rows) => snapshot.values.extend(rows),
                Err(e) if e.is_timeout() => {
                    // Silent even to GETNEXT: the device went away mid-poll. Keep what was read.
                    warnings.push(format!(
                        "walk of {root}: {e}; the remaining walks were skipped"
                    ));
                    break;
                }
                Err(e) => warnings.push(format!("walk of {root}: {e}")),
            }
        }

        let now = time::OffsetDateTime::now_utc();
        let mut report = evaluate(&self.pack.generic, vendor, &snapshot, now, scope);
        report.identity.ip = peer.ip().to_string();
        if report.identity.vendor.is_empty() {
            report.identity.vendor = "unknown".into();
        }
        let asleep = wake.attempts > 1 || wake.latency >= SLOW_ANSWER;
        if let Some(st) = report.status.as_mut() {
            let standby = st.device == "running" && st.printer == "other";
            if (asleep || standby) && !st.errors.iter().any(|e| e == "asleep") {
                st.errors.push("asleep".into());
                st.errors.sort();
            }
        }
        Ok(Polled {
            report,
            profile: vendor
                .map_or("generic", |v| v.profile.name.as_str())
                .to_owned(),
            wake,
            warnings,
            snapshot,
            elapsed: started.elapsed(),
        })
    }

    /// The best vendor profile whose probe OID (if any) answers.
    async fn choose(
        &self,
        session: &dyn snmp::SnmpSession,
        sys_object_id: Option<&Oid>,
        sys_descr: &str,
    ) -> Option<&Profile> {
        for p in self.pack.candidates(sys_object_id, sys_descr) {
            let Some(probe) = &p.matcher.probe else {
                return Some(p);
            };
            if let Ok(v) = session.get(std::slice::from_ref(probe)).await
                && v.first().is_some_and(Option::is_some)
            {
                return Some(p);
            }
        }
        None
    }
}
