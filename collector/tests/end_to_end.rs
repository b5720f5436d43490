//! End to end: `fleet-sim` → `fleet-collector run` → the gateway → ClickHouse. A fault
//! injected in the simulator reaches ClickHouse as an alert within 60 s; a stopped gateway
//! loses nothing; a collector killed with `kill -9` loses and duplicates nothing; an address
//! change keeps the device's identity.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fleet_ingest::Gateway;
use fleet_ingest::config::FileConfig;
use fleet_store::testing::fresh_settings;
use fleet_store::{ClickHouseSettings, Store};
use support::Proc;

struct ClickHouse {
    http: reqwest::Client,
    settings: ClickHouseSettings,
}

impl ClickHouse {
    async fn query(&self, sql: &str) -> String {
        let url = format!(
            "{}/?database={}",
            fleet_store::testing::clickhouse_url(),
            self.settings.database
        );
        let r = self
            .http
            .post(url)
            .body(format!("{sql} FORMAT TSV"))
            .send()
            .await
            .expect("clickhouse answers");
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{sql}: {text}");
        text.trim().to_owned()
    }

    async fn number(&self, sql: &str) -> u64 {
        self.query(sql).await.parse().unwrap_or(0)
    }

    /// Polls `sql` until it returns at least `want`, or fails after `within`.
    async fn wait_for(&self, sql: &str, want: u64, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let n = self.number(sql).await;
            if n >= want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "`{sql}` gave {n}, wanted {want} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn gateway(settings: &ClickHouseSettings, listen: SocketAddr) -> Gateway {
    let mut config = FileConfig::default();
    config.server.listen = listen;
    // The port was just freed by the previous gateway: retry the bind briefly.
    for _ in 0..50 {
        match Gateway::start(config.clone(), settings.clone()).await {
            Ok(g) => return g,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the gateway does not start on {listen}");
}

/// A fresh database with a collector token, and a gateway in front of it.
struct Server {
    store: Store,
    token: String,
    ch: ClickHouse,
    settings: ClickHouseSettings,
    listen: SocketAddr,
    gateway: Gateway,
}

async fn server(label: &str) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = fresh_settings(label);
    let store = Store::connect(&settings)
        .await
        .expect("test ClickHouse is reachable");
    store.migrate().await.unwrap();
    let token = support::collector_token(&store, label, "site-1").await;
    let ch = ClickHouse {
        http: reqwest::Client::new(),
        settings: settings.clone(),
    };
    let listen: SocketAddr = format!("127.0.0.1:{}", support::free_tcp_port())
        .parse()
        .unwrap();
    let gateway = gateway(&settings, listen).await;
    Server {
        store,
        token,
        ch,
        settings,
        listen,
        gateway,
    }
}

struct Sim {
    _proc: Proc,
    control: String,
    http: reqwest::Client,
}

impl Sim {
    async fn post(&self, path: &str) {
        let r = self
            .http
            .post(format!("{}{path}", self.control))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{path}: {}",
            r.text().await.unwrap()
        );
    }
}

fn write_config(
    path: &Path,
    data: &Path,
    gateway: SocketAddr,
    token: &str,
    range: &str,
    port: u16,
    status_port: u16,
) {
    let text = format!(
        r#"data_dir = "{data}"

[server]
url = "http://{gateway}"
token = "{token}"
transport = "grpc"
timeout_seconds = 5

[discovery]
ranges = ["{range}"]
port = {port}

[schedule]
full_interval_hours = 1
status_interval_seconds = 10

[snmp]
timeout_ms = 500
retries = 1
wake_attempts = 2

[status_page]
listen = "127.0.0.1:{status_port}"
"#,
        data = data.display()
    );
    std::fs::write(path, text).unwrap();
}

fn collector(config: &Path) -> Proc {
    Proc::spawn(
        std::process::Command::new(support::binary("fleet-collector"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn"),
    )
}

async fn spool_batches(http: &reqwest::Client, status_port: u16) -> Option<u64> {
    let text = http
        .get(format!("http://127.0.0.1:{status_port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("fleet_collector_spool_batches "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_to_clickhouse_with_outages_kill9_and_moves() {
    let Server {
        store,
        token,
        ch,
        settings,
        listen,
        gateway: first,
    } = server("collector_e2e").await;
    let mut gw = Some(first);

    // Five devices on 127.3.N.1..5 of a range of ten addresses.
    let net = 1 + (std::process::id() % 200);
    let snmp_port = support::free_udp_port();
    let control_port = support::free_tcp_port();
    let sim = Sim {
        _proc: support::spawn_sim(5, &format!("127.3.{net}.1"), snmp_port, control_port),
        control: format!("http://127.0.0.1:{control_port}"),
        http: reqwest::Client::new(),
    };

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    let status_port = support::free_tcp_port();
    let range = format!("127.3.{net}.1-127.3.{net}.10");
    write_config(
        &config,
        &dir.path().join("data"),
        listen,
        &token,
        &range,
        snmp_port,
        status_port,
    );
    let mut col = collector(&config);

    // Every device arrives with its inventory and counters.
    let took = ch
        .wait_for(
            "SELECT uniqExact(device_id) FROM devices",
            5,
            Duration::from_secs(60),
        )
        .await;
    println!("5 devices in ClickHouse after {took:?}");
    ch.wait_for(
        "SELECT uniqExact(device_id) FROM counters WHERE kind = 'total'",
        5,
        Duration::from_secs(30),
    )
    .await;

    // A jam on device 2 reaches ClickHouse as an alert within 60 s.
    sim.post("/devices/2/faults/jam").await;
    let took = ch
        .wait_for(
            "SELECT count() FROM alerts WHERE code = 8 AND severity = 'critical'",
            1,
            Duration::from_secs(60),
        )
        .await;
    println!("jam alert in ClickHouse {took:?} after injection");

    // The gateway stops; a door opens meanwhile; nothing is lost once it is back.
    gw.take().unwrap().shutdown().await;
    sim.post("/devices/3/faults/door_open").await;
    let started = Instant::now();
    loop {
        if spool_batches(&ch.http, status_port).await.unwrap_or(0) > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "nothing was spooled while the gateway was down"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // More readings pile up, then the gateway returns and the collector is killed at once.
    sim.post("/devices/4/faults/toner_empty").await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    gw = Some(gateway(&settings, listen).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    col.kill9();
    let mut col = collector(&config);
    ch.wait_for(
        "SELECT count() FROM alerts WHERE code = 501",
        1,
        Duration::from_secs(60),
    )
    .await;
    ch.wait_for(
        "SELECT count() FROM alerts WHERE code = 1101",
        1,
        Duration::from_secs(60),
    )
    .await;
    let started = Instant::now();
    while spool_batches(&ch.http, status_port).await != Some(0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the spool does not drain"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Nothing was stored twice: every ledger row is a distinct batch, and the readings keyed
    // by (device, kind, time) are unique once merged.
    let ledger = ch
        .query("SELECT count(), uniqExact(batch_id) FROM batches")
        .await;
    let mut parts = ledger.split_whitespace();
    let (rows, distinct) = (parts.next().unwrap(), parts.next().unwrap());
    assert_eq!(rows, distinct, "a batch was recorded twice");
    let dup = ch
        .number("SELECT count() - uniqExact(device_id, kind, observed_at) FROM counters FINAL")
        .await;
    assert_eq!(dup, 0, "duplicated counter readings");

    // Device 0 moves to another address of the range: same device, new IP.
    let serial0 = ch
        .query(
            "SELECT serial FROM devices FINAL WHERE ip = '127.3.{net}.1'"
                .replace("{net}", &net.to_string())
                .as_str(),
        )
        .await;
    assert!(!serial0.is_empty());
    sim.post(&format!("/devices/0/move?to=127.3.{net}.9:{snmp_port}"))
        .await;
    let sql = format!(
        "SELECT count() FROM devices FINAL WHERE serial = '{serial0}' AND ip = '127.3.{net}.9'"
    );
    let took = ch.wait_for(&sql, 1, Duration::from_secs(90)).await;
    println!("moved device seen at its new address after {took:?}");
    let ids = ch
        .number(&format!(
            "SELECT uniqExact(device_id) FROM devices WHERE serial = '{serial0}'"
        ))
        .await;
    assert_eq!(ids, 1, "the moved device must keep its identity");

    col.kill9();
    gw.take().unwrap().shutdown().await;
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_is_declared_unreachable_after_the_configured_failures() {
    let Server {
        store,
        token,
        ch,
        listen,
        gateway: gw,
        ..
    } = server("collector_unreachable").await;
    let net = 1 + (std::process::id() % 200);
    let snmp_port = support::free_udp_port();
    let address = format!("127.4.{net}.1:{snmp_port}");
    let control = support::free_tcp_port();
    let mut sim = support::spawn_sim(1, &format!("127.4.{net}.1"), snmp_port, control);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    let text = format!(
        "data_dir = \"{}\"\n[server]\nurl = \"http://{listen}\"\ntoken = \"{token}\"\n\
         [discovery]\ndevices = [\"{address}\"]\n[schedule]\nstatus_interval_seconds = 10\n\
         [snmp]\ntimeout_ms = 300\nretries = 0\nwake_attempts = 1\nunreachable_after = 2\n\
         [status_page]\nlisten = \"127.0.0.1:{}\"\n",
        dir.path().join("data").display(),
        support::free_tcp_port()
    );
    std::fs::write(&config, text).unwrap();
    let mut col = collector(&config);
    ch.wait_for("SELECT count() FROM devices", 1, Duration::from_secs(30))
        .await;
    // The printer goes silent: after two failed polls it is declared down, flag `offline`.
    sim.kill9();
    let took = ch
        .wait_for(
            "SELECT count() FROM statuses WHERE device_status = 'down' AND has(errors, 'offline')",
            1,
            Duration::from_secs(60),
        )
        .await;
    println!("declared unreachable {took:?} after the printer went silent");
    col.kill9();
    gw.shutdown().await;
    store.drop_database().await.unwrap();
}
