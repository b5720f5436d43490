//! Turning what was read from a device (a [`Snapshot`]) into a [`Report`], by the mappings of
//! the generic profile overlaid with a vendor profile.

use crate::report::{Alert, Capabilities as CapOut, Report, Supply};
use crate::snmp::{Oid, Value};

use super::mib::{
    alert_group, color_from_text, kind_from_description, part_number, severity, supply_kind,
    training,
};
use super::plan::{CHARSET_COLUMN, Scope, Snapshot};

use super::transform::{self, Charset, Named};
use super::{
    AlertsTable, CapabilityRule, CounterTable, Profile, RecordSource, RecordUnit, Source,
    SuppliesTable,
};

/// Builds the report from the generic profile and, when one matched, a vendor profile. For
/// each field the vendor's value wins when it has one; otherwise the generic value stays.
pub fn evaluate(
    generic: &Profile,
    vendor: Option<&Profile>,
    snap: &Snapshot,
    observed_at: time::OffsetDateTime,
    scope: Scope,
) -> Report {
    let mut report = Report::new(observed_at);
    for p in std::iter::once(generic).chain(vendor) {
        let charset = charset_of(p, snap);
        overlay(&mut report, p, snap, charset, scope);
    }
    // The vendor to report: a brand word in the model or sysDescr first (OEM brands such as
    // Savin or UTAX keep their name), then the matching profile's vendor, then the enterprise
    // number of sysObjectID.
    let sys_descr = snap
        .get(&crate::poll::SYS_DESCR)
        .map(|v| transform::text_of(v, Charset::DEFAULT))
        .unwrap_or_default();
    let brand = crate::vendors::brand_of(&report.identity.model)
        .or_else(|| crate::vendors::brand_of(&sys_descr));
    if let Some(b) = brand {
        report.identity.vendor = b.to_owned();
    } else if let Some(v) = vendor.filter(|v| !v.profile.vendor.is_empty()) {
        report.identity.vendor = v.profile.vendor.clone();
    } else if report.identity.vendor.is_empty() {
        let id = report.identity.sys_object_id.parse().ok();
        report.identity.vendor = crate::vendors::vendor_of(id.as_ref(), "")
            .unwrap_or_default()
            .to_owned();
    }
    // Colour capability from the supplies when no table said so.
    if scope == Scope::Full {
        let coloured = report
            .supplies
            .iter()
            .any(|s| matches!(s.color.as_str(), "cyan" | "magenta" | "yellow"));
        let caps = report.capabilities.get_or_insert_with(CapOut::default);
        if caps.color.is_none() && !report.supplies.is_empty() {
            caps.color = Some(coloured);
        }
        if caps == &CapOut::default() {
            report.capabilities = None;
        }
    }
    report
}

fn charset_of(p: &Profile, snap: &Snapshot) -> Charset {
    if let Some(c) = p.profile.charset.as_deref().and_then(Charset::from_label) {
        return c;
    }
    let column: Oid = CHARSET_COLUMN.parse().expect("valid");
    snap.rows(&column)
        .next()
        .and_then(|(_, v)| v.as_i64())
        .map(Charset::from_mib_enum)
        .unwrap_or_default()
}

