//! Counter kinds: a closed set of standard kinds plus vendor-specific kinds spelled `x-<name>`.

use std::fmt;
use std::str::FromStr;

closed_enum! {
    /// The standard page counters. Each counts impressions (one side of a sheet) unless its
    /// name says otherwise.
    pub enum StandardCounter ("counter kind") {
        /// Every impression the device made, all functions and colours.
        Total => "total",
        /// Monochrome impressions, all functions.
        Mono => "mono",
        /// Colour impressions (full and limited colour), all functions.
        Color => "color",
        /// Printed impressions, all colours.
        PrintTotal => "print_total",
        PrintMono => "print_mono",
        PrintColor => "print_color",
        /// Copied impressions, all colours.
        CopyTotal => "copy_total",
        CopyMono => "copy_mono",
        CopyColor => "copy_color",
        /// Received faxes printed.
        Fax => "fax",
        /// Pages scanned, all destinations.
        Scan => "scan",
        /// Pages scanned for copying.
        ScanCopy => "scan_copy",
        /// Pages scanned for sending by fax.
        ScanFax => "scan_fax",
        /// Pages scanned for network destinations (e-mail, folder, USB).
        ScanNetwork => "scan_network",
        /// Sheets printed on both sides.
        Duplex => "duplex",
        /// Large-format (A3/tabloid and larger) monochrome impressions.
        LargeFormatMono => "large_format_mono",
        /// Large-format colour impressions.
        LargeFormatColor => "large_format_color",
        /// Single-colour and two-colour impressions (Ricoh, Konica Minolta).
        LimitedColor => "limited_color",
    }
}

/// A counter kind: a standard kind or a vendor-specific `x-<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CounterKind {
    Standard(StandardCounter),
    /// A vendor-specific counter; holds the whole name including the `x-` prefix.
    Vendor(String),
}

/// Returned for a counter kind that is neither standard nor a valid `x-` name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown counter kind `{0}`: use a documented kind or a vendor kind `x-<name>` \
     (lower-case letters, digits, `_` and `-`, at most 64 characters)"
)]
pub struct UnknownCounterKind(pub String);

const MAX_VENDOR_KIND_LEN: usize = 64;

impl CounterKind {
    /// The kind's wire and storage name.
    pub fn as_str(&self) -> &str {
        match self {
            CounterKind::Standard(kind) => kind.as_str(),
            CounterKind::Vendor(name) => name,
        }
    }
}

impl FromStr for CounterKind {
    type Err = UnknownCounterKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(kind) = s.parse::<StandardCounter>() {
            return Ok(CounterKind::Standard(kind));
        }
        let vendor_name_ok = s.strip_prefix("x-").is_some_and(|rest| {
            !rest.is_empty()
                && s.len() <= MAX_VENDOR_KIND_LEN
                && rest
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
        });
        if vendor_name_ok {
            Ok(CounterKind::Vendor(s.to_owned()))
        } else {
            Err(UnknownCounterKind(s.chars().take(64).collect()))
        }
    }
}

impl fmt::Display for CounterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_kinds_round_trip_through_their_names() {
        for kind in StandardCounter::ALL {
            let parsed: CounterKind = kind.as_str().parse().unwrap();
            assert_eq!(parsed, CounterKind::Standard(*kind));
        }
    }

    #[test]
    fn vendor_kinds_need_the_x_prefix_and_a_plain_name() {
        assert_eq!(
            "x-toner_coverage".parse::<CounterKind>(),
            Ok(CounterKind::Vendor("x-toner_coverage".into()))
        );
        assert!("colour_copies".parse::<CounterKind>().is_err());
        assert!("x-".parse::<CounterKind>().is_err());
        assert!("x-Upper".parse::<CounterKind>().is_err());
        assert!("x-a b".parse::<CounterKind>().is_err());
        assert!(
            format!("x-{}", "a".repeat(63))
                .parse::<CounterKind>()
                .is_err()
        );
    }
}
