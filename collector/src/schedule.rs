//! Calendar reads: full reads aligned to billing boundaries (midnight on the first of each
//! month in the configured time zone; quarter ends are the first of January, April, July and
//! October), so that a billing period's opening and closing reads are exact.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The first billing boundary strictly after `now`: the next midnight on the first of a month
/// in `tz` (across daylight-saving changes, midnight is the day's first instant).
pub fn next_boundary(now: Timestamp, tz: &TimeZone) -> Timestamp {
    let local = now.to_zoned(tz.clone());
    let first = local.date().first_of_month();
    let next = first
        .checked_add(1.month())
        .expect("dates far from the end of time");
    next.to_zoned(tz.clone())
        .expect("a date in a valid time zone")
        .start_of_day()
        .expect("every day has a start")
        .timestamp()
}

/// Whether `boundary` is also the end of a quarter.
pub fn is_quarter_end(boundary: Timestamp, tz: &TimeZone) -> bool {
    matches!(boundary.to_zoned(tz.clone()).month(), 1 | 4 | 7 | 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_month_start_in_berlin() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now: Timestamp = "2026-03-15T12:00:00Z".parse().unwrap();
        let b = next_boundary(now, &tz);
        // 1 April 00:00 CEST is 31 March 22:00 UTC (after the change to summer time).
        assert_eq!(b.to_string(), "2026-03-31T22:00:00Z");
        assert!(is_quarter_end(b, &tz));
        let dec: Timestamp = "2026-12-31T23:30:00Z".parse().unwrap();
        // Already 1 January 00:30 in Berlin: the next boundary is 1 February.
        assert_eq!(next_boundary(dec, &tz).to_string(), "2027-01-31T23:00:00Z");
        let utc = TimeZone::UTC;
        let b = next_boundary("2026-02-01T00:00:00Z".parse().unwrap(), &utc);
        assert_eq!(b.to_string(), "2026-03-01T00:00:00Z");
        assert!(!is_quarter_end(b, &utc));
    }
}