fn overlay(report: &mut Report, p: &Profile, snap: &Snapshot, charset: Charset, scope: Scope) {
    let id = &p.identity;
    let fields: [(&mut String, &Vec<Source>); 9] = [
        (&mut report.identity.vendor, &id.vendor),
        (&mut report.identity.model, &id.model),
        (&mut report.identity.serial, &id.serial),
        (&mut report.identity.mac, &id.mac),
        (&mut report.identity.firmware, &id.firmware),
        (&mut report.identity.name, &id.name),
        (&mut report.identity.hostname, &id.hostname),
        (&mut report.identity.location, &id.location),
        (&mut report.identity.contact, &id.contact),
    ];
    for (field, sources) in fields {
        if let Some(v) = first_text(sources, snap, charset) {
            *field = v;
        }
    }
    if report.identity.sys_object_id.is_empty()
        && let Some(Value::Oid(o)) = snap.get(&crate::poll::SYS_OBJECT_ID)
    {
        report.identity.sys_object_id = o.to_string();
    }
    status(report, p, snap, charset);
    if let Some(a) = &p.alerts {
        let alerts = alerts(a, snap, charset);
        if !alerts.is_empty() || report.alerts.is_empty() {
            report.alerts = alerts;
        }
    }
    if scope == Scope::Status {
        return;
    }
    capabilities(report, p, snap);
    for c in &p.counters {
        if let Some(v) = number(&c.source, snap).filter(|v| *v >= 0) {
            report.counters.insert(c.kind.clone(), v as u64);
        }
    }
    for t in &p.counter_tables {
        counter_table(report, t, snap, charset);
    }
    let mut record_supplies = Vec::new();
    for r in &p.records {
        records(report, r, snap, &mut record_supplies);
    }
    if let Some(s) = &p.supplies {
        let supplies = supplies(s, snap, charset);
        if !supplies.is_empty() {
            report.supplies = supplies;
        }
    }
    if !record_supplies.is_empty() {
        // Records are the vendor's own figures: they replace table rows of the same kind and
        // colour and add the rest.
        for s in record_supplies {
            // Toner and ink are the same slot: inkjets report ink under Brother's toner codes.
            let same_slot = |x: &Supply| {
                let colorant = |k: &str| matches!(k, "toner" | "ink");
                x.color == s.color
                    && (x.kind == s.kind || colorant(&x.kind) && colorant(&s.kind))
                    && (!s.color.is_empty() || x.description == s.description)
            };
            match report.supplies.iter_mut().find(|x| same_slot(x)) {
                Some(existing) => {
                    existing.level = s.level;
                    existing.max = s.max;
                    existing.source = s.source;
                }
                None => report.supplies.push(s),
            }
        }
    }
    report.supplies = std::mem::take(&mut report.supplies)
        .into_iter()
        .map(Supply::with_percentages)
        .collect();
}

/// The value a source points at, before transforms: the scalar, or the chosen column row.
fn candidates<'a>(s: &'a Source, snap: &'a Snapshot) -> Vec<&'a Value> {
    if let Some(o) = &s.oid {
        return snap.get(o).into_iter().collect();
    }
    let Some(c) = &s.column else {
        return Vec::new();
    };
    if let Some(index) = s.index.as_deref().and_then(super::parse_index) {
        return snap.row(c, &index).into_iter().collect();
    }
    snap.rows(c).map(|(_, v)| v).collect()
}

fn text(s: &Source, v: &Value, charset: Charset) -> Option<String> {
    let mut t = transform::apply(v, &s.transforms, charset)?;
    if let Some(r) = &s.compiled {
        let caps = r.captures(&t)?;
        t = caps.get(1).or_else(|| caps.get(0))?.as_str().to_owned();
    }
    let t = transform::trim(&t);
    let t = match s.map.get(&t) {
        Some(mapped) => mapped.clone(),
        None => t,
    };
    (!t.is_empty() && t != "<private>").then_some(t)
}

fn first_text(sources: &[Source], snap: &Snapshot, charset: Charset) -> Option<String> {
    sources.iter().find_map(|s| {
        candidates(s, snap)
            .into_iter()
            .find_map(|v| text(s, v, charset))
    })
}

fn number(s: &Source, snap: &Snapshot) -> Option<i64> {
    let v = candidates(s, snap).into_iter().next()?;
    let raw = if s.map.is_empty() && s.compiled.is_none() {
        v.as_i64()?
    } else {
        text(s, v, Charset::DEFAULT)?.parse().ok()?
    };
    Some(transform::scale(raw, s.scale, s.offset))
}

