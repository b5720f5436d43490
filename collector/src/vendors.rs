//! Vendor names from sysObjectID enterprise numbers and from model text, for devices that no
//! vendor profile claims.

use crate::snmp::Oid;

/// `(enterprise number, vendor)` from the IANA registry, printer makers only.
const ENTERPRISES: &[(u32, &str)] = &[
    (11, "HP"),
    (26696, "HP"),
    (29999, "HP"),
    (367, "Ricoh"),
    (1347, "Kyocera"),
    (1602, "Canon"),
    (253, "Xerox"),
    (297, "Fujifilm"),
    (28708, "Fujifilm"),
    (2435, "Brother"),
    (641, "Lexmark"),
    (674, "Dell"),
    (2385, "Sharp"),
    (18334, "Konica Minolta"),
    (236, "Samsung"),
    (2001, "OKI"),
    (1248, "Epson"),
    (1129, "Toshiba"),
    (10642, "Zebra"),
    (683, "Zebra"),
    (51966, "TSC"),
    (24807, "Riso"),
    (1552, "Oce"),
    (396, "Panasonic"),
];

/// Brand words found at the start of sysDescr or model text, with the vendor to report.
/// OEM brands keep their own name (a Savin is billed as a Savin).
const BRANDS: &[(&str, &str)] = &[
    ("fleetsim", "Fleetsim"),
    ("hewlett", "HP"),
    ("hp ", "HP"),
    ("ricoh", "Ricoh"),
    ("gestetner", "Gestetner"),
    ("lanier", "Lanier"),
    ("savin", "Savin"),
    ("nrg", "NRG"),
    ("kyocera", "Kyocera"),
    ("utax", "UTAX"),
    ("triumph-adler", "TA Triumph-Adler"),
    ("copystar", "Copystar"),
    ("canon", "Canon"),
    ("fuji xerox", "Fujifilm"),
    ("fujifilm", "Fujifilm"),
    ("xerox", "Xerox"),
    ("brother", "Brother"),
    ("konica", "Konica Minolta"),
    ("develop", "Develop"),
    ("sharp", "Sharp"),
    ("lexmark", "Lexmark"),
    ("dell", "Dell"),
    ("samsung", "Samsung"),
    ("epson", "Epson"),
    ("oki", "OKI"),
    ("toshiba", "Toshiba"),
    ("zebra", "Zebra"),
];

/// The vendor for a sysObjectID or, failing that, for a brand word in `text`.
pub fn vendor_of(sys_object_id: Option<&Oid>, text: &str) -> Option<&'static str> {
    brand_of(text).or_else(|| {
        let arcs = sys_object_id?.arcs();
        let enterprise = *arcs.strip_prefix(&[1, 3, 6, 1, 4, 1][..])?.first()?;
        ENTERPRISES
            .iter()
            .find(|(n, _)| *n == enterprise)
            .map(|(_, v)| *v)
    })
}

/// A brand word at the start of `text` (case-insensitive).
pub fn brand_of(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase();
    BRANDS
        .iter()
        .find(|(word, _)| t.starts_with(word))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oem_brands_and_enterprises() {
        let ricoh: Oid = "1.3.6.1.4.1.367.1.1".parse().unwrap();
        assert_eq!(vendor_of(Some(&ricoh), "SAVIN MP C4503"), Some("Savin"));
        assert_eq!(vendor_of(Some(&ricoh), ""), Some("Ricoh"));
        let lexmark: Oid = "1.3.6.1.4.1.641.2.71107164".parse().unwrap();
        assert_eq!(
            vendor_of(Some(&lexmark), "TOSHIBA e-STUDIO305CS"),
            Some("Toshiba")
        );
        assert_eq!(vendor_of(None, "unknown"), None);
    }
}
