//! Report figures against hand-computed fixtures (`fixture.sql`) on the real ClickHouse server:
//! reads at a boundary, only before or after it, a missing device, a counter reset, a
//! daylight-saving change, readings stored twice, a device moved between customers; supply
//! rates, replacements and forecasts; alert episodes.

use std::collections::HashMap;

use fleet_reports::{CsvOptions, Format, Meta, Options, Period, ReportName};
use fleet_store::{Scope, Store, testing::fresh_store};
use serde_json::{Value, json};

async fn loaded(label: &str) -> Store {
    let store = fresh_store(label).await;
    let fixture = include_str!("fixture.sql");
    for statement in fleet_store::sql_statements(fixture, store.database()) {
        store
            .raw_execute(&statement)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{statement}"));
    }
    store
}

fn names() -> HashMap<u64, String> {
    [
        (100, "fixture-dealer"),
        (101, "fixture-a"),
        (102, "fixture-b"),
    ]
    .into_iter()
    .map(|(id, n)| (id, n.to_owned()))
    .collect()
}

async fn run(store: &Store, name: ReportName, format: Format, options: &Options) -> Vec<u8> {
    let meta = Meta {
        name,
        tenant: "fixture-dealer".into(),
        period: Period::parse("2026-10", None, "Europe/Berlin").unwrap(),
    };
    let scope = Scope::tenants([100, 101, 102]);
    let report = fleet_reports::start(store, meta, &scope, names(), options)
        .await
        .unwrap();
    let mut out = Vec::new();
    fleet_reports::render::write(report, format, CsvOptions::default(), &mut out)
        .await
        .unwrap();
    out
}

async fn rows(store: &Store, name: ReportName) -> Vec<Value> {
    let out = run(store, name, Format::Json, &Options::default()).await;
    serde_json::from_slice::<Vec<Value>>(&out).unwrap()
}

fn find<'a>(rows: &'a [Value], device: &str, kind: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["row"] == "device" && r["device_id"] == device && r["kind"] == kind)
        .unwrap_or_else(|| panic!("no row for device {device} {kind}"))
}

