//! Conformance against real printer recordings (`../shared/testdata/printers`) served by
//! snmpsim: identity, supplies and page counters agree with the expected values, every
//! identity-only recording is detected as its vendor, and the data's known faults give a
//! clean error or partial reading, never a crash or a hung poll.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_collector::poll::{Polled, Poller, Scope};
use fleet_collector::profile::{Pack, Snapshot, evaluate};
use fleet_collector::report::Report;
use fleet_collector::snmp::backend::AsyncSnmpEngine;
use fleet_collector::snmp::{
    AuthProtocol, Credentials, Patience, PrivProtocol, UsmCredentials, WalkLimits, snmprec,
};
use serde_json::Value as Json;

/// A poll must end within this, whatever the recording does.
const POLL_BOUND: Duration = Duration::from_secs(40);

struct Setup {
    _snmpsim: support::Proc,
    _data: tempfile::TempDir,
    addr: std::net::SocketAddr,
    printers: std::path::PathBuf,
}

fn setup() -> Option<Setup> {
    let Some(printers) = support::printers() else {
        println!("SKIPPED: ../shared/testdata/printers is absent");
        return None;
    };
    let Some(snmpsim) = support::snmpsim() else {
        println!("SKIPPED: snmpsim not found (set FLEET_SNMPSIM or run deploy/dev.sh test)");
        return None;
    };
    let (proc, addr, data) = support::start_snmpsim(&printers, &snmpsim);
    Some(Setup {
        _snmpsim: proc,
        _data: data,
        addr,
        printers,
    })
}

async fn poll_all(
    addr: std::net::SocketAddr,
    names: &[String],
) -> BTreeMap<String, (Result<Polled, String>, Duration)> {
    let engine = Arc::new(AsyncSnmpEngine::bind(2000).await.unwrap());
    let pack = Arc::new(Pack::load(None).unwrap());
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let (engine, pack, limit, name) =
            (engine.clone(), pack.clone(), limit.clone(), name.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let poller = Poller {
                engine: &*engine,
                pack: &pack,
                patience: Patience::POLL,
                limits: WalkLimits::default(),
            };
            let started = Instant::now();
            let c = Credentials::V2c {
                community: name.clone(),
            };
            let r = tokio::time::timeout(POLL_BOUND, poller.poll(addr, &c, Scope::Full)).await;
            let r = match r {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("hung".into()),
            };
            (name, r, started.elapsed())
        });
    }
    let mut out = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        let (name, result, took) = r.expect("no poll panics");
        out.insert(name, (result, took));
    }
    out
}

fn stems(dir: &std::path::Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_owned();
            name.strip_suffix(ext).map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

fn expected(printers: &std::path::Path, name: &str) -> Json {
    serde_json::from_str(
        &std::fs::read_to_string(printers.join("expected").join(format!("{name}.json"))).unwrap(),
    )
    .unwrap()
}

/// The supply at a Printer-MIB row.
fn supply_at<'a>(r: &'a Report, row: &str) -> Option<&'a fleet_collector::report::Supply> {
    r.supplies.iter().find(|s| s.source == row)
}

/// Our counter kind for LibreNMS's counter sensor names, where we read the same object.
fn counter_kind(descr: &str) -> Option<&'static str> {
    Some(match descr {
        "Life time impressions" | "Life time sheets" | "Total page cnt" => "total",
        "Lifetime scanned" => "scan",
        "Total Duplex cnt" => "duplex",
        "Total Jam cnt" => "x-hp-jams",
        "Black & White Copy Count" => "copy_mono",
        "Black & White Print Count" => "print_mono",
        "Full Color Print Count" => "print_color",
        "Full Color Copy Count" => "copy_color",
        _ => return None,
    })
}

/// Deliberate disagreements with LibreNMS, by recording and supply row, with the reason.
const SUPPLY_DISAGREEMENTS: &[(&str, &str, &str)] = &[
    // LibreNMS shows "some remaining" (-3) as 50 %; the Printer-MIB says only that some is left.
    ("*", "level -3", "-3 means some remaining, not 50 %"),
    // LibreNMS shows waste containers as level/capacity; their level counts free space.
    (
        "*",
        "waste",
        "waste containers: fullness is 100 - free space",
    ),
    // Epson's Printer-MIB reports 1 of 100 for every ink (its real levels are private).
    ("epson", "1.1", "Epson reports a placeholder level of 1"),
    (
        "*",
        "rounding",
        "LibreNMS rounds percentages to the nearest; we round down",
    ),
];

