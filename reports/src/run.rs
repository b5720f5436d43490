//! Running a report: the SQL runs in ClickHouse, its TabSeparated output is read line by line,
//! and each line is shaped into output rows. Nothing is held beyond the row being shaped (and,
//! for meter reads, one customer's subtotals).

use std::collections::HashMap;

use clickhouse::query::BytesCursor;
use fleet_store::{Scope, Store};
use tokio::io::AsyncBufReadExt;

use crate::period::Period;
use crate::shape::{self, Shaper};
use crate::sql::{self, Bounds};
use crate::table::{Column, Value, unescape_tsv};
use crate::{ReportError, ReportName};

/// Options of a report; every field has a documented default.
#[derive(Debug, Clone)]
pub struct Options {
    /// Meter reads: how far from a boundary a read may lie and still be used (default 24 h).
    pub tolerance_hours: i64,
    /// Meter reads: add a subtotal row per customer and counter kind (default on).
    pub subtotals: bool,
    /// Utilisation: the recommended monthly volume (default 500 to 15,000 pages).
    pub min_monthly: f64,
    pub max_monthly: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tolerance_hours: 24,
            subtotals: true,
            min_monthly: 500.0,
            max_monthly: 15_000.0,
        }
    }
}

impl Options {
    pub fn check(&self) -> Result<(), ReportError> {
        if !(0..=24 * 31).contains(&self.tolerance_hours) {
            return Err(ReportError::Invalid(
                "`tolerance_hours` must be between 0 and 744".into(),
            ));
        }
        if !(self.min_monthly >= 0.0 && self.max_monthly > self.min_monthly) {
            return Err(ReportError::Invalid(
                "`min_monthly` must be at least 0 and below `max_monthly`".into(),
            ));
        }
        Ok(())
    }
}

/// What a report is about, for titles and file names.
#[derive(Debug, Clone)]
pub struct Meta {
    pub name: ReportName,
    pub tenant: String,
    pub period: Period,
}

impl Meta {
    pub fn title(&self) -> String {
        format!("{} — {}", self.name.title(), self.tenant)
    }

    pub fn file_name(&self, extension: &str) -> String {
        let tenant: String = self
            .tenant
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!(
            "{}_{}_{}_{}.{extension}",
            self.name.as_str(),
            tenant,
            self.period.from,
            self.period.to
        )
    }
}

/// A running report: its columns and a stream of rows.
pub struct Report {
    pub meta: Meta,
    pub columns: Vec<Column>,
    cursor: BytesCursor,
    /// One line of the answer, reused.
    line: String,
    shaper: Box<dyn Shaper + Send>,
    pending: std::collections::VecDeque<Vec<Value>>,
    done: bool,
}

impl Report {
    /// Reads ahead to the first row, so a failing query is reported before any output.
    pub async fn prime(&mut self) -> Result<(), ReportError> {
        if let Some(row) = self.next_row().await? {
            self.pending.push_front(row);
        }
        Ok(())
    }

    /// The next output row, or `None` at the end.
    pub async fn next_row(&mut self) -> Result<Option<Vec<Value>>, ReportError> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            self.line.clear();
            let read = self
                .cursor
                .read_line(&mut self.line)
                .await
                .map_err(ReportError::read)?;
            match read {
                n if n > 0 => {
                    let line = self.line.strip_suffix('\n').unwrap_or(&self.line);
                    let fields: Vec<_> = line.split('\t').map(unescape_tsv).collect();
                    self.pending.extend(self.shaper.row(&fields)?);
                }
                _ => {
                    self.done = true;
                    self.pending.extend(self.shaper.finish());
                }
            }
        }
    }
}

/// The SQL a report runs, with its boundaries filled in: what `fleet-query report --sql`
/// prints, and what the chdb parity test runs on a current engine.
pub fn report_sql(name: ReportName, scope: &Scope, period: &Period, options: &Options) -> String {
    let bounds = bounds(period, options);
    match name {
        ReportName::MeterReads => sql::meter_reads(scope, &bounds),
        ReportName::Supplies => sql::supplies(scope, &bounds),
        ReportName::Inventory => sql::inventory(scope, &bounds),
        ReportName::Utilization => sql::utilization(scope, &bounds),
        ReportName::Alerts => sql::alerts(scope, &bounds),
    }
}

fn bounds(period: &Period, options: &Options) -> Bounds {
    Bounds {
        start: period.start,
        end: period.end,
        tolerance: options.tolerance_hours * 3600,
    }
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// Starts a report. `names` maps tenant ids to the names shown in the customer column.
pub async fn start(
    store: &Store,
    meta: Meta,
    scope: &Scope,
    names: HashMap<u64, String>,
    options: &Options,
) -> Result<Report, ReportError> {
    options.check()?;
    let period = meta.period.clone();
    let shaper: Box<dyn Shaper + Send> = match meta.name {
        ReportName::MeterReads => Box::new(shape::MeterReads::new(names, period, options)),
        ReportName::Supplies => {
            let fleet = fleet_rates(store, scope, &period, options).await?;
            Box::new(shape::Supplies::new(names, period, fleet))
        }
        ReportName::Inventory => Box::new(shape::Inventory::new(names, period)),
        ReportName::Utilization => Box::new(shape::Utilization::new(names, period, options)),
        ReportName::Alerts => Box::new(shape::Alerts::new(names, period)),
    };
    let sql = report_sql(meta.name, scope, &meta.period, options);
    let cursor = store
        .client()
        .query(&sql)
        .fetch_bytes("TabSeparated")
        .map_err(ReportError::query)?;
    Ok(Report {
        columns: shaper.columns(),
        meta,
        cursor,
        line: String::with_capacity(512),
        shaper,
        pending: Default::default(),
        done: false,
    })
}

/// Fleet consumption by (model, kind, colour): (rate per day, sigma).
async fn fleet_rates(
    store: &Store,
    scope: &Scope,
    period: &Period,
    options: &Options,
) -> Result<HashMap<(String, String, String), (f64, f64)>, ReportError> {
    let sql = sql::supply_fleet_rates(scope, &bounds(period, options));
    let mut lines = store
        .client()
        .query(&sql)
        .fetch_bytes("TabSeparated")
        .map_err(ReportError::query)?
        .lines();
    let mut out = HashMap::new();
    while let Some(line) = lines.next_line().await.map_err(ReportError::read)? {
        let f: Vec<String> = line
            .split('\t')
            .map(|s| unescape_tsv(s).unwrap_or_default().into_owned())
            .collect();
        if let [model, kind, color, rate, sigma, _n] = f.as_slice() {
            let rate = rate.parse().unwrap_or(0.0);
            let sigma = sigma.parse().unwrap_or(0.0);
            out.insert((model.clone(), kind.clone(), color.clone()), (rate, sigma));
        }
    }
    Ok(out)
}
