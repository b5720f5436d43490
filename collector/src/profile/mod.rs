//! Device profiles: declarative TOML files that say how to recognise a model family and where
//! its identity, capabilities, counters, supplies, status and alerts live.
//!
//! A built-in pack (the files under `collector/profiles/`) is compiled into the binary; an
//! external folder overrides profiles of the same name and adds new ones. Every profile is
//! layered over `generic` (the standard MIBs): what a vendor profile cannot read, the generic
//! profile still does. The format is documented in `docs/collector.md`.

pub mod allowlist;
mod eval;
mod mib;
mod plan;
pub mod transform;

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use crate::snmp::Oid;
pub use eval::evaluate;
pub use mib::color_from_text;
pub use plan::{Plan, Scope, Snapshot};
use transform::Named;

/// The built-in pack, compiled into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("generic.toml", include_str!("../../profiles/generic.toml")),
    ("hp.toml", include_str!("../../profiles/hp.toml")),
    ("ricoh.toml", include_str!("../../profiles/ricoh.toml")),
    ("kyocera.toml", include_str!("../../profiles/kyocera.toml")),
    ("canon.toml", include_str!("../../profiles/canon.toml")),
    ("xerox.toml", include_str!("../../profiles/xerox.toml")),
    ("brother.toml", include_str!("../../profiles/brother.toml")),
    (
        "konica-minolta.toml",
        include_str!("../../profiles/konica-minolta.toml"),
    ),
    ("sharp.toml", include_str!("../../profiles/sharp.toml")),
    ("lexmark.toml", include_str!("../../profiles/lexmark.toml")),
    ("samsung.toml", include_str!("../../profiles/samsung.toml")),
    ("epson.toml", include_str!("../../profiles/epson.toml")),
    ("oki.toml", include_str!("../../profiles/oki.toml")),
    ("toshiba.toml", include_str!("../../profiles/toshiba.toml")),
];

/// Where a value comes from: one scalar OID, or a table column (the first usable row, or the
/// row `index`), with transforms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A scalar, read with GET (include the trailing `.0` or instance).
    pub oid: Option<Oid>,
    /// A table column, read with a walk.
    pub column: Option<Oid>,
    /// With `column`: the row index to take (for example `1` or `1.3`); default the first
    /// row that gives a usable value.
    pub index: Option<String>,
    /// Named transforms, applied in order.
    #[serde(default)]
    pub transforms: Vec<Named>,
    /// A regular expression; its first capture group (or the whole match) is the value.
    pub regex: Option<String>,
    /// Numbers: multiply by this (then round).
    pub scale: Option<f64>,
    /// Numbers: add this after scaling.
    pub offset: Option<i64>,
    /// Map the value's text to another text (enum names, vendor codes).
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    #[serde(skip)]
    pub(crate) compiled: Option<Regex>,
}

/// One counter read from a scalar or a column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterSource {
    /// A counter kind of the wire batch (`total`, `print_mono`, `x-<vendor-name>`, ...).
    pub kind: String,
    #[serde(flatten)]
    pub source: Source,
}

/// Counters from a table whose rows are keyed by a name column, by the row index, or through
/// a lookup column (the PWG counter MIB's key table).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterTable {
    /// The column holding the counter values.
    pub value: Oid,
    /// A column of the same table naming each row (Sharp, Ricoh). Without it, the key is the
    /// row index (`1.3`), or the value of `lookup` at the index's first arc.
    pub key: Option<Oid>,
    /// A column indexed by the first arc of the row index whose value is the key.
    pub lookup: Option<Oid>,
    /// Only rows whose index ends with these arcs (for example `3.3`: work totals, lifetime).
    pub index_suffix: Option<String>,
    /// Key text to counter kind. Keys not listed are ignored.
    pub map: BTreeMap<String, String>,
    pub scale: Option<f64>,
}

