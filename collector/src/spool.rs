//! The durable spool: an SQLite database (WAL, bundled SQLite) holding every batch from the
//! moment it is built until the gateway has acknowledged it.
//!
//! A batch is committed to disk (`synchronous = FULL`) before anything tries to send it, so
//! a crash or `kill -9` loses nothing; it is deleted only after an acknowledgement. Batches are
//! numbered by an `AUTOINCREMENT` key, which is the per-collector sequence number the gateway
//! sees (never reused, even after deletes). When the spool passes its size cap, the oldest
//! non-critical batches are dropped first (then the oldest critical ones), each drop counted in
//! `fleet_collector_spool_dropped_total` and logged.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

/// One spooled batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spooled {
    /// The batch's sequence number.
    pub seq: u64,
    pub batch_id: String,
    /// Unix seconds when it was spooled.
    pub created_at: i64,
    pub critical: bool,
    /// The encoded `fleet.v1.Batch` (with `sequence` = `seq`).
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// Counts for the status page and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    pub batches: u64,
    pub bytes: u64,
    /// Unix seconds of the oldest batch, if any.
    pub oldest: Option<i64>,
    /// Batches the gateway refused for good (kept in `dead` for inspection).
    pub dead: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The spool. Cloning shares the connection.
#[derive(Clone, Debug)]
pub struct Spool {
    conn: Arc<Mutex<Connection>>,
    max_bytes: u64,
}

