//! What a poll reads: the [`Snapshot`] of values and the [`Plan`] of GETs and walks that
//! fills it, derived from the profiles' mappings.

use std::collections::{BTreeMap, BTreeSet};

use super::{Profile, Source};
use crate::snmp::{Oid, Value};

/// `prtLocalizationCharacterSet`: read on every full poll to decode strings.
pub const CHARSET_COLUMN: &str = "1.3.6.1.2.1.43.7.1.1.4";

/// Everything read from one device: scalars and walked rows in one ordered map.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub values: BTreeMap<Oid, Value>,
}

impl Snapshot {
    pub fn get(&self, oid: &Oid) -> Option<&Value> {
        self.values.get(oid)
    }

    /// The rows of a column: `(index, value)` in index order.
    pub fn rows<'a>(
        &'a self,
        column: &'a Oid,
    ) -> impl Iterator<Item = (&'a [u32], &'a Value)> + 'a {
        self.values
            .range(column.clone()..)
            .take_while(move |(o, _)| o.starts_with(column))
            .filter_map(move |(o, v)| o.suffix(column).filter(|s| !s.is_empty()).map(|s| (s, v)))
    }

    pub(crate) fn row(&self, column: &Oid, index: &[u32]) -> Option<&Value> {
        self.values.get(&column.child(index))
    }
}

/// What to read for a set of profiles: scalars to GET and subtrees to walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub gets: Vec<Oid>,
    pub walks: Vec<Oid>,
}

/// Which parts of the profiles a poll reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything: inventory, counters, supplies, status, alerts.
    Full,
    /// Status and alerts, plus the identity fields that tell whether the device on this
    /// address is still the same one.
    Status,
}

impl Plan {
    /// Plans the reads for `profiles`. Columns of one table are walked together when more
    /// than one is needed; roots under another root are dropped.
    pub fn for_profiles(profiles: &[&Profile], scope: Scope) -> Plan {
        let mut scalars = BTreeSet::new();
        let mut columns = BTreeSet::new();
        for p in profiles {
            collect(p, scope, &mut scalars, &mut columns);
        }
        if scope == Scope::Full {
            columns.insert(CHARSET_COLUMN.parse().expect("valid"));
        }
        let mut by_entry: BTreeMap<Oid, Vec<Oid>> = BTreeMap::new();
        for c in columns {
            let entry = Oid::new(c.arcs()[..c.len() - 1].to_vec());
            by_entry.entry(entry).or_default().push(c);
        }
        let mut roots: Vec<Oid> = Vec::new();
        for (entry, cols) in by_entry {
            if cols.len() > 1 {
                roots.push(entry);
            } else {
                roots.extend(cols);
            }
        }
        roots.sort();
        let mut walks: Vec<Oid> = Vec::new();
        for r in roots {
            if !walks.iter().any(|w| r.starts_with(w)) {
                walks.push(r);
            }
        }
        let gets = scalars
            .into_iter()
            .filter(|s| !walks.iter().any(|w| s.starts_with(w)))
            .collect();
        Plan { gets, walks }
    }
}

fn add_source(s: &Source, scalars: &mut BTreeSet<Oid>, columns: &mut BTreeSet<Oid>) {
    if let Some(o) = &s.oid {
        scalars.insert(o.clone());
    }
    if let Some(c) = &s.column {
        columns.insert(c.clone());
    }
}

fn add(o: &Option<Oid>, set: &mut BTreeSet<Oid>) {
    if let Some(o) = o {
        set.insert(o.clone());
    }
}

fn collect(p: &Profile, scope: Scope, scalars: &mut BTreeSet<Oid>, columns: &mut BTreeSet<Oid>) {
    let id = &p.identity;
    let identity_lists: Vec<&Vec<Source>> = match scope {
        Scope::Full => vec![
            &id.vendor,
            &id.model,
            &id.serial,
            &id.mac,
            &id.firmware,
            &id.name,
            &id.hostname,
            &id.location,
            &id.contact,
        ],
        Scope::Status => vec![&id.serial, &id.mac],
    };
    for s in identity_lists.into_iter().flatten() {
        add_source(s, scalars, columns);
    }
    for s in [&p.status.device, &p.status.printer, &p.status.errors]
        .into_iter()
        .flatten()
    {
        add_source(s, scalars, columns);
    }
    add(&p.status.display, columns);
    add(&p.status.display_scalar, scalars);
    if let Some(a) = &p.alerts {
        for c in [
            Some(&a.severity),
            Some(&a.code),
            Some(&a.description),
            a.group.as_ref(),
            a.training.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            columns.insert(c.clone());
        }
    }
    if scope == Scope::Status {
        return;
    }
    for c in &p.counters {
        add_source(&c.source, scalars, columns);
    }
    for t in &p.counter_tables {
        columns.insert(t.value.clone());
        add(&t.key, columns);
        add(&t.lookup, columns);
    }
    for r in &p.records {
        scalars.insert(r.oid.clone());
    }
    if let Some(s) = &p.supplies {
        columns.insert(s.description.clone());
        columns.insert(s.level.clone());
        for c in [
            &s.max,
            &s.kind,
            &s.class,
            &s.unit,
            &s.colorant,
            &s.colorant_names,
        ] {
            add(c, columns);
        }
    }
    let c = &p.capabilities;
    for r in c.color.iter().chain(&c.duplex) {
        columns.insert(r.column.clone());
    }
    add(&c.trays, columns);
    add(&c.tray_types, columns);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Pack;

    #[test]
    fn plan_groups_columns_by_table() {
        let pack = Pack::load(None).unwrap();
        let plan = Plan::for_profiles(&[&pack.generic], Scope::Full);
        let supplies: Oid = "1.3.6.1.2.1.43.11.1.1".parse().unwrap();
        assert!(plan.walks.contains(&supplies), "{:?}", plan.walks);
        assert!(
            plan.gets
                .iter()
                .any(|o| o.to_string() == "1.3.6.1.2.1.1.5.0")
        );
        let status = Plan::for_profiles(&[&pack.generic], Scope::Status);
        assert!(!status.walks.contains(&supplies));
    }
}