fn status(report: &mut Report, p: &Profile, snap: &Snapshot, charset: Charset) {
    let m = &p.status;
    let mut st = report.status.clone().unwrap_or_default();
    let mut any = report.status.is_some();
    if let Some(s) = &m.device
        && let Some(v) = number(s, snap)
    {
        st.device = match v {
            2 => "running",
            3 => "warning",
            4 => "testing",
            5 => "down",
            _ => "unknown",
        }
        .into();
        any = true;
    }
    if let Some(s) = &m.printer
        && let Some(v) = number(s, snap)
    {
        st.printer = match v {
            1 => "other",
            3 => "idle",
            4 => "printing",
            5 => "warmup",
            _ => "unknown",
        }
        .into();
        any = true;
    }
    if let Some(s) = &m.errors
        && let Some(v) = candidates(s, snap).into_iter().next()
    {
        let octets = match v {
            Value::Bytes(b) => b.clone(),
            // Some agents send the bit field as an INTEGER of its octets.
            other => other
                .as_i64()
                .map(|n| (n as u16).to_be_bytes().to_vec())
                .unwrap_or_default(),
        };
        st.errors = transform::bit_names(&octets, &m.error_bits)
            .into_iter()
            .map(str::to_owned)
            .collect();
        st.errors.sort();
        st.errors.dedup();
        any = true;
    }
    let mut display = Vec::new();
    if let Some(c) = &m.display {
        for (_, v) in snap.rows(c) {
            if let Some(line) = transform::apply(v, &m.display_transforms, charset) {
                let line = transform::trim(&line);
                if !line.is_empty() {
                    display.push(line);
                }
            }
        }
    }
    if display.is_empty()
        && let Some(o) = &m.display_scalar
        && let Some(v) = snap.get(o)
    {
        let text = transform::apply(v, &m.display_transforms, charset).unwrap_or_default();
        display = text
            .split(['\r', '\n'])
            .map(transform::trim)
            .filter(|l| !l.is_empty())
            .collect();
    }
    if !display.is_empty() {
        st.display = display;
        any = true;
    }
    if any {
        if st.device.is_empty() {
            st.device = "unknown".into();
        }
        if st.printer.is_empty() {
            st.printer = "unknown".into();
        }
        report.status = Some(st);
    }
}

fn alerts(a: &AlertsTable, snap: &Snapshot, charset: Charset) -> Vec<Alert> {
    let mut out = Vec::new();
    for (index, sev) in snap.rows(&a.severity) {
        let get = |c: &Oid| snap.row(c, index);
        let description = get(&a.description)
            .and_then(|v| transform::apply(v, &[Named::Trim], charset))
            .map(|d| d.replace("-\n", "").replace(['\n', '\r'], " "))
            .unwrap_or_default();
        out.push(Alert {
            severity: severity(sev.as_i64().unwrap_or(1)).into(),
            group: a
                .group
                .as_ref()
                .and_then(get)
                .and_then(Value::as_i64)
                .map(alert_group)
                .unwrap_or_default(),
            code: get(&a.code).and_then(Value::as_i64).unwrap_or(2),
            description,
            index: index.last().copied().map(i64::from).unwrap_or_default(),
            training_level: a
                .training
                .as_ref()
                .and_then(get)
                .and_then(Value::as_i64)
                .map(training)
                .unwrap_or_default(),
        });
    }
    out
}

fn rule_holds(r: &CapabilityRule, snap: &Snapshot) -> Option<bool> {
    let values: Vec<i64> = snap
        .rows(&r.column)
        .filter_map(|(_, v)| v.as_i64())
        .collect();
    let rows = snap.rows(&r.column).count();
    if rows == 0 {
        return None;
    }
    if let Some(n) = r.rows_greater {
        return Some(rows > n);
    }
    if let Some(n) = r.any_greater {
        return Some(values.iter().any(|v| *v > n));
    }
    Some(values.iter().any(|v| r.any_of.contains(v)))
}

