//! Group commit: rows from concurrent requests are gathered into shared INSERTs per table and
//! flushed when a row, byte or time limit is reached. Each request is answered only after every
//! row it carried is committed.
//!
//! Memory is bounded by a byte budget (`max_queued_bytes`): a request whose rows do not fit is
//! answered "retry later" at once instead of queueing. While ClickHouse is failing, requests are
//! refused the same way until a probe succeeds, so a dead server never fills the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fleet_store::{RowSet, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::config::BatchingConfig;
use crate::error::IngestError;
use crate::metrics as m;

/// One request's rows waiting for a flush.
struct Job {
    rows: RowSet,
    _budget: OwnedSemaphorePermit,
    reply: oneshot::Sender<Result<(), IngestError>>,
}

/// Whether ClickHouse accepted the last flush or probe.
#[derive(Debug, Default)]
pub struct Health {
    failing: AtomicBool,
    /// Completed flushes, for tests and readiness.
    flushes: AtomicU64,
}

impl Health {
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

/// The handle requests use to commit their rows.
#[derive(Debug, Clone)]
pub struct Committer {
    jobs: mpsc::UnboundedSender<Job>,
    budget: Arc<Semaphore>,
    max_queued_bytes: usize,
    health: Arc<Health>,
}

impl Committer {
    /// Starts the writer task. Once `hurry` is cancelled (the gateway stops accepting) it
    /// flushes at once instead of waiting for the interval; once `shutdown` is cancelled it
    /// commits what is queued and stops.
    pub fn start(
        store: Store,
        config: BatchingConfig,
        hurry: CancellationToken,
        shutdown: CancellationToken,
    ) -> (Committer, JoinHandle<()>) {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let health = Arc::new(Health::default());
        let committer = Committer {
            jobs,
            budget: Arc::new(Semaphore::new(config.max_queued_bytes)),
            max_queued_bytes: config.max_queued_bytes,
            health: Arc::clone(&health),
        };
        let writer = Writer {
            store,
            config,
            health,
            flushes: Arc::new(Semaphore::new(0)),
        };
        let task = tokio::spawn(writer.run(receiver, hurry, shutdown));
        (committer, task)
    }

    pub fn health(&self) -> Arc<Health> {
        Arc::clone(&self.health)
    }

    /// Queues rows and waits until they are committed.
    pub async fn commit(&self, rows: RowSet) -> Result<(), IngestError> {
        if self.health.is_failing() {
            return Err(IngestError::unavailable("clickhouse is failing"));
        }
        let bytes = rows.estimated_bytes().max(1);
        if bytes > self.max_queued_bytes {
            return Err(IngestError::TooLarge {
                limit: self.max_queued_bytes,
            });
        }
        let budget = Arc::clone(&self.budget)
            .try_acquire_many_owned(bytes as u32)
            .map_err(|_| IngestError::unavailable("the commit queue is full"))?;
        metrics::gauge!(m::QUEUE_BYTES).increment(bytes as f64);
        metrics::gauge!(m::QUEUE_REQUESTS).increment(1.0);

        let (reply, answer) = oneshot::channel();
        let queued = self.jobs.send(Job {
            rows,
            _budget: budget,
            reply,
        });
        let result = match queued {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Err(IngestError::unavailable("the gateway is shutting down"))),
            Err(_) => Err(IngestError::unavailable("the gateway is shutting down")),
        };
        metrics::gauge!(m::QUEUE_BYTES).decrement(bytes as f64);
        metrics::gauge!(m::QUEUE_REQUESTS).decrement(1.0);
        result
    }
}

struct Writer {
    store: Store,
    config: BatchingConfig,
    health: Arc<Health>,
    /// Permits of flushes that finished; used to wait for all of them at shutdown.
    flushes: Arc<Semaphore>,
}

