//! Starting a report for the API and the command line alike: the tenant, its subtree within the
//! caller's scope, the period in the tenant's time zone, the options and the format.

use serde::Deserialize;
use utoipa::IntoParams;

use fleet_reports::{CsvOptions, Format, Meta, Options, Period, Report, ReportName};
use fleet_store::{Scope, Store};

use crate::error::{ApiError, ApiResult};
use crate::tenancy::Directory;

/// The parameters of a report (query string of the API, flags of the command line).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Tenant id or name (a dealer's report covers its customers). Default: the caller's.
    pub tenant: Option<String>,
    /// First day (YYYY-MM-DD), or a month `2026-11` or quarter `2026-Q4` without `to`.
    pub from: String,
    /// Day after the last (exclusive), YYYY-MM-DD.
    pub to: Option<String>,
    /// json (default), csv, xlsx or pdf.
    pub format: Option<String>,
    /// Meter reads: hours a read may lie from a boundary (default 24).
    pub tolerance_hours: Option<i64>,
    /// Meter reads: subtotal rows per customer (default true).
    pub subtotals: Option<bool>,
    /// Utilisation: recommended monthly volume, lower end (default 500).
    pub min_monthly: Option<f64>,
    /// Utilisation: recommended monthly volume, upper end (default 15000).
    pub max_monthly: Option<f64>,
    /// CSV: `,` (default), `;` or `tab`.
    pub csv_delimiter: Option<String>,
    /// CSV: start with a UTF-8 byte-order mark (default false).
    pub bom: Option<bool>,
}

#[derive(Debug)]
pub struct Prepared {
    pub report: Report,
    pub format: Format,
    pub csv: CsvOptions,
}

impl Prepared {
    pub fn file_name(&self) -> String {
        self.report.meta.file_name(self.format.extension())
    }
}

/// A report request resolved against the tenant tree: what to run, for which tenants, when.
struct Resolved {
    meta: Meta,
    scope: Scope,
    options: Options,
    names: std::collections::HashMap<u64, String>,
}

/// The tenant (by id or name; the caller's own by default) within `scope`, its subtree, the
/// period in its time zone and the options with their defaults.
async fn resolve(
    directory: &Directory,
    scope: &Scope,
    own_tenant: u64,
    name: ReportName,
    params: &ReportParams,
    defaults: &Options,
) -> ApiResult<Resolved> {
    let tree = directory.tree().await?;
    let tenant = match params.tenant.as_deref() {
        Some(t) => t
            .parse::<u64>()
            .ok()
            .and_then(|id| tree.get(id))
            .or_else(|| tree.by_name(t))
            .ok_or_else(|| ApiError::not_found("tenant"))?,
        None => tree.get(own_tenant).ok_or_else(|| {
            ApiError::Invalid("give the tenant (`tenant=` id or name) the report is for".into())
        })?,
    };
    if !scope.contains(tenant.tenant_id) {
        return Err(ApiError::not_found("tenant"));
    }
    let zone = tree.time_zone(tenant.tenant_id);
    Ok(Resolved {
        meta: Meta {
            name,
            tenant: tenant.name.clone(),
            period: Period::parse(&params.from, params.to.as_deref(), &zone)?,
        },
        scope: scope.narrow(&Scope::tenants(tree.subtree(tenant.tenant_id))),
        options: Options {
            tolerance_hours: params.tolerance_hours.unwrap_or(defaults.tolerance_hours),
            subtotals: params.subtotals.unwrap_or(defaults.subtotals),
            min_monthly: params.min_monthly.unwrap_or(defaults.min_monthly),
            max_monthly: params.max_monthly.unwrap_or(defaults.max_monthly),
        },
        names: tree.names(),
    })
}

/// Resolves everything and starts the query; the first row is read, so SQL errors surface here.
pub async fn prepare(
    store: &Store,
    directory: &Directory,
    scope: &Scope,
    own_tenant: u64,
    name: &str,
    params: &ReportParams,
    defaults: &Options,
) -> ApiResult<Prepared> {
    let name = ReportName::parse(name).map_err(|_| ApiError::not_found("report"))?;
    let format = Format::parse(params.format.as_deref().unwrap_or("json"))?;
    let csv = CsvOptions::parse(params.csv_delimiter.as_deref(), params.bom)?;
    let r = resolve(directory, scope, own_tenant, name, params, defaults).await?;
    let mut report = fleet_reports::start(store, r.meta, &r.scope, r.names, &r.options).await?;
    report.prime().await?;
    Ok(Prepared {
        report,
        format,
        csv,
    })
}

/// The SQL a report would run for the operator (for `fleet-query report --sql`).
pub async fn sql(
    directory: &Directory,
    name: &str,
    params: &ReportParams,
    defaults: &Options,
) -> ApiResult<String> {
    let name = ReportName::parse(name)?;
    let r = resolve(directory, &Scope::everything(), 0, name, params, defaults).await?;
    Ok(fleet_reports::report_sql(
        name,
        &r.scope,
        &r.meta.period,
        &r.options,
    ))
}