/// A binary record string (Brother's counter and maintenance data).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSource {
    pub oid: Oid,
    /// The record format; only `brother` exists.
    pub format: RecordFormat,
    /// Record code (two hex digits) to counter kind.
    #[serde(default)]
    pub counters: BTreeMap<String, String>,
    /// Record code (two hex digits) to a supply whose level the record holds.
    #[serde(default)]
    pub supplies: BTreeMap<String, RecordSupply>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordFormat {
    Brother,
}

/// A supply read from a record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSupply {
    pub kind: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub description: String,
    /// `percent` (level of 100), `pages` (level in pages, capacity unknown).
    pub unit: RecordUnit,
    /// Multiply the raw value by this (Brother reports some percentages in hundredths).
    pub scale: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordUnit {
    Percent,
    Pages,
}

/// The Printer-MIB-shaped supplies table: columns joined by row index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppliesTable {
    pub description: Oid,
    pub level: Oid,
    pub max: Option<Oid>,
    /// `prtMarkerSuppliesType` numbers (IANA PrtMarkerSuppliesTypeTC).
    #[serde(rename = "type")]
    pub kind: Option<Oid>,
    /// `prtMarkerSuppliesClass`: 3 consumed, 4 receptacle filled.
    pub class: Option<Oid>,
    /// `prtMarkerSuppliesSupplyUnit` (19 = percent).
    pub unit: Option<Oid>,
    /// `prtMarkerSuppliesColorantIndex`, joined with `colorant_names`.
    pub colorant: Option<Oid>,
    /// `prtMarkerColorantValue` (`black`, `cyan`, ...).
    pub colorant_names: Option<Oid>,
    #[serde(default)]
    pub description_transforms: Vec<Named>,
    /// Vendor level codes with a meaning, as `"-100" = 0` (Ricoh's "empty").
    #[serde(default)]
    pub level_map: BTreeMap<String, i64>,
}

/// A rule that decides a capability from a column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRule {
    pub column: Oid,
    /// True when any row's value is greater than this.
    pub any_greater: Option<i64>,
    /// True when any row's value is one of these.
    #[serde(default)]
    pub any_of: Vec<i64>,
    /// True when the column has more rows than this.
    pub rows_greater: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub color: Vec<CapabilityRule>,
    #[serde(default)]
    pub duplex: Vec<CapabilityRule>,
    /// The number of rows of this column is the number of input trays.
    pub trays: Option<Oid>,
    /// Input types (`prtInputType`) not counted as trays, such as 5 (manual feed).
    #[serde(default)]
    pub trays_exclude: Vec<i64>,
    /// The column with each tray's type, for `trays_exclude`.
    pub tray_types: Option<Oid>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    #[serde(default)]
    pub vendor: Vec<Source>,
    #[serde(default)]
    pub model: Vec<Source>,
    #[serde(default)]
    pub serial: Vec<Source>,
    #[serde(default)]
    pub mac: Vec<Source>,
    #[serde(default)]
    pub firmware: Vec<Source>,
    #[serde(default)]
    pub name: Vec<Source>,
    #[serde(default)]
    pub hostname: Vec<Source>,
    #[serde(default)]
    pub location: Vec<Source>,
    #[serde(default)]
    pub contact: Vec<Source>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMap {
    /// `hrDeviceStatus` (1 unknown, 2 running, 3 warning, 4 testing, 5 down).
    pub device: Option<Source>,
    /// `hrPrinterStatus` (1 other, 2 unknown, 3 idle, 4 printing, 5 warmup).
    pub printer: Option<Source>,
    /// A bit field decoded with `error_bits` (first octet's highest bit is bit 0).
    pub errors: Option<Source>,
    /// Status flag names (see the wire batch), one per bit; empty names skip a bit.
    #[serde(default)]
    pub error_bits: Vec<String>,
    /// Front-panel text: every row of this column is one line.
    pub display: Option<Oid>,
    #[serde(default)]
    pub display_transforms: Vec<Named>,
    /// A scalar holding the front-panel text (lines separated by CR or LF).
    pub display_scalar: Option<Oid>,
}

