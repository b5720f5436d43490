//! Fleetmeter's reports: billing meter reads, supplies with forecasts, fleet inventory,
//! utilisation and alert history.
//!
//! Each report is one set-based SQL query run inside ClickHouse ([`sql`]); its rows stream out
//! through a shaper ([`shape`]) into a renderer ([`render`]: JSON, CSV, XLSX, PDF), so the
//! service's memory does not grow with the report's size. Periods are calendar dates in the
//! tenant's time zone ([`period`]). How every figure is computed is in `docs/reports.md`.

pub mod chart;
pub mod forecast;
pub mod period;
pub mod render;
pub mod run;
pub mod shape;
pub mod sql;
pub mod table;

pub use period::Period;
pub use render::{CsvOptions, Format};
pub use run::{Meta, Options, Report, report_sql, start};

/// The reports, by the names the API and the command line use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    MeterReads,
    Supplies,
    Inventory,
    Utilization,
    Alerts,
}

impl ReportName {
    pub const ALL: [ReportName; 5] = [
        ReportName::MeterReads,
        ReportName::Supplies,
        ReportName::Inventory,
        ReportName::Utilization,
        ReportName::Alerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::MeterReads => "meter-reads",
            ReportName::Supplies => "supplies",
            ReportName::Inventory => "inventory",
            ReportName::Utilization => "utilization",
            ReportName::Alerts => "alerts",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ReportName::MeterReads => "Meter reads",
            ReportName::Supplies => "Supplies",
            ReportName::Inventory => "Fleet inventory",
            ReportName::Utilization => "Utilisation",
            ReportName::Alerts => "Alert history",
        }
    }

    pub fn parse(name: &str) -> Result<ReportName, ReportError> {
        ReportName::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| {
                ReportError::Invalid(format!(
                    "no report named `{name}`; the reports are {}",
                    ReportName::ALL.map(|r| r.as_str()).join(", ")
                ))
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request is wrong: a bad date, zone, option or format.
    #[error("{0}")]
    Invalid(String),
    /// ClickHouse refused or failed the query.
    #[error("report query failed: {0}")]
    Query(String),
    /// Writing the output failed (the client went away, the disk is full).
    #[error("writing the report failed: {0}")]
    Write(String),
    /// The report does not fit the format (for example, more rows than a worksheet holds).
    #[error("{0}")]
    TooLarge(String),
}

impl ReportError {
    pub(crate) fn query(e: clickhouse::error::Error) -> ReportError {
        ReportError::Query(e.to_string())
    }

    pub(crate) fn read(e: std::io::Error) -> ReportError {
        ReportError::Query(e.to_string())
    }

    pub(crate) fn write(e: impl std::fmt::Display) -> ReportError {
        ReportError::Write(e.to_string())
    }
}