fn read(row: &Value) -> (Value, Value, Value, Value, Value, Value) {
    (
        row["open_value"].clone(),
        row["open_method"].clone(),
        row["close_value"].clone(),
        row["close_method"].clone(),
        row["usage"].clone(),
        row["resets"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn meter_reads_match_the_hand_computed_figures() {
    let store = loaded("meter_reads").await;
    let rows = rows(&store, ReportName::MeterReads).await;
    let expect = |device: &str, kind: &str, want: (Value, &str, Value, &str, Value, i64)| {
        let got = read(find(&rows, device, kind));
        let want = (
            want.0,
            json!(want.1),
            want.2,
            json!(want.3),
            want.4,
            json!(want.5),
        );
        assert_eq!(got, want, "device {device} {kind}");
    };
    // Reads exactly at both boundaries (local midnight in Berlin, summer and winter time).
    expect(
        "1",
        "total",
        (json!(1000), "actual", json!(2000), "actual", json!(1000), 0),
    );
    expect(
        "1",
        "color",
        (
            json!(500),
            "nearest_before",
            json!(800),
            "nearest_after",
            json!(300),
            0,
        ),
    );
    expect(
        "2",
        "total",
        (
            json!(5000),
            "nearest_before",
            json!(9050),
            "nearest_after",
            json!(4050),
            0,
        ),
    );
    // A tie at the start goes to the read before it.
    expect(
        "2",
        "mono",
        (
            json!(100),
            "nearest_before",
            json!(300),
            "actual",
            json!(200),
            0,
        ),
    );
    // Reported in September only: listed, with both reads missing and no usage.
    expect(
        "3",
        "total",
        (
            Value::Null,
            "missing",
            Value::Null,
            "missing",
            Value::Null,
            0,
        ),
    );
    // A reset: usage is the sum of the rises (2000 + 1000), flagged.
    expect(
        "4",
        "total",
        (
            json!(10000),
            "actual",
            json!(1050),
            "actual",
            json!(3000),
            1,
        ),
    );
    // Stored twice: the same figures.
    expect(
        "5",
        "total",
        (json!(100), "actual", json!(400), "actual", json!(300), 0),
    );
    // Moved from customer A (device 6) to B (device 7): each part bills its own pages.
    expect(
        "6",
        "total",
        (
            json!(20000),
            "actual",
            json!(21000),
            "last_in_period",
            json!(1000),
            0,
        ),
    );
    expect(
        "7",
        "total",
        (
            json!(21100),
            "first_in_period",
            json!(22000),
            "actual",
            json!(900),
            0,
        ),
    );
    // Daylight saving: the month ends at 23:00 UTC, so 22:00 UTC is an hour before the end.
    expect(
        "8",
        "total",
        (
            json!(100),
            "actual",
            json!(500),
            "nearest_before",
            json!(400),
            0,
        ),
    );
    assert_eq!(find(&rows, "8", "total")["close_at"], "2026-10-31 23:00:00");
    assert_eq!(find(&rows, "1", "total")["open_at"], "2026-10-01 00:00:00");
    // Subtotals per customer and kind.
    let subtotal = |customer: &str, kind: &str| {
        rows.iter()
            .find(|r| r["row"] == "subtotal" && r["customer"] == customer && r["kind"] == kind)
            .map(|r| r["usage"].clone())
            .unwrap_or_else(|| panic!("no subtotal {customer} {kind}"))
    };
    assert_eq!(
        subtotal("fixture-a", "total"),
        json!(1000 + 4050 + 1000 + 400)
    );
    assert_eq!(subtotal("fixture-a", "color"), json!(300));
    assert_eq!(subtotal("fixture-b", "total"), json!(3000 + 300 + 900));
    assert_eq!(rows.len(), 10 + 4, "ten device rows and four subtotals");
}

#[tokio::test(flavor = "multi_thread")]
async fn tolerance_and_subtotals_are_options() {
    let store = loaded("meter_options").await;
    let options = Options {
        tolerance_hours: 1,
        subtotals: false,
        ..Options::default()
    };
    let out = run(&store, ReportName::MeterReads, Format::Json, &options).await;
    let rows: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert!(rows.iter().all(|r| r["row"] == "device"));
    // With a one-hour tolerance, device 2's reads 3 h and 5 h from the start are too far: the
    // opening read falls back to the first read in the period.
    let (open, method, ..) = read(find(&rows, "2", "total"));
    assert_eq!((open, method), (json!(5100), json!("first_in_period")));
}

#[tokio::test(flavor = "multi_thread")]
async fn supplies_give_rates_replacements_and_forecasts() {
    let store = loaded("supplies").await;
    let rows = rows(&store, ReportName::Supplies).await;
    let black1 = rows
        .iter()
        .find(|r| r["device_id"] == "1" && r["color"] == "black")
        .unwrap();
    assert_eq!(black1["replacements"], json!(1), "{black1}");
    assert_eq!(black1["replaced_on"], json!("2026-10-20"));
    assert_eq!(black1["per_day"], json!(2.0));
    assert_eq!(black1["forecast_basis"], json!("device"));
    // Last reading 2026-10-31 at 78 % (100 - 2·11), 2 points a day: 39 days, no spread.
    assert_eq!(black1["percent"], json!(78));
    assert_eq!(black1["empty_p50"], json!("2026-12-09"));
    assert_eq!(black1["empty_p10"], black1["empty_p50"]);
    // Five days of history: the model's fleet rate (device 1's) stands in.
    let black2 = rows
        .iter()
        .find(|r| r["device_id"] == "2" && r["color"] == "black")
        .unwrap();
    assert_eq!(black2["forecast_basis"], json!("fleet"), "{black2}");
    assert_eq!(black2["empty_p50"], json!("2026-11-30"));
    // "Some remaining" is never a level; with no rate known there is no forecast.
    let cyan = rows.iter().find(|r| r["color"] == "cyan").unwrap();
    assert_eq!(
        (cyan["percent"].clone(), cyan["state"].clone()),
        (Value::Null, json!("some remaining"))
    );
    assert_eq!(cyan["forecast_basis"], json!("none"));
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_inventory_and_utilization() {
    let store = loaded("other_reports").await;
    let alerts = rows(&store, ReportName::Alerts).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["episodes"], json!(2));
    assert_eq!(alerts[0]["hours"], json!(0.22)); // 13 minutes
    assert_eq!(alerts[0]["serial"], json!("SER1"));
    let inventory = rows(&store, ReportName::Inventory).await;
    assert_eq!(inventory.len(), 8);
    assert!(
        inventory
            .iter()
            .all(|r| r["trays"] == json!(2) && r["duplex"] == "yes")
    );
    let use_ = rows(&store, ReportName::Utilization).await;
    let dev4 = use_.iter().find(|r| r["device_id"] == "4").unwrap();
    // Daily roll-up, UTC days from 30 Sep (the first day that overlaps the period).
    assert_eq!(dev4["flag"], json!("ok"), "{dev4}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_renders() {
    let store = loaded("formats").await;
    for name in ReportName::ALL {
        for format in [Format::Csv, Format::Xlsx, Format::Pdf] {
            let out = run(&store, name, format, &Options::default()).await;
            match format {
                Format::Csv => assert!(out.starts_with(b"row,") || out.starts_with(b"customer,")),
                Format::Xlsx => assert_eq!(&out[..2], b"PK"),
                _ => assert_eq!(&out[..5], b"%PDF-"),
            }
        }
    }
}
