//! Decoder, encoder and mapping tests, including property tests that encode and decode random
//! values.

use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::proto;

fn call(body: &str) -> Result<MethodCall, DecodeError> {
    decode_call(body.as_bytes(), &DecodeLimits::default())
}

fn one_param(value_xml: &str) -> Value {
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName>\
         <params><param>{value_xml}</param></params></methodCall>"
    );
    let mut decoded = call(&body).unwrap();
    assert_eq!(decoded.params.len(), 1);
    decoded.params.remove(0)
}

#[test]
fn every_scalar_type_of_the_specification() {
    assert_eq!(one_param("<value><int>-12</int></value>"), Value::Int(-12));
    assert_eq!(one_param("<value><i4>+7</i4></value>"), Value::Int(7));
    assert_eq!(
        one_param("<value><i8>9007199254740993</i8></value>"),
        Value::Int(9007199254740993)
    );
    assert_eq!(
        one_param("<value><boolean>1</boolean></value>"),
        Value::Bool(true)
    );
    assert_eq!(
        one_param("<value><boolean>0</boolean></value>"),
        Value::Bool(false)
    );
    assert_eq!(
        one_param("<value><double>-1.5</double></value>"),
        Value::Double(-1.5)
    );
    assert_eq!(
        one_param("<value><string>a &amp; b &lt;c&gt;</string></value>"),
        Value::String("a & b <c>".into())
    );
    assert_eq!(
        one_param("<value><string/></value>"),
        Value::String(String::new())
    );
    assert_eq!(
        one_param("<value><base64>aGVs\n bG8=</base64></value>"),
        Value::Base64(b"hello".to_vec())
    );
    assert_eq!(
        one_param("<value><base64/></value>"),
        Value::Base64(Vec::new())
    );
    assert_eq!(one_param("<value><nil/></value>"), Value::Nil);
}

#[test]
fn dates_with_and_without_dashes() {
    let expected = Value::DateTime(datetime!(1998-07-17 14:08:55 UTC));
    assert_eq!(
        one_param("<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>"),
        expected
    );
    assert_eq!(
        one_param("<value><dateTime.iso8601>1998-07-17T14:08:55</dateTime.iso8601></value>"),
        expected
    );
    assert_eq!(
        one_param("<value><dateTime.iso8601>19980717T140855Z</dateTime.iso8601></value>"),
        expected
    );
}

#[test]
fn untyped_values_are_strings_with_whitespace_kept() {
    assert_eq!(
        one_param("<value>  two  words </value>"),
        Value::String("  two  words ".into())
    );
    assert_eq!(one_param("<value></value>"), Value::String(String::new()));
    assert_eq!(one_param("<value/>"), Value::String(String::new()));
    assert_eq!(
        one_param("<value>x &#233;&#x41;</value>"),
        Value::String("x éA".into())
    );
    assert_eq!(
        one_param("<value><![CDATA[<raw>]]></value>"),
        Value::String("<raw>".into())
    );
}

#[test]
fn whitespace_between_elements_is_ignored() {
    let value = one_param(
        "<value>\n  <struct>\n    <member>\n      <name>a</name>\n      <value>\n        \
         <int> 5 </int>\n      </value>\n    </member>\n  </struct>\n</value>",
    );
    assert_eq!(value, Value::structure([("a", Value::Int(5))]));
}

#[test]
fn nested_structs_and_arrays() {
    let value = one_param(
        "<value><struct><member><name>list</name><value><array><data>\
         <value><int>1</int></value><value>two</value>\
         <value><array><data/></array></value>\
         <value><struct></struct></value>\
         </data></array></value></member></struct></value>",
    );
    let expected = Value::structure([(
        "list",
        Value::Array(vec![
            Value::Int(1),
            Value::String("two".into()),
            Value::Array(vec![]),
            Value::Struct(vec![]),
        ]),
    )]);
    assert_eq!(value, expected);
}

#[test]
fn calls_without_params() {
    let decoded =
        call("<methodCall><methodName>system.listMethods</methodName></methodCall>").unwrap();
    assert_eq!(
        decoded,
        MethodCall {
            method: "system.listMethods".into(),
            params: vec![]
        }
    );
    let decoded = call("<methodCall><methodName>x</methodName><params/></methodCall>").unwrap();
    assert!(decoded.params.is_empty());
}

#[test]
fn bad_scalars_are_refused() {
    for xml in [
        "<value><int>12a</int></value>",
        "<value><int>99999999999999999999</int></value>",
        "<value><boolean>yes</boolean></value>",
        "<value><double>NaN</double></value>",
        "<value><double>inf</double></value>",
        "<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>",
        "<value><base64>!!!</base64></value>",
        "<value><float>1</float></value>",
        "<value>text<int>1</int></value>",
    ] {
        let body = format!(
            "<methodCall><methodName>m</methodName><params><param>{xml}</param></params>\
             </methodCall>"
        );
        assert!(call(&body).is_err(), "{xml}");
    }
}

