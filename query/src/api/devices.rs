//! Devices: the filtered list, one device's detail, its histories and its charts.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fleet_reports::chart::{self, ChartFormat, Line};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Json, Path, Query, Scoped};
use crate::detail::{self, Alert, CounterPoint, DeviceDetail, HistoryQuery, SupplyPoint};
use crate::devices::{self, DeviceFilter, DevicePage};
use crate::error::{ApiError, ApiResult, Problems};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_devices))
        .routes(routes!(get_device))
        .routes(routes!(counter_history))
        .routes(routes!(supply_history))
        .routes(routes!(alert_history))
        .routes(routes!(device_chart))
}

/// Devices of the caller's tenants, filtered, sorted and paginated by cursor.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", params(DeviceFilter),
    responses((status = 200, body = DevicePage), Problems))]
async fn list_devices(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Query(filter): Query<DeviceFilter>,
) -> ApiResult<Json<DevicePage>> {
    if let Some(customer) = filter.customer {
        state.directory.visible(&s.scope, customer).await?;
    }
    Ok(Json(devices::list(&state.store, &s.scope, &filter).await?))
}

/// A device the caller may see: its tenant, id and the tenant's time zone.
async fn device(state: &AppState, s: &Scoped, id: &str) -> ApiResult<(u64, u64, String)> {
    let tenant = devices::owner(&state.store, &s.scope, id).await?;
    let zone = state.directory.tree().await?.time_zone(tenant);
    Ok((
        tenant,
        id.parse().map_err(|_| ApiError::not_found("device"))?,
        zone,
    ))
}

/// One device: inventory, latest counters, supplies, status and open alerts.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceDetail), Problems))]
async fn get_device(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceDetail>> {
    let (tenant, device, _) = device(&state, &s, &id).await?;
    Ok(Json(detail::detail(&state.store, tenant, device).await?))
}

/// A device's counters per hour, day or month (in the tenant's time zone).
#[utoipa::path(get, path = "/api/v1/devices/{id}/counters", tag = "devices",
    params(("id" = String, Path, description = "Device id"), HistoryQuery),
    responses((status = 200, body = Vec<CounterPoint>), Problems))]
async fn counter_history(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<CounterPoint>>> {
    let (tenant, device, zone) = device(&state, &s, &id).await?;
    Ok(Json(
        detail::counter_history(&state.store, tenant, device, &q, &zone).await?,
    ))
}

/// A device's supply levels per day.
#[utoipa::path(get, path = "/api/v1/devices/{id}/supplies", tag = "devices",
    params(("id" = String, Path, description = "Device id"), HistoryQuery),
    responses((status = 200, body = Vec<SupplyPoint>), Problems))]
async fn supply_history(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<SupplyPoint>>> {
    let (tenant, device, zone) = device(&state, &s, &id).await?;
    Ok(Json(
        detail::supply_history(&state.store, tenant, device, &q, &zone).await?,
    ))
}

/// A device's alerts: each alert-table row with its first and last sighting.
#[utoipa::path(get, path = "/api/v1/devices/{id}/alerts", tag = "devices",
    params(("id" = String, Path, description = "Device id"), HistoryQuery),
    responses((status = 200, body = Vec<Alert>), Problems))]
async fn alert_history(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<Alert>>> {
    let (tenant, device, zone) = device(&state, &s, &id).await?;
    Ok(Json(
        detail::alert_history(&state.store, tenant, device, &q, &zone).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// counters (trend, default) or supplies (levels).
    pub series: Option<String>,
    /// svg (default) or png.
    pub format: Option<String>,
    /// Counter kind (counters only; all kinds when absent).
    pub kind: Option<String>,
    /// First day, YYYY-MM-DD in the tenant's time zone (default: 30 days before `to`).
    pub from: Option<String>,
    /// Day after the last, exclusive (default: tomorrow).
    pub to: Option<String>,
    /// Counter bucket: hour, day (default) or month.
    pub step: Option<String>,
}

/// A chart of a device's counter trend or supply levels, as SVG or PNG.
#[utoipa::path(get, path = "/api/v1/devices/{id}/chart", tag = "devices",
    params(("id" = String, Path, description = "Device id"), ChartQuery),
    responses(
        (status = 200, description = "The chart", content(
            (String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        Problems))]
async fn device_chart(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<ChartQuery>,
) -> ApiResult<Response> {
    let format = ChartFormat::parse(q.format.as_deref().unwrap_or("svg"))?;
    let (tenant, device, zone) = device(&state, &s, &id).await?;
    let window = HistoryQuery {
        kind: q.kind.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        step: q.step.clone(),
    };
    let svg = match q.series.as_deref().unwrap_or("counters") {
        "counters" => {
            let points =
                detail::counter_history(&state.store, tenant, device, &window, &zone).await?;
            trend(points)?
        }
        "supplies" => {
            let points =
                detail::supply_history(&state.store, tenant, device, &window, &zone).await?;
            levels(points)?
        }
        other => {
            return Err(ApiError::Invalid(format!(
                "series must be counters or supplies, not `{other}`"
            )));
        }
    };
    let body = match format {
        ChartFormat::Svg => svg.into_bytes(),
        ChartFormat::Png => tokio::task::spawn_blocking(move || chart::to_png(&svg))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??,
    };
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// One line per key over the sorted union of labels.
fn chart_lines(points: impl Iterator<Item = (String, String, f64)>) -> (Vec<String>, Vec<Line>) {
    let mut by_key: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
        Default::default();
    let mut labels = std::collections::BTreeSet::new();
    for (key, label, value) in points {
        labels.insert(label.clone());
        by_key.entry(key).or_default().insert(label, value);
    }
    let labels: Vec<String> = labels.into_iter().collect();
    let lines = by_key
        .into_iter()
        .map(|(name, values)| Line {
            values: labels.iter().map(|l| values.get(l).copied()).collect(),
            name,
        })
        .collect();
    (labels, lines)
}

fn trend(points: Vec<CounterPoint>) -> ApiResult<String> {
    let (labels, lines) = chart_lines(
        points
            .into_iter()
            .map(|p| (p.kind, p.bucket.chars().take(16).collect(), p.last as f64)),
    );
    Ok(chart::lines("Page counters", labels, lines)?)
}

fn levels(points: Vec<SupplyPoint>) -> ApiResult<String> {
    let (labels, lines) = chart_lines(points.into_iter().filter_map(|p| {
        let name = if p.color.is_empty() {
            p.kind
        } else {
            format!("{} {}", p.kind, p.color)
        };
        p.percent.map(|v| (name, p.day, f64::from(v)))
    }));
    Ok(chart::lines("Supply levels (%)", labels, lines)?)
}