/// Deliberate disagreements on identity, with the reason.
const IDENTITY_DISAGREEMENTS: &[(&str, &str)] = &[
    (
        "jetdirect_m130nw",
        "model: ours is hrDeviceDescr `HP LaserJet MFP M130nw`, LibreNMS the 1284 series name",
    ),
    (
        "zebra",
        "model and serial: label printers have no profile; Zebra's private MIB is not read",
    ),
    (
        "konica",
        "model: the recording mixes a bizhub sysDescr with a Develop ineo+ private model",
    ),
];

/// Recordings that cannot be identified (neither serial nor MAC), whose reports the gateway
/// would refuse; the collector logs and skips them.
const UNIDENTIFIABLE: &[&str] = &["xerox"];

fn check_supplies(
    name: &str,
    r: &Report,
    exp: &Json,
    problems: &mut Vec<String>,
    compared: &mut usize,
) {
    let Some(list) = exp
        .pointer("/printer-supplies/discovery/printer_supplies")
        .and_then(Json::as_array)
    else {
        return;
    };
    for s in list {
        let oid = s["supply_oid"].as_str().unwrap_or_default();
        let Some(row) = oid.strip_prefix(".1.3.6.1.2.1.43.11.1.1.9.") else {
            continue;
        };
        let theirs = s["supply_current"].as_i64().unwrap_or(-99);
        let Some(ours) = supply_at(r, row) else {
            problems.push(format!(
                "{name}: supply row {row} ({}) missing",
                s["supply_descr"]
            ));
            continue;
        };
        *compared += 1;
        if ours.level == -3 {
            continue; // SUPPLY_DISAGREEMENTS: "level -3"
        }
        if name == "epson" {
            continue; // SUPPLY_DISAGREEMENTS: placeholder level
        }
        // LibreNMS rounds to the nearest percent; we round down, so that a cartridge is never
        // shown fuller than it is (SUPPLY_DISAGREEMENTS: "rounding").
        let rounded = (ours.max > 0 && ours.level >= 0)
            .then(|| ((ours.level as f64) * 100.0 / ours.max as f64).round() as i64);
        let agree = match (ours.percent, ours.percent_full) {
            (Some(p), _) => i64::from(p) == theirs || rounded == Some(theirs),
            (_, Some(full)) => 100 - i64::from(full) == theirs,
            (None, None) => ours.level == theirs,
        };
        if !agree {
            problems.push(format!(
                "{name}: supply {row} `{}`: ours level {} max {} percent {:?}/{:?}, \
                 LibreNMS {theirs}",
                ours.description, ours.level, ours.max, ours.percent, ours.percent_full
            ));
        }
    }
}

fn check_counters(
    name: &str,
    r: &Report,
    exp: &Json,
    problems: &mut Vec<String>,
    compared: &mut usize,
) {
    let Some(list) = exp
        .pointer("/sensors/discovery/sensors")
        .and_then(Json::as_array)
    else {
        return;
    };
    for s in list.iter().filter(|s| s["sensor_class"] == "count") {
        let descr = s["sensor_descr"].as_str().unwrap_or_default();
        let Some(kind) = counter_kind(descr) else {
            continue;
        };
        let theirs = s["sensor_current"].as_f64().unwrap_or(-1.0) as u64;
        *compared += 1;
        match r.counters.get(kind) {
            Some(v) if *v == theirs => {}
            other => problems.push(format!(
                "{name}: counter {kind} ({descr}): ours {other:?}, expected {theirs}"
            )),
        }
    }
}

fn check_identity(
    name: &str,
    r: &Report,
    exp: &Json,
    problems: &mut Vec<String>,
    compared: &mut usize,
) {
    if IDENTITY_DISAGREEMENTS.iter().any(|(n, _)| *n == name) {
        return;
    }
    let dev = &exp["os"]["discovery"]["devices"][0];
    if let Some(serial) = dev["serial"].as_str() {
        *compared += 1;
        if r.identity.serial != serial {
            problems.push(format!(
                "{name}: serial ours `{}`, expected `{serial}`",
                r.identity.serial
            ));
        }
    }
    if let Some(hw) = dev["hardware"].as_str() {
        // LibreNMS appends the MAC to Brother models ("HL-5370DW [001ba90ba752]") and drops
        // vendor words; compare the model number itself.
        let model = hw.split(" [").next().unwrap_or(hw).to_lowercase();
        *compared += 1;
        let ours = r.identity.model.to_lowercase();
        if !ours.contains(&model) && !model.contains(&ours) {
            problems.push(format!(
                "{name}: model ours `{}`, expected `{hw}`",
                r.identity.model
            ));
        }
    }
}