fn capabilities(report: &mut Report, p: &Profile, snap: &Snapshot) {
    let c = &p.capabilities;
    let mut caps = report.capabilities.clone().unwrap_or_default();
    // A rule that holds wins; otherwise the first rule with data decides.
    let decide = |rules: &[CapabilityRule]| {
        let results: Vec<bool> = rules.iter().filter_map(|r| rule_holds(r, snap)).collect();
        results.first().map(|_| results.iter().any(|b| *b))
    };
    if let Some(v) = decide(&c.color) {
        caps.color = Some(v);
    }
    if let Some(v) = decide(&c.duplex) {
        caps.duplex = Some(v);
    }
    if let Some(t) = &c.trays {
        let count = snap
            .rows(t)
            .filter(|(index, _)| {
                let ty = c
                    .tray_types
                    .as_ref()
                    .and_then(|tt| snap.row(tt, index))
                    .and_then(Value::as_i64);
                !ty.is_some_and(|ty| c.trays_exclude.contains(&ty))
            })
            .count();
        if count > 0 {
            caps.trays = Some(count as i32);
        }
    }
    if caps != CapOut::default() {
        report.capabilities = Some(caps);
    }
}

fn counter_table(report: &mut Report, t: &CounterTable, snap: &Snapshot, charset: Charset) {
    let suffix = t.index_suffix.as_deref().and_then(super::parse_index);
    for (index, value) in snap.rows(&t.value) {
        if let Some(s) = &suffix
            && !index.ends_with(s)
        {
            continue;
        }
        let key = if let Some(k) = &t.key {
            match snap.row(k, index) {
                Some(v) => transform::trim(&transform::text_of(v, charset)),
                None => continue,
            }
        } else if let Some(l) = &t.lookup {
            match index.first().and_then(|first| snap.row(l, &[*first])) {
                Some(v) => transform::trim(&transform::text_of(v, charset)),
                None => continue,
            }
        } else {
            index
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".")
        };
        let Some(kind) = t.map.get(&key) else {
            continue;
        };
        if let Some(v) = value.as_i64().filter(|v| *v >= 0) {
            let v = transform::scale(v, t.scale, None);
            report.counters.insert(kind.clone(), v as u64);
        }
    }
}

fn records(report: &mut Report, r: &RecordSource, snap: &Snapshot, supplies: &mut Vec<Supply>) {
    let Some(bytes) = snap.get(&r.oid).and_then(Value::as_bytes) else {
        return;
    };
    for rec in transform::brother_records(bytes) {
        let code = format!("{:02x}", rec.code);
        if let Some(kind) = r.counters.get(&code) {
            report.counters.insert(kind.clone(), u64::from(rec.value));
        }
        if let Some(s) = r.supplies.get(&code).filter(|_| !rec.status_only) {
            let raw = match rec.max {
                Some(max) if max > 0 => i64::from(rec.value) * 100 / i64::from(max),
                _ => i64::from(rec.value),
            };
            let level = transform::scale(raw, s.scale, None);
            let (level, max) = match s.unit {
                RecordUnit::Percent => (level.clamp(0, 100), 100),
                RecordUnit::Pages => (level, fleet_model::LEVEL_UNKNOWN.into()),
            };
            supplies.push(Supply {
                kind: s.kind.clone(),
                color: s.color.clone(),
                description: s.description.clone(),
                part_number: String::new(),
                level,
                max,
                percent: None,
                percent_full: None,
                source: format!("record:{code}"),
            });
        }
    }
}

