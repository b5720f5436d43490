//! Value transforms that profiles name: text clean-up, vendor string prefixes, binary records,
//! numeric scaling, enum maps and bit fields.

use crate::snmp::Value;

/// A named transform, as written in a profile's `transforms = [...]` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Named {
    /// Strip NUL padding, whitespace and control characters at both ends.
    Trim,
    /// Strip HP's PML prefix (0x01 0x15) from the front of a string.
    HpPml,
    /// Decode a value written as hex digits (`4D6F64656C` or `4d 6f 64`) into text.
    HexText,
    /// Six octets to `aa:bb:cc:dd:ee:ff`; empty, all-zero and odd lengths yield nothing.
    Mac,
    /// Keep the first line only (HP descriptions carry a hex dump after a newline).
    FirstLine,
    /// Cut a trailing part number (`Black Toner, PN 12A` keeps `Black Toner`).
    CutPartNumber,
    /// The `MDL:` field of an IEEE 1284 device ID.
    Ieee1284Model,
    /// The `MFG:` field of an IEEE 1284 device ID.
    Ieee1284Maker,
    /// Lower-case.
    Lower,
}

/// Text of a value: OCTET STRINGs decoded with `charset` (UTF-8 when it decodes, else the
/// device's declared charset), numbers in decimal.
pub fn text_of(value: &Value, charset: Charset) -> String {
    match value {
        Value::Bytes(b) => charset.decode(b),
        other => other.to_string(),
    }
}

/// Applies named transforms in order to a text. `None` means the value is unusable.
pub fn apply_text(mut s: String, transforms: &[Named]) -> Option<String> {
    for t in transforms {
        s = match t {
            Named::Trim => trim(&s),
            Named::HpPml => s
                .strip_prefix("\u{1}\u{15}")
                .map(str::to_owned)
                .unwrap_or(s),
            Named::HexText => hex_text(&s).unwrap_or(s),
            Named::Mac => mac_text(s.as_bytes())?,
            Named::FirstLine => s.lines().next().unwrap_or_default().to_owned(),
            Named::CutPartNumber => cut_part_number(&s),
            Named::Ieee1284Model => ieee1284_field(&s, &["MDL", "MODEL"])?,
            Named::Ieee1284Maker => ieee1284_field(&s, &["MFG", "MANUFACTURER"])?,
            Named::Lower => s.to_lowercase(),
        };
    }
    Some(s)
}

/// Applies transforms to raw octets where a transform needs them (MAC addresses); text
/// transforms run on the decoded text.
pub fn apply(value: &Value, transforms: &[Named], charset: Charset) -> Option<String> {
    if let (Some(Named::Mac), Value::Bytes(b)) = (transforms.first(), value) {
        let mac = mac_bytes(b)?;
        return apply_text(mac, &transforms[1..]);
    }
    let text = match value {
        Value::Bytes(b) if transforms.first() == Some(&Named::HpPml) => {
            let b = b.strip_prefix(&[0x01, 0x15][..]).unwrap_or(b);
            return apply_text(charset.decode(b), &transforms[1..]);
        }
        other => text_of(other, charset),
    };
    apply_text(text, transforms)
}

pub fn trim(s: &str) -> String {
    s.trim_matches(|c: char| c.is_whitespace() || c.is_control())
        .to_owned()
}

fn hex_text(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() < 2
        || !digits.len().is_multiple_of(2)
        || !digits.chars().all(|c| c.is_ascii_hexdigit())
    {
        return None;
    }
    let bytes = hex::decode(digits).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(trim(&text))
}

