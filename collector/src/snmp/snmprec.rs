//! snmpsim's `.snmprec` recordings (`OID|TAG|VALUE` per line), read into an ordered map.
//!
//! The simulator serves them and the conformance tests compare against them. Tags are the sum
//! of the BER tag-class and number (2 INTEGER, 4 OCTET STRING, 5 NULL, 6 OID, 64 IpAddress,
//! 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64); an `x` after the tag means
//! the value is hex; a `:module` suffix names a snmpsim variation module, which is ignored here.

use std::collections::BTreeMap;

use super::{Oid, Value};

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RecordError {
    pub line: usize,
    pub reason: String,
}

/// Parses a recording. Bad lines are returned beside the good ones, so that a recording with
/// known faults can still be served up to them (as real agents do).
pub fn parse(text: &str) -> (BTreeMap<Oid, Value>, Vec<RecordError>) {
    let mut map = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(Some((oid, value))) => {
                map.insert(oid, value);
            }
            Ok(None) => {}
            Err(reason) => errors.push(RecordError {
                line: i + 1,
                reason,
            }),
        }
    }
    (map, errors)
}

fn parse_line(line: &str) -> Result<Option<(Oid, Value)>, String> {
    let mut parts = line.splitn(3, '|');
    let (Some(oid), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected OID|TAG|VALUE".into());
    };
    let oid: Oid = oid.parse().map_err(|e: super::OidError| e.to_string())?;
    let tag = tag.split(':').next().unwrap_or_default();
    let (tag, hex) = match tag.strip_suffix('x') {
        Some(t) => (t, true),
        None => (tag, false),
    };
    let raw: Vec<u8> = if hex {
        hex::decode(value.trim()).map_err(|e| format!("bad hex value: {e}"))?
    } else {
        // Recordings are read as ISO-8859-1, byte for byte.
        value.chars().map(|c| u32::from(c).min(255) as u8).collect()
    };
    let text = || String::from_utf8_lossy(&raw).trim().to_string();
    let number = |what: &str| -> Result<i128, String> {
        text()
            .parse::<i128>()
            .map_err(|_| format!("bad {what} value `{}`", text()))
    };
    let value = match tag {
        "2" => Value::Integer(
            i64::try_from(number("INTEGER")?).map_err(|_| "INTEGER out of range".to_string())?,
        ),
        "4" | "68" => Value::Bytes(raw),
        "5" => Value::Null,
        "6" => Value::Oid(text().parse().map_err(|e: super::OidError| e.to_string())?),
        "64" => {
            if hex {
                let a: [u8; 4] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| "IpAddress needs 4 octets".to_string())?;
                Value::IpAddress(a)
            } else {
                let ip: std::net::Ipv4Addr = text()
                    .parse()
                    .map_err(|_| format!("bad IpAddress `{}`", text()))?;
                Value::IpAddress(ip.octets())
            }
        }
        "65" | "66" | "70" => Value::Unsigned(
            u64::try_from(number("counter")?).map_err(|_| "negative counter".to_string())?,
        ),
        "67" => Value::TimeTicks(
            u32::try_from(number("TimeTicks")?)
                .map_err(|_| "TimeTicks out of range".to_string())?,
        ),
        // noSuchObject, noSuchInstance, endOfMibView: the object is absent.
        "128" | "129" | "130" => return Ok(None),
        other => return Err(format!("unknown tag `{other}`")),
    };
    Ok(Some((oid, value)))
}

/// Writes one value back in `.snmprec` form (used by the simulator's `--dump`).
pub fn format_line(oid: &Oid, value: &Value) -> String {
    match value {
        Value::Integer(v) => format!("{oid}|2|{v}"),
        Value::Unsigned(v) => format!("{oid}|65|{v}"),
        Value::TimeTicks(v) => format!("{oid}|67|{v}"),
        Value::Bytes(b) if b.iter().all(|&c| (0x20..0x7f).contains(&c)) => {
            format!("{oid}|4|{}", String::from_utf8_lossy(b))
        }
        Value::Bytes(b) => format!("{oid}|4x|{}", hex::encode(b)),
        Value::Oid(o) => format!("{oid}|6|{o}"),
        Value::IpAddress(a) => format!("{oid}|64|{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        Value::Null => format!("{oid}|5|"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_tag_and_reports_bad_lines() {
        let text = "1.3.6.1.2.1.1.1.0|4|HP LaserJet\n\
                    1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1\n\
                    1.3.6.1.2.1.2.2.1.6.1|4x|001122334455\n\
                    1.3.6.1.2.1.43.11.1.1.9.1.1|2|-3\n\
                    1.3.6.1.2.1.43.10.2.1.4.1.1|65|12345\n\
                    1.3.6.1.2.1.2.2.1.17.1|65|6git3159\n\
                    1.3.6.1.2.1.4.20.1.1.10.0.0.1|64x|0a000001\n";
        let (map, errors) = parse(text);
        assert_eq!(map.len(), 6);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 6);
        let mac: Oid = "1.3.6.1.2.1.2.2.1.6.1".parse().unwrap();
        assert_eq!(
            map[&mac],
            Value::Bytes(vec![0, 0x11, 0x22, 0x33, 0x44, 0x55])
        );
        let level: Oid = "1.3.6.1.2.1.43.11.1.1.9.1.1".parse().unwrap();
        assert_eq!(map[&level], Value::Integer(-3));
        let first = map.keys().next().unwrap().to_string();
        assert_eq!(first, "1.3.6.1.2.1.1.1.0");
    }

    use proptest::prelude::*;

    proptest! {
        /// What the simulator writes, the parser reads back unchanged.
        #[test]
        fn format_and_parse_round_trip(
            arcs in proptest::collection::vec(0u32..1_000_000, 1..15),
            n in any::<i32>(),
            u in any::<u64>(),
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut o = vec![1, 3, 6];
            o.extend(arcs);
            let oid = Oid::new(o);
            let values =
                [Value::Integer(i64::from(n)), Value::Unsigned(u), Value::Bytes(bytes.clone())];
            for v in values {
                let line = format_line(&oid, &v);
                let (map, errors) = parse(&line);
                prop_assert!(errors.is_empty(), "{line}: {errors:?}");
                prop_assert_eq!(map.get(&oid), Some(&v));
            }
        }

        /// Any text parses without panicking; bad lines become errors.
        #[test]
        fn any_text_is_safe(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }
    }
}