#[test]
fn duplicate_struct_members_are_refused() {
    let body = "<methodCall><methodName>m</methodName><params><param><value><struct>\
        <member><name>a</name><value>1</value></member>\
        <member><name>a</name><value>2</value></member></struct></value></param></params>\
        </methodCall>";
    assert_eq!(call(body), Err(DecodeError::DuplicateMember("a".into())));
}

#[test]
fn hostile_documents_are_refused() {
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><methodCall><methodName>&lol2;</methodName>\
        </methodCall>";
    assert_eq!(call(laughs), Err(DecodeError::Doctype));

    let external = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\
        <methodCall><methodName>&e;</methodName></methodCall>";
    assert_eq!(call(external), Err(DecodeError::Doctype));

    let undeclared = "<methodCall><methodName>&e;</methodName></methodCall>";
    assert_eq!(call(undeclared), Err(DecodeError::Entity("e".into())));

    let deep = format!(
        "<methodCall><methodName>m</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(10_000),
        "</data></array></value>".repeat(10_000)
    );
    assert_eq!(call(&deep), Err(DecodeError::TooDeep(32)));

    let limits = DecodeLimits {
        max_elements: 100,
        ..DecodeLimits::default()
    };
    let wide = format!(
        "<methodCall><methodName>m</methodName><params><param><value><array><data>{}\
         </data></array></value></param></params></methodCall>",
        "<value><int>1</int></value>".repeat(100)
    );
    assert_eq!(
        decode_call(wide.as_bytes(), &limits),
        Err(DecodeError::TooManyElements(100))
    );

    let limits = DecodeLimits {
        max_bytes: 10,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode_call(b"<methodCall></methodCall>", &limits),
        Err(DecodeError::TooLarge { .. })
    ));

    assert!(call("<methodCall>\u{0}\u{ff}</methodCall>").is_err());
    assert_eq!(
        decode_call(
            b"<methodCall>\xff\xfe</methodCall>",
            &DecodeLimits::default()
        ),
        Err(DecodeError::NotUtf8)
    );
    let latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall>\
        <methodName>m</methodName></methodCall>";
    assert_eq!(
        call(latin1),
        Err(DecodeError::Encoding("ISO-8859-1".into()))
    );
}

#[test]
fn malformed_documents_are_refused() {
    for body in [
        "",
        "<methodCall>",
        "<methodCall><methodName>m</methodName></methodCall><extra/>",
        "<methodCall><methodName>m</methodName><params><value/></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><param><value></param></params>\
         </methodCall>",
        "<notACall/>",
    ] {
        assert!(call(body).is_err(), "{body}");
    }
}

#[test]
fn faults_decode_to_code_and_message() {
    let body = encode_fault(3, "invalid batch: `batch_id` is missing");
    let response = decode_response(body.as_bytes(), &DecodeLimits::default()).unwrap();
    assert_eq!(
        response,
        Response::Fault {
            code: 3,
            message: "invalid batch: `batch_id` is missing".into()
        }
    );
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}\r]{0,20}".prop_map(Value::String),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Value::Double),
        (0i64..4_102_444_800)
            .prop_map(|s| Value::DateTime(time::OffsetDateTime::from_unix_timestamp(s).unwrap())),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Base64),
        Just(Value::Nil),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Struct(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn encoded_values_decode_to_themselves(values in proptest::collection::vec(arb_value(), 0..4)) {
        let body = encode_call("fleet.submit", &values);
        let decoded = decode_call(body.as_bytes(), &DecodeLimits::default()).unwrap();
        prop_assert_eq!(decoded.method, "fleet.submit");
        prop_assert_eq!(decoded.params, values);
    }

    #[test]
    fn responses_decode_to_themselves(value in arb_value()) {
        let body = encode_response(&value);
        let decoded = decode_response(body.as_bytes(), &DecodeLimits::default()).unwrap();
        prop_assert_eq!(decoded, Response::Value(value));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_call(&bytes, &DecodeLimits::default());
    }
}

