//! Every transport stores the same batch the same way; introspection, health and TLS.

use std::collections::BTreeMap;

use fleet_model::proto;
use fleet_model::xmlrpc::{Response, Value};
use fleet_store::{AlertRow, CounterRow, DeviceRow, StatusRow, SupplyRow, Table};
use prost::Message;

use crate::common::*;

/// The rows of each tenant, with the fields that differ by tenant or time blanked.
async fn rows_by_tenant(gw: &TestGateway) -> BTreeMap<u64, Vec<String>> {
    let mut by_tenant: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let counters: Vec<CounterRow> = gw.store.fetch_all(Table::Counters, "kind").await.unwrap();
    for r in counters {
        let key = (r.kind, r.observed_at, r.value);
        by_tenant
            .entry(r.tenant_id)
            .or_default()
            .push(format!("counter {key:?}"));
    }
    let supplies: Vec<SupplyRow> = gw.store.fetch_all(Table::Supplies, "kind").await.unwrap();
    for r in supplies {
        let SupplyRow {
            tenant_id,
            device_id: _,
            collector_id: _,
            received_at: _,
            ..
        } = r.clone();
        let key = (
            r.kind,
            r.color,
            r.description,
            r.part_number,
            r.level,
            r.max,
            r.percent,
        );
        by_tenant
            .entry(tenant_id)
            .or_default()
            .push(format!("supply {key:?}"));
    }
    let statuses: Vec<StatusRow> = gw
        .store
        .fetch_all(Table::Statuses, "observed_at")
        .await
        .unwrap();
    for r in statuses {
        let key = (
            r.device_status,
            r.printer_status,
            r.errors,
            r.display,
            r.observed_at,
        );
        by_tenant
            .entry(r.tenant_id)
            .or_default()
            .push(format!("status {key:?}"));
    }
    let alerts: Vec<AlertRow> = gw
        .store
        .fetch_all(Table::Alerts, "alert_index")
        .await
        .unwrap();
    for r in alerts {
        let key = (
            r.alert_index,
            r.severity,
            r.alert_group,
            r.code,
            r.description,
            r.training_level,
        );
        by_tenant
            .entry(r.tenant_id)
            .or_default()
            .push(format!("alert {key:?}"));
    }
    let devices: Vec<DeviceRow> = gw.store.fetch_all(Table::Devices, "serial").await.unwrap();
    for r in devices {
        let key = (
            &r.vendor,
            &r.model,
            &r.serial,
            &r.mac,
            &r.ip,
            &r.firmware,
            &r.location,
            r.color,
            r.duplex,
            r.trays,
            r.first_seen,
            r.last_seen,
        );
        by_tenant
            .entry(r.tenant_id)
            .or_default()
            .push(format!("device {key:?}"));
    }
    for rows in by_tenant.values_mut() {
        rows.sort();
    }
    by_tenant
}

#[tokio::test]
async fn every_transport_stores_the_same_batch_identically() {
    let gw = start("same_batch").await;
    let xml_token = gw.token.clone();
    let pb_token = create_token(&gw.store, "tenant-b", "collector-1").await;
    let grpc_token = create_token(&gw.store, "tenant-c", "collector-1").await;
    let batch = sample_batch(5, 1);

    let xml = gw
        .xmlrpc(
            "fleet.submit",
            &[
                Value::String(xml_token),
                fleet_model::xmlrpc::batch_to_value(&batch),
            ],
        )
        .await;
    assert_eq!(
        member(&xml, "rows"),
        &Value::Int(5 * DATA_ROWS_PER_DEVICE as i64 + 5)
    );
    assert_eq!(member(&xml, "duplicate"), &Value::Bool(false));

    let pb = gw.submit_protobuf(&pb_token, &batch).await;
    assert_eq!(pb.status(), 200);
    let pb = proto::SubmitResult::decode(pb.bytes().await.unwrap()).unwrap();
    assert_eq!(pb.devices, 5);

    let mut request = tonic::Request::new(batch.clone());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {grpc_token}").parse().unwrap(),
    );
    let grpc = gw.grpc().await.submit(request).await.unwrap().into_inner();
    assert_eq!(grpc.rows, pb.rows);

    let by_tenant = rows_by_tenant(&gw).await;
    assert_eq!(by_tenant.len(), 3, "one set of rows per transport");
    let sets: Vec<_> = by_tenant.values().collect();
    assert_eq!(sets[0].len() as u64, 5 * DATA_ROWS_PER_DEVICE + 5);
    assert_eq!(sets[0], sets[1]);
    assert_eq!(sets[1], sets[2]);
    assert_eq!(gw.count(Table::Batches).await, 3);
    gw.finish().await;
}

