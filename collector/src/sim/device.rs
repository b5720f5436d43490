//! One virtual printer: its state, how it lives (pages, toner, sleep, faults), and its MIB.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::snmp::{Oid, Value};

/// The built-in models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// A mono A4 laser printer (one toner, one drum, one tray plus bypass, duplex).
    MonoLaser,
    /// A colour A4 MFP with per-function PWG counters (print, copy, fax, scan).
    ColorMfp,
    /// An A3 colour copier with large-format counters, four trays and a finisher.
    A3Copier,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::MonoLaser, Model::ColorMfp, Model::A3Copier];

    fn name(self) -> &'static str {
        match self {
            Model::MonoLaser => "Fleetsim LaserJet 4100dn",
            Model::ColorMfp => "Fleetsim ColorMFP 3300",
            Model::A3Copier => "Fleetsim Copier C6000",
        }
    }

    fn color(self) -> bool {
        self != Model::MonoLaser
    }

    fn trays(self) -> u32 {
        match self {
            Model::MonoLaser => 2,
            Model::ColorMfp => 2,
            Model::A3Copier => 5,
        }
    }
}

/// Faults that can be injected or happen at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Jam,
    DoorOpen,
    TonerEmpty,
    Offline,
    ServiceCall,
    NoPaper,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Jam,
        Fault::DoorOpen,
        Fault::TonerEmpty,
        Fault::Offline,
        Fault::ServiceCall,
        Fault::NoPaper,
    ];

    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::Jam => "jam",
            Fault::DoorOpen => "door_open",
            Fault::TonerEmpty => "toner_empty",
            Fault::Offline => "offline",
            Fault::ServiceCall => "service_call",
            Fault::NoPaper => "no_paper",
        }
    }

    /// `(prtAlertSeverityLevel, prtAlertGroup, prtAlertCode, description, error bit)`.
    fn alert(self) -> (i64, i64, i64, &'static str, usize) {
        match self {
            Fault::Jam => (3, 13, 8, "Paper jam in the paper path", 5),
            Fault::DoorOpen => (3, 6, 501, "Front door open", 4),
            Fault::TonerEmpty => (3, 11, 1101, "Black toner empty", 3),
            Fault::Offline => (3, 5, 22, "Printer offline", 6),
            Fault::ServiceCall => (3, 5, 30, "Service call: SC542 fusing unit", 7),
            Fault::NoPaper => (3, 8, 808, "Tray 2 empty", 1),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimSupply {
    /// `PrtMarkerSuppliesTypeTC`.
    pub kind: i64,
    /// 3 consumed, 4 receptacle.
    pub class: i64,
    /// Row of the colorant table (0 = none).
    pub colorant: i64,
    pub description: String,
    pub max: i64,
    pub level: i64,
    /// Pages one unit of `max` lasts at 5 % coverage.
    pub pages_per_unit: f64,
    #[serde(skip)]
    pub used: f64,
}

/// One virtual device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub id: usize,
    pub model: Model,
    pub serial: String,
    pub mac: [u8; 6],
    /// Pages per day.
    pub daily_volume: f64,
    /// Share of colour pages (colour models).
    pub color_share: f64,
    pub pages: BTreeMap<String, f64>,
    pub supplies: Vec<SimSupply>,
    pub faults: Vec<Fault>,
    /// Alert table rows: `(index, fault)`.
    pub alerts: Vec<(i64, Fault)>,
    pub next_alert_index: i64,
    pub asleep: bool,
    /// Seconds since the last request; the device falls asleep after `sleep_after`.
    pub idle: f64,
    pub replacements: u64,
    pub uptime_ticks: u64,
}

/// How devices live.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Life {
    /// Mean pages per day per device.
    pub daily_volume: f64,
    /// Simulated seconds per real second (86400 = a day per second).
    pub speed: f64,
    /// Faults per device per simulated day.
    pub fault_rate: f64,
    /// Seconds without requests before a device sleeps (0 = never).
    pub sleep_after: f64,
    /// How long a sleeping device takes to answer its first request.
    pub wake_delay: Duration,
}

impl Default for Life {
    fn default() -> Self {
        Life {
            daily_volume: 400.0,
            speed: 1.0,
            fault_rate: 0.0,
            sleep_after: 0.0,
            wake_delay: Duration::from_millis(2500),
        }
    }
}