/// Expected vendor of every identity-only recording (README table; OEM brands keep their
/// name).
const VENDORS: &[(&str, &[&str])] = &[
    ("canonprinter_d1180", &["Canon"]),
    ("canonprinter_ir-adv", &["Canon"]),
    ("canonprinter_mf", &["Canon"]),
    ("dell-laser", &["Dell"]),
    ("dell-laser_color", &["Dell"]),
    ("dell-laser_mfp", &["Dell"]),
    ("developprinter", &["Develop", "Konica Minolta"]),
    ("gestetner", &["Gestetner", "Ricoh"]),
    ("jetdirect_1", &["HP"]),
    ("jetdirect_2", &["HP"]),
    ("kyocera", &["Kyocera"]),
    ("lanier", &["Lanier", "Ricoh"]),
    ("lexmarkprinter", &["Lexmark"]),
    ("nrg", &["NRG", "Ricoh"]),
    ("okilan", &["OKI"]),
    ("ricoh", &["Ricoh"]),
    ("ricoh_aficio", &["Ricoh"]),
    ("samsungprinter_c", &["Samsung"]),
    ("samsungprinter_clx", &["Samsung"]),
    ("samsungprinter_ml", &["Samsung"]),
    ("samsungprinter_s", &["Samsung"]),
    ("samsungprinter_scx", &["Samsung"]),
    ("savin_c4503", &["Savin", "Ricoh"]),
    ("sharp_mx2614n", &["Sharp"]),
    ("sharp_mx3140n", &["Sharp"]),
    ("sharp_mxc301w", &["Sharp"]),
    ("toshiba-tec_estudio2505", &["Toshiba"]),
    ("toshiba-tec_estudio305", &["Toshiba"]),
    ("toshiba-tec_ev4", &["Toshiba"]),
    ("toshiba-tec_fv4", &["Toshiba"]),
    ("toshiba-tec_sx5t", &["Toshiba"]),
    ("tsc", &["TSC"]),
    ("xerox_apeosport", &["Fujifilm", "Xerox"]),
    ("xerox_color", &["Xerox"]),
    ("xerox_docuprint", &["Fujifilm", "Xerox"]),
    ("xerox_phaser", &["Xerox"]),
    ("xerox_workcentre", &["Xerox"]),
    ("zebra_1", &["Zebra"]),
];