#[tokio::test]
async fn grpc_stream_commits_every_batch_and_answers_in_order() {
    let gw = start("grpc_stream").await;
    let batches: Vec<_> = (0..4).map(|i| sample_batch(3, 10 + i)).collect();
    let ids: Vec<_> = batches.iter().map(|b| b.batch_id.clone()).collect();
    let request = gw.grpc_request(tokio_stream::iter(batches));
    let answer = gw
        .grpc()
        .await
        .submit_stream(request)
        .await
        .unwrap()
        .into_inner();
    let answered: Vec<_> = answer.results.iter().map(|r| r.batch_id.clone()).collect();
    assert_eq!(answered, ids);
    assert_eq!(gw.count(Table::Counters).await, 4 * 3 * 4);
    gw.finish().await;
}

#[tokio::test]
async fn protobuf_accepts_gzip_and_answers_json_on_request() {
    use std::io::Write;
    let gw = start("gzip_json").await;
    let batch = sample_batch(2, 3);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&batch.encode_to_vec()).unwrap();
    let response = gw
        .http
        .post(gw.url("/v1/batches"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .header("accept", "application/json")
        .bearer_auth(&gw.token)
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["batch_id"], batch.batch_id);
    assert_eq!(json["devices"], 2);
    assert_eq!(json["duplicate"], false);
    gw.finish().await;
}

#[tokio::test]
async fn introspection_and_multicall_follow_the_de_facto_standard() {
    let gw = start("introspection").await;
    let Response::Value(Value::Array(methods)) = gw.xmlrpc("system.listMethods", &[]).await else {
        panic!("listMethods returns an array");
    };
    for name in [
        "fleet.submit",
        "fleet.ping",
        "system.multicall",
        "system.methodHelp",
    ] {
        assert!(methods.contains(&Value::String(name.into())), "{name}");
    }
    let help = gw
        .xmlrpc("system.methodHelp", &[Value::String("fleet.submit".into())])
        .await;
    assert!(matches!(help, Response::Value(Value::String(h)) if h.contains("token")));
    let signature = gw
        .xmlrpc(
            "system.methodSignature",
            &[Value::String("fleet.ping".into())],
        )
        .await;
    let expected = Value::Array(vec![Value::Array(vec![
        Value::String("struct".into()),
        Value::String("string".into()),
    ])]);
    assert_eq!(signature, Response::Value(expected));

    let call = |name: &str, params: Vec<Value>| {
        Value::structure([
            ("methodName", Value::String(name.into())),
            ("params", Value::Array(params)),
        ])
    };
    let calls = Value::Array(vec![
        call("fleet.ping", vec![Value::String(gw.token.clone())]),
        call("no.such.method", vec![]),
        call("fleet.ping", vec![Value::String("wrong".into())]),
    ]);
    let Response::Value(Value::Array(results)) = gw.xmlrpc("system.multicall", &[calls]).await
    else {
        panic!("multicall returns an array");
    };
    assert!(matches!(&results[0], Value::Array(v) if v[0].member("version").is_some()));
    assert_eq!(results[1].member("faultCode"), Some(&Value::Int(7)));
    assert_eq!(results[2].member("faultCode"), Some(&Value::Int(1)));
    gw.finish().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let gw = start("health").await;
    let get = |path: &str| gw.http.get(gw.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    gw.submit_xmlrpc(&sample_batch(1, 4)).await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    for name in [
        "fleet_ingest_requests_total",
        "fleet_ingest_rows_committed_total",
        "fleet_ingest_flush_seconds",
        "fleet_ingest_queue_bytes",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    gw.finish().await;
}

#[tokio::test]
async fn tls_serves_http1_and_http2() {
    let dir = std::env::temp_dir().join(format!("fleet-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();

    let gw = start_with("tls", |c| {
        c.server.tls_cert = Some(dir.join("cert.pem"));
        c.server.tls_key = Some(dir.join("key.pem"));
    })
    .await;
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    for http2 in [false, true] {
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([root.clone()])
            .resolve("localhost", gw.addr);
        // HTTP/2 is chosen by ALPN; HTTP/1.1 when the client offers nothing else.
        if !http2 {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        let response = client
            .post(format!("https://localhost:{}/v1/batches", gw.addr.port()))
            .header("content-type", "application/x-protobuf")
            .bearer_auth(&gw.token)
            .body(sample_batch(1, 20 + u64::from(http2)).encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let expected = if http2 {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        assert_eq!(response.version(), expected);
    }
    gw.finish().await;
    let _ = std::fs::remove_dir_all(dir);
}
