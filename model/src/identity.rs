//! Device identity and capabilities as stored in the inventory.

/// Who a device is, as the collector read it. Every field is optional on the wire; validation
/// requires a serial number or a MAC address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Identity {
    pub vendor: String,
    pub model: String,
    pub serial: String,
    /// Normalised to twelve lower-case hex digits, or empty.
    pub mac: String,
    pub ip: String,
    pub hostname: String,
    pub firmware: String,
    pub name: String,
    pub location: String,
    pub contact: String,
    pub sys_object_id: String,
}

/// What a device can do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    pub color: Option<bool>,
    pub duplex: Option<bool>,
    pub trays: Option<u16>,
    pub finisher: String,
}

/// The identity members of a wire report with their names, in schema order.
pub fn identity_fields(id: &crate::proto::Identity) -> [(&'static str, &String); 11] {
    [
        ("vendor", &id.vendor),
        ("model", &id.model),
        ("serial", &id.serial),
        ("mac", &id.mac),
        ("ip", &id.ip),
        ("hostname", &id.hostname),
        ("firmware", &id.firmware),
        ("name", &id.name),
        ("location", &id.location),
        ("contact", &id.contact),
        ("sys_object_id", &id.sys_object_id),
    ]
}

/// Normalises a MAC address written with `:`, `-`, `.` or no separators to twelve lower-case
/// hex digits. Returns `None` for anything that is not a 48-bit address, and for the all-zero
/// address that some devices report when they have none.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let digits: String = mac
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && digits != "000000000000").then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::normalize_mac;

    #[test]
    fn mac_spellings_normalise_to_twelve_hex_digits() {
        assert_eq!(
            normalize_mac("00:1B:A9:0A:0B:0C").as_deref(),
            Some("001ba90a0b0c")
        );
        assert_eq!(
            normalize_mac("001b.a90a.0b0c").as_deref(),
            Some("001ba90a0b0c")
        );
        assert_eq!(normalize_mac("00:00:00:00:00:00"), None);
        assert_eq!(normalize_mac("00:1B:A9:0A:0B"), None);
        assert_eq!(normalize_mac("zz:1B:A9:0A:0B:0C"), None);
    }
}
