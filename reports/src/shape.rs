//! Shaping SQL rows into report rows: names for ids, local times, flags, the supply forecast
//! and the meter-read subtotals. Each shaper sees one SQL row at a time.

use std::collections::HashMap;

use crate::ReportError;
use crate::forecast::{Forecast, Remaining};
use crate::period::Period;
use crate::run::Options;
use crate::table::{Column, Kind, Value, col};

type Fields<'a> = &'a [Option<std::borrow::Cow<'a, str>>];

pub trait Shaper {
    fn columns(&self) -> Vec<Column>;
    /// The output rows for one SQL row (usually one; a subtotal row may precede it).
    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError>;
    /// Rows that close the report (the last subtotals).
    fn finish(&mut self) -> Vec<Vec<Value>> {
        Vec::new()
    }
}

/// Typed access to the fields of one SQL row.
struct Row<'a> {
    fields: Fields<'a>,
    period: &'a Period,
}

impl<'a> Row<'a> {
    fn new(
        fields: Fields<'a>,
        period: &'a Period,
        expected: usize,
    ) -> Result<Row<'a>, ReportError> {
        if fields.len() != expected {
            return Err(ReportError::Query(format!(
                "the report query returned {} columns, not {expected}",
                fields.len()
            )));
        }
        Ok(Row { fields, period })
    }

    fn raw(&self, i: usize) -> Option<&str> {
        self.fields[i].as_deref()
    }

    fn text(&self, i: usize) -> Value {
        Value::Text(self.raw(i).unwrap_or_default().to_owned())
    }

    fn int(&self, i: usize) -> Value {
        match self.raw(i).and_then(|s| s.parse::<i64>().ok()) {
            Some(v) => Value::Int(v),
            None => Value::Null,
        }
    }

    fn num(&self, i: usize) -> f64 {
        self.raw(i).and_then(|s| s.parse().ok()).unwrap_or(0.0)
    }

    fn id(&self, i: usize) -> u64 {
        self.raw(i).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn time(&self, i: usize) -> Value {
        match self.raw(i).and_then(|s| s.parse::<i64>().ok()) {
            Some(t) if t > 0 => Value::Time(t, self.period.local(t)),
            _ => Value::Null,
        }
    }

    /// The customer's name (from the tenant id in field 0) followed by fields 1..=`texts` as
    /// text: how most report rows start.
    fn lead(&self, names: &HashMap<u64, String>, texts: usize) -> Vec<Value> {
        let mut row = Vec::with_capacity(self.fields.len() + 4);
        row.push(self.customer(0, names));
        row.extend((1..=texts).map(|i| self.text(i)));
        row
    }

    fn customer(&self, i: usize, names: &HashMap<u64, String>) -> Value {
        let id = self.id(i);
        Value::Text(names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
    }
}

fn day_value(day_number: i64) -> Value {
    match jiff::civil::Date::constant(1970, 1, 1).checked_add(jiff::Span::new().days(day_number)) {
        Ok(d) => Value::Date(d.to_string()),
        Err(_) => Value::Null,
    }
}

// --- meter reads

#[derive(Debug)]
pub struct MeterReads {
    names: HashMap<u64, String>,
    period: Period,
    subtotals: bool,
    /// The customer being summed, and its usage per counter kind.
    current: Option<u64>,
    sums: std::collections::BTreeMap<String, i64>,
}

impl MeterReads {
    pub fn new(names: HashMap<u64, String>, period: Period, options: &Options) -> MeterReads {
        MeterReads {
            names,
            period,
            subtotals: options.subtotals,
            current: None,
            sums: Default::default(),
        }
    }

    fn flush(&mut self) -> Vec<Vec<Value>> {
        let Some(tenant) = self.current else {
            return Vec::new();
        };
        let customer = Value::Text(self.names.get(&tenant).cloned().unwrap_or_default());
        std::mem::take(&mut self.sums)
            .into_iter()
            .map(|(kind, usage)| {
                let mut row = vec![Value::Text("subtotal".into()), customer.clone()];
                row.extend(std::iter::repeat_n(Value::Null, 6));
                row.push(Value::Text(kind));
                row.extend(std::iter::repeat_n(Value::Null, 6));
                row.push(Value::Int(usage));
                row.push(Value::Null);
                row
            })
            .collect()
    }
}

impl Shaper for MeterReads {
    fn columns(&self) -> Vec<Column> {
        vec![
            col("row", "Row", Kind::Text),
            col("customer", "Customer", Kind::Text),
            col("device_id", "Device id", Kind::Text),
            col("serial", "Serial", Kind::Text),
            col("vendor", "Vendor", Kind::Text),
            col("model", "Model", Kind::Text),
            col("name", "Name", Kind::Text),
            col("location", "Location", Kind::Text),
            col("kind", "Counter", Kind::Text),
            col("open_at", "Opening read at", Kind::Time),
            col("open_value", "Opening read", Kind::Int),
            col("open_method", "Opening method", Kind::Text),
            col("close_at", "Closing read at", Kind::Time),
            col("close_value", "Closing read", Kind::Int),
            col("close_method", "Closing method", Kind::Text),
            col("usage", "Usage", Kind::Int),
            col("resets", "Resets", Kind::Int),
        ]
    }

    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError> {
        let tenant = fields
            .first()
            .and_then(|f| f.as_deref())
            .and_then(|s| s.parse().ok());
        let mut out = Vec::new();
        if self.subtotals && self.current != tenant {
            out.extend(self.flush());
            self.current = tenant;
        }
        let r = Row::new(fields, &self.period, 16)?;
        let usage = r.int(14);
        if self.subtotals {
            let kind = r.raw(2).unwrap_or_default().to_owned();
            *self.sums.entry(kind).or_default() += usage.as_int().unwrap_or(0);
        }
        out.push(vec![
            Value::Text("device".into()),
            r.customer(0, &self.names),
            r.text(1),
            r.text(3),
            r.text(4),
            r.text(5),
            r.text(6),
            r.text(7),
            r.text(2),
            r.time(8),
            r.int(9),
            r.text(10),
            r.time(11),
            r.int(12),
            r.text(13),
            usage,
            r.int(15),
        ]);
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Vec<Value>> {
        if self.subtotals {
            self.flush()
        } else {
            Vec::new()
        }
    }
}

// --- supplies

pub type FleetRates = HashMap<(String, String, String), (f64, f64)>;

/// Below this many days of history a supply's own rate is not trusted.
pub const MIN_HISTORY_DAYS: f64 = 14.0;

#[derive(Debug)]
pub struct Supplies {
    names: HashMap<u64, String>,
    period: Period,
    fleet: FleetRates,
}

impl Supplies {
    pub fn new(names: HashMap<u64, String>, period: Period, fleet: FleetRates) -> Supplies {
        Supplies {
            names,
            period,
            fleet,
        }
    }
}

impl Shaper for Supplies {
    fn columns(&self) -> Vec<Column> {
        vec![
            col("customer", "Customer", Kind::Text),
            col("device_id", "Device id", Kind::Text),
            col("serial", "Serial", Kind::Text),
            col("vendor", "Vendor", Kind::Text),
            col("model", "Model", Kind::Text),
            col("kind", "Supply", Kind::Text),
            col("color", "Colour", Kind::Text),
            col("description", "Description", Kind::Text),
            col("part_number", "Part number", Kind::Text),
            col("percent", "Level %", Kind::Int),
            col("state", "State", Kind::Text),
            col("last_seen", "Last seen", Kind::Time),
            col("per_day", "Used % per day", Kind::Float),
            col("per_1000_pages", "Used % per 1,000 pages", Kind::Float),
            col("replacements", "Replacements in period", Kind::Int),
            col("replaced_on", "Last replaced", Kind::Date),
            col("cartridge_pages", "Pages of previous cartridge", Kind::Int),
            col("pages_since", "Pages since replacement", Kind::Int),
            col("empty_p10", "Empty, early (P10)", Kind::Date),
            col("empty_p50", "Empty, likely (P50)", Kind::Date),
            col("empty_p90", "Empty, late (P90)", Kind::Date),
            col("forecast_basis", "Forecast basis", Kind::Text),
        ]
    }

    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError> {
        let r = Row::new(fields, &self.period, 21)?;
        let level = r.num(9) as i64;
        let percent = r.int(11);
        let (days, rate, sigma, pages) = (r.num(13), r.num(14), r.num(15), r.num(20));
        let remaining = match (&percent, level) {
            (Value::Int(p), _) => Remaining::Percent(*p as f64),
            (_, -3) => Remaining::SomeLeft,
            _ => Remaining::Unknown,
        };
        let state = match (&percent, level) {
            (Value::Int(_), _) => "level",
            (_, -1) => "no limit",
            (_, -3) => "some remaining",
            _ => "unknown",
        };
        let key = (
            r.raw(4).unwrap_or_default().to_owned(),
            r.raw(5).unwrap_or_default().to_owned(),
            r.raw(6).unwrap_or_default().to_owned(),
        );
        let (mu, sd, basis) = if days >= MIN_HISTORY_DAYS && rate > 0.0 {
            (rate, sigma, "device")
        } else if let Some(&(mu, sd)) = self.fleet.get(&key) {
            (mu, sd, "fleet")
        } else {
            (0.0, 0.0, "none")
        };
        let forecast = Forecast::new(mu, sd).days_left(remaining);
        let last_seen = r.num(12) as i64;
        let from_day = last_seen.div_euclid(86_400);
        let date = |d: Option<f64>| match d {
            Some(d) => day_value(from_day + d.ceil() as i64),
            None => Value::Null,
        };
        let per_day = if days > 0.0 {
            Value::Float(rate)
        } else {
            Value::Null
        };
        let per_1000 = if days > 0.0 && pages > 0.0 {
            Value::Float(rate * days / (pages / 1000.0))
        } else {
            Value::Null
        };
        let replaced_on = match r.raw(17).and_then(|s| s.parse::<i64>().ok()) {
            Some(d) => day_value(d),
            None => Value::Null,
        };
        let mut row = r.lead(&self.names, 8);
        row.extend([
            percent,
            Value::Text(state.into()),
            r.time(12),
            per_day,
            per_1000,
            r.int(16),
            replaced_on,
            r.int(18),
            r.int(19),
            date(forecast.map(|f| f.0)),
            date(forecast.map(|f| f.1)),
            date(forecast.map(|f| f.2)),
            Value::Text(if forecast.is_some() { basis } else { "none" }.into()),
        ]);
        Ok(vec![row])
    }
}

// --- inventory

#[derive(Debug)]
pub struct Inventory {
    names: HashMap<u64, String>,
    period: Period,
}

impl Inventory {
    pub fn new(names: HashMap<u64, String>, period: Period) -> Inventory {
        Inventory { names, period }
    }
}

fn tri(v: Value) -> Value {
    Value::Text(
        match v.as_int() {
            Some(1) => "yes",
            Some(0) => "no",
            _ => "unknown",
        }
        .into(),
    )
}

impl Shaper for Inventory {
    fn columns(&self) -> Vec<Column> {
        vec![
            col("customer", "Customer", Kind::Text),
            col("device_id", "Device id", Kind::Text),
            col("vendor", "Vendor", Kind::Text),
            col("model", "Model", Kind::Text),
            col("serial", "Serial", Kind::Text),
            col("mac", "MAC", Kind::Text),
            col("ip", "IP address", Kind::Text),
            col("hostname", "Host name", Kind::Text),
            col("firmware", "Firmware", Kind::Text),
            col("name", "Name", Kind::Text),
            col("location", "Location", Kind::Text),
            col("color", "Colour", Kind::Text),
            col("duplex", "Duplex", Kind::Text),
            col("trays", "Trays", Kind::Int),
            col("finisher", "Finisher", Kind::Text),
            col("first_seen", "First seen", Kind::Time),
            col("last_seen", "Last seen", Kind::Time),
        ]
    }

    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError> {
        let r = Row::new(fields, &self.period, 17)?;
        let trays = match r.int(13) {
            Value::Int(t) if t >= 0 => Value::Int(t),
            _ => Value::Null,
        };
        let mut row = r.lead(&self.names, 10);
        row.extend([
            tri(r.int(11)),
            tri(r.int(12)),
            trays,
            r.text(14),
            r.time(15),
            r.time(16),
        ]);
        Ok(vec![row])
    }
}

// --- utilisation

/// Days in an average month, for normalising volumes.
pub const DAYS_PER_MONTH: f64 = 30.44;

#[derive(Debug)]
pub struct Utilization {
    names: HashMap<u64, String>,
    period: Period,
    min: f64,
    max: f64,
}

impl Utilization {
    pub fn new(names: HashMap<u64, String>, period: Period, options: &Options) -> Utilization {
        Utilization {
            names,
            period,
            min: options.min_monthly,
            max: options.max_monthly,
        }
    }
}

impl Shaper for Utilization {
    fn columns(&self) -> Vec<Column> {
        vec![
            col("customer", "Customer", Kind::Text),
            col("device_id", "Device id", Kind::Text),
            col("serial", "Serial", Kind::Text),
            col("vendor", "Vendor", Kind::Text),
            col("model", "Model", Kind::Text),
            col("name", "Name", Kind::Text),
            col("location", "Location", Kind::Text),
            col("pages", "Pages in period", Kind::Int),
            col("monthly_pages", "Pages per month", Kind::Float),
            col(
                "fleet_monthly_pages",
                "Model's fleet average per month",
                Kind::Float,
            ),
            col("ratio_to_fleet", "Ratio to fleet average", Kind::Float),
            col("recommended_min", "Recommended minimum", Kind::Int),
            col("recommended_max", "Recommended maximum", Kind::Int),
            col("flag", "Use", Kind::Text),
        ]
    }

    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError> {
        let r = Row::new(fields, &self.period, 10)?;
        let months = self.period.days() / DAYS_PER_MONTH;
        let monthly = r.num(7) / months;
        let fleet = r.num(8) / months;
        let ratio = if fleet > 0.0 {
            Value::Float(monthly / fleet)
        } else {
            Value::Null
        };
        let flag = if monthly < self.min {
            "under"
        } else if monthly > self.max {
            "over"
        } else {
            "ok"
        };
        let mut row = r.lead(&self.names, 6);
        row.extend([
            r.int(7),
            Value::Float(monthly),
            Value::Float(fleet),
            ratio,
            Value::Int(self.min as i64),
            Value::Int(self.max as i64),
            Value::Text(flag.into()),
        ]);
        Ok(vec![row])
    }
}

// --- alerts

#[derive(Debug)]
pub struct Alerts {
    names: HashMap<u64, String>,
    period: Period,
}

impl Alerts {
    pub fn new(names: HashMap<u64, String>, period: Period) -> Alerts {
        Alerts { names, period }
    }
}

impl Shaper for Alerts {
    fn columns(&self) -> Vec<Column> {
        vec![
            col("customer", "Customer", Kind::Text),
            col("device_id", "Device id", Kind::Text),
            col("serial", "Serial", Kind::Text),
            col("vendor", "Vendor", Kind::Text),
            col("model", "Model", Kind::Text),
            col("code", "Code", Kind::Int),
            col("severity", "Severity", Kind::Text),
            col("group", "Group", Kind::Text),
            col("description", "Description", Kind::Text),
            col("episodes", "Episodes", Kind::Int),
            col("hours", "Duration (hours)", Kind::Float),
            col("first_at", "First seen", Kind::Time),
            col("last_at", "Last seen", Kind::Time),
        ]
    }

    fn row(&mut self, fields: Fields<'_>) -> Result<Vec<Vec<Value>>, ReportError> {
        let r = Row::new(fields, &self.period, 13)?;
        let mut row = r.lead(&self.names, 4);
        row.extend([
            r.int(5),
            r.text(6),
            r.text(7),
            r.text(8),
            r.int(9),
            Value::Float(r.num(10) / 3600.0),
            r.time(11),
            r.time(12),
        ]);
        Ok(vec![row])
    }
}