impl Spool {
    /// Opens (or creates) the spool at `path` with a cap of `max_bytes` of batch bodies.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS batches (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 batch_id TEXT NOT NULL UNIQUE,
                 created_at INTEGER NOT NULL,
                 critical INTEGER NOT NULL,
                 body BLOB NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS dead (
                 seq INTEGER PRIMARY KEY,
                 batch_id TEXT NOT NULL,
                 created_at INTEGER NOT NULL,
                 body BLOB NOT NULL,
                 reason TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        Ok(Spool {
            conn: Arc::new(Mutex::new(conn)),
            max_bytes,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("spool lock not poisoned")
    }

    /// Spools a batch: `build` gets the sequence number and returns `(batch_id, body)`.
    /// Durable when this returns. Returns the sequence and how many batches the cap dropped.
    pub fn push(
        &self,
        critical: bool,
        build: impl FnOnce(u64) -> (String, Vec<u8>),
    ) -> Result<(u64, u64), SpoolError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // The next AUTOINCREMENT value: one past the largest ever used.
        let last: Option<i64> = tx
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'batches'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let seq = last.unwrap_or(0) as u64 + 1;
        let (batch_id, body) = build(seq);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        tx.execute(
            "INSERT INTO batches (seq, batch_id, created_at, critical, body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq as i64, batch_id, now, critical, body],
        )?;
        let dropped = enforce_cap(&tx, self.max_bytes)?;
        tx.commit()?;
        Ok((seq, dropped))
    }

    /// The oldest batches, up to `n`, in sequence order.
    pub fn peek(&self, n: usize) -> Result<Vec<Spooled>, SpoolError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, batch_id, created_at, critical, body, attempts
             FROM batches ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([n as i64], |r| {
            Ok(Spooled {
                seq: r.get::<_, i64>(0)? as u64,
                batch_id: r.get(1)?,
                created_at: r.get(2)?,
                critical: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get::<_, i64>(5)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes an acknowledged batch.
    pub fn ack(&self, seq: u64) -> Result<(), SpoolError> {
        self.conn()
            .execute("DELETE FROM batches WHERE seq = ?1", [seq as i64])?;
        Ok(())
    }

    /// Counts a failed attempt.
    pub fn attempted(&self, seq: u64) -> Result<(), SpoolError> {
        self.conn().execute(
            "UPDATE batches SET attempts = attempts + 1 WHERE seq = ?1",
            [seq as i64],
        )?;
        Ok(())
    }

    /// Moves a batch the gateway refused for good to `dead`, with the reason.
    pub fn bury(&self, seq: u64, reason: &str) -> Result<(), SpoolError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO dead (seq, batch_id, created_at, body, reason)
             SELECT seq, batch_id, created_at, body, ?2 FROM batches WHERE seq = ?1",
            params![seq as i64, reason],
        )?;
        tx.execute("DELETE FROM batches WHERE seq = ?1", [seq as i64])?;
        tx.commit()?;
        Ok(())
    }

    pub fn depth(&self) -> Result<Depth, SpoolError> {
        let conn = self.conn();
        let (batches, bytes, oldest): (i64, i64, Option<i64>) = conn.query_row(
            "SELECT count(*), coalesce(sum(length(body)), 0), min(created_at) FROM batches",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let dead: i64 = conn.query_row("SELECT count(*) FROM dead", [], |r| r.get(0))?;
        Ok(Depth {
            batches: batches as u64,
            bytes: bytes as u64,
            oldest,
            dead: dead as u64,
        })
    }

    /// A small persistent key-value store beside the spool (device registry, settings).
    pub fn get_state(&self, key: &str) -> Result<Option<String>, SpoolError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_state(&self, key: &str, value: &str) -> Result<(), SpoolError> {
        self.conn().execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }
}

impl Spool {
    /// Every state entry whose key starts with `prefix`.
    pub fn state_keys(&self, prefix: &str) -> Result<Vec<(String, String)>, SpoolError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT key, value FROM state WHERE substr(key, 1, ?2) = ?1")?;
        let rows = stmt.query_map(params![prefix, prefix.len() as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn delete_state(&self, key: &str) -> Result<(), SpoolError> {
        self.conn()
            .execute("DELETE FROM state WHERE key = ?1", [key])?;
        Ok(())
    }
}

fn enforce_cap(tx: &rusqlite::Transaction<'_>, max_bytes: u64) -> Result<u64, SpoolError> {
    let mut dropped = 0;
    loop {
        let total: i64 = tx.query_row(
            "SELECT coalesce(sum(length(body)), 0) FROM batches",
            [],
            |r| r.get(0),
        )?;
        if total as u64 <= max_bytes {
            return Ok(dropped);
        }
        // Oldest non-critical first, then oldest critical; never the batch just added alone.
        let victim: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, batch_id FROM batches
                 WHERE seq < (SELECT max(seq) FROM batches)
                 ORDER BY critical, seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((seq, batch_id)) = victim else {
            return Ok(dropped);
        };
        tx.execute("DELETE FROM batches WHERE seq = ?1", [seq])?;
        tracing::warn!(
            seq,
            batch_id,
            "spool is full: dropped the oldest non-critical batch"
        );
        metrics::counter!(crate::metrics::SPOOL_DROPPED).increment(1);
        dropped += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_survive_deletes_and_the_cap_drops_oldest_non_critical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.db");
        let spool = Spool::open(&path, 250).unwrap();
        let body = |n: u8| vec![n; 100];
        let (s1, _) = spool.push(true, |s| (format!("b{s}"), body(1))).unwrap();
        let (s2, _) = spool.push(false, |s| (format!("b{s}"), body(2))).unwrap();
        assert_eq!((s1, s2), (1, 2));
        // The third passes the cap: the oldest non-critical (2) goes, the critical (1) stays.
        let (s3, dropped) = spool.push(false, |s| (format!("b{s}"), body(3))).unwrap();
        assert_eq!((s3, dropped), (3, 1));
        let seqs: Vec<u64> = spool.peek(10).unwrap().iter().map(|b| b.seq).collect();
        assert_eq!(seqs, [1, 3]);
        spool.ack(3).unwrap();
        drop(spool);
        // Reopened: the sequence continues after the largest ever used.
        let spool = Spool::open(&path, 250).unwrap();
        let (s4, _) = spool.push(false, |s| (format!("b{s}"), body(4))).unwrap();
        assert_eq!(s4, 4);
        spool.bury(1, "invalid").unwrap();
        let d = spool.depth().unwrap();
        assert_eq!((d.batches, d.dead), (1, 1));
        spool.set_state("k", "v").unwrap();
        assert_eq!(spool.get_state("k").unwrap().as_deref(), Some("v"));
    }
}
