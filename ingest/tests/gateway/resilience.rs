//! Back-pressure, a ClickHouse outage, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fleet_model::xmlrpc::{Response, Value};
use fleet_store::Table;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::*;

/// The queue bytes one `sample_batch` device takes, as the gateway accounts them.
fn queued_bytes_per_device() -> usize {
    use fleet_model::{CollectorId, DeviceId, TenantId};
    let origin = fleet_store::Origin {
        tenant: TenantId(1),
        collector: CollectorId(1),
        received_at: time::OffsetDateTime::now_utc(),
    };
    let batch = sample_batch(10, 0);
    let now = time::OffsetDateTime::now_utc();
    let valid = fleet_model::validate::validate_batch(batch, now, &Default::default()).unwrap();
    let mut rows = fleet_store::RowSet::default();
    for (i, report) in valid.devices.iter().enumerate() {
        rows.push_report(origin, DeviceId(i as u64), report);
        let device = fleet_store::DeviceRow::from_report(origin, DeviceId(i as u64), report, 0);
        rows.devices.push(device);
    }
    rows.estimated_bytes() / 10
}

#[tokio::test]
async fn a_full_queue_answers_retry_later() {
    const QUEUE: usize = 512 * 1024;
    let gw = start_with("queue_full", |c| {
        c.limits.max_body_bytes = QUEUE;
        c.batching.max_queued_bytes = QUEUE;
        c.batching.flush_interval_ms = 3_000;
    })
    .await;

    // The first request fills 80 % of the queue and waits for the slow flush; the others
    // need 30 % each and do not fit beside it.
    let per_device = queued_bytes_per_device();
    let (most, some) = (QUEUE * 8 / 10 / per_device, QUEUE * 3 / 10 / per_device + 1);
    let first = gw.spawn_protobuf(&sample_batch(most, 1));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let second = gw.submit_protobuf(&gw.token, &sample_batch(some, 2)).await;
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    let xml = gw.submit_xmlrpc(&sample_batch(some, 3)).await;
    assert_eq!(fault_code(&xml), 6);
    let mut request = tonic::Request::new(sample_batch(some, 4));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", gw.token).parse().unwrap(),
    );
    let status = gw.grpc().await.submit(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);

    assert_eq!(
        first.await.unwrap().devices as usize,
        most,
        "the queued request is committed"
    );
    assert_eq!(gw.count(Table::Batches).await, 1);
    gw.finish().await;
}

/// A TCP proxy in front of ClickHouse that can be cut and restored, standing in for a
/// ClickHouse server that stops and comes back.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (flag, cuts) = (Arc::clone(&up), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let target = target.clone();
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cut }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.cut.send_modify(|n| *n += 1);
        }
    }
}

#[tokio::test]
async fn clickhouse_outage_answers_retry_later_and_recovers_without_loss() {
    let target = fleet_store::testing::clickhouse_url()
        .trim_start_matches("http://")
        .to_owned();
    let proxy = Proxy::start(target).await;
    let mut settings = fleet_store::testing::fresh_settings("outage");
    settings.url = format!("http://{}", proxy.addr);
    let gw = start_on(settings, |c| c.batching.flush_attempts = 2).await;

    let before = sample_batch(2, 1);
    assert!(matches!(
        gw.submit_xmlrpc(&before).await,
        Response::Value(_)
    ));

    proxy.set_up(false);
    let during = sample_batch(2, 2);
    let refused = gw.submit_xmlrpc(&during).await;
    assert_eq!(fault_code(&refused), 6, "{refused:?}");
    let refused = gw.submit_protobuf(&gw.token, &during).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(gw.readiness().await, 503);

    proxy.set_up(true);
    let mut ready = false;
    for _ in 0..100 {
        if gw.readiness().await == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the gateway recovers by itself");

    // The collector resends what was refused; everything acknowledged is stored once.
    let resent = gw.submit_xmlrpc(&during).await;
    assert_eq!(member(&resent, "duplicate"), &Value::Bool(false));
    let ledger: Vec<fleet_store::BatchRow> = gw
        .store
        .fetch_all(Table::Batches, "batch_id")
        .await
        .unwrap();
    let mut ids: Vec<_> = ledger.iter().map(|b| b.batch_id.clone()).collect();
    let mut expected = vec![before.batch_id.clone(), during.batch_id.clone()];
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    let counters = gw.store.count(Table::Counters, "1").await.unwrap();
    assert!(
        counters >= 4 * 4,
        "every acknowledged reading is stored ({counters})"
    );
    gw.finish().await;
}

#[tokio::test]
async fn graceful_shutdown_commits_what_was_queued() {
    let mut gw = start_with("shutdown", |c| c.batching.flush_interval_ms = 5_000).await;
    let batch = sample_batch(3, 1);
    let pending = gw.spawn_protobuf(&batch);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.count(Table::Counters).await, 0, "still queued");

    let started = std::time::Instant::now();
    gw.gateway.take().unwrap().shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown does not wait for the timer"
    );
    let result = pending.await.unwrap();
    assert_eq!(result.devices, 3);
    assert_eq!(gw.count(Table::Counters).await, 3 * 4);
    assert!(
        TcpStream::connect(gw.addr).await.is_err(),
        "no longer accepting"
    );
    gw.finish().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let gw = start_with("max_connections", |c| c.server.max_connections = 1).await;
    let held = TcpStream::connect(gw.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let fresh = || {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    let waiting = fresh().get(gw.url("/healthz")).send().await;
    assert!(
        waiting.is_err(),
        "the second connection is not served while the first is open"
    );

    drop(held);
    let mut served = false;
    for _ in 0..20 {
        if fresh()
            .get(gw.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            served = true;
            break;
        }
    }
    assert!(served, "served once the first connection closed");
    gw.finish().await;
}