impl Writer {
    async fn run(
        self,
        mut jobs: mpsc::UnboundedReceiver<Job>,
        hurry: CancellationToken,
        shutdown: CancellationToken,
    ) {
        let slots = Arc::new(Semaphore::new(self.config.max_concurrent_flushes));
        let probe = tokio::spawn(probe_while_failing(
            self.store.clone(),
            Arc::clone(&self.health),
            shutdown.clone(),
        ));
        let interval = Duration::from_millis(self.config.flush_interval_ms);
        let mut started = 0u32;

        loop {
            // Wait for the first job of the next group, or for shutdown.
            let first = tokio::select! {
                job = jobs.recv() => job,
                () = shutdown.cancelled() => None,
            };
            let Some(first) = first else { break };

            // Gather more until a limit is reached. Once the gateway stops accepting, the
            // wait is cut short: what is queued is committed at once.
            let mut group = vec![first];
            let mut rows = group[0].rows.total_rows();
            let mut bytes = group[0].rows.estimated_bytes();
            let deadline = tokio::time::Instant::now() + jitter(interval);
            while rows < self.config.max_batch_rows && bytes < self.config.max_batch_bytes {
                let next = tokio::select! {
                    job = jobs.recv() => job,
                    () = tokio::time::sleep_until(deadline) => None,
                    () = hurry.cancelled() => drain_one(&mut jobs),
                };
                let Some(job) = next else { break };
                rows += job.rows.total_rows();
                bytes += job.rows.estimated_bytes();
                group.push(job);
            }

            // Wait for a free flush slot: this is the back-pressure on the gathering loop.
            let slot = Arc::clone(&slots)
                .acquire_owned()
                .await
                .expect("never closed");
            let flush = self.flush();
            started += 1;
            tokio::spawn(async move {
                flush.run(group).await;
                drop(slot);
            });
        }

        // Shutdown: commit whatever is still queued, then wait for every flush to finish.
        let mut rest = Vec::new();
        while let Ok(job) = jobs.try_recv() {
            rest.push(job);
        }
        if !rest.is_empty() {
            info!(
                requests = rest.len(),
                "committing queued rows before shutdown"
            );
            let flush = self.flush();
            started += 1;
            flush.run(rest).await;
        }
        let _ = self.flushes.acquire_many(started).await;
        probe.abort();
        debug!("commit writer stopped");
    }
}

impl Writer {
    fn flush(&self) -> Flush {
        Flush {
            store: self.store.clone(),
            health: Arc::clone(&self.health),
            attempts: self.config.flush_attempts,
            done: Arc::clone(&self.flushes),
        }
    }
}

fn drain_one(jobs: &mut mpsc::UnboundedReceiver<Job>) -> Option<Job> {
    jobs.try_recv().ok()
}

/// The flush interval with up to 10 % jitter, so that gateways behind one load balancer do not
/// flush in lock-step.
fn jitter(interval: Duration) -> Duration {
    let spread = interval.as_micros() as u64 / 10;
    if spread == 0 {
        return interval;
    }
    interval - Duration::from_micros(rand::random::<u64>() % spread)
}

struct Flush {
    store: Store,
    health: Arc<Health>,
    attempts: u32,
    done: Arc<Semaphore>,
}

impl Flush {
    async fn run(self, group: Vec<Job>) {
        let mut rows = RowSet::default();
        let mut replies = Vec::with_capacity(group.len());
        let mut budgets = Vec::with_capacity(group.len());
        for mut job in group {
            rows.append(&mut job.rows);
            replies.push(job.reply);
            budgets.push(job._budget);
        }

        let result = self.commit_with_retries(&rows).await;
        let answer = match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(IngestError::unavailable(format!(
                "clickhouse commit failed: {e}"
            ))),
        };
        for reply in replies {
            let _ = reply.send(answer.clone());
        }
        drop(budgets);
        self.health.flushes.fetch_add(1, Ordering::Relaxed);
        self.done.add_permits(1);
    }

    async fn commit_with_retries(&self, rows: &RowSet) -> Result<(), fleet_store::StoreError> {
        let total = rows.total_rows();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            match self.store.commit(rows).await {
                Ok(()) => {
                    let elapsed = started.elapsed();
                    metrics::histogram!(m::FLUSH_SECONDS).record(elapsed.as_secs_f64());
                    metrics::histogram!(m::FLUSH_ROWS).record(total as f64);
                    record_rows(rows);
                    if self.health.failing.swap(false, Ordering::AcqRel) {
                        info!("clickhouse accepts commits again");
                    }
                    debug!(
                        rows = total,
                        elapsed_ms = elapsed.as_millis() as u64,
                        "flushed"
                    );
                    return Ok(());
                }
                Err(e) => {
                    metrics::counter!(m::CLICKHOUSE_ERRORS).increment(1);
                    if attempt >= self.attempts {
                        error!(rows = total, error = %e, "commit failed; requests told to retry");
                        self.health.failing.store(true, Ordering::Release);
                        return Err(e);
                    }
                    warn!(rows = total, attempt, error = %e, "commit failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
            }
        }
    }
}

fn record_rows(rows: &RowSet) {
    for (table, count) in [
        ("devices", rows.devices.len()),
        ("counters", rows.counters.len()),
        ("supplies", rows.supplies.len()),
        ("statuses", rows.statuses.len()),
        ("alerts", rows.alerts.len()),
        ("batches", rows.batches.len()),
    ] {
        if count > 0 {
            metrics::counter!(m::ROWS_COMMITTED, "table" => table).increment(count as u64);
        }
    }
}

/// While commits fail, pings ClickHouse every second and clears the failing state when it
/// answers, so the gateway recovers by itself.
async fn probe_while_failing(store: Store, health: Arc<Health>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if health.is_failing() && store.ping().await.is_ok() {
            health.failing.store(false, Ordering::Release);
            info!("clickhouse answers again; accepting requests");
        }
    }
}