fn mac_bytes(b: &[u8]) -> Option<String> {
    if b.len() != 6 || b.iter().all(|&x| x == 0) || b.iter().all(|&x| x == 0xff) {
        return None;
    }
    Some(
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

fn mac_text(s: &[u8]) -> Option<String> {
    if s.len() == 6 {
        return mac_bytes(s);
    }
    fleet_model::normalize_mac(std::str::from_utf8(s).ok()?)
}

fn cut_part_number(s: &str) -> String {
    for marker in [", PN ", ";PN ", " PN:", ", P/N"] {
        if let Some(i) = s.find(marker) {
            return trim(&s[..i]);
        }
    }
    s.to_owned()
}

fn ieee1284_field(s: &str, keys: &[&str]) -> Option<String> {
    s.split(';').find_map(|part| {
        let (k, v) = part.split_once(':')?;
        keys.iter()
            .any(|key| k.trim().eq_ignore_ascii_case(key))
            .then(|| trim(v))
    })
}

/// Scale and offset for numbers: `value * scale + offset`, rounded to the nearest integer.
pub fn scale(v: i64, scale: Option<f64>, offset: Option<i64>) -> i64 {
    let scaled = match scale {
        Some(f) => (v as f64 * f).round() as i64,
        None => v,
    };
    scaled.saturating_add(offset.unwrap_or(0))
}

/// The names of the set bits of a bit field, bit 0 being the most significant bit of the first
/// octet (SNMP BITS order). Missing octets count as zero; names past the end are ignored.
pub fn bit_names<'a>(octets: &[u8], names: &'a [String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (bit, name) in names.iter().enumerate() {
        let Some(octet) = octets.get(bit / 8) else {
            break;
        };
        if octet & (0x80 >> (bit % 8)) != 0 && !name.is_empty() {
            out.push(name.as_str());
        }
    }
    out
}

/// One record of Brother's binary counter and maintenance strings: a code and a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrotherRecord {
    pub code: u8,
    pub value: u32,
    /// The maximum, for the legacy 5-byte form (`code 01 02 value max`); `None` otherwise.
    pub max: Option<u8>,
    /// A one-octet record: a status code, not an amount.
    pub status_only: bool,
}

/// Decodes Brother's records, `code 01 len value`, terminated by 0xFF or the end: `len` 4 is a
/// big-endian value (current firmware), 1 a one-octet value, and 2 the legacy `value max`
/// pair. Stops at the first malformed record.
pub fn brother_records(b: &[u8]) -> Vec<BrotherRecord> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() && b[i] != 0xff {
        let (code, marker, len) = (b[i], b[i + 1], usize::from(b[i + 2]));
        let Some(body) = b.get(i + 3..i + 3 + len) else {
            break;
        };
        if marker != 0x01 {
            break;
        }
        let record = match body {
            [v] => BrotherRecord {
                code,
                value: u32::from(*v),
                max: None,
                status_only: true,
            },
            [v, max] => BrotherRecord {
                code,
                value: u32::from(*v),
                max: Some(*max),
                status_only: false,
            },
            [a, b, c, d] => BrotherRecord {
                code,
                value: u32::from_be_bytes([*a, *b, *c, *d]),
                max: None,
                status_only: false,
            },
            _ => break,
        };
        out.push(record);
        i += 3 + len;
    }
    out
}

/// Character sets of `prtLocalizationCharacterSet` (IANA MIBenum) and by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8 where the octets are valid UTF-8, else windows-1252.
    #[default]
    Default,
    Encoding(&'static encoding_rs::Encoding),
    /// HP Roman-8 (MIBenum 2004), used by HP and Brother firmware.
    Roman8,
}

/// HP Roman-8, octets 0xA0 to 0xFF (0xA0 and 0xFF are unassigned: shown as U+FFFD).
#[rustfmt::skip]
const ROMAN8_HIGH: [char; 96] = [
    '\u{fffd}', 'À', 'Â', 'È', 'Ê', 'Ë', 'Î', 'Ï',
    '´', 'ˋ', 'ˆ', '¨', '˜', 'Ù', 'Û', '₤',
    '¯', 'Ý', 'ý', '°', 'Ç', 'ç', 'Ñ', 'ñ',
    '¡', '¿', '¤', '£', '¥', '§', 'ƒ', '¢',
    'â', 'ê', 'ô', 'û', 'á', 'é', 'ó', 'ú',
    'à', 'è', 'ò', 'ù', 'ä', 'ë', 'ö', 'ü',
    'Å', 'î', 'Ø', 'Æ', 'å', 'í', 'ø', 'æ',
    'Ä', 'ì', 'Ö', 'Ü', 'É', 'ï', 'ß', 'Ô',
    'Á', 'Ã', 'ã', 'Ð', 'ð', 'Í', 'Ì', 'Ó',
    'Ò', 'Õ', 'õ', 'Š', 'š', 'Ú', 'Ÿ', 'ÿ',
    'Þ', 'þ', '·', 'µ', '¶', '¾', '—', '¼',
    '½', 'ª', 'º', '«', '■', '»', '±', '\u{fffd}',
];

