//! Decode and row-building throughput: XML-RPC decode (bytes per second, one core), protobuf
//! decode, and validation plus row building (the gateway's work per batch before the INSERT).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleet_benches::synth::{Fleet, add_rows};
use fleet_model::xmlrpc::{
    DecodeLimits, Value, batch_from_value, batch_to_value, decode_call, encode_call,
};
use fleet_model::{CollectorId, DeviceId, TenantId};
use fleet_store::{Origin, RowSet};
use prost::Message;
use std::hint::black_box;
use time::OffsetDateTime;

fn batches() -> Vec<(u32, fleet_model::proto::Batch)> {
    [1u32, 100, 1000]
        .iter()
        .map(|n| (*n, Fleet::new(1, *n).next_batch()))
        .collect()
}

fn xmlrpc_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("xmlrpc_decode");
    for (devices, batch) in batches() {
        let body = encode_call(
            "fleet.submit",
            &[Value::String("fmt_token".into()), batch_to_value(&batch)],
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("to_values", devices), &body, |b, body| {
            b.iter(|| decode_call(black_box(body.as_bytes()), &DecodeLimits::default()).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("to_batch", devices), &body, |b, body| {
            b.iter(|| {
                let mut call =
                    decode_call(black_box(body.as_bytes()), &DecodeLimits::default()).unwrap();
                batch_from_value(call.params.pop().unwrap()).unwrap()
            })
        });
    }
    group.finish();
}

fn protobuf_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("protobuf_decode");
    for (devices, batch) in batches() {
        let body = batch.encode_to_vec();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(devices), &body, |b, body| {
            b.iter(|| fleet_model::proto::Batch::decode(black_box(&body[..])).unwrap())
        });
    }
    group.finish();
}

fn row_encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate_and_build_rows");
    let origin = Origin {
        tenant: TenantId(1),
        collector: CollectorId(1),
        received_at: OffsetDateTime::now_utc(),
    };
    for (devices, batch) in batches() {
        let now = OffsetDateTime::now_utc();
        let rows_per_batch = {
            let valid =
                fleet_model::validate::validate_batch(batch.clone(), now, &Default::default())
                    .unwrap();
            let mut rows = RowSet::default();
            for d in &valid.devices {
                rows.push_report(origin, DeviceId(1), d);
            }
            rows.total_rows()
        };
        group.throughput(Throughput::Elements(rows_per_batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(devices), &batch, |b, batch| {
            b.iter(|| {
                let mut rows = RowSet::default();
                add_rows(&mut rows, batch.clone(), origin, false).unwrap();
                rows
            })
        });
    }
    group.finish();
}

criterion_group!(benches, xmlrpc_decode, protobuf_decode, row_encoding);
criterion_main!(benches);
