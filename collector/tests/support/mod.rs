//! Shared helpers for the collector's integration tests: real processes (snmpsim, snmpd,
//! fleet-sim, fleet-ingest) started on loopback and stopped when dropped.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Installs rustls' ring provider, which reqwest needs before its first client.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The checkout's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("collector/ has a parent")
        .to_owned()
}

/// `../shared/testdata/printers` from the checkout root, or `None` (the caller skips).
pub fn printers() -> Option<PathBuf> {
    let dir = root().join("../shared/testdata/printers");
    dir.join("snmprec").is_dir().then_some(dir)
}

/// snmpsim's responder: `FLEET_SNMPSIM`, or the one in `.dev/venv`.
pub fn snmpsim() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLEET_SNMPSIM") {
        return Some(PathBuf::from(p));
    }
    let p = root().join(".dev/venv/bin/snmpsim-command-responder");
    p.is_file().then_some(p)
}

/// A binary of this workspace, built by cargo for the tests.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    dir.join(name)
}

/// A UDP port nothing listens on now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc(child)
    }

    /// Sends SIGKILL (the `kill -9` of the tests).
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until an SNMP GET of sysDescr with `community` answers at `addr`.
pub fn wait_for_snmp(addr: SocketAddr, community: &str, within: Duration) {
    let started = Instant::now();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let packet = get_sys_descr_v2c(community);
    while started.elapsed() < within {
        let _ = socket.send_to(&packet, addr);
        let mut buf = [0u8; 2048];
        if socket.recv_from(&mut buf).is_ok() {
            return;
        }
    }
    panic!("no SNMP agent answered at {addr} within {within:?}");
}

/// A hand-built SNMPv2c GetRequest for sysDescr.0, so waiting does not depend on the code
/// under test.
fn get_sys_descr_v2c(community: &str) -> Vec<u8> {
    let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00];
    let varbind = tlv(0x30, &[&oid[..], &[0x05, 0x00]].concat());
    let varbinds = tlv(0x30, &varbind);
    let pdu = tlv(
        0xa0,
        &[
            &[0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00][..],
            &varbinds,
        ]
        .concat(),
    );
    let message = [
        &[0x02, 0x01, 0x01][..],
        &tlv(0x04, community.as_bytes()),
        &pdu,
    ]
    .concat();
    tlv(0x30, &message)
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if body.len() < 128 {
        out.push(body.len() as u8);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// Starts snmpsim serving a flat copy of the printer recordings (and the Brother fixtures)
/// with an SNMPv3 user `simulator` (SHA/AES, keys `auctoritas`/`privatus`).
pub fn start_snmpsim(printers: &Path, snmpsim: &Path) -> (Proc, SocketAddr, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    for sub in ["snmprec", "brother"] {
        for entry in std::fs::read_dir(printers.join(sub)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|x| x == "snmprec") {
                std::fs::copy(&p, data.path().join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    let port = free_udp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut cmd = Command::new(snmpsim);
    cmd.arg(format!("--data-dir={}", data.path().display()))
        .arg(format!("--agent-udpv4-endpoint={addr}"))
        .args([
            "--v3-user=simulator",
            "--v3-auth-key=auctoritas",
            "--v3-auth-proto=SHA",
            "--v3-priv-key=privatus",
            "--v3-priv-proto=AES",
            "--log-level=error",
        ])
        .arg(format!(
            "--cache-dir={}",
            data.path().join(".cache").display()
        ));
    #[cfg(unix)]
    {
        // As root snmpsim drops to `nobody` unless told otherwise, and then fails.
        if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            cmd.args(["--process-user=root", "--process-group=root"]);
        }
    }
    let proc = Proc::spawn(&mut cmd);
    wait_for_snmp(addr, "jetdirect_m130nw", Duration::from_secs(60));
    (proc, addr, data)
}

#[cfg(unix)]
fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Creates a tenant and a collector token on the gateway's store; returns the token.
pub async fn collector_token(store: &fleet_store::Store, tenant: &str, collector: &str) -> String {
    let tenant = store.create_tenant(tenant, None).await.unwrap();
    let collector = store
        .ensure_collector(tenant.tenant_id, collector)
        .await
        .unwrap();
    let token = fleet_ingest::auth::new_token();
    let now = fleet_store::datetime(time::OffsetDateTime::now_utc());
    store
        .add_token(&fleet_store::TokenRecord {
            token_hash: token.hash,
            token_prefix: token.prefix,
            collector_id: collector.collector_id,
            tenant_id: tenant.tenant_id,
            created_at: now,
            revoked: 0,
            updated_at: now,
        })
        .await
        .unwrap();
    token.token
}

/// A collector (not running its loops) with a status page password `page-password`.
pub async fn collector(
    dir: &Path,
    url: &str,
    token: &str,
    transport: fleet_collector::deliver::Kind,
) -> std::sync::Arc<fleet_collector::service::Collector> {
    let mut c: fleet_collector::config::Config = toml::from_str("").unwrap();
    c.data_dir = dir.join("data");
    c.server.url = url.into();
    c.server.token = token.into();
    c.server.transport = transport;
    c.status_page.listen = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    c.status_page.password_hash =
        Some(fleet_collector::status_page::hash_password("page-password").unwrap());
    let path = dir.join("collector.toml");
    c.save(&path).unwrap();
    fleet_collector::service::Collector::open(c, path)
        .await
        .unwrap()
}

/// One attempt of 800 ms: for checks where no answer is the expected outcome.
pub const ONE_SHORT_TRY: fleet_collector::snmp::Patience = fleet_collector::snmp::Patience {
    timeout: Duration::from_millis(800),
    retries: 0,
    wake_attempts: 1,
};

/// A poller with the default walk limits.
pub fn poller<'a>(
    engine: &'a dyn fleet_collector::snmp::SnmpEngine,
    pack: &'a fleet_collector::profile::Pack,
    patience: fleet_collector::snmp::Patience,
) -> fleet_collector::poll::Poller<'a> {
    let limits = fleet_collector::snmp::WalkLimits::default();
    fleet_collector::poll::Poller {
        engine,
        pack,
        patience,
        limits,
    }
}

/// Starts `fleet-sim` with `devices` printers from `base` on `port`, control API on
/// `control`, and waits for the first to answer.
pub fn spawn_sim(devices: usize, base: &str, port: u16, control: u16) -> Proc {
    let proc = Proc::spawn(Command::new(binary("fleet-sim")).args([
        "--devices",
        &devices.to_string(),
        "--base",
        base,
        "--port",
        &port.to_string(),
        "--control",
        &format!("127.0.0.1:{control}"),
    ]));
    let first: SocketAddr = format!("{base}:{port}").parse().expect("an IPv4 base");
    wait_for_snmp(first, "public", Duration::from_secs(20));
    proc
}