#[test]
fn our_encoding_reads_in_an_independent_decoder() {
    // dxr is an independent XML-RPC implementation: what we write must read there too.
    let value = Value::structure([
        ("n", Value::Int(5)),
        ("big", Value::Int(1 << 40)),
        ("s", Value::String("a<b&c".into())),
        (
            "list",
            Value::Array(vec![Value::Bool(true), Value::Double(0.25)]),
        ),
    ]);
    let body = encode_response(&value);
    let start = body.find("<value>").unwrap();
    let end = body.rfind("</value>").unwrap() + "</value>".len();
    let parsed = dxr::Value::from_xml(&body[start..end]).unwrap();
    let members: std::collections::HashMap<String, dxr::Value> =
        dxr::TryFromValue::try_from_value(&parsed).unwrap();
    let small: i32 = dxr::TryFromValue::try_from_value(&members["n"]).unwrap();
    assert_eq!(small, 5);
    let big: i64 = dxr::TryFromValue::try_from_value(&members["big"]).unwrap();
    assert_eq!(big, 1 << 40);
    let text: String = dxr::TryFromValue::try_from_value(&members["s"]).unwrap();
    assert_eq!(text, "a<b&c");
    let list: (bool, f64) = dxr::TryFromValue::try_from_value(&members["list"]).unwrap();
    assert_eq!(list, (true, 0.25));
}

fn sample_batch() -> proto::Batch {
    let at = crate::time_format::to_timestamp(datetime!(2026-12-03 10:00 UTC));
    proto::Batch {
        batch_id: "7c3e0d3a-0b7e-4c1a-9f59-6b2d8f8c2a11".into(),
        sequence: Some(3),
        sent_at: Some(at),
        devices: vec![proto::DeviceReport {
            observed_at: Some(at),
            identity: Some(proto::Identity {
                vendor: "HP".into(),
                model: "LaserJet M404".into(),
                serial: "CNB123".into(),
                ..Default::default()
            }),
            capabilities: Some(proto::Capabilities {
                color: Some(false),
                duplex: Some(true),
                trays: Some(2),
                finisher: String::new(),
            }),
            counters: [("total".to_string(), 5_000_000_000u64), ("mono".into(), 12)].into(),
            supplies: vec![proto::Supply {
                kind: "toner".into(),
                color: "black".into(),
                level: -3,
                max: 100,
                ..Default::default()
            }],
            status: Some(proto::Status {
                device: "warning".into(),
                printer: "idle".into(),
                errors: vec!["low_toner".into()],
                display: vec!["Toner low".into()],
            }),
            alerts: vec![proto::Alert {
                severity: "warning".into(),
                group: "markerSupplies".into(),
                code: 1104,
                description: "Toner low".into(),
                index: 1,
                training_level: "untrained".into(),
            }],
        }],
    }
}

#[test]
fn batch_round_trips_through_its_xmlrpc_form() {
    let batch = sample_batch();
    let body = encode_call(
        "fleet.submit",
        &[Value::String("t".into()), batch_to_value(&batch)],
    );
    let mut decoded = decode_call(body.as_bytes(), &DecodeLimits::default()).unwrap();
    let (mut envelope, devices) = batch_from_value(decoded.params.remove(1)).unwrap();
    envelope.devices = devices.into_iter().map(Result::unwrap).collect();
    assert_eq!(envelope, batch);
}

#[test]
fn counters_accept_decimal_strings_and_refuse_negatives() {
    let device = Value::structure([
        (
            "identity",
            Value::structure([("serial", Value::String("S1".into()))]),
        ),
        (
            "counters",
            Value::structure([("total", Value::String("5000000000".into()))]),
        ),
    ]);
    let bad = Value::structure([("counters", Value::structure([("total", Value::Int(-1))]))]);
    let batch = Value::structure([
        ("batch_id", Value::String("x".into())),
        ("devices", Value::Array(vec![device, bad])),
    ]);
    let (_, devices) = batch_from_value(batch).unwrap();
    assert_eq!(
        devices[0].as_ref().unwrap().counters["total"],
        5_000_000_000
    );
    assert_eq!(
        devices[1].as_ref().unwrap_err(),
        "`counters.total`: -1 is negative"
    );
}

#[test]
fn rfc3339_strings_are_accepted_for_times() {
    let batch = Value::structure([
        ("batch_id", Value::String("x".into())),
        ("sent_at", Value::String("2026-12-03T11:00:00+01:00".into())),
    ]);
    let (envelope, _) = batch_from_value(batch).unwrap();
    let expected = crate::time_format::to_timestamp(datetime!(2026-12-03 10:00 UTC));
    assert_eq!(envelope.sent_at, Some(expected));
}

#[test]
fn structural_faults_name_their_path() {
    let err = batch_from_value(Value::Array(vec![])).unwrap_err();
    assert_eq!(err.to_string(), "`batch`: expected a struct, found array");
    let err = batch_from_value(Value::structure([("devicez", Value::Nil)])).unwrap_err();
    assert_eq!(err.to_string(), "`devicez`: unknown member");
    let batch = Value::structure([(
        "devices",
        Value::Array(vec![Value::structure([(
            "supplies",
            Value::Array(vec![Value::structure([("level", Value::Double(1.0))])]),
        )])]),
    )]);
    let (_, devices) = batch_from_value(batch).unwrap();
    assert_eq!(
        devices[0].as_ref().unwrap_err(),
        "`supplies[0].level`: expected integer, found double"
    );
}