fn supplies(t: &SuppliesTable, snap: &Snapshot, charset: Charset) -> Vec<Supply> {
    let mut out = Vec::new();
    let get = |c: &Option<Oid>, index: &[u32]| {
        c.as_ref()
            .and_then(|c| snap.row(c, index))
            .and_then(Value::as_i64)
    };
    for (index, level) in snap.rows(&t.level) {
        let Some(raw_level) = level.as_i64() else {
            continue;
        };
        let raw_description = snap
            .row(&t.description, index)
            .map(|v| transform::text_of(v, charset))
            .unwrap_or_default();
        let description = transform::apply_text(raw_description.clone(), &t.description_transforms)
            .map(|d| transform::trim(&d))
            .unwrap_or_default();
        let class = get(&t.class, index);
        let mut kind = get(&t.kind, index)
            .and_then(supply_kind)
            .unwrap_or_else(|| kind_from_description(&description))
            .to_owned();
        if class == Some(4) && !kind.starts_with("waste") {
            kind = if kind == "ink" {
                "waste_ink".into()
            } else {
                "waste_toner".into()
            };
        }
        // Colour: the colorant table first, then the description; never the row order.
        let colorant = get(&t.colorant, index).filter(|c| *c > 0).and_then(|c| {
            let names = t.colorant_names.as_ref()?;
            let device = *index.first()?;
            let v = snap.row(names, &[device, c as u32])?;
            Some(transform::trim(&transform::text_of(v, charset)).to_lowercase())
        });
        let color = colorant
            .as_deref()
            .and_then(color_from_text)
            .or_else(|| color_from_text(&description))
            .map(str::to_owned)
            .or(colorant.filter(|c| !c.is_empty() && c != "unknown" && c != "other"))
            .unwrap_or_default();
        let mut level = t
            .level_map
            .get(&raw_level.to_string())
            .copied()
            .unwrap_or(raw_level);
        let mut max = get(&t.max, index).unwrap_or(i64::from(fleet_model::LEVEL_UNKNOWN));
        // Placeholder values other than the three Printer-MIB codes are unknown, not levels.
        if level < -3 {
            level = fleet_model::LEVEL_UNKNOWN.into();
        }
        if max < -2 {
            max = fleet_model::LEVEL_UNKNOWN.into();
        }
        // Percent units without a capacity: the level is a percentage.
        if get(&t.unit, index) == Some(19) && max <= 0 && (0..=100).contains(&level) {
            max = 100;
        }
        if max > 0 && level > max {
            // A level above capacity (150 %) is not believable; keep "some remaining".
            level = fleet_model::LEVEL_SOME_REMAINING.into();
        }
        out.push(Supply {
            kind,
            color,
            part_number: part_number(&raw_description),
            description,
            level,
            max,
            percent: None,
            percent_full: None,
            source: index
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("."),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Pack;

    fn snap(lines: &str) -> Snapshot {
        let (values, errors) = crate::snmp::snmprec::parse(lines);
        assert!(errors.is_empty(), "{errors:?}");
        Snapshot { values }
    }

    #[test]
    fn supplies_keep_printer_mib_meaning() {
        let pack = Pack::load(None).unwrap();
        let s = snap(
            "1.3.6.1.2.1.43.11.1.1.3.1.1|2|1\n\
             1.3.6.1.2.1.43.11.1.1.3.1.2|2|2\n\
             1.3.6.1.2.1.43.11.1.1.3.1.3|2|0\n\
             1.3.6.1.2.1.43.11.1.1.3.1.4|2|0\n\
             1.3.6.1.2.1.43.11.1.1.4.1.1|2|3\n\
             1.3.6.1.2.1.43.11.1.1.4.1.2|2|3\n\
             1.3.6.1.2.1.43.11.1.1.4.1.3|2|4\n\
             1.3.6.1.2.1.43.11.1.1.4.1.4|2|3\n\
             1.3.6.1.2.1.43.11.1.1.5.1.1|2|3\n\
             1.3.6.1.2.1.43.11.1.1.5.1.2|2|3\n\
             1.3.6.1.2.1.43.11.1.1.5.1.3|2|4\n\
             1.3.6.1.2.1.43.11.1.1.5.1.4|2|9\n\
             1.3.6.1.2.1.43.11.1.1.6.1.1|4|Toner A, PN 842095\n\
             1.3.6.1.2.1.43.11.1.1.6.1.2|4|Toner B\n\
             1.3.6.1.2.1.43.11.1.1.6.1.3|4|Waste Toner Box\n\
             1.3.6.1.2.1.43.11.1.1.6.1.4|4|Drum Unit\n\
             1.3.6.1.2.1.43.11.1.1.7.1.1|2|19\n\
             1.3.6.1.2.1.43.11.1.1.8.1.1|2|-2\n\
             1.3.6.1.2.1.43.11.1.1.8.1.2|2|6000\n\
             1.3.6.1.2.1.43.11.1.1.8.1.3|2|100\n\
             1.3.6.1.2.1.43.11.1.1.8.1.4|2|-2\n\
             1.3.6.1.2.1.43.11.1.1.9.1.1|2|40\n\
             1.3.6.1.2.1.43.11.1.1.9.1.2|2|9000\n\
             1.3.6.1.2.1.43.11.1.1.9.1.3|2|30\n\
             1.3.6.1.2.1.43.11.1.1.9.1.4|2|-3\n\
             1.3.6.1.2.1.43.12.1.1.4.1.1|4|magenta\n\
             1.3.6.1.2.1.43.12.1.1.4.1.2|4|black\n",
        );
        let r = evaluate(
            &pack.generic,
            None,
            &s,
            time::OffsetDateTime::now_utc(),
            Scope::Full,
        );
        let sup = &r.supplies;
        assert_eq!(sup.len(), 4);
        // Colour from the colorant table, not the row order; part number from the text.
        assert_eq!(
            (sup[0].color.as_str(), sup[0].part_number.as_str()),
            ("magenta", "842095")
        );
        assert_eq!(
            (sup[0].level, sup[0].max, sup[0].percent),
            (40, 100, Some(40))
        );
        assert_eq!(sup[0].description, "Toner A");
        // 150 % is not shown as a level.
        assert_eq!((sup[1].level, sup[1].percent), (-3, None));
        // The waste box counts free space: 30 of 100 free is 70 % full.
        assert_eq!(
            (sup[2].kind.as_str(), sup[2].percent_full, sup[2].percent),
            ("waste_toner", Some(70), None)
        );
        assert_eq!(
            (sup[3].kind.as_str(), sup[3].level, sup[3].percent),
            ("drum", -3, None)
        );
        assert_eq!(r.capabilities.unwrap().color, Some(true));
    }

    #[test]
    fn status_and_alerts() {
        let pack = Pack::load(None).unwrap();
        let s = snap(
            "1.3.6.1.2.1.25.3.2.1.5.1|2|5\n\
             1.3.6.1.2.1.25.3.5.1.1.1|2|1\n\
             1.3.6.1.2.1.25.3.5.1.2.1|4x|0400\n\
             1.3.6.1.2.1.43.16.5.1.2.1.1|4|Paper jam  \n\
             1.3.6.1.2.1.43.16.5.1.2.1.2|4|Open door A\n\
             1.3.6.1.2.1.43.18.1.1.2.1.7|2|3\n\
             1.3.6.1.2.1.43.18.1.1.3.1.7|2|4\n\
             1.3.6.1.2.1.43.18.1.1.4.1.7|2|13\n\
             1.3.6.1.2.1.43.18.1.1.7.1.7|2|8\n\
             1.3.6.1.2.1.43.18.1.1.8.1.7|4|Paper jam in tray 2\n",
        );
        let r = evaluate(
            &pack.generic,
            None,
            &s,
            time::OffsetDateTime::now_utc(),
            Scope::Status,
        );
        let st = r.status.unwrap();
        assert_eq!((st.device.as_str(), st.printer.as_str()), ("down", "other"));
        assert_eq!(st.errors, ["jammed"]);
        assert_eq!(st.display, ["Paper jam", "Open door A"]);
        let a = &r.alerts[0];
        assert_eq!((a.severity.as_str(), a.code, a.index), ("critical", 8, 7));
        assert_eq!(
            (a.group.as_str(), a.training_level.as_str()),
            ("mediaPath", "trained")
        );
        assert_eq!(a.description, "Paper jam in tray 2");
    }

    #[test]
    fn empty_error_state_means_no_errors() {
        let pack = Pack::load(None).unwrap();
        let s = snap("1.3.6.1.2.1.25.3.5.1.2.1|4|\n1.3.6.1.2.1.25.3.5.1.1.1|2|3\n");
        let r = evaluate(
            &pack.generic,
            None,
            &s,
            time::OffsetDateTime::now_utc(),
            Scope::Status,
        );
        assert!(r.status.unwrap().errors.is_empty());
    }
}