impl Charset {
    pub const DEFAULT: Charset = Charset::Default;

    /// From an IANA MIBenum as `prtLocalizationCharacterSet` reports it.
    pub fn from_mib_enum(n: i64) -> Charset {
        let e = match n {
            4 => encoding_rs::WINDOWS_1252,
            5 => encoding_rs::ISO_8859_2,
            8 => encoding_rs::ISO_8859_5,
            9 => encoding_rs::ISO_8859_6,
            10 => encoding_rs::ISO_8859_7,
            11 => encoding_rs::ISO_8859_8,
            12 => encoding_rs::WINDOWS_1254,
            17 => encoding_rs::SHIFT_JIS,
            18 => encoding_rs::EUC_JP,
            38 => encoding_rs::EUC_KR,
            106 => encoding_rs::UTF_8,
            113 => encoding_rs::GBK,
            114 | 2025 => encoding_rs::GB18030,
            2026 => encoding_rs::BIG5,
            2250 => encoding_rs::WINDOWS_1250,
            2251 => encoding_rs::WINDOWS_1251,
            2252 => encoding_rs::WINDOWS_1252,
            2004 => return Charset::Roman8,
            _ => return Charset::Default,
        };
        Charset::Encoding(e)
    }

    /// From a WHATWG label such as `windows-1250` or `iso-8859-2`, or `hp-roman8`.
    pub fn from_label(label: &str) -> Option<Charset> {
        if label.eq_ignore_ascii_case("hp-roman8") || label.eq_ignore_ascii_case("roman8") {
            return Some(Charset::Roman8);
        }
        encoding_rs::Encoding::for_label(label.as_bytes()).map(Charset::Encoding)
    }

