//! The collector and the simulator against real SNMP peers: net-snmp's tools walk
//! `fleet-sim`; the collector reads net-snmp's `snmpd` over SNMPv3; discovery sweeps a range
//! where most addresses are silent; sleeping and faulty printers read right.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use fleet_collector::poll::{Poller, Scope};
use fleet_collector::profile::Pack;
use fleet_collector::snmp::backend::AsyncSnmpEngine;
use fleet_collector::snmp::{
    AuthProtocol, Credentials, Patience, PrivProtocol, UsmCredentials, WalkLimits,
};
use support::Proc;

/// A simulator with `devices` printers at `127.5.<net>.1 + i * stride`.
struct Sim {
    _proc: Proc,
    port: u16,
    net: u32,
    control: String,
}

fn sim(devices: usize, stride: u32, extra: &[&str]) -> Sim {
    support::init_tls();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let net = 1
        + (std::process::id() * 7 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) % 250;
    let port = support::free_udp_port();
    let control = support::free_tcp_port();
    let proc = Proc::spawn(
        Command::new(support::binary("fleet-sim"))
            .args([
                "--devices",
                &devices.to_string(),
                "--stride",
                &stride.to_string(),
            ])
            .args([
                "--base",
                &format!("127.5.{net}.1"),
                "--port",
                &port.to_string(),
            ])
            .args(["--control", &format!("127.0.0.1:{control}")])
            .args(extra),
    );
    support::wait_for_snmp(
        format!("127.5.{net}.1:{port}").parse().unwrap(),
        "public",
        Duration::from_secs(20),
    );
    Sim {
        _proc: proc,
        port,
        net,
        control: format!("http://127.0.0.1:{control}"),
    }
}

