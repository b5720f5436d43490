//! Batch-ledger lookups, coalesced: every new batch id must be checked against the `batches`
//! table (another gateway, or this one before a restart, may have stored it), but one query per
//! request would cost ClickHouse more than the inserts do. Lookups that arrive while a query
//! runs are answered together by the next one.

use std::collections::HashMap;

use fleet_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::error::IngestError;
use crate::metrics as m;

/// Tenant, collector and batch id.
pub type BatchKey = (u64, u64, fleet_model::BatchId);

/// What the ledger says of an accepted batch: device reports and rows stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub devices: u32,
    pub rows: u64,
}

type Reply = oneshot::Sender<Result<Option<Accepted>, String>>;

/// Most keys in one lookup query.
const MAX_KEYS_PER_QUERY: usize = 1000;

#[derive(Debug, Clone)]
pub struct LedgerLookup {
    requests: mpsc::UnboundedSender<(BatchKey, Reply)>,
}

impl LedgerLookup {
    /// Starts the lookup task; it ends when the last handle is dropped.
    pub fn start(store: Store) -> LedgerLookup {
        let (requests, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(store, receiver));
        LedgerLookup { requests }
    }

    /// The ledger entry of a batch, if it was accepted.
    pub async fn find(&self, key: BatchKey) -> Result<Option<Accepted>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((key, reply))
            .map_err(|_| IngestError::unavailable("the gateway is shutting down"))?;
        match answer.await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => {
                metrics::counter!(m::CLICKHOUSE_ERRORS).increment(1);
                Err(IngestError::unavailable(format!(
                    "batch lookup failed: {error}"
                )))
            }
            Err(_) => Err(IngestError::unavailable("the gateway is shutting down")),
        }
    }
}

async fn run(store: Store, mut requests: mpsc::UnboundedReceiver<(BatchKey, Reply)>) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_KEYS_PER_QUERY {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }

        let keys: Vec<_> = group.iter().map(|((t, c, b), _)| (*t, *c, b.0)).collect();
        match store.find_batches(&keys).await {
            Ok(rows) => {
                let found: HashMap<(u64, u64, String), Accepted> = rows
                    .into_iter()
                    .map(|r| {
                        let accepted = Accepted {
                            devices: r.devices,
                            rows: r.rows,
                        };
                        ((r.tenant_id, r.collector_id, r.batch_id), accepted)
                    })
                    .collect();
                for ((tenant, collector, batch), reply) in group {
                    let entry = found.get(&(tenant, collector, batch.to_string())).copied();
                    let _ = reply.send(Ok(entry));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for (_, reply) in group {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