    pub fn decode(self, b: &[u8]) -> String {
        if let Ok(s) = std::str::from_utf8(b) {
            return s.to_owned();
        }
        match self {
            Charset::Roman8 => b
                .iter()
                .map(|&c| {
                    if c < 0xa0 {
                        char::from(c)
                    } else {
                        ROMAN8_HIGH[usize::from(c - 0xa0)]
                    }
                })
                .collect(),
            Charset::Encoding(e) => e.decode_without_bom_handling(b).0.into_owned(),
            Charset::Default => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(b)
                .0
                .into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_transforms() {
        let v = Value::Bytes(b"\x01\x15HP LaserJet M402\0\0".to_vec());
        assert_eq!(
            apply(&v, &[Named::HpPml, Named::Trim], Charset::DEFAULT).unwrap(),
            "HP LaserJet M402"
        );
        assert_eq!(
            apply_text("4D 50 20 43".into(), &[Named::HexText]).unwrap(),
            "MP C"
        );
        assert_eq!(
            apply_text("Ready".into(), &[Named::HexText]).unwrap(),
            "Ready"
        );
        let mac = Value::Bytes(vec![0, 0x1b, 0xa9, 1, 2, 3]);
        assert_eq!(
            apply(&mac, &[Named::Mac], Charset::DEFAULT).unwrap(),
            "00:1b:a9:01:02:03"
        );
        assert_eq!(
            apply(&Value::Bytes(vec![0; 6]), &[Named::Mac], Charset::DEFAULT),
            None
        );
        assert_eq!(
            apply(&Value::Bytes(vec![]), &[Named::Mac], Charset::DEFAULT),
            None
        );
        assert_eq!(
            apply_text("Black Cartridge, PN CF226A".into(), &[Named::CutPartNumber]).unwrap(),
            "Black Cartridge"
        );
        let id = "MFG:HP;CMD:PJL,PML;MDL:HP LaserJet MFP M129-M134;CLS:PRINTER;";
        assert_eq!(
            apply_text(id.into(), &[Named::Ieee1284Model]).unwrap(),
            "HP LaserJet MFP M129-M134"
        );
        assert_eq!(
            apply_text("TONER\nA1 B2".into(), &[Named::FirstLine]).unwrap(),
            "TONER"
        );
    }

    #[test]
    fn numbers_and_bits() {
        assert_eq!(scale(1234, Some(0.1), None), 123);
        assert_eq!(scale(10, None, Some(-3)), 7);
        let names: Vec<String> = [
            "low_paper",
            "no_paper",
            "low_toner",
            "no_toner",
            "door_open",
            "jammed",
            "offline",
            "service_requested",
            "input_tray_missing",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(bit_names(&[0x80], &names), ["low_paper"]);
        assert_eq!(bit_names(&[0x20, 0x00], &names), ["low_toner"]);
        assert_eq!(bit_names(&[0x01, 0x00], &names), ["service_requested"]);
        assert_eq!(bit_names(&[0x00, 0x80], &names), ["input_tray_missing"]);
        assert!(bit_names(&[], &names).is_empty());
        assert_eq!(bit_names(&[0x0c], &names), ["door_open", "jammed"]);
    }

    #[test]
    fn brother_records_both_forms() {
        let b = [
            0x00, 0x01, 0x04, 0, 0, 0x30, 0x39, 0x06, 0x01, 0x04, 0, 0, 0, 7, 0xff,
        ];
        let r = brother_records(&b);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].code, r[0].value), (0, 12345));
        assert_eq!((r[1].code, r[1].value), (6, 7));
        let legacy = [0x41, 0x01, 0x02, 50, 100, 0xff];
        assert_eq!(
            brother_records(&legacy),
            [BrotherRecord {
                code: 0x41,
                value: 50,
                max: Some(100),
                status_only: false
            }]
        );
        assert!(brother_records(&[0x00, 0x01]).is_empty());
        let short = [0x31, 0x01, 0x01, 0x01, 0x41, 0x01, 0x01, 0x03];
        assert_eq!(brother_records(&short).len(), 2);
    }

    #[test]
    fn charsets() {
        assert_eq!(Charset::from_mib_enum(4).decode(b"Caf\xe9"), "Café");
        assert_eq!(
            Charset::from_mib_enum(106).decode("Bereit".as_bytes()),
            "Bereit"
        );
        assert_eq!(Charset::from_mib_enum(2250).decode(b"Got\xf3w"), "Gotów");
        assert_eq!(
            Charset::from_mib_enum(2004).decode(b"Kopie\xcdn"),
            "Kopieën"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let records = brother_records(&bytes);
            prop_assert!(records.len() <= bytes.len() / 4 + 1);
            let names: Vec<String> = (0..20).map(|i| format!("b{i}")).collect();
            let set = bit_names(&bytes, &names);
            // Bit n is set exactly when its name is listed.
            for (n, name) in names.iter().enumerate() {
                let on = bytes.get(n / 8).is_some_and(|o| o & (0x80 >> (n % 8)) != 0);
                prop_assert_eq!(on, set.contains(&name.as_str()));
            }
            let charsets =
                [Charset::DEFAULT, Charset::from_mib_enum(2004), Charset::from_mib_enum(2250)];
            for c in charsets {
                let _ = c.decode(&bytes);
            }
            let text = [Named::HpPml, Named::Trim, Named::HexText];
            let _ = apply(&Value::Bytes(bytes.clone()), &text, Charset::DEFAULT);
            let _ = apply(&Value::Bytes(bytes), &[Named::Mac], Charset::DEFAULT);
        }
    }
}
