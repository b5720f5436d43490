//! The privacy allowlist (DESIGN.md, decision 3): the MIB subtrees a profile may read. Only
//! device data lies under them: identity, capabilities, counters, supplies, status, alerts and
//! display text. Job logs, user and address-book tables, running software and routing data do
//! not, so a profile that asks for them is refused when it loads.

use crate::snmp::Oid;

/// `(subtree, what it holds)`. Keep this list short and each entry narrow.
pub const ALLOWED: &[(&str, &str)] = &[
    ("1.3.6.1.2.1.1", "SNMPv2-MIB system group"),
    ("1.3.6.1.2.1.2.2.1.2", "IF-MIB ifDescr"),
    ("1.3.6.1.2.1.2.2.1.3", "IF-MIB ifType"),
    ("1.3.6.1.2.1.2.2.1.6", "IF-MIB ifPhysAddress"),
    ("1.3.6.1.2.1.17.1.1", "BRIDGE-MIB dot1dBaseBridgeAddress"),
    ("1.3.6.1.2.1.25.1.1", "HOST-RESOURCES hrSystemUptime"),
    ("1.3.6.1.2.1.25.1.2", "HOST-RESOURCES hrSystemDate"),
    ("1.3.6.1.2.1.25.3.2", "HOST-RESOURCES hrDeviceTable"),
    ("1.3.6.1.2.1.25.3.5", "HOST-RESOURCES hrPrinterTable"),
    ("1.3.6.1.2.1.43", "Printer-MIB (RFC 3805)"),
    ("1.3.6.1.4.1.2699.1.2", "PWG Port Monitor MIB (device id)"),
    ("1.3.6.1.4.1.2699.1.3", "PWG Imaging System Counter MIB"),
    ("1.3.6.1.4.1.11.2.3.9.1.1.7", "HP device id string"),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.1.3", "HP identification"),
    (
        "1.3.6.1.4.1.11.2.3.9.4.2.1.1.16",
        "HP printed and scanned media counts",
    ),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.2.2", "HP scanner counts"),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.3.7", "HP fax counts"),
    (
        "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1",
        "HP print engine counts and consumables",
    ),
    ("1.3.6.1.4.1.367.3.2.1.1", "Ricoh system identification"),
    (
        "1.3.6.1.4.1.367.3.2.1.2",
        "Ricoh engine: serial, counters, toner",
    ),
    ("1.3.6.1.4.1.1347.42.2", "Kyocera engine counters"),
    ("1.3.6.1.4.1.1347.42.3", "Kyocera function counters"),
    ("1.3.6.1.4.1.1347.43.5", "Kyocera device identification"),
    ("1.3.6.1.4.1.1347.43.10", "Kyocera page counters"),
    ("1.3.6.1.4.1.1347.46.10", "Kyocera scan counters"),
    ("1.3.6.1.4.1.1602.1.1.1", "Canon product information"),
    (
        "1.3.6.1.4.1.1602.1.2.1",
        "Canon service information (serial)",
    ),
    ("1.3.6.1.4.1.1602.1.11.1.3", "Canon counters"),
    ("1.3.6.1.4.1.253.8.53.3.2.1", "Xerox device serial"),
    ("1.3.6.1.4.1.253.8.53.13.2", "Xerox usage counters"),
    ("1.3.6.1.4.1.253.8.51.1.2.1.20", "Xerox device id"),
    (
        "1.3.6.1.4.1.297.1.111.1.41",
        "Fujifilm (Fuji Xerox) counters",
    ),
    ("1.3.6.1.4.1.2435.2.3.9.1.1.7", "Brother device id"),
    (
        "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5",
        "Brother printer information and counters",
    ),
    ("1.3.6.1.4.1.2435.2.3.9.4.2.1.5.4.5.2", "Brother panel text"),
    (
        "1.3.6.1.4.1.18334.1.1.1.1.6",
        "Konica Minolta model and firmware",
    ),
    ("1.3.6.1.4.1.18334.1.1.1.5.7.2", "Konica Minolta counters"),
    ("1.3.6.1.4.1.2385.1.1.19.2", "Sharp counters"),
    ("1.3.6.1.4.1.2385.2.1.1.2", "Sharp firmware"),
    ("1.3.6.1.4.1.641.2.1.2.1", "Lexmark printer information"),
    ("1.3.6.1.4.1.641.6.2.3.1", "Lexmark MPS device information"),
    ("1.3.6.1.4.1.641.6.4.2", "Lexmark MPS supplies and counters"),
    ("1.3.6.1.4.1.236.11.5.11.53", "Samsung counters"),
    ("1.3.6.1.4.1.1248.1.2.2.1.1.1", "Epson model and serial"),
    ("1.3.6.1.4.1.1248.1.2.2.27.1.1", "Epson counters"),
    ("1.3.6.1.4.1.1248.1.1.3.1.1.1", "Epson scanner serial"),
    (
        "1.3.6.1.4.1.2001.1.1.1.1.11.1.10",
        "OKI identification and counters",
    ),
    ("1.3.6.1.4.1.1129.1.2.1.1.1", "Toshiba TEC identification"),
    (
        "1.3.6.1.4.1.1129.2.3.50.1.3.21",
        "Toshiba e-STUDIO counters",
    ),
];

/// Subtrees refused with a reason, for clearer messages.
const REFUSED: &[(&str, &str)] = &[
    (
        "1.3.6.1.4.1.2699.1.1",
        "the PWG Job Monitoring MIB holds job data",
    ),
    ("1.3.6.1.2.1.25.4", "hrSWRun lists running software"),
    ("1.3.6.1.2.1.25.5", "hrSWRunPerf lists running software"),
    ("1.3.6.1.2.1.25.6", "hrSWInstalled lists installed software"),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.1.6", "HP job information"),
];

/// Whether a profile may read `oid`; the error names the OID and why not.
pub fn check(oid: &Oid) -> Result<(), String> {
    let allowed = ALLOWED
        .iter()
        .any(|(prefix, _)| oid.starts_with(&parse(prefix)));
    let refused = REFUSED
        .iter()
        .find(|(prefix, _)| oid.starts_with(&parse(prefix)));
    match (allowed, refused) {
        (true, None) => Ok(()),
        (_, Some((_, why))) => Err(format!(
            "OID {oid} is refused by the privacy allowlist: {why}"
        )),
        (false, None) => Err(format!(
            "OID {oid} lies outside the privacy allowlist of device-data subtrees \
             (see docs/collector.md, \"Privacy allowlist\")"
        )),
    }
}

fn parse(s: &str) -> Oid {
    s.parse().expect("allowlist entries are valid OIDs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_device_data_and_refuses_the_rest() {
        assert!(check(&parse("1.3.6.1.2.1.43.11.1.1.9.1.1")).is_ok());
        assert!(check(&parse("1.3.6.1.2.1.1.1.0")).is_ok());
        let job = check(&parse("1.3.6.1.4.1.2699.1.1.1.3.1")).unwrap_err();
        assert!(
            job.contains("1.3.6.1.4.1.2699.1.1.1.3.1") && job.contains("job"),
            "{job}"
        );
        let other = check(&parse("1.3.6.1.4.1.99999.1")).unwrap_err();
        assert!(other.contains("1.3.6.1.4.1.99999.1"));
        // A prefix of an allowed subtree is not itself allowed.
        assert!(check(&parse("1.3.6.1.2.1.2")).is_err());
    }
}