/// Recordings with known faults: a poll must end cleanly (a report, possibly partial, or an
/// error), never hang or panic.
const FAULTY: &[&str] = &["okilan_9450g", "canonprinter_lbp", "zebra", "epson"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_agree_with_expected_values() {
    let Some(s) = setup() else { return };
    let with_expected = stems(&s.printers.join("expected"), ".json");
    let all = stems(&s.printers.join("snmprec"), ".snmprec");
    let results = poll_all(s.addr, &all).await;
    let mut problems = Vec::new();
    let mut compared = 0;
    for name in &all {
        let (result, took) = &results[name];
        assert!(*took < POLL_BOUND, "{name}: poll took {took:?}");
        if FAULTY.contains(&name.as_str()) {
            println!(
                "{name} (known fault): {} in {took:?}",
                match result {
                    Ok(p) => format!(
                        "report with {} warning(s): {:?}",
                        p.warnings.len(),
                        p.warnings
                    ),
                    Err(e) => format!("error: {e}"),
                }
            );
        }
        let polled = match result {
            Ok(p) => p,
            Err(e) if FAULTY.contains(&name.as_str()) => {
                println!("{name}: clean error: {e}");
                continue;
            }
            Err(e) => {
                problems.push(format!("{name}: poll failed: {e}"));
                continue;
            }
        };
        let r = &polled.report;
        if let Some((_, vendors)) = VENDORS.iter().find(|(n, _)| n == name) {
            compared += 1;
            if !vendors.contains(&r.identity.vendor.as_str()) {
                problems.push(format!(
                    "{name}: vendor `{}`, expected one of {vendors:?}",
                    r.identity.vendor
                ));
            }
        }
        if with_expected.contains(name) {
            let exp = expected(&s.printers, name);
            check_identity(name, r, &exp, &mut problems, &mut compared);
            check_supplies(name, r, &exp, &mut problems, &mut compared);
            check_counters(name, r, &exp, &mut problems, &mut compared);
        }
        if with_expected.contains(name)
            && !UNIDENTIFIABLE.contains(&name.as_str())
            && let Err(e) = r.validate()
        {
            problems.push(format!(
                "{name}: the report would be refused by the gateway: {e}"
            ));
        }
    }
    println!(
        "{compared} values compared across {} recordings; deliberate disagreements:",
        all.len()
    );
    for (file, what, why) in SUPPLY_DISAGREEMENTS {
        println!("  {file} {what}: {why}");
    }
    for (file, why) in IDENTITY_DISAGREEMENTS {
        println!("  {file}: {why}");
    }
    for file in UNIDENTIFIABLE {
        println!("  {file}: neither serial nor MAC in the recording; not sendable");
    }
    assert!(compared > 100, "only {compared} values compared");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The Brother fixtures carry no system group, so they are evaluated in-process with the
/// Brother profile against the brother library's expected values.
#[test]
fn brother_fixtures_agree_with_the_brother_library() {
    let Some(printers) = support::printers() else {
        println!("SKIPPED: ../shared/testdata/printers is absent");
        return;
    };
    let pack = Pack::load(None).unwrap();
    let brother = pack.by_name("brother").expect("a brother profile");
    let dir = printers.join("brother");
    let mut problems = Vec::new();
    let mut compared = 0;
    for name in stems(&dir, ".expected.json") {
        let bytes = std::fs::read(dir.join(format!("{name}.snmprec"))).unwrap();
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        let (values, _) = snmprec::parse(&text);
        let snap = Snapshot { values };
        let r = evaluate(
            &pack.generic,
            Some(brother),
            &snap,
            time::OffsetDateTime::now_utc(),
            Scope::Full,
        );
        let exp: Json = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let mut check = |what: &str, ours: Option<i64>, theirs: Option<i64>| {
            if let Some(t) = theirs {
                compared += 1;
                if ours != Some(t) {
                    problems.push(format!("{name}: {what}: ours {ours:?}, expected {t}"));
                }
            }
        };
        let counter = |k: &str| r.counters.get(k).map(|v| *v as i64);
        check("total", counter("total"), exp["page_counter"].as_i64());
        check("mono", counter("mono"), exp["bw_counter"].as_i64());
        check("color", counter("color"), exp["color_counter"].as_i64());
        for color in ["black", "cyan", "magenta", "yellow"] {
            // The library's `<colour>_toner_remaining` is record 6f-72 (hundredths of a percent).
            let level = r
                .supplies
                .iter()
                .find(|s| {
                    matches!(s.kind.as_str(), "toner" | "ink")
                        && s.color == color
                        && s.source.starts_with("record:")
                })
                .map(|s| s.level);
            check(
                &format!("{color} toner"),
                level,
                exp[format!("{color}_toner_remaining")].as_i64(),
            );
        }
        if let Some(serial) = exp["serial"].as_str() {
            compared += 1;
            if r.identity.serial != serial {
                problems.push(format!(
                    "{name}: serial `{}` != `{serial}`",
                    r.identity.serial
                ));
            }
        }
        if let Some(model) = exp["model"].as_str() {
            compared += 1;
            if r.identity.model != model {
                problems.push(format!("{name}: model `{}` != `{model}`", r.identity.model));
            }
        }
        if let Some(status) = exp["status"].as_str() {
            // The library lower-cases the panel text and joins the lines with a space.
            compared += 1;
            let ours = r
                .status
                .as_ref()
                .map(|s| s.display.join(" ").to_lowercase())
                .unwrap_or_default();
            if ours != status {
                problems.push(format!("{name}: panel `{ours}` != `{status}`"));
            }
        }
    }
    println!("{compared} Brother values compared");
    assert!(compared > 30);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpv3_auth_priv_against_snmpsim() {
    let Some(s) = setup() else { return };
    let engine = AsyncSnmpEngine::bind(500).await.unwrap();
    let pack = Pack::load(None).unwrap();
    let poller = Poller {
        engine: &engine,
        pack: &pack,
        patience: Patience::POLL,
        limits: WalkLimits::default(),
    };
    let v3 = |auth: &str| {
        Credentials::V3(UsmCredentials {
            user: "simulator".into(),
            auth_protocol: Some(AuthProtocol::Sha),
            auth_password: Some(auth.into()),
            priv_protocol: Some(PrivProtocol::Aes),
            priv_password: Some("privatus".into()),
            context: "ricoh_mpc3002".into(),
        })
    };
    let polled = poller
        .poll(s.addr, &v3("auctoritas"), Scope::Full)
        .await
        .unwrap();
    assert_eq!(polled.report.identity.serial, "W492KB03439");
    assert_eq!(polled.report.counters.get("total"), Some(&271_871));
    // A wrong key gets no answer at all: give up after one short attempt.
    let impatient = support::poller(&engine, &pack, support::ONE_SHORT_TRY);
    let wrong = impatient
        .poll(s.addr, &v3("wrong-password"), Scope::Full)
        .await;
    assert!(wrong.is_err(), "a wrong password must not read the device");
}