fn toner(colorant: i64, color: &str, max: i64, pages_per_unit: f64) -> SimSupply {
    SimSupply {
        kind: 3,
        class: 3,
        colorant,
        description: format!(
            "{} Toner Cartridge, PN FS-{}",
            capitalise(color),
            color.to_uppercase()
        ),
        max,
        level: max,
        pages_per_unit,
        used: 0.0,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

pub const COLORANTS: [&str; 4] = ["black", "cyan", "magenta", "yellow"];

impl Device {
    /// A new device of `model`, with a serial and MAC derived from `id` and `seed`.
    pub fn new(id: usize, model: Model, seed: u64, life: &Life) -> Device {
        let mut rng =
            rand::rngs::StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9e37_79b9));
        let mut supplies = Vec::new();
        if model.color() {
            for (i, c) in COLORANTS.iter().enumerate() {
                // Percent units: 100 = full; one percent lasts 80 pages (black) or 60 (colour).
                let ppu = if i == 0 { 80.0 } else { 60.0 };
                supplies.push(toner(i as i64 + 1, c, 100, ppu));
            }
            supplies.push(SimSupply {
                kind: 4,
                class: 4,
                colorant: 0,
                description: "Waste Toner Container".into(),
                max: 100,
                level: 100,
                pages_per_unit: 300.0,
                used: 0.0,
            });
        } else {
            // Pages: a 3,000-page cartridge reported in impressions.
            supplies.push(toner(1, "black", 3000, 1.0));
        }
        supplies.push(SimSupply {
            kind: 9,
            class: 3,
            colorant: 0,
            description: "Drum Unit".into(),
            max: 100,
            level: 100,
            pages_per_unit: 500.0,
            used: 0.0,
        });
        // Start somewhere in the cartridges' lives.
        for s in &mut supplies {
            if s.class == 3 {
                s.level = rng.random_range((s.max / 4).max(1)..=s.max);
            }
        }
        let mut mac = [0x02, 0x46, 0x4d, 0, 0, 0];
        mac[3..].copy_from_slice(&(id as u32).to_be_bytes()[1..]);
        let mut pages = BTreeMap::new();
        pages.insert(
            "print_mono".into(),
            rng.random_range(1_000.0..50_000.0_f64).floor(),
        );
        pages.insert(
            "copy_mono".into(),
            if model == Model::MonoLaser {
                0.0
            } else {
                2_000.0
            },
        );
        pages.insert(
            "print_color".into(),
            if model.color() { 4_000.0 } else { 0.0 },
        );
        pages.insert("copy_color".into(), if model.color() { 500.0 } else { 0.0 });
        pages.insert(
            "fax".into(),
            if model == Model::MonoLaser {
                0.0
            } else {
                100.0
            },
        );
        pages.insert(
            "scan".into(),
            if model == Model::MonoLaser {
                0.0
            } else {
                800.0
            },
        );
        pages.insert("duplex".into(), 300.0);
        pages.insert(
            "large".into(),
            if model == Model::A3Copier { 900.0 } else { 0.0 },
        );
        let volume = life.daily_volume * rng.random_range(0.5..1.5);
        Device {
            id,
            model,
            serial: format!("FS{:02}{:07}", model as u8, id),
            mac,
            daily_volume: volume,
            color_share: if model.color() { 0.3 } else { 0.0 },
            pages,
            supplies,
            faults: Vec::new(),
            alerts: Vec::new(),
            next_alert_index: 1,
            asleep: false,
            idle: 0.0,
            replacements: 0,
            uptime_ticks: 0,
        }
    }

    fn page(&mut self, key: &str, n: f64) {
        *self.pages.entry(key.to_owned()).or_default() += n;
    }

    /// Advances the device by `seconds` of simulated time.
    pub fn tick(&mut self, seconds: f64, life: &Life, rng: &mut impl Rng) {
        self.uptime_ticks += (seconds * 100.0) as u64;
        if self.faults.iter().any(|f| {
            matches!(
                f,
                Fault::Jam
                    | Fault::DoorOpen
                    | Fault::TonerEmpty
                    | Fault::Offline
                    | Fault::ServiceCall
            )
        }) {
            return;
        }
        let pages = self.daily_volume * seconds / 86_400.0;
        if pages <= 0.0 {
            return;
        }
        let color = pages * self.color_share;
        let mono = pages - color;
        let copy_share = if self.model == Model::MonoLaser {
            0.0
        } else {
            0.25
        };
        self.page("print_mono", mono * (1.0 - copy_share));
        self.page("copy_mono", mono * copy_share);
        self.page("print_color", color * (1.0 - copy_share));
        self.page("copy_color", color * copy_share);
        self.page("duplex", pages * 0.2);
        if self.model != Model::MonoLaser {
            self.page("scan", pages * 0.1);
            self.page("fax", pages * 0.02);
        }
        if self.model == Model::A3Copier {
            self.page("large", pages * 0.15);
        }
        let mut empty = false;
        for s in &mut self.supplies {
            let use_pages = match (s.class, s.colorant) {
                (4, _) => pages,
                (_, 0) | (_, 1) => {
                    if s.kind == 9 {
                        pages
                    } else {
                        mono + color * 0.3
                    }
                }
                _ => color,
            };
            s.used += use_pages / s.pages_per_unit;
            let whole = s.used.floor();
            if whole >= 1.0 {
                s.used -= whole;
                s.level = (s.level - whole as i64).max(0);
            }
            if s.class == 3 && s.kind == 3 {
                // Replaced early sometimes (at 5-10 %), otherwise when empty.
                let early = s.level * 100 <= s.max * 8 && rng.random_bool(0.02);
                if s.level == 0 {
                    empty = true;
                } else if early {
                    s.level = s.max;
                    self.replacements += 1;
                }
            } else if s.level == 0 {
                s.level = s.max;
                self.replacements += 1;
            }
        }
        if empty {
            self.inject(Fault::TonerEmpty);
        }
        if life.fault_rate > 0.0 {
            let p = (life.fault_rate * seconds / 86_400.0).min(1.0);
            if rng.random_bool(p) {
                let f = [Fault::Jam, Fault::DoorOpen, Fault::NoPaper][rng.random_range(0..3)];
                self.inject(f);
            }
        }
    }

    pub fn inject(&mut self, f: Fault) {
        if !self.faults.contains(&f) {
            self.faults.push(f);
            self.alerts.push((self.next_alert_index, f));
            self.next_alert_index += 1;
        }
    }

    /// Clears a fault; clearing `toner_empty` replaces the cartridge.
    pub fn clear(&mut self, f: Fault) {
        self.faults.retain(|x| *x != f);
        self.alerts.retain(|(_, x)| *x != f);
        if f == Fault::TonerEmpty {
            for s in &mut self.supplies {
                if s.kind == 3 && s.level == 0 {
                    s.level = s.max;
                    self.replacements += 1;
                }
            }
        }
    }

    fn count(&self, key: &str) -> i64 {
        self.pages.get(key).copied().unwrap_or_default().floor() as i64
    }

    /// The device's MIB: SNMPv2-MIB system group, IF-MIB, Host-Resources, Printer-MIB (with
    /// alerts and display text) and the PWG Imaging System Counter MIB.
    pub fn render(&self, address: &str) -> BTreeMap<Oid, Value> {
        let mut m = BTreeMap::new();
        let mut put = |oid: &str, v: Value| {
            m.insert(oid.parse::<Oid>().expect("simulator OIDs are valid"), v);
        };
        let s = |t: &str| Value::Bytes(t.as_bytes().to_vec());
        let model = self.model.name();
        put(
            "1.3.6.1.2.1.1.1.0",
            s(&format!("{model} Network Printer, Firmware 2.4.1")),
        );
        put(
            "1.3.6.1.2.1.1.2.0",
            Value::Oid("1.3.6.1.4.1.99999.1.1".parse().expect("valid")),
        );
        put(
            "1.3.6.1.2.1.1.3.0",
            Value::TimeTicks((self.uptime_ticks % u64::from(u32::MAX)) as u32),
        );
        put("1.3.6.1.2.1.1.4.0", s("facilities@example.com"));
        put("1.3.6.1.2.1.1.5.0", s(&format!("sim-{:05}", self.id)));
        put(
            "1.3.6.1.2.1.1.6.0",
            s(&format!(
                "Building {}, floor {}",
                self.id / 100 + 1,
                self.id % 10
            )),
        );
        put("1.3.6.1.2.1.1.7.0", Value::Integer(72));
        // IF-MIB: a loopback with an empty address, then the Ethernet port.
        put("1.3.6.1.2.1.2.2.1.2.1", s("lo0"));
        put("1.3.6.1.2.1.2.2.1.2.2", s("eth0"));
        put("1.3.6.1.2.1.2.2.1.3.1", Value::Integer(24));
        put("1.3.6.1.2.1.2.2.1.3.2", Value::Integer(6));
        put("1.3.6.1.2.1.2.2.1.6.1", Value::Bytes(Vec::new()));
        put("1.3.6.1.2.1.2.2.1.6.2", Value::Bytes(self.mac.to_vec()));
        // Host-Resources.
        let critical = !self.faults.is_empty();
        put(
            "1.3.6.1.2.1.25.3.2.1.2.1",
            Value::Oid("1.3.6.1.2.1.25.3.1.5".parse().expect("valid")),
        );
        put("1.3.6.1.2.1.25.3.2.1.3.1", s(model));
        put(
            "1.3.6.1.2.1.25.3.2.1.5.1",
            Value::Integer(if critical { 5 } else { 2 }),
        );
        put(
            "1.3.6.1.2.1.25.3.5.1.1.1",
            Value::Integer(if self.asleep { 1 } else { 3 }),
        );
        let mut bits = [0u8; 2];
        for f in &self.faults {
            let bit = f.alert().4;
            bits[bit / 8] |= 0x80 >> (bit % 8);
        }
        let low = self
            .supplies
            .iter()
            .any(|x| x.kind == 3 && x.level * 100 <= x.max * 10 && x.level > 0);
        if low {
            bits[0] |= 0x20;
        }
        let octets = if bits[1] == 0 {
            bits[..1].to_vec()
        } else {
            bits.to_vec()
        };
        put("1.3.6.1.2.1.25.3.5.1.2.1", Value::Bytes(octets));
        // Printer-MIB general and localization.
        put("1.3.6.1.2.1.43.5.1.1.16.1", s(model));
        put("1.3.6.1.2.1.43.5.1.1.17.1", s(&self.serial));
        put("1.3.6.1.2.1.43.7.1.1.4.1.1", Value::Integer(106));
        for t in 1..=self.model.trays() {
            let manual = t == self.model.trays();
            put(
                &format!("1.3.6.1.2.1.43.8.2.1.2.1.{t}"),
                Value::Integer(if manual { 5 } else { 3 }),
            );
            put(
                &format!("1.3.6.1.2.1.43.8.2.1.10.1.{t}"),
                Value::Integer(-3),
            );
            let name = if manual {
                "Bypass Tray".to_owned()
            } else {
                format!("Tray {t}")
            };
            put(&format!("1.3.6.1.2.1.43.8.2.1.13.1.{t}"), s(&name));
        }
        put("1.3.6.1.2.1.43.10.2.1.2.1.1", Value::Integer(4));
        put("1.3.6.1.2.1.43.10.2.1.3.1.1", Value::Integer(7));
        let total = self.total();
        put("1.3.6.1.2.1.43.10.2.1.4.1.1", Value::Unsigned(total as u64));
        put(
            "1.3.6.1.2.1.43.10.2.1.6.1.1",
            Value::Integer(if self.model.color() { 4 } else { 1 }),
        );
        for (i, x) in self.supplies.iter().enumerate() {
            let r = i + 1;
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.3.1.{r}"),
                Value::Integer(x.colorant),
            );
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.4.1.{r}"),
                Value::Integer(x.class),
            );
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.5.1.{r}"),
                Value::Integer(x.kind),
            );
            put(&format!("1.3.6.1.2.1.43.11.1.1.6.1.{r}"), s(&x.description));
            let unit = if x.max == 100 { 19 } else { 7 };
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.7.1.{r}"),
                Value::Integer(unit),
            );
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.8.1.{r}"),
                Value::Integer(x.max),
            );
            put(
                &format!("1.3.6.1.2.1.43.11.1.1.9.1.{r}"),
                Value::Integer(x.level),
            );
        }
        let colorants = if self.model.color() { 4 } else { 1 };
        for (i, c) in COLORANTS.iter().take(colorants).enumerate() {
            put(&format!("1.3.6.1.2.1.43.12.1.1.4.1.{}", i + 1), s(c));
        }
        put("1.3.6.1.2.1.43.13.4.1.9.1.1", Value::Integer(3));
        put("1.3.6.1.2.1.43.13.4.1.9.1.2", Value::Integer(5));
        // Front panel.
        let line1 = match (self.faults.first(), self.asleep) {
            (Some(f), _) => f.alert().3.to_owned(),
            (None, true) => "Sleep mode".to_owned(),
            (None, false) => "Ready".to_owned(),
        };
        put("1.3.6.1.2.1.43.16.5.1.2.1.1", s(&line1));
        put("1.3.6.1.2.1.43.16.5.1.2.1.2", s(&format!("IP {address}")));
        // Alert table.
        for (index, f) in &self.alerts {
            let (sev, group, code, text, _) = f.alert();
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.2.1.{index}"),
                Value::Integer(sev),
            );
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.3.1.{index}"),
                Value::Integer(4),
            );
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.4.1.{index}"),
                Value::Integer(group),
            );
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.5.1.{index}"),
                Value::Integer(1),
            );
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.6.1.{index}"),
                Value::Integer(0),
            );
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.7.1.{index}"),
                Value::Integer(code),
            );
            put(&format!("1.3.6.1.2.1.43.18.1.1.8.1.{index}"), s(text));
            put(
                &format!("1.3.6.1.2.1.43.18.1.1.9.1.{index}"),
                Value::TimeTicks(1000),
            );
        }
        // PWG Imaging System Counter MIB (MFPs and copiers): keys 1 system totals, 2 print,
        // 3 copy, 4 fax in, 5 scan.
        if self.model != Model::MonoLaser {
            let keys = [(1, 3), (2, 11), (3, 4), (4, 7), (5, 12)];
            for (key, service) in keys {
                put(
                    &format!("1.3.6.1.4.1.2699.1.3.1.2.1.1.2.{key}"),
                    Value::Integer(service),
                );
            }
            let print_mono = self.count("print_mono");
            let print_color = self.count("print_color");
            let copy_mono = self.count("copy_mono");
            let copy_color = self.count("copy_color");
            let fax = self.count("fax");
            let rows = [
                (
                    1,
                    total,
                    total - print_color - copy_color,
                    print_color + copy_color,
                ),
                (2, print_mono + print_color, print_mono, print_color),
                (3, copy_mono + copy_color, copy_mono, copy_color),
                (4, fax, fax, 0),
            ];
            for (key, t, mono, color) in rows {
                let base = "1.3.6.1.4.1.2699.1.3.1.8.1.1";
                put(&format!("{base}.4.{key}.3.3"), Value::Integer(t));
                put(&format!("{base}.5.{key}.3.3"), Value::Integer(mono));
                put(&format!("{base}.7.{key}.3.3"), Value::Integer(color));
            }
            put(
                "1.3.6.1.4.1.2699.1.3.1.9.1.1.4.1.3.3",
                Value::Integer(self.count("duplex")),
            );
            put(
                "1.3.6.1.4.1.2699.1.3.1.7.1.1.4.5.3.3",
                Value::Integer(self.count("scan")),
            );
        }
        m
    }

    /// Every impression: print, copy and received faxes.
    pub fn total(&self) -> i64 {
        [
            "print_mono",
            "print_color",
            "copy_mono",
            "copy_color",
            "fax",
        ]
        .iter()
        .map(|k| self.count(k))
        .sum()
    }

    /// The counters the collector should report, by wire kind (for tests and `--expect`).
    pub fn expected_counters(&self) -> BTreeMap<&'static str, i64> {
        let mut out = BTreeMap::new();
        out.insert("total", self.total());
        if self.model != Model::MonoLaser {
            let pc = self.count("print_color") + self.count("copy_color");
            out.insert("color", pc);
            out.insert("mono", self.total() - pc);
            out.insert("print_mono", self.count("print_mono"));
            out.insert("print_color", self.count("print_color"));
            out.insert(
                "print_total",
                self.count("print_mono") + self.count("print_color"),
            );
            out.insert("copy_mono", self.count("copy_mono"));
            out.insert("copy_color", self.count("copy_color"));
            out.insert(
                "copy_total",
                self.count("copy_mono") + self.count("copy_color"),
            );
            out.insert("fax", self.count("fax"));
            out.insert("scan", self.count("scan"));
            out.insert("duplex", self.count("duplex"));
        }
        out
    }
}