/// The alert table, columns joined by row index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsTable {
    pub severity: Oid,
    pub code: Oid,
    pub description: Oid,
    pub group: Option<Oid>,
    pub training: Option<Oid>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// sysObjectID prefixes (dotted).
    #[serde(default)]
    pub sys_object_id: Vec<Oid>,
    /// Case-insensitive regular expressions tried on sysDescr.
    #[serde(default)]
    pub sys_descr: Vec<String>,
    /// An OID that must answer for the profile to match (checked after the above).
    pub probe: Option<Oid>,
    #[serde(skip)]
    pub(crate) compiled: Vec<Regex>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The vendor reported for devices this profile matches.
    #[serde(default)]
    pub vendor: String,
    /// Among several matching profiles the highest wins; ties go to the longest
    /// sysObjectID prefix.
    #[serde(default)]
    pub priority: i32,
    /// `false` for agents that mishandle GETBULK: walks use GETNEXT.
    #[serde(default = "yes")]
    pub bulk: bool,
    /// GETBULK max-repetitions.
    pub max_repetitions: Option<u32>,
    /// A fixed character set for strings (`windows-1250`, ...), instead of the device's
    /// `prtLocalizationCharacterSet`.
    pub charset: Option<String>,
}

fn yes() -> bool {
    true
}

/// One profile file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub profile: Header,
    #[serde(default, rename = "match")]
    pub matcher: Match,
    #[serde(default)]
    pub identity: Identity,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub counters: Vec<CounterSource>,
    #[serde(default)]
    pub counter_tables: Vec<CounterTable>,
    #[serde(default)]
    pub records: Vec<RecordSource>,
    pub supplies: Option<SuppliesTable>,
    #[serde(default)]
    pub status: StatusMap,
    pub alerts: Option<AlertsTable>,
    /// Where the file came from (`builtin:hp.toml` or a path).
    #[serde(skip)]
    pub origin: String,
}

