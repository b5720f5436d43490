//! Identifier newtypes. Each id is parsed once at the edge and carried typed from then on.

use std::fmt;

use sha2::{Digest, Sha256};

/// A tenant: the platform, a dealer or one of its customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u64);

/// A collector, the on-site agent that sends batches. Owned by one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectorId(pub u64);

/// A batch id chosen by the sender; the same batch sent again carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub uuid::Uuid);

/// A device, derived deterministically from tenant, vendor and serial (or MAC); see
/// [`DeviceId::derive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub u64);

impl DeviceId {
    /// The device id Fleetmeter stores for a device.
    ///
    /// It is the first eight bytes, read big-endian, of
    /// `SHA-256("fleetmeter/device/v1" 0x00 tenant_id(8 bytes, big-endian) vendor 0x00 key)`
    /// where `vendor` is the reported vendor trimmed and lower-cased and `key` is `s:` followed
    /// by the serial number (trimmed, upper-cased, inner whitespace removed) when the device
    /// reports one, otherwise `m:` followed by the MAC address as twelve lower-case hex digits.
    /// The id does not depend on the IP address, host name or collector, so a device keeps its
    /// id when it moves.
    ///
    /// Returns `None` when the device has neither a serial number nor a valid MAC address.
    pub fn derive(tenant: TenantId, vendor: &str, serial: &str, mac: &str) -> Option<DeviceId> {
        let key = match normalize_serial(serial) {
            Some(serial) => format!("s:{serial}"),
            None => format!("m:{}", crate::identity::normalize_mac(mac)?),
        };
        let mut hasher = Sha256::new();
        hasher.update(b"fleetmeter/device/v1\0");
        hasher.update(tenant.0.to_be_bytes());
        hasher.update(vendor.trim().to_lowercase().as_bytes());
        hasher.update([0u8]);
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Some(DeviceId(u64::from_be_bytes(first)))
    }
}

/// Upper-cases a serial number and drops whitespace; `None` when nothing is left.
fn normalize_serial(serial: &str) -> Option<String> {
    let normalized: String = serial
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    (!normalized.is_empty()).then_some(normalized)
}

impl BatchId {
    /// Parses the sender's batch id, which must be a UUID in any of its usual spellings.
    pub fn parse(text: &str) -> Option<BatchId> {
        uuid::Uuid::parse_str(text.trim()).ok().map(BatchId)
    }
}

macro_rules! display_id {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}
display_id!(TenantId, CollectorId, BatchId, DeviceId);

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: TenantId = TenantId(42);

    #[test]
    fn device_id_ignores_case_and_whitespace_of_vendor_and_serial() {
        let a = DeviceId::derive(TENANT, "HP", "cnb1 23", "").unwrap();
        let b = DeviceId::derive(TENANT, " hp ", "CNB123", "00:11:22:33:44:55").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn device_id_differs_by_tenant_vendor_and_serial() {
        let base = DeviceId::derive(TENANT, "hp", "CNB123", "").unwrap();
        assert_ne!(
            base,
            DeviceId::derive(TenantId(43), "hp", "CNB123", "").unwrap()
        );
        assert_ne!(
            base,
            DeviceId::derive(TENANT, "ricoh", "CNB123", "").unwrap()
        );
        assert_ne!(base, DeviceId::derive(TENANT, "hp", "CNB124", "").unwrap());
    }

    #[test]
    fn device_id_falls_back_to_mac_in_any_spelling() {
        let colon = DeviceId::derive(TENANT, "brother", "", "00:1B:A9:0A:0B:0C").unwrap();
        let dash = DeviceId::derive(TENANT, "brother", " ", "00-1b-a9-0a-0b-0c").unwrap();
        let bare = DeviceId::derive(TENANT, "brother", "", "001ba90a0b0c").unwrap();
        assert_eq!(colon, dash);
        assert_eq!(colon, bare);
    }

    #[test]
    fn device_id_is_stable_across_releases() {
        // A changed derivation would split every device's history in two: this value is fixed.
        let id = DeviceId::derive(TENANT, "HP", "CNB123", "").unwrap();
        assert_eq!(id, DeviceId::derive(TENANT, "hp", "cnb123", "").unwrap());
        assert_eq!(id.0, DEVICE_ID_OF_HP_CNB123);
    }

    #[test]
    fn device_without_serial_or_mac_has_no_id() {
        assert_eq!(DeviceId::derive(TENANT, "hp", "", ""), None);
        assert_eq!(DeviceId::derive(TENANT, "hp", "", "not-a-mac"), None);
    }

    const DEVICE_ID_OF_HP_CNB123: u64 = 7_791_739_366_567_405_212;
}
