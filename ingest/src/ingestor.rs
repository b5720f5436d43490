//! The transport-independent path of a batch: authenticate, rate-limit, validate, deduplicate,
//! turn into rows, commit, answer. Every front end (XML-RPC, protobuf, gRPC) calls
//! [`Ingestor::submit`] with the wire batch it decoded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use fleet_model::validate::{Rejection, ValidBatch, validate_parts};
use fleet_model::{DeviceId, proto};
use fleet_store::{BatchRow, DeviceRow, KnownDevice, Origin, RowSet, Store, datetime};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::future::Cache;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::auth::{Authenticator, Principal};
use crate::commit::Committer;
use crate::config::FileConfig;
use crate::error::IngestError;
use crate::ledger::{Accepted, BatchKey, LedgerLookup};
use crate::metrics as m;

/// Which front end a batch came through; recorded in `batches.transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    XmlRpc,
    Protobuf,
    Grpc,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::XmlRpc => "xmlrpc",
            Transport::Protobuf => "protobuf",
            Transport::Grpc => "grpc",
        }
    }
}

/// A decoded batch: the envelope, and each device report or the reason it could not be read.
#[derive(Debug)]
pub struct Submission {
    pub envelope: proto::Batch,
    pub devices: Vec<Result<proto::DeviceReport, String>>,
}