/// A problem found while loading profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl Profile {
    /// Parses and checks one file; returns every problem found.
    pub fn parse(origin: &str, text: &str) -> Result<Profile, Vec<Problem>> {
        let problem = |message: String| Problem {
            file: origin.to_owned(),
            message,
        };
        let mut profile: Profile =
            toml::from_str(text).map_err(|e| vec![problem(e.to_string())])?;
        profile.origin = origin.to_owned();
        let mut problems: Vec<Problem> = profile.check().into_iter().map(problem).collect();
        for pattern in &profile.matcher.sys_descr {
            match regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
            {
                Ok(r) => profile.matcher.compiled.push(r),
                Err(e) => problems.push(problem(format!("match.sys_descr `{pattern}`: {e}"))),
            }
        }
        let mut compile_errors = Vec::new();
        profile.for_each_source_mut(|path, s| {
            if let Some(pattern) = &s.regex {
                match Regex::new(pattern) {
                    Ok(r) => s.compiled = Some(r),
                    Err(e) => compile_errors.push(format!("{path}: regex `{pattern}`: {e}")),
                }
            }
        });
        problems.extend(compile_errors.into_iter().map(problem));
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(problems)
        }
    }

    /// Every OID the profile reads, with where it is used, for the allowlist and for planning.
    pub fn oids(&self) -> Vec<(String, Oid)> {
        let mut out = Vec::new();
        let mut push = |path: String, o: &Option<Oid>| {
            if let Some(o) = o {
                out.push((path, o.clone()));
            }
        };
        push("match.probe".into(), &self.matcher.probe);
        let mut sources = Vec::new();
        self.for_each_source(|path, s| sources.push((path, s.oid.clone(), s.column.clone())));
        for (path, oid, column) in sources {
            push(format!("{path}.oid"), &oid);
            push(format!("{path}.column"), &column);
        }
        for (i, t) in self.counter_tables.iter().enumerate() {
            push(format!("counter_tables[{i}].value"), &Some(t.value.clone()));
            push(format!("counter_tables[{i}].key"), &t.key);
            push(format!("counter_tables[{i}].lookup"), &t.lookup);
        }
        for (i, r) in self.records.iter().enumerate() {
            push(format!("records[{i}].oid"), &Some(r.oid.clone()));
        }
        if let Some(s) = &self.supplies {
            push("supplies.description".into(), &Some(s.description.clone()));
            push("supplies.level".into(), &Some(s.level.clone()));
            push("supplies.max".into(), &s.max);
            push("supplies.type".into(), &s.kind);
            push("supplies.class".into(), &s.class);
            push("supplies.unit".into(), &s.unit);
            push("supplies.colorant".into(), &s.colorant);
            push("supplies.colorant_names".into(), &s.colorant_names);
        }
        let c = &self.capabilities;
        for (i, r) in c.color.iter().enumerate() {
            push(format!("capabilities.color[{i}]"), &Some(r.column.clone()));
        }
        for (i, r) in c.duplex.iter().enumerate() {
            push(format!("capabilities.duplex[{i}]"), &Some(r.column.clone()));
        }
        push("capabilities.trays".into(), &c.trays);
        push("capabilities.tray_types".into(), &c.tray_types);
        push("status.display".into(), &self.status.display);
        push("status.display_scalar".into(), &self.status.display_scalar);
        if let Some(a) = &self.alerts {
            push("alerts.severity".into(), &Some(a.severity.clone()));
            push("alerts.code".into(), &Some(a.code.clone()));
            push("alerts.description".into(), &Some(a.description.clone()));
            push("alerts.group".into(), &a.group);
            push("alerts.training".into(), &a.training);
        }
        out
    }

    fn for_each_source(&self, mut f: impl FnMut(String, &Source)) {
        let id = &self.identity;
        for (name, list) in [
            ("vendor", &id.vendor),
            ("model", &id.model),
            ("serial", &id.serial),
            ("mac", &id.mac),
            ("firmware", &id.firmware),
            ("name", &id.name),
            ("hostname", &id.hostname),
            ("location", &id.location),
            ("contact", &id.contact),
        ] {
            for (i, s) in list.iter().enumerate() {
                f(format!("identity.{name}[{i}]"), s);
            }
        }
        for (i, c) in self.counters.iter().enumerate() {
            f(format!("counters[{i}]"), &c.source);
        }
        for (name, s) in [
            ("device", &self.status.device),
            ("printer", &self.status.printer),
            ("errors", &self.status.errors),
        ] {
            if let Some(s) = s {
                f(format!("status.{name}"), s);
            }
        }
    }

    fn for_each_source_mut(&mut self, mut f: impl FnMut(String, &mut Source)) {
        let id = &mut self.identity;
        for (name, list) in [
            ("vendor", &mut id.vendor),
            ("model", &mut id.model),
            ("serial", &mut id.serial),
            ("mac", &mut id.mac),
            ("firmware", &mut id.firmware),
            ("name", &mut id.name),
            ("hostname", &mut id.hostname),
            ("location", &mut id.location),
            ("contact", &mut id.contact),
        ] {
            for (i, s) in list.iter_mut().enumerate() {
                f(format!("identity.{name}[{i}]"), s);
            }
        }
        for (i, c) in self.counters.iter_mut().enumerate() {
            f(format!("counters[{i}]"), &mut c.source);
        }
        for (name, s) in [
            ("device", &mut self.status.device),
            ("printer", &mut self.status.printer),
            ("errors", &mut self.status.errors),
        ] {
            if let Some(s) = s {
                f(format!("status.{name}"), s);
            }
        }
    }

    /// Semantic checks beyond the TOML shape. Each message names the offending field.
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.profile.name.is_empty()
            || !self
                .profile
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(format!(
                "profile.name `{}` must be non-empty letters, digits, `-` or `_`",
                self.profile.name
            ));
        }
        if let Some(label) = &self.profile.charset
            && transform::Charset::from_label(label).is_none()
        {
            problems.push(format!(
                "profile.charset `{label}` is not a known character set"
            ));
        }
        for (path, oid) in self.oids() {
            if let Err(e) = allowlist::check(&oid) {
                problems.push(format!("{path}: {e}"));
            }
        }
        let mut source_problems = Vec::new();
        self.for_each_source(|path, s| match (&s.oid, &s.column) {
            (Some(_), Some(_)) => {
                source_problems.push(format!("{path}: give `oid` or `column`, not both"))
            }
            (None, None) => source_problems.push(format!("{path}: needs `oid` or `column`")),
            _ => {}
        });
        problems.extend(source_problems);
        let kind_ok = |k: &str| k.parse::<fleet_model::CounterKind>().is_ok();
        for (i, c) in self.counters.iter().enumerate() {
            if !kind_ok(&c.kind) {
                problems.push(format!(
                    "counters[{i}].kind: unknown counter kind `{}`",
                    c.kind
                ));
            }
        }
        for (i, t) in self.counter_tables.iter().enumerate() {
            for kind in t.map.values() {
                if !kind_ok(kind) {
                    problems.push(format!(
                        "counter_tables[{i}].map: unknown counter kind `{kind}`"
                    ));
                }
            }
            if t.key.is_some() && t.lookup.is_some() {
                problems.push(format!(
                    "counter_tables[{i}]: give `key` or `lookup`, not both"
                ));
            }
            if let Some(s) = &t.index_suffix
                && parse_index(s).is_none()
            {
                problems.push(format!(
                    "counter_tables[{i}].index_suffix `{s}` is not dotted numbers"
                ));
            }
        }
        for (i, r) in self.records.iter().enumerate() {
            for (code, kind) in &r.counters {
                if u8::from_str_radix(code, 16).is_err() {
                    problems.push(format!(
                        "records[{i}].counters: `{code}` is not a hex record code"
                    ));
                }
                if !kind_ok(kind) {
                    problems.push(format!(
                        "records[{i}].counters: unknown counter kind `{kind}`"
                    ));
                }
            }
            for (code, s) in &r.supplies {
                if u8::from_str_radix(code, 16).is_err() {
                    problems.push(format!(
                        "records[{i}].supplies: `{code}` is not a hex record code"
                    ));
                }
                if s.kind.parse::<fleet_model::SupplyKind>().is_err() {
                    problems.push(format!(
                        "records[{i}].supplies.{code}: unknown supply kind `{}`",
                        s.kind
                    ));
                }
            }
        }
        for name in &self.status.error_bits {
            if !name.is_empty() && name.parse::<fleet_model::ErrorFlag>().is_err() {
                problems.push(format!("status.error_bits: unknown status flag `{name}`"));
            }
        }
        problems
    }

    /// Whether the profile claims a device by its system group; the probe OID is checked by
    /// the caller. Returns the strength of the match (longer sysObjectID prefixes are
    /// stronger), or `None`.
    pub fn claims(&self, sys_object_id: Option<&Oid>, sys_descr: &str) -> Option<usize> {
        let m = &self.matcher;
        if m.sys_object_id.is_empty() && m.compiled.is_empty() {
            return None;
        }
        let by_oid = sys_object_id.and_then(|id| {
            m.sys_object_id
                .iter()
                .filter(|p| id.starts_with(p))
                .map(|p| p.len() * 10)
                .max()
        });
        let by_descr = m
            .compiled
            .iter()
            .any(|r| r.is_match(sys_descr))
            .then_some(1);
        by_oid.or(by_descr)
    }
}

