//! Times on the wire: XML-RPC `dateTime.iso8601`, RFC 3339 and protobuf `Timestamp`.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an XML-RPC `dateTime.iso8601` value: `YYYYMMDDTHH:MM:SS` (the spec's form), also with
/// dashes in the date, without colons in the time, with fractional seconds, and with a `Z` or
/// `±HH:MM` suffix. A value without an offset is taken as UTC.
pub fn parse_xmlrpc_datetime(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date_part, rest) = text.split_once(['T', 't', ' '])?;
    let date = parse_date(date_part)?;

    let (time_part, offset) = split_offset(rest)?;
    let time = parse_time(time_part)?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Parses an RFC 3339 timestamp with an offset, such as `2026-12-03T16:17:15+01:00`.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// Formats a time as XML-RPC `dateTime.iso8601` in UTC (`YYYYMMDDTHH:MM:SS`).
pub fn format_xmlrpc_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Converts a protobuf timestamp; `None` when it is out of range.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// Converts to a protobuf timestamp.
pub fn to_timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: at.nanosecond() as i32,
    }
}

fn parse_date(text: &str) -> Option<Date> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[0..4].parse().ok()?;
    let month: u8 = digits[4..6].parse().ok()?;
    let day: u8 = digits[6..8].parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn split_offset(text: &str) -> Option<(&str, UtcOffset)> {
    if let Some(time) = text.strip_suffix(['Z', 'z']) {
        return Some((time, UtcOffset::UTC));
    }
    match text.rfind(['+', '-']) {
        Some(at) => {
            let (time, offset) = text.split_at(at);
            let sign: i8 = if offset.starts_with('-') { -1 } else { 1 };
            let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i8 = digits[0..2].parse().ok()?;
            let minutes: i8 = digits[2..4].parse().ok()?;
            let offset = UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
            Some((time, offset))
        }
        None => Some((text, UtcOffset::UTC)),
    }
}

fn parse_time(text: &str) -> Option<Time> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits: String = whole.chars().filter(|c| *c != ':').collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hour: u8 = digits[0..2].parse().ok()?;
    let minute: u8 = digits[2..4].parse().ok()?;
    let second: u8 = digits[4..6].parse().ok()?;
    let nanos = match fraction {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    Time::from_hms_nano(hour, minute, second, nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn xmlrpc_datetimes_in_every_accepted_spelling() {
        let expected = datetime!(2026-12-03 16:17:15 UTC);
        for text in [
            "20261203T16:17:15",
            "2026-12-03T16:17:15",
            "20261203T161715",
            " 20261203T16:17:15Z ",
            "2026-12-03T17:17:15+01:00",
            "2026-12-03T11:17:15-0500",
        ] {
            assert_eq!(parse_xmlrpc_datetime(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_xmlrpc_datetime("20261203T16:17:15.250"),
            Some(datetime!(2026-12-03 16:17:15.25 UTC))
        );
    }

    #[test]
    fn malformed_datetimes_are_refused() {
        for text in [
            "",
            "20261203",
            "2026123T16:17:15",
            "20261303T16:17:15",
            "20261203T25:00:00",
        ] {
            assert_eq!(parse_xmlrpc_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        let at = datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(format_xmlrpc_datetime(at), "20260102T03:04:05");
        assert_eq!(parse_xmlrpc_datetime(&format_xmlrpc_datetime(at)), Some(at));
    }
}
