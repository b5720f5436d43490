//! Subtree walks over [`SnmpSession::next`], with the termination guards that broken agents
//! need.

use super::{Oid, SnmpError, SnmpSession, Value};

/// Bounds of one walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    /// GETBULK max-repetitions. Embedded agents answer tooBig or truncate above a few dozen.
    pub max_repetitions: u32,
    /// Rows after which the walk stops with an error (a table this long is a looping agent).
    pub max_rows: usize,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_repetitions: 20,
            max_rows: 10_000,
        }
    }
}

/// Decides, row by row, whether a walk goes on.
#[derive(Debug)]
pub struct WalkGuard {
    root: Oid,
    last: Oid,
    rows: usize,
    max_rows: usize,
}

/// What the guard says about the next row.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A row of the subtree: keep it and go on.
    Row,
    /// Past the subtree or the end of the MIB view: the walk is complete.
    Done,
}

impl WalkGuard {
    pub fn new(root: Oid, max_rows: usize) -> Self {
        WalkGuard {
            last: root.clone(),
            root,
            rows: 0,
            max_rows,
        }
    }

    /// Checks the next `oid` the agent returned (`None` for endOfMibView).
    pub fn step(&mut self, oid: &Oid, value: Option<&Value>) -> Result<Step, SnmpError> {
        if value.is_none() || !oid.starts_with(&self.root) || oid.len() == self.root.len() {
            return Ok(Step::Done);
        }
        if *oid <= self.last {
            return Err(SnmpError::Walk {
                root: self.root.to_string(),
                reason: format!(
                    "the agent returned {oid} after {} (OID not increasing)",
                    self.last
                ),
            });
        }
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(SnmpError::Walk {
                root: self.root.to_string(),
                reason: format!("more than {} rows", self.max_rows),
            });
        }
        self.last = oid.clone();
        Ok(Step::Row)
    }

    /// Where the next request starts.
    pub fn cursor(&self) -> &Oid {
        &self.last
    }
}

pub(super) async fn walk(
    session: &dyn SnmpSession,
    root: &Oid,
    bulk: bool,
    limits: WalkLimits,
) -> Result<Vec<(Oid, Value)>, SnmpError> {
    let mut guard = WalkGuard::new(root.clone(), limits.max_rows);
    let mut rows = Vec::new();
    let repetitions = if bulk {
        limits.max_repetitions.max(1)
    } else {
        0
    };
    loop {
        let cursor = [guard.cursor().clone()];
        let answer = session.next(&cursor, repetitions).await?;
        if answer.is_empty() {
            return Ok(rows);
        }
        for (oid, value) in answer {
            match guard.step(&oid, value.as_ref())? {
                Step::Row => rows.push((oid, value.expect("a row has a value"))),
                Step::Done => return Ok(rows),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    #[test]
    fn guard_ends_at_subtree_end_and_refuses_loops() {
        let mut g = WalkGuard::new(oid("1.3.6.1.2.1.43.11"), 10);
        let v = Value::Integer(1);
        assert_eq!(
            g.step(&oid("1.3.6.1.2.1.43.11.1.1.9.1.1"), Some(&v))
                .unwrap(),
            Step::Row
        );
        assert_eq!(
            g.step(&oid("1.3.6.1.2.1.43.11.1.1.9.1.2"), Some(&v))
                .unwrap(),
            Step::Row
        );
        // An agent that goes back.
        assert!(
            g.step(&oid("1.3.6.1.2.1.43.11.1.1.9.1.2"), Some(&v))
                .is_err()
        );
        let mut g = WalkGuard::new(oid("1.3.6.1.2.1.43.11"), 10);
        assert_eq!(
            g.step(&oid("1.3.6.1.2.1.43.12.1"), Some(&v)).unwrap(),
            Step::Done
        );
        assert_eq!(
            g.step(&oid("1.3.6.1.2.1.43.11.1"), None).unwrap(),
            Step::Done
        );
        let mut g = WalkGuard::new(oid("1.3.6.1.2.1.43.11"), 2);
        g.step(&oid("1.3.6.1.2.1.43.11.1"), Some(&v)).unwrap();
        g.step(&oid("1.3.6.1.2.1.43.11.2"), Some(&v)).unwrap();
        assert!(g.step(&oid("1.3.6.1.2.1.43.11.3"), Some(&v)).is_err());
    }
}