/// Parses a dotted index such as `1.3`.
pub fn parse_index(s: &str) -> Option<Vec<u32>> {
    s.split('.').map(|a| a.parse().ok()).collect()
}

/// The loaded set: the generic profile and the vendor profiles.
#[derive(Debug, Clone)]
pub struct Pack {
    pub generic: Profile,
    pub vendors: Vec<Profile>,
}

impl Pack {
    /// The built-in pack, overridden and extended by the files in `dir` (when given).
    /// Any problem in any file refuses the whole load, with every problem listed.
    pub fn load(dir: Option<&Path>) -> Result<Pack, Vec<Problem>> {
        let mut by_name: BTreeMap<String, Profile> = BTreeMap::new();
        let mut problems = Vec::new();
        for (file, text) in BUILTIN {
            match Profile::parse(&format!("builtin:{file}"), text) {
                Ok(p) => {
                    by_name.insert(p.profile.name.clone(), p);
                }
                Err(e) => problems.extend(e),
            }
        }
        if let Some(dir) = dir {
            let (external, external_problems) = load_dir(dir);
            problems.extend(external_problems);
            for p in external {
                by_name.insert(p.profile.name.clone(), p);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let Some(generic) = by_name.remove("generic") else {
            return Err(vec![Problem {
                file: "(pack)".into(),
                message: "no profile named `generic`".into(),
            }]);
        };
        Ok(Pack {
            generic,
            vendors: by_name.into_values().collect(),
        })
    }

    /// The vendor profiles that claim a device, best first. The caller checks probe OIDs in
    /// this order and takes the first that answers.
    pub fn candidates(&self, sys_object_id: Option<&Oid>, sys_descr: &str) -> Vec<&Profile> {
        let mut c: Vec<(&Profile, usize)> = self
            .vendors
            .iter()
            .filter_map(|p| p.claims(sys_object_id, sys_descr).map(|s| (p, s)))
            .collect();
        c.sort_by_key(|(p, strength)| std::cmp::Reverse((p.profile.priority, *strength)));
        c.into_iter().map(|(p, _)| p).collect()
    }

    pub fn by_name(&self, name: &str) -> Option<&Profile> {
        if name == "generic" {
            return Some(&self.generic);
        }
        self.vendors.iter().find(|p| p.profile.name == name)
    }
}

/// Reads every `*.toml` in `dir`; returns the profiles that loaded and every problem.
pub fn load_dir(dir: &Path) -> (Vec<Profile>, Vec<Problem>) {
    let mut profiles = Vec::new();
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem {
                file: dir.display().to_string(),
                message: e.to_string(),
            });
            return (profiles, problems);
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut names = BTreeMap::new();
    for path in paths {
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem {
                    file,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match Profile::parse(&file, &text) {
            Ok(p) => {
                if let Some(previous) = names.insert(p.profile.name.clone(), file.clone()) {
                    problems.push(Problem {
                        file,
                        message: format!(
                            "profile name `{}` is also used by {previous}",
                            p.profile.name
                        ),
                    });
                } else {
                    profiles.push(p);
                }
            }
            Err(e) => problems.extend(e),
        }
    }
    (profiles, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_loads() {
        let pack = Pack::load(None).unwrap_or_else(|p| {
            panic!(
                "{}",
                p.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(pack.vendors.len() >= 13);
        let hp: Oid = "1.3.6.1.4.1.11.2.3.9.1".parse().unwrap();
        assert_eq!(
            pack.candidates(Some(&hp), "HP ETHERNET")[0].profile.name,
            "hp"
        );
    }

    #[test]
    fn refuses_oids_outside_the_allowlist_and_lists_every_problem() {
        let text = r#"
[profile]
name = "bad"
[match]
sys_object_id = ["1.3.6.1.4.1.99999"]
[identity]
model = [{ oid = "1.3.6.1.2.1.25.4.2.1.2.1" }]
[[counters]]
kind = "pages_printed"
oid = "1.3.6.1.2.1.43.10.2.1.4.1.1"
"#;
        let problems = Profile::parse("bad.toml", text).unwrap_err();
        let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            all.iter().any(|p| p.contains("1.3.6.1.2.1.25.4.2.1.2.1")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("unknown counter kind `pages_printed`")),
            "{all:?}"
        );
    }
}
