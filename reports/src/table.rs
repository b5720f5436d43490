//! A report's shape: typed columns and the values of one row.

use serde::Serialize;

/// How a column's values are typed, parsed from ClickHouse and formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    /// A whole number (ids are text: they exceed what spreadsheets hold exactly).
    Int,
    /// A fraction, shown with two decimals.
    Float,
    /// UTC seconds from SQL, shown as local time in the report's zone.
    Time,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub title: &'static str,
    pub kind: Kind,
}

pub const fn col(name: &'static str, title: &'static str, kind: Kind) -> Column {
    Column { name, title, kind }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    /// Local time, already rendered, with its UTC seconds.
    Time(i64, String),
    Date(String),
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_text(&self) -> &str {
        match self {
            Value::Text(s) | Value::Date(s) | Value::Time(_, s) => s,
            _ => "",
        }
    }

    /// The value as plain text, for CSV and PDF. NULL is empty.
    pub fn display(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    /// Appends the plain text of the value to `out` (the CSV writer reuses one buffer).
    pub fn write_to(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Null => {}
            Value::Text(s) | Value::Date(s) | Value::Time(_, s) => out.push_str(s),
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Float(v) => {
                let _ = write!(out, "{v:.2}");
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Text(s) | Value::Date(s) | Value::Time(_, s) => s.as_str().into(),
            Value::Int(v) => (*v).into(),
            Value::Float(v) => serde_json::Number::from_f64((*v * 100.0).round() / 100.0)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Undoes ClickHouse's TabSeparated escaping of one field. `\N` is NULL. Fields without
/// escapes (nearly all) are borrowed, not copied.
pub fn unescape_tsv(field: &str) -> Option<std::borrow::Cow<'_, str>> {
    if field == "\\N" {
        return None;
    }
    if !field.contains('\\') {
        return Some(std::borrow::Cow::Borrowed(field));
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_fields_are_unescaped() {
        assert_eq!(unescape_tsv("\\N"), None);
        assert!(matches!(
            unescape_tsv("plain"),
            Some(std::borrow::Cow::Borrowed("plain"))
        ));
        assert_eq!(
            unescape_tsv("a\\tb\\nc\\\\d\\'e").as_deref(),
            Some("a\tb\nc\\d'e")
        );
    }

    #[test]
    fn floats_round_to_two_places_in_json() {
        assert_eq!(Value::Float(1.23456).to_json(), serde_json::json!(1.23));
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(Value::Float(2.5).display(), "2.50");
    }
}
