//! Resubmissions, concurrent duplicates, partial rejection, sequence gaps and inventory rows.

use fleet_model::proto;
use fleet_model::xmlrpc::Value;
use fleet_store::{BatchRow, Table};
use prost::Message;

use crate::common::*;

#[tokio::test]
async fn resubmitted_batch_is_acknowledged_without_new_rows() {
    let gw = start("resubmit").await;
    let batch = sample_batch(3, 1);
    let first = gw.submit_xmlrpc(&batch).await;
    assert_eq!(member(&first, "duplicate"), &Value::Bool(false));
    let counters = gw.count(Table::Counters).await;
    assert_eq!(counters, 3 * 4);

    // Again over XML-RPC, and once more over protobuf: both duplicates.
    let again = gw.submit_xmlrpc(&batch).await;
    assert_eq!(member(&again, "duplicate"), &Value::Bool(true));
    assert_eq!(member(&again, "rows"), member(&first, "rows"));
    let pb = gw.submit_protobuf(&gw.token, &batch).await;
    let pb = proto::SubmitResult::decode(pb.bytes().await.unwrap()).unwrap();
    assert!(pb.duplicate);

    assert_eq!(gw.count(Table::Counters).await, counters);
    assert_eq!(gw.count(Table::Batches).await, 1);
    gw.finish().await;
}

#[tokio::test]
async fn concurrent_duplicate_submissions_insert_once() {
    let gw = start("concurrent_dupes").await;
    let batch = sample_batch(4, 2);
    let tasks: Vec<_> = (0..12).map(|_| gw.spawn_protobuf(&batch)).collect();
    let mut fresh = 0;
    for task in tasks {
        if !task.await.unwrap().duplicate {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one submission stores the batch");
    assert_eq!(gw.count(Table::Batches).await, 1);
    assert_eq!(gw.count(Table::Counters).await, 4 * 4);
    gw.finish().await;
}

#[tokio::test]
async fn batch_with_one_bad_device_stores_the_others() {
    let gw = start("one_bad_device").await;
    let mut batch = sample_batch(3, 3);
    batch.devices[1].counters.insert("colour_copies".into(), 5);
    let response = gw.submit_xmlrpc(&batch).await;
    assert_eq!(member(&response, "devices"), &Value::Int(2));
    let Value::Array(rejected) = member(&response, "rejected") else {
        panic!()
    };
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].member("index"), Some(&Value::Int(1)));
    let Some(Value::String(reason)) = rejected[0].member("reason") else {
        panic!()
    };
    assert!(
        reason.contains("unknown counter kind `colour_copies`"),
        "{reason}"
    );
    assert_eq!(gw.count(Table::Counters).await, 2 * 4);
    gw.finish().await;
}

#[tokio::test]
async fn malformed_device_in_xmlrpc_is_rejected_alone() {
    let gw = start("malformed_device").await;
    let batch = sample_batch(2, 4);
    let mut value = fleet_model::xmlrpc::batch_to_value(&batch);
    if let Value::Struct(members) = &mut value {
        let devices = members.iter_mut().find(|(n, _)| n == "devices").unwrap();
        if let Value::Array(items) = &mut devices.1 {
            items[0] = Value::String("not a device".into());
        }
    }
    let response = gw
        .xmlrpc("fleet.submit", &[Value::String(gw.token.clone()), value])
        .await;
    assert_eq!(member(&response, "devices"), &Value::Int(1));
    gw.finish().await;
}

#[tokio::test]
async fn sequence_gaps_are_recorded_in_the_ledger() {
    let gw = start("sequence_gaps").await;
    for sequence in [1, 2, 5] {
        let mut batch = sample_batch(1, 10 + sequence);
        batch.sequence = Some(sequence);
        gw.submit_xmlrpc(&batch).await;
    }
    let ledger: Vec<BatchRow> = gw
        .store
        .fetch_all(Table::Batches, "sequence")
        .await
        .unwrap();
    let gaps: Vec<_> = ledger
        .iter()
        .map(|b| (b.sequence, b.sequence_gap))
        .collect();
    assert_eq!(gaps, [(Some(1), 0), (Some(2), 0), (Some(5), 2)]);
    assert!(ledger.iter().all(|b| b.transport == "xmlrpc"));
    gw.finish().await;
}

#[tokio::test]
async fn unchanged_inventory_is_written_once() {
    let gw = start("inventory_once").await;
    gw.submit_xmlrpc(&sample_batch(3, 5)).await;
    gw.submit_xmlrpc(&sample_batch(3, 5)).await;
    assert_eq!(gw.count(Table::Devices).await, 3);

    // A moved device (new address) is the same device with a new inventory row.
    let mut moved = sample_batch(1, 5);
    moved.devices[0].identity.as_mut().unwrap().ip = "10.9.9.9".into();
    gw.submit_xmlrpc(&moved).await;
    assert_eq!(gw.count(Table::Devices).await, 4);
    let distinct = gw
        .store
        .count(Table::Devices, "ip = '10.9.9.9'")
        .await
        .unwrap();
    assert_eq!(distinct, 1);
    gw.finish().await;
}