impl Submission {
    /// A protobuf batch, whose device reports were all read.
    pub fn from_proto(mut batch: proto::Batch) -> Submission {
        let devices = std::mem::take(&mut batch.devices)
            .into_iter()
            .map(Ok)
            .collect();
        Submission {
            envelope: batch,
            devices,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Inventory {
    hash: u64,
    first_seen: u32,
    written_at: u32,
}

/// Shared state of the gateway's request path.
pub struct Ingestor {
    store: Store,
    auth: Authenticator,
    committer: Committer,
    ledger: LedgerLookup,
    limits: fleet_model::Limits,
    per_collector: DefaultKeyedRateLimiter<u64>,
    in_flight: Mutex<HashMap<BatchKey, watch::Receiver<Option<bool>>>>,
    accepted: Cache<BatchKey, Accepted>,
    sequences: Cache<(u64, u64), u64>,
    inventory: Cache<(u64, u64), Inventory>,
    inventory_refresh: u32,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Removes a batch from the in-flight map when its request ends, however it ends, and tells
/// concurrent resubmissions whether it was committed.
struct InFlight<'a> {
    ingestor: &'a Ingestor,
    key: BatchKey,
    done: watch::Sender<Option<bool>>,
    committed: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.ingestor
            .in_flight
            .lock()
            .expect("not poisoned")
            .remove(&self.key);
        let _ = self.done.send(Some(self.committed));
    }
}

impl Ingestor {
    pub fn new(store: Store, committer: Committer, config: &FileConfig) -> Ingestor {
        let rate =
            NonZeroU32::new(config.rate_limit.collector_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_limit.collector_burst).unwrap_or(NonZeroU32::MIN);
        Ingestor {
            auth: Authenticator::new(store.clone(), &config.auth, &config.rate_limit),
            ledger: LedgerLookup::start(store.clone()),
            store,
            committer,
            limits: config.limits.validation(),
            per_collector: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            in_flight: Mutex::new(HashMap::new()),
            accepted: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            sequences: Cache::builder().max_capacity(100_000).build(),
            inventory: Cache::builder()
                .max_capacity(config.auth.inventory_cache_capacity)
                .build(),
            inventory_refresh: config.auth.inventory_refresh_secs.min(u64::from(u32::MAX)) as u32,
        }
    }

    pub fn committer(&self) -> &Committer {
        &self.committer
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Drops idle rate-limiter state; run periodically.
    pub fn prune_rate_limiters(&self) {
        self.per_collector.retain_recent();
        self.per_collector.shrink_to_fit();
        let failed = self.auth.failed_auth_limiter();
        failed.retain_recent();
        failed.shrink_to_fit();
    }

    /// Authenticates a token alone, for `fleet.ping`.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        peer: Option<IpAddr>,
    ) -> Result<Principal, IngestError> {
        self.auth.authenticate(token, peer).await
    }

    /// Stores one batch and answers for it.
    pub async fn submit(
        &self,
        token: Option<&str>,
        peer: Option<IpAddr>,
        transport: Transport,
        submission: Submission,
    ) -> Result<proto::SubmitResult, IngestError> {
        let principal = self.auth.authenticate(token, peer).await?;
        if let Err(not_until) = self.per_collector.check_key(&principal.collector.0) {
            metrics::counter!(m::RATE_LIMITED, "kind" => "collector").increment(1);
            let retry_after = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(IngestError::RateLimited { retry_after });
        }

        let now = OffsetDateTime::now_utc();
        let batch = validate_parts(submission.envelope, submission.devices, now, &self.limits)
            .map_err(|e| IngestError::InvalidBatch(e.to_string()))?;
        let key = (principal.tenant.0, principal.collector.0, batch.batch_id);

        // Idempotency: a batch in flight is waited for; a batch already stored is acknowledged
        // as a duplicate. Only one request at a time may commit a given batch id.
        let guard = loop {
            if let Some(previous) = self.previously_accepted(key).await? {
                return Ok(duplicate_result(&batch, previous));
            }
            let waiting = {
                let mut in_flight = self.in_flight.lock().expect("not poisoned");
                match in_flight.get(&key) {
                    Some(receiver) => Some(receiver.clone()),
                    None => {
                        let (done, receiver) = watch::channel(None);
                        in_flight.insert(key, receiver);
                        break InFlight {
                            ingestor: self,
                            key,
                            done,
                            committed: false,
                        };
                    }
                }
            };
            if let Some(mut receiver) = waiting {
                let _ = receiver.wait_for(Option::is_some).await;
            }
        };

        // A request that committed this batch may have finished between our lookup and taking
        // the slot; it records the batch as accepted before it releases the slot.
        if let Some(previous) = self.accepted.get(&guard.key).await {
            return Ok(duplicate_result(&batch, previous));
        }
        self.store_batch(principal, transport, now, batch, guard)
            .await
    }

    async fn previously_accepted(&self, key: BatchKey) -> Result<Option<Accepted>, IngestError> {
        if let Some(accepted) = self.accepted.get(&key).await {
            return Ok(Some(accepted));
        }
        let found = self.ledger.find(key).await?;
        if let Some(accepted) = found {
            self.accepted.insert(key, accepted).await;
        }
        Ok(found)
    }

    async fn store_batch(
        &self,
        principal: Principal,
        transport: Transport,
        now: OffsetDateTime,
        batch: ValidBatch,
        mut guard: InFlight<'_>,
    ) -> Result<proto::SubmitResult, IngestError> {
        let origin = Origin {
            tenant: principal.tenant,
            collector: principal.collector,
            received_at: now,
        };

        // Rows for every valid device report, and an inventory row where it changed.
        let mut rows = RowSet::default();
        let mut latest: HashMap<u64, usize> = HashMap::new();
        let mut ids = Vec::with_capacity(batch.devices.len());
        for (i, report) in batch.devices.iter().enumerate() {
            let id = DeviceId::derive(
                principal.tenant,
                &report.identity.vendor,
                &report.identity.serial,
                &report.identity.mac,
            )
            .expect("validation requires a serial or a MAC");
            rows.push_report(origin, id, report);
            let newest = latest.entry(id.0).or_insert(i);
            if batch.devices[*newest].observed_at < report.observed_at {
                *newest = i;
            }
            ids.push(id);
        }
        let inventory = self.inventory_rows(origin, &batch, &latest).await?;
        rows.devices = inventory.iter().map(|(row, _)| row.clone()).collect();

        // The ledger row, with the gap since the collector's last sequence number.
        let sequence_gap = self.sequence_gap(principal, batch.sequence).await?;
        let data_rows = rows.data_rows() as u64;
        rows.batches.push(BatchRow {
            tenant_id: principal.tenant.0,
            collector_id: principal.collector.0,
            batch_id: batch.batch_id.to_string(),
            sequence: batch.sequence,
            sequence_gap,
            sent_at: datetime(batch.sent_at),
            received_at: datetime(now),
            devices: batch.devices.len() as u32,
            rejected: batch.rejected.len() as u32,
            rows: data_rows,
            transport: transport.as_str().to_owned(),
        });

        self.committer.commit(rows).await?;
        guard.committed = true;

        // Remember what is now stored.
        let key = guard.key;
        self.accepted
            .insert(
                key,
                Accepted {
                    devices: batch.devices.len() as u32,
                    rows: data_rows,
                },
            )
            .await;
        if let Some(sequence) = batch.sequence {
            let seq_key = (principal.tenant.0, principal.collector.0);
            let last = self.sequences.get(&seq_key).await.unwrap_or(0);
            self.sequences.insert(seq_key, last.max(sequence)).await;
        }
        for (row, first_seen) in inventory {
            let known = Inventory {
                hash: row.inventory_hash,
                first_seen,
                written_at: row.last_seen,
            };
            self.inventory
                .insert((row.tenant_id, row.device_id), known)
                .await;
        }

        metrics::counter!(m::DEVICES_ACCEPTED).increment(batch.devices.len() as u64);
        metrics::counter!(m::DEVICES_REJECTED).increment(batch.rejected.len() as u64);
        if sequence_gap > 0 {
            metrics::counter!(m::SEQUENCE_GAPS).increment(1);
            warn!(
                tenant = %principal.tenant,
                collector = %principal.collector,
                batch_id = %batch.batch_id,
                missing = sequence_gap,
                "sequence gap: batches may have been lost"
            );
        }
        debug!(
            tenant = %principal.tenant,
            collector = %principal.collector,
            batch_id = %batch.batch_id,
            rows = data_rows,
            "batch committed"
        );
        Ok(proto::SubmitResult {
            batch_id: batch.batch_id.to_string(),
            devices: batch.devices.len() as u32,
            rows: data_rows,
            duplicate: false,
            rejected: rejections(&batch.rejected),
        })
    }

    /// Inventory rows for the devices whose inventory is new or changed, or was last written
    /// longer ago than the refresh interval; each with its first-seen time.
    async fn inventory_rows(
        &self,
        origin: Origin,
        batch: &ValidBatch,
        latest: &HashMap<u64, usize>,
    ) -> Result<Vec<(DeviceRow, u32)>, IngestError> {
        let tenant = origin.tenant.0;
        let mut cached = HashMap::with_capacity(latest.len());
        let mut missing = Vec::new();
        for device_id in latest.keys() {
            match self.inventory.get(&(tenant, *device_id)).await {
                Some(known) => {
                    cached.insert(*device_id, known);
                }
                None => missing.push(*device_id),
            }
        }
        if !missing.is_empty() {
            let known: Vec<KnownDevice> = self
                .store
                .known_devices(tenant, &missing)
                .await
                .map_err(store_unavailable)?;
            for k in known {
                let inventory = Inventory {
                    hash: k.inventory_hash,
                    first_seen: k.first_seen,
                    written_at: k.last_seen,
                };
                cached.insert(k.device_id, inventory);
            }
        }

        let mut rows = Vec::new();
        for (device_id, index) in latest {
            let report = &batch.devices[*index];
            let observed = datetime(report.observed_at);
            let previous = cached.get(device_id);
            let first_seen = previous.map_or(observed, |p| p.first_seen.min(observed));
            let row = DeviceRow::from_report(origin, DeviceId(*device_id), report, first_seen);
            let unchanged = previous.is_some_and(|p| {
                p.hash == row.inventory_hash
                    && observed.saturating_sub(p.written_at) < self.inventory_refresh
            });
            if !unchanged {
                rows.push((row, first_seen));
            }
        }
        Ok(rows)
    }

    async fn sequence_gap(
        &self,
        principal: Principal,
        sequence: Option<u64>,
    ) -> Result<u64, IngestError> {
        let Some(sequence) = sequence else {
            return Ok(0);
        };
        let key = (principal.tenant.0, principal.collector.0);
        let last = match self.sequences.get(&key).await {
            Some(last) => Some(last),
            None => {
                let last = self
                    .store
                    .last_sequence(principal.tenant.0, principal.collector.0)
                    .await
                    .map_err(store_unavailable)?;
                if let Some(last) = last {
                    self.sequences.insert(key, last).await;
                }
                last
            }
        };
        Ok(match last {
            Some(last) if sequence > last + 1 => sequence - last - 1,
            _ => 0,
        })
    }
}

fn duplicate_result(batch: &ValidBatch, previous: Accepted) -> proto::SubmitResult {
    metrics::counter!(m::DUPLICATES).increment(1);
    info!(batch_id = %batch.batch_id, "duplicate batch acknowledged");
    proto::SubmitResult {
        batch_id: batch.batch_id.to_string(),
        devices: previous.devices,
        rows: previous.rows,
        duplicate: true,
        rejected: Vec::new(),
    }
}

fn rejections(rejected: &[Rejection]) -> Vec<proto::Rejection> {
    rejected
        .iter()
        .map(|r| proto::Rejection {
            index: r.index,
            reason: r.reason.clone(),
        })
        .collect()
}

fn store_unavailable(error: fleet_store::StoreError) -> IngestError {
    metrics::counter!(m::CLICKHOUSE_ERRORS).increment(1);
    IngestError::unavailable(format!("clickhouse: {error}"))
}
