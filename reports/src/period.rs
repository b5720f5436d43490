//! Report periods: calendar dates in a tenant's time zone, turned into UTC instants.
//!
//! Every boundary is computed here, in Rust, and handed to SQL as a number of seconds, so the
//! SQL needs no time-zone functions and gives the same answer on every ClickHouse version.

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::ReportError;

/// A period `[from, to)` of calendar dates in one time zone.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: Date,
    /// Exclusive.
    pub to: Date,
    pub time_zone: String,
    /// `from` at midnight in the time zone, as UTC seconds.
    pub start: i64,
    /// `to` at midnight in the time zone, as UTC seconds.
    pub end: i64,
    tz: TimeZone,
}

impl Period {
    /// A period from explicit dates (`to` exclusive).
    pub fn new(from: Date, to: Date, time_zone: &str) -> Result<Period, ReportError> {
        let tz = TimeZone::get(time_zone)
            .map_err(|_| ReportError::Invalid(format!("unknown time zone `{time_zone}`")))?;
        if to <= from {
            return Err(ReportError::Invalid(format!(
                "the period is empty: `to` ({to}) must be after `from` ({from})"
            )));
        }
        if (to - from).get_days() > 731 || from.year() < 1990 || to.year() > 2105 {
            return Err(ReportError::Invalid(
                "a period spans at most two years, between 1990 and 2105".into(),
            ));
        }
        let start = midnight(from, &tz)?;
        let end = midnight(to, &tz)?;
        Ok(Period {
            from,
            to,
            time_zone: time_zone.to_owned(),
            start,
            end,
            tz,
        })
    }

    /// Parses `from` and `to` as `YYYY-MM-DD`, or a named period in `from` alone:
    /// `2026-11` (a month) or `2026-Q4` (a quarter).
    pub fn parse(from: &str, to: Option<&str>, time_zone: &str) -> Result<Period, ReportError> {
        if let Some((year, rest)) = from.split_once('-')
            && to.is_none()
            && !rest.contains('-')
        {
            let year: i16 = year
                .parse()
                .map_err(|_| ReportError::Invalid(format!("bad period `{from}`")))?;
            let (first_month, months) = match rest.strip_prefix(['Q', 'q']) {
                Some(q) => match q.parse::<i8>() {
                    Ok(q @ 1..=4) => ((q - 1) * 3 + 1, 3),
                    _ => return Err(ReportError::Invalid(format!("bad quarter `{from}`"))),
                },
                None => match rest.parse::<i8>() {
                    Ok(m @ 1..=12) => (m, 1),
                    _ => return Err(ReportError::Invalid(format!("bad month `{from}`"))),
                },
            };
            let start = Date::new(year, first_month, 1)
                .map_err(|e| ReportError::Invalid(format!("bad period `{from}`: {e}")))?;
            let end = start
                .checked_add(jiff::Span::new().months(months))
                .map_err(|e| ReportError::Invalid(format!("bad period `{from}`: {e}")))?;
            return Period::new(start, end, time_zone);
        }
        let to = to.ok_or_else(|| {
            ReportError::Invalid("`to` is missing (or give a month `2026-11` or `2026-Q4`)".into())
        })?;
        Period::new(parse_date("from", from)?, parse_date("to", to)?, time_zone)
    }

    /// Renders UTC seconds as local time in the period's zone, `YYYY-MM-DD HH:MM:SS`.
    pub fn local(&self, seconds: i64) -> String {
        match jiff::Timestamp::from_second(seconds) {
            Ok(t) => t
                .to_zoned(self.tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// Local calendar date of UTC seconds.
    pub fn local_date(&self, seconds: i64) -> Option<Date> {
        jiff::Timestamp::from_second(seconds)
            .ok()
            .map(|t| t.to_zoned(self.tz.clone()).date())
    }

    /// Length in days, for normalising volumes.
    pub fn days(&self) -> f64 {
        (self.end - self.start) as f64 / 86_400.0
    }

    pub fn describe(&self) -> String {
        format!(
            "{} to {} (exclusive), {}",
            self.from, self.to, self.time_zone
        )
    }
}

pub fn parse_date(what: &str, text: &str) -> Result<Date, ReportError> {
    text.parse::<Date>().map_err(|_| {
        ReportError::Invalid(format!(
            "`{what}` must be a date as YYYY-MM-DD, not `{text}`"
        ))
    })
}

fn midnight(date: Date, tz: &TimeZone) -> Result<i64, ReportError> {
    // Where midnight does not exist (a zone that springs forward at 00:00), jiff's compatible
    // disambiguation takes the first instant after the gap: the day's true start.
    let zoned = date
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned(tz.clone())
        .map_err(|e| ReportError::Invalid(format!("{date} in {}: {e}", tz_name(tz))))?;
    Ok(zoned.timestamp().as_second())
}

fn tz_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("the time zone")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_month_across_daylight_saving() {
        // October 2026 in Berlin: starts at UTC+2, ends at UTC+1 (the clocks go back on the 25th).
        let p = Period::parse("2026-10", None, "Europe/Berlin").unwrap();
        assert_eq!(p.start, 1_790_805_600); // 2026-09-30T22:00:00Z
        assert_eq!(p.end, 1_793_487_600); // 2026-10-31T23:00:00Z
        assert_eq!(p.end - p.start, 31 * 86_400 + 3_600);
        assert_eq!(p.local(p.start), "2026-10-01 00:00:00");
    }

    #[test]
    fn quarters_and_explicit_dates() {
        let q = Period::parse("2026-Q4", None, "UTC").unwrap();
        assert_eq!(
            (q.from.to_string(), q.to.to_string()),
            ("2026-10-01".into(), "2027-01-01".into())
        );
        let d = Period::parse("2026-11-03", Some("2026-11-10"), "UTC").unwrap();
        assert_eq!(d.days(), 7.0);
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        for (from, to, tz) in [
            ("2026-13", None, "UTC"),
            ("2026-Q5", None, "UTC"),
            ("2026-11-10", Some("2026-11-10"), "UTC"),
            ("2026-11-01", Some("2026-12-01"), "Mars/Olympus"),
            ("11/01/2026", Some("2026-12-01"), "UTC"),
            ("2026-11-01", None, "UTC"),
        ] {
            let err = Period::parse(from, to, tz).unwrap_err().to_string();
            assert!(!err.is_empty(), "{from} {to:?} {tz}");
        }
    }
}
