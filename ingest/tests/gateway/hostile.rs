//! Hostile input is refused while other clients keep being served.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use fleet_model::xmlrpc::{DecodeLimits, Response, decode_response};
use fleet_store::Table;

use crate::common::*;

async fn post_rpc2(gw: &TestGateway, body: impl Into<reqwest::Body>) -> Result<Response, String> {
    let response = gw
        .http
        .post(gw.url("/RPC2"))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    decode_response(&bytes, &DecodeLimits::default()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn hostile_xml_is_refused_while_other_clients_are_served() {
    let gw = Arc::new(start("hostile").await);

    // A well-behaved collector keeps submitting the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU32::new(0));
    let good = {
        let (gw, stop, served) = (Arc::clone(&gw), Arc::clone(&stop), Arc::clone(&served));
        tokio::spawn(async move {
            let mut seed = 100;
            while !stop.load(Ordering::Relaxed) {
                let response = gw.submit_xmlrpc(&sample_batch(2, seed)).await;
                assert!(
                    matches!(response, Response::Value(_)),
                    "good client failed: {response:?}"
                );
                served.fetch_add(1, Ordering::Relaxed);
                seed += 1;
            }
        })
    };

    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]>\
         <methodCall><methodName>&lol9;</methodName></methodCall>",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            ))
            .collect::<String>()
            .replace("&lol0;", "&lol;")
    );
    let response = post_rpc2(&gw, laughs).await.unwrap();
    assert_eq!(fault_code(&response), 2);
    assert!(
        matches!(&response, Response::Fault { message, .. } if message.contains("document type"))
    );

    let external = "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
        <methodCall><methodName>&x;</methodName></methodCall>";
    assert_eq!(fault_code(&post_rpc2(&gw, external).await.unwrap()), 2);

    let deep = format!(
        "<methodCall><methodName>fleet.submit</methodName><params><param>{}{}</param></params>\
         </methodCall>",
        "<value><array><data>".repeat(10_000),
        "</data></array></value>".repeat(10_000)
    );
    let response = post_rpc2(&gw, deep).await.unwrap();
    assert!(
        matches!(&response, Response::Fault { code: 2, message } if message.contains("nested"))
    );

    // 50 MB: refused on its declared length, before the body is read. The server may close
    // the connection while the client is still writing; either way nothing is decoded.
    let mut huge =
        b"<methodCall><methodName>fleet.submit</methodName><params><param><value><string>".to_vec();
    huge.resize(50 << 20, b'a');
    match post_rpc2(&gw, huge).await {
        Ok(response) => assert_eq!(fault_code(&response), 4),
        Err(e) => eprintln!("50 MB body cut off by the server: {e}"),
    }

    // Without a declared length, the body is cut off as soon as it passes the limit.
    let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1 << 20]));
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    match post_rpc2(&gw, streamed).await {
        Ok(response) => assert_eq!(fault_code(&response), 4),
        Err(e) => eprintln!("streamed body cut off by the server: {e}"),
    }

    for garbage in [
        &b"\xff\xfe\x00garbage"[..],
        b"",
        b"<methodCall><methodName>x",
    ] {
        assert_eq!(
            fault_code(&post_rpc2(&gw, garbage.to_vec()).await.unwrap()),
            2
        );
    }

    stop.store(true, Ordering::Relaxed);
    good.await.unwrap();
    assert!(served.load(Ordering::Relaxed) > 0);
    assert_eq!(gw.readiness().await, 200);
    let gw = Arc::into_inner(gw).expect("the good client is done");
    assert!(gw.count(Table::Counters).await > 0);
    gw.finish().await;
}

#[tokio::test]
async fn bad_protobuf_bodies_are_refused() {
    use std::io::Write;
    let gw = start("bad_protobuf").await;
    let post = |content_type: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut request = gw
            .http
            .post(gw.url("/v1/batches"))
            .header("content-type", content_type)
            .bearer_auth(&gw.token)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send()
    };
    assert_eq!(
        post("application/x-protobuf", None, vec![0xff; 64])
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post("text/plain", None, vec![]).await.unwrap().status(),
        400
    );
    assert_eq!(
        post("application/x-protobuf", Some("br"), vec![1])
            .await
            .unwrap()
            .status(),
        400
    );

    // A gzip bomb: 64 MiB of zeros in a small body is cut off at the limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    let response = post("application/x-protobuf", Some("gzip"), bomb)
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let missing_id = {
        let mut batch = sample_batch(1, 1);
        batch.batch_id.clear();
        prost::Message::encode_to_vec(&batch)
    };
    let response = post("application/x-protobuf", None, missing_id)
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["code"], "invalid");
    gw.finish().await;
}
