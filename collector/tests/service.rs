//! The collector service: delivery over every transport into a real gateway and ClickHouse,
//! retries that keep the batch, and the status page's guards.

mod support;

use std::path::Path;

use fleet_collector::deliver::Kind;
use fleet_collector::report::{Identity, Report};
use fleet_collector::service::Collector;
use fleet_ingest::Gateway;
use fleet_ingest::config::FileConfig;
use fleet_store::testing::fresh_settings;
use fleet_store::{Store, Table};

async fn gateway(label: &str) -> (Gateway, Store, String) {
    gateway_with(label, |_| {}).await
}

async fn gateway_with(
    label: &str,
    adjust: impl FnOnce(&mut FileConfig),
) -> (Gateway, Store, String) {
    support::init_tls();
    let settings = fresh_settings(label);
    let store = Store::connect(&settings)
        .await
        .expect("test ClickHouse is reachable");
    store.migrate().await.unwrap();
    let token = support::collector_token(&store, "svc", "site").await;
    let mut config = FileConfig::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    adjust(&mut config);
    let gw = Gateway::start(config, settings).await.unwrap();
    (gw, store, token)
}

fn report(serial: &str) -> Report {
    let mut r = Report::new(time::OffsetDateTime::now_utc());
    r.identity = Identity {
        vendor: "Fleetsim".into(),
        serial: serial.into(),
        model: "Test".into(),
        ..Identity::default()
    };
    r.counters.insert("total".into(), 1234);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_delivers_and_a_refused_token_keeps_the_batch() {
    let (gw, store, token) = gateway("collector_transports").await;
    let url = format!("http://{}", gw.local_addr());
    for (i, kind) in [Kind::Grpc, Kind::Protobuf, Kind::Xmlrpc]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let c = support::collector(dir.path(), &url, &token, kind).await;
        c.spool_batch(&[report(&format!("T{i}"))], false).unwrap();
        assert_eq!(c.deliver_some().await, Ok(true), "{kind:?}");
        assert_eq!(
            c.spool.depth().unwrap().batches,
            0,
            "{kind:?}: acknowledged batches leave the spool"
        );
        // Sent twice (a lost acknowledgement): stored once.
        c.spool_batch(&[report(&format!("T{i}"))], false).unwrap();
        assert_eq!(c.deliver_some().await, Ok(true));
    }
    assert_eq!(store.count(Table::Batches, "1").await.unwrap(), 6);
    assert_eq!(store.count(Table::Devices, "1").await.unwrap(), 3);

    let dir = tempfile::tempdir().unwrap();
    let c = support::collector(
        dir.path(),
        &url,
        "fmt_not-a-valid-token-at-all-0000000000000000000",
        Kind::Grpc,
    )
    .await;
    c.spool_batch(&[report("X")], true).unwrap();
    assert!(c.deliver_some().await.is_err());
    let depth = c.spool.depth().unwrap();
    assert_eq!(depth.batches, 1, "a refused token must not lose the batch");
    let spooled = c.spool.peek(1).unwrap();
    assert_eq!(spooled[0].attempts, 1);
    // Nobody listening: a network error, the batch stays.
    let c2 = support::collector(
        tempfile::tempdir().unwrap().path(),
        "http://127.0.0.1:9",
        &token,
        Kind::Protobuf,
    )
    .await;
    c2.spool_batch(&[report("Y")], false).unwrap();
    assert!(c2.deliver_some().await.is_err());
    assert_eq!(c2.spool.depth().unwrap().batches, 1);
    gw.shutdown().await;
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_for_every_transport() {
    let certs = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_pem, key_pem) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let (gw, store, token) = gateway_with("collector_tls", |c| {
        c.server.tls_cert = Some(cert_pem.clone());
        c.server.tls_key = Some(key_pem.clone());
    })
    .await;
    let url = format!("https://localhost:{}", gw.local_addr().port());
    for (i, kind) in [Kind::Grpc, Kind::Protobuf, Kind::Xmlrpc]
        .into_iter()
        .enumerate()
    {
        // Without the private CA the gateway's certificate is not trusted: nothing is sent.
        let dir = tempfile::tempdir().unwrap();
        let c = support::collector(dir.path(), &url, &token, kind).await;
        c.spool_batch(&[report(&format!("TLS{i}"))], false).unwrap();
        assert!(
            c.deliver_some().await.is_err(),
            "{kind:?} trusted an unknown certificate"
        );
        assert_eq!(c.spool.depth().unwrap().batches, 1);
        // With `server.ca_file`, it is.
        let dir = tempfile::tempdir().unwrap();
        let mut config = c.config();
        config.data_dir = dir.path().join("data");
        config.server.ca_file = Some(cert_pem.clone());
        let path = dir.path().join("collector.toml");
        config.save(&path).unwrap();
        let c = Collector::open(config, path).await.unwrap();
        c.spool_batch(&[report(&format!("TLS{i}"))], false).unwrap();
        assert_eq!(c.deliver_some().await, Ok(true), "{kind:?}");
    }
    assert_eq!(store.count(Table::Devices, "1").await.unwrap(), 3);
    gw.shutdown().await;
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_goes_through_an_http_proxy() {
    let Some(tinyproxy) = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("SKIPPED: tinyproxy is not installed (Debian package `tinyproxy`)");
        return;
    };
    let (gw, store, token) = gateway("collector_proxy").await;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_tcp_port();
    let conf = dir.path().join("tinyproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n\
             LogLevel Error\nMaxClients 50\n"
        ),
    )
    .unwrap();
    let _proxy = support::Proc::spawn(
        std::process::Command::new(tinyproxy)
            .args(["-d", "-c"])
            .arg(&conf),
    );
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "tinyproxy does not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("http://{}", gw.local_addr());
    for (i, kind) in [Kind::Grpc, Kind::Protobuf, Kind::Xmlrpc]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let c = support::collector(dir.path(), &url, &token, kind).await;
        let mut config = c.config();
        config.server.proxy = Some(format!("http://127.0.0.1:{port}"));
        c.reconfigure(config.clone()).unwrap();
        c.spool_batch(&[report(&format!("P{i}"))], false).unwrap();
        assert_eq!(
            c.deliver_some().await,
            Ok(true),
            "{kind:?} through the proxy"
        );
        // A proxy that is not there: the batch cannot leave, so traffic goes by the proxy.
        config.server.proxy = Some("http://127.0.0.1:9".into());
        c.reconfigure(config).unwrap();
        c.spool_batch(&[report(&format!("Q{i}"))], false).unwrap();
        assert!(
            c.deliver_some().await.is_err(),
            "{kind:?} went around the proxy"
        );
    }
    assert_eq!(store.count(Table::Devices, "1").await.unwrap(), 3);
    gw.shutdown().await;
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_too_large_for_the_gateway_is_split_until_it_fits() {
    let (gw, store, token) =
        gateway_with("collector_split", |c| c.limits.max_body_bytes = 3000).await;
    let url = format!("http://{}", gw.local_addr());
    for (t, kind) in [Kind::Protobuf, Kind::Xmlrpc].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let c = support::collector(dir.path(), &url, &token, kind).await;
        let reports: Vec<Report> = (0..8)
            .map(|i| {
                let mut r = report(&format!("S{t}-{i}"));
                r.identity.location = format!("{} building, {}", "long ".repeat(40), i);
                r
            })
            .collect();
        c.spool_batch(&reports, false).unwrap();
        for _ in 0..40 {
            if c.spool.depth().unwrap().batches == 0 {
                break;
            }
            c.deliver_some()
                .await
                .unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
        }
        let depth = c.spool.depth().unwrap();
        assert_eq!((depth.batches, depth.dead), (0, 0), "{kind:?}");
    }
    assert_eq!(store.count(Table::Devices, "1").await.unwrap(), 16);
    gw.shutdown().await;
    store.drop_database().await.unwrap();
}
