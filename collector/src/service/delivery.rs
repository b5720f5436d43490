//! The delivery side of the collector: spooling batches and sending them, oldest first.

use std::sync::Arc;
use std::time::Duration;

use fleet_model::proto;
use prost::Message;

use super::{Collector, now_text};
use crate::deliver::{self, SendError};
use crate::metrics as m;
use crate::report::Report;

impl Collector {
    /// Encodes and spools one batch; durable on return.
    pub fn spool_batch(&self, reports: &[Report], critical: bool) -> Result<u64, String> {
        self.spool_protos(reports.iter().map(Report::to_proto).collect(), critical)
    }

    pub(super) fn spool_protos(
        &self,
        devices: Vec<proto::DeviceReport>,
        critical: bool,
    ) -> Result<u64, String> {
        let (seq, dropped) = self
            .spool
            .push(critical, |seq| {
                let batch_id = uuid::Uuid::new_v4().to_string();
                let now = time::OffsetDateTime::now_utc();
                let batch = proto::Batch {
                    batch_id: batch_id.clone(),
                    sequence: Some(seq),
                    sent_at: Some(prost_types::Timestamp {
                        seconds: now.unix_timestamp(),
                        nanos: now.nanosecond() as i32,
                    }),
                    devices,
                };
                (batch_id, batch.encode_to_vec())
            })
            .map_err(|e| e.to_string())?;
        if dropped > 0 {
            tracing::warn!(dropped, "the spool cap dropped old batches");
        }
        self.update_spool_metrics();
        Ok(seq)
    }

    pub(super) fn update_spool_metrics(&self) {
        if let Ok(d) = self.spool.depth() {
            metrics::gauge!(m::SPOOL_BATCHES).set(d.batches as f64);
            metrics::gauge!(m::SPOOL_BYTES).set(d.bytes as f64);
            let age = d
                .oldest
                .map(|o| time::OffsetDateTime::now_utc().unix_timestamp() - o)
                .unwrap_or(0);
            metrics::gauge!(m::SPOOL_AGE).set(age as f64);
        }
    }

    pub(super) async fn delivery_loop(self: Arc<Self>) {
        let mut attempt: u32 = 0;
        loop {
            match self.deliver_some().await {
                Ok(true) => attempt = 0,
                Ok(false) => {
                    tokio::select! {
                        _ = self.stop.cancelled() => return,
                        _ = self.wake_delivery.notified() => {}
                        _ = self.send_now.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    }
                }
                Err(after) => {
                    attempt += 1;
                    let backoff = deliver::backoff(attempt, Duration::from_secs(300));
                    let wait = after.map_or(backoff, |a| a.max(backoff));
                    // New readings do not cut a backoff or a Retry-After short; "send now" does.
                    tokio::select! {
                        _ = self.stop.cancelled() => return,
                        _ = self.send_now.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Sends the oldest spooled batches. `Ok(true)` when something was delivered and more may
    /// wait, `Ok(false)` when the spool is empty, `Err(retry_after)` after a failure.
    pub async fn deliver_some(&self) -> Result<bool, Option<Duration>> {
        let Some(transport) = self.transport.read().expect("not poisoned").clone() else {
            return Ok(false);
        };
        let batches = self.spool.peek(4).map_err(|_| None)?;
        if batches.is_empty() {
            self.update_spool_metrics();
            return Ok(false);
        }
        for b in batches {
            let batch = match proto::Batch::decode(b.body.as_slice()) {
                Ok(batch) => batch,
                Err(e) => {
                    let reason = format!("undecodable spool entry: {e}");
                    self.spool.bury(b.seq, &reason).map_err(|_| None)?;
                    continue;
                }
            };
            match transport.send(&batch, &b.body).await {
                Ok(stored) => {
                    self.spool.ack(b.seq).map_err(|_| None)?;
                    metrics::counter!(m::DELIVERIES, "transport" => transport.name()).increment(1);
                    for (index, reason) in &stored.rejected {
                        tracing::warn!(
                            seq = b.seq,
                            index,
                            "the gateway rejected a device report: {reason}"
                        );
                    }
                    let mut h = self.health.lock().expect("not poisoned");
                    h.last_delivery = Some(now_text());
                    h.last_delivery_error = None;
                    h.deliveries += 1;
                }
                Err(SendError::TooLarge(reason)) if batch.devices.len() > 1 => {
                    // Split in two, spool both halves (durable), then drop the original.
                    let half = batch.devices.len() / 2;
                    let (first, second) = batch.devices.split_at(half);
                    for part in [first, second] {
                        self.spool_protos(part.to_vec(), b.critical)
                            .map_err(|_| None)?;
                    }
                    self.spool.ack(b.seq).map_err(|_| None)?;
                    tracing::warn!(
                        seq = b.seq,
                        "the gateway found a batch too large: split in two ({reason})"
                    );
                    return Ok(true);
                }
                Err(SendError::TooLarge(reason)) | Err(SendError::Refused(reason)) => {
                    tracing::error!(
                        seq = b.seq,
                        "the gateway refused a batch for good, kept in the dead table: {reason}"
                    );
                    metrics::counter!(m::DELIVERY_REFUSED).increment(1);
                    self.spool.bury(b.seq, &reason).map_err(|_| None)?;
                }
                Err(e) => {
                    let after = match &e {
                        SendError::RetryLater { after, .. } => *after,
                        _ => None,
                    };
                    tracing::warn!(seq = b.seq, "delivery failed, will retry: {e}");
                    metrics::counter!(m::DELIVERY_RETRIES).increment(1);
                    let _ = self.spool.attempted(b.seq);
                    let mut h = self.health.lock().expect("not poisoned");
                    h.last_delivery_error = Some(e.to_string());
                    h.retries += 1;
                    return Err(after);
                }
            }
        }
        self.update_spool_metrics();
        Ok(true)
    }
}