impl Sim {
    fn addr(&self, i: u32) -> SocketAddr {
        format!("127.5.{}.{}:{}", self.net, 1 + i, self.port)
            .parse()
            .unwrap()
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("-V").output().is_ok()
}

fn snmpd_path() -> Option<&'static str> {
    ["/usr/sbin/snmpd", "/usr/local/sbin/snmpd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn net_snmp_walks_the_simulator() {
    if !have("snmpbulkwalk") {
        println!("SKIPPED: net-snmp's tools are not installed (Debian package `snmp`)");
        return;
    }
    let s = sim(
        2,
        1,
        &[
            "--v3-user",
            "walker",
            "--v3-auth-protocol",
            "sha256",
            "--v3-auth-password",
            "walkerpass1",
            "--v3-priv-protocol",
            "aes",
            "--v3-priv-password",
            "walkerpriv1",
        ],
    );
    let target = s.addr(1).to_string();
    let run = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let bulk = run(&[
        "snmpbulkwalk",
        "-v2c",
        "-c",
        "public",
        "-On",
        &target,
        "1.3.6.1.2.1.43",
    ]);
    let next = run(&[
        "snmpwalk",
        "-v1",
        "-c",
        "public",
        "-On",
        &target,
        "1.3.6.1.2.1.43",
    ]);
    let v3 = run(&[
        "snmpwalk",
        "-v3",
        "-l",
        "authPriv",
        "-u",
        "walker",
        "-a",
        "SHA-256",
        "-A",
        "walkerpass1",
        "-x",
        "AES",
        "-X",
        "walkerpriv1",
        "-On",
        &target,
        "1.3.6.1.2.1.43",
    ]);
    let rows = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with(".1.3.6.1.2.1.43."))
            .count()
    };
    assert!(rows(&bulk) > 60, "{bulk}");
    assert_eq!(rows(&bulk), rows(&next), "GETBULK and GETNEXT walks differ");
    assert_eq!(rows(&bulk), rows(&v3), "the SNMPv3 walk differs");
    assert!(
        bulk.contains(".1.3.6.1.2.1.43.11.1.1.9.1.1 = INTEGER:"),
        "{bulk}"
    );
    assert!(!bulk.contains("OID not increasing"), "{bulk}");
    // The whole MIB walks to its end without an error.
    let all = run(&[
        "snmpbulkwalk",
        "-v2c",
        "-c",
        "public",
        "-On",
        &target,
        "1.3.6.1",
    ]);
    assert!(all.lines().count() > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpv3_against_net_snmp_snmpd() {
    let Some(snmpd) = snmpd_path() else {
        println!("SKIPPED: snmpd is not installed (Debian package `snmpd`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_udp_port();
    let conf = dir.path().join("snmpd.conf");
    std::fs::write(
        &conf,
        "rocommunity public 127.0.0.1\n\
         createUser sha256aes SHA-256 authpassword1 AES privpassword1\n\
         createUser sha1des SHA authpassword1 DES privpassword1\n\
         createUser md5only MD5 authpassword1\n\
         createUser sha512aes256 SHA-512 authpassword1 AES-256 privpassword1\n\
         rouser sha256aes priv\nrouser sha1des priv\nrouser md5only auth\n\
         rouser sha512aes256 priv\n",
    )
    .unwrap();
    let _snmpd = Proc::spawn(
        Command::new(snmpd)
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf)
            .arg(format!("udp:127.0.0.1:{port}"))
            .env("SNMP_PERSISTENT_DIR", dir.path())
            .env("MIBS", ""),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    support::wait_for_snmp(addr, "public", Duration::from_secs(20));
    let engine = AsyncSnmpEngine::bind(500).await.unwrap();
    let pack = Pack::load(None).unwrap();
    let poller = Poller {
        engine: &engine,
        pack: &pack,
        patience: Patience::POLL,
        limits: WalkLimits::default(),
    };
    let user = |user: &str, auth: AuthProtocol, privacy: Option<PrivProtocol>, password: &str| {
        Credentials::V3(UsmCredentials {
            user: user.into(),
            auth_protocol: Some(auth),
            auth_password: Some(password.into()),
            priv_protocol: privacy,
            priv_password: privacy.map(|_| "privpassword1".into()),
            context: String::new(),
        })
    };
    let cases = [
        ("sha256aes", AuthProtocol::Sha256, Some(PrivProtocol::Aes)),
        ("sha1des", AuthProtocol::Sha, Some(PrivProtocol::Des)),
        ("md5only", AuthProtocol::Md5, None),
        (
            "sha512aes256",
            AuthProtocol::Sha512,
            Some(PrivProtocol::Aes256),
        ),
    ];
    let mut read = 0;
    for (name, auth, privacy) in cases {
        match poller
            .poll(
                addr,
                &user(name, auth, privacy, "authpassword1"),
                Scope::Full,
            )
            .await
        {
            Ok(p) => {
                assert_eq!(
                    p.report.identity.sys_object_id, "1.3.6.1.4.1.8072.3.2.10",
                    "{name}"
                );
                read += 1;
            }
            // Debian's net-snmp may be built without AES-256; say so, do not hide it.
            Err(e) if name == "sha512aes256" => {
                println!("{name}: not supported by this snmpd build: {e}");
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(read >= 3, "SHA-256/AES, SHA-1/DES and MD5 must all work");
    let impatient = support::poller(&engine, &pack, support::ONE_SHORT_TRY);
    let bad = user(
        "sha256aes",
        AuthProtocol::Sha256,
        Some(PrivProtocol::Aes),
        "not-the-password",
    );
    let wrong = impatient.poll(addr, &bad, Scope::Full).await;
    assert!(wrong.is_err(), "a wrong password must not read the agent");
    let v2c = poller
        .poll(addr, &Credentials::public(), Scope::Status)
        .await
        .unwrap();
    assert_eq!(v2c.profile, "generic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_printers_among_silent_addresses() {
    // 16 printers on every fourth address of a /26 (62 hosts); the others are silent.
    let s = sim(16, 4, &[]);
    let out = Command::new(support::binary("fleet-collector"))
        .args([
            "discover",
            &format!("127.5.{}.0/26", s.net),
            "--port",
            &s.port.to_string(),
            "--json",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 16, "{found:?}");
    let devices: serde_json::Value = reqwest::get(format!("{}/devices", s.control))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (f, d) in found.iter().zip(devices["devices"].as_array().unwrap()) {
        assert_eq!(f["address"], d["address"]);
        assert_eq!(f["serial"], d["serial"]);
        assert_eq!(f["vendor"], "Fleetsim");
    }
    let bad = Command::new(support::binary("fleet-collector"))
        .args(["discover", "printer.example"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_printer_is_asleep_not_unreachable_and_faults_read_right() {
    let s = sim(3, 1, &["--wake-delay-ms", "1500"]);
    let http = reqwest::Client::new();
    let engine = AsyncSnmpEngine::bind(500).await.unwrap();
    let pack = Pack::load(None).unwrap();
    let patience = Patience {
        timeout: Duration::from_millis(1000),
        retries: 1,
        wake_attempts: 3,
    };
    let poller = Poller {
        engine: &engine,
        pack: &pack,
        patience,
        limits: WalkLimits::default(),
    };
    let c = Credentials::public();

    // Asleep: the first attempt (1 s) times out, the second (2 s) gets the answer.
    http.post(format!("{}/devices/0/sleep", s.control))
        .send()
        .await
        .unwrap();
    let p = poller.poll(s.addr(0), &c, Scope::Status).await.unwrap();
    assert_eq!(p.wake.attempts, 2, "{:?}", p.wake);
    let st = p.report.status.unwrap();
    assert!(st.errors.contains(&"asleep".to_owned()), "{st:?}");
    // Awake again: answered at once, not asleep.
    let p = poller.poll(s.addr(0), &c, Scope::Status).await.unwrap();
    assert_eq!(p.wake.attempts, 1);
    assert!(p.report.status.unwrap().errors.is_empty());

    // A door opens and paper jams: flags in bit order, alerts from the alert table.
    for f in ["door_open", "jam"] {
        http.post(format!("{}/devices/1/faults/{f}", s.control))
            .send()
            .await
            .unwrap();
    }
    let p = poller.poll(s.addr(1), &c, Scope::Full).await.unwrap();
    let st = p.report.status.clone().unwrap();
    assert_eq!(st.errors, ["door_open", "jammed"]);
    assert_eq!(st.device, "down");
    assert_eq!(st.display[0], "Front door open");
    let codes: Vec<(String, i64)> = p
        .report
        .alerts
        .iter()
        .map(|a| (a.severity.clone(), a.code))
        .collect();
    assert_eq!(
        codes,
        [("critical".to_owned(), 501), ("critical".to_owned(), 8)]
    );
    p.report.validate().unwrap();
    // Cleared: gone from status and alerts.
    for f in ["door_open", "jam"] {
        http.delete(format!("{}/devices/1/faults/{f}", s.control))
            .send()
            .await
            .unwrap();
    }
    let p = poller.poll(s.addr(1), &c, Scope::Status).await.unwrap();
    assert!(p.report.alerts.is_empty());

    // Nobody at an address: unreachable after the wake-up attempts, quickly.
    let silent: SocketAddr = format!("127.5.{}.200:{}", s.net, s.port).parse().unwrap();
    let started = std::time::Instant::now();
    let e = poller.poll(silent, &c, Scope::Full).await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn profiles_check_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.toml"),
        "[profile]\nname = \"acme\"\nvendor = \"Acme\"\n[match]\n\
         sys_object_id = [\"1.3.6.1.4.1.99999\"]\n\
         [[counters]]\nkind = \"total\"\noid = \"1.3.6.1.2.1.43.10.2.1.4.1.1\"\n",
    )
    .unwrap();
    let check = |dir: &std::path::Path| {
        Command::new(support::binary("fleet-collector"))
            .args(["profiles", "check"])
            .arg(dir)
            .output()
            .unwrap()
    };
    let ok = check(dir.path());
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    std::fs::write(
        dir.path().join("snoop.toml"),
        "[profile]\nname = \"snoop\"\n[match]\nsys_object_id = [\"1.3.6.1.4.1.99998\"]\n\
         [identity]\nmodel = [{ oid = \"1.3.6.1.4.1.2699.1.1.1.3.1.1.1\" }]\n\
         [[counters]]\nkind = \"pages\"\noid = \"1.3.6.1.2.1.43.10.2.1.4.1.1\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.toml"), "[profile\nname=").unwrap();
    let bad = check(dir.path());
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(out.contains("1.3.6.1.4.1.2699.1.1.1.3.1.1.1"), "{out}");
    assert!(out.contains("unknown counter kind `pages`"), "{out}");
    assert!(out.contains("broken.toml"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_many_devices_by_community_and_context() {
    support::init_tls();
    let port = support::free_udp_port();
    let control = support::free_tcp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut cmd = Command::new(support::binary("fleet-sim"));
    cmd.args(["--devices", "2", "--shared", &addr.to_string()])
        .args(["--control", &format!("127.0.0.1:{control}")])
        .args([
            "--v3-user",
            "simuser",
            "--v3-auth-protocol",
            "sha",
            "--v3-auth-password",
        ])
        .args([
            "simuserpass",
            "--v3-priv-protocol",
            "aes",
            "--v3-priv-password",
            "simuserpriv",
        ]);
    let printers = support::printers();
    if let Some(p) = &printers {
        cmd.arg("--recordings").arg(p.join("snmprec"));
    }
    let _sim = Proc::spawn(&mut cmd);
    support::wait_for_snmp(addr, "sim-00001", Duration::from_secs(30));
    let engine = AsyncSnmpEngine::bind(500).await.unwrap();
    let pack = Pack::load(None).unwrap();
    let poller = Poller {
        engine: &engine,
        pack: &pack,
        patience: Patience::POLL,
        limits: WalkLimits::default(),
    };
    let by = |c: &str| Credentials::V2c {
        community: c.into(),
    };
    let a = poller
        .poll(addr, &by("sim-00000"), Scope::Full)
        .await
        .unwrap();
    let b = poller
        .poll(addr, &by("sim-00001"), Scope::Full)
        .await
        .unwrap();
    assert_ne!(a.report.identity.serial, b.report.identity.serial);
    // SNMPv3 selects the device by context name.
    let v3 = Credentials::V3(UsmCredentials {
        user: "simuser".into(),
        auth_protocol: Some(AuthProtocol::Sha),
        auth_password: Some("simuserpass".into()),
        priv_protocol: Some(PrivProtocol::Aes),
        priv_password: Some("simuserpriv".into()),
        context: "sim-00001".into(),
    });
    let c = poller.poll(addr, &v3, Scope::Full).await.unwrap();
    assert_eq!(c.report.identity.serial, b.report.identity.serial);
    // A recording, served by its file name as community.
    if printers.is_some() {
        let r = poller
            .poll(addr, &by("ricoh_mpc3002"), Scope::Full)
            .await
            .unwrap();
        assert_eq!(r.report.identity.serial, "W492KB03439");
        assert_eq!(r.profile, "ricoh");
    } else {
        println!("recordings skipped: ../shared/testdata/printers is absent");
    }
    // An unknown community gets no answer.
    let quick = Patience {
        timeout: Duration::from_millis(300),
        ..support::ONE_SHORT_TRY
    };
    let strict = support::poller(&engine, &pack, quick);
    assert!(
        strict
            .poll(addr, &by("nobody"), Scope::Status)
            .await
            .is_err()
    );
}
