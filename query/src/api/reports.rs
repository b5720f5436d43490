//! Reports over HTTP: the same files as `fleet-query report`, streamed as they are produced.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fleet_reports::Format;
use tokio_util::io::ReaderStream;
use tracing::warn;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Path, Query, Scoped};
use crate::error::{ApiError, ApiResult, Problems};
use crate::metrics as m;
use crate::reporting::{self, ReportParams};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(get_report))
}

/// Bytes buffered between the report and the connection.
const PIPE_BYTES: usize = 256 * 1024;

/// A report for a tenant and period: meter-reads, supplies, inventory, utilization or alerts.
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports",
    params(
        ("name" = String, Path,
            description = "meter-reads, supplies, inventory, utilization or alerts"),
        ReportParams),
    responses(
        (status = 200, description = "The report in the requested format", content(
            (Vec<Object> = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/pdf"))),
        Problems))]
async fn get_report(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(name): Path<String>,
    Query(params): Query<ReportParams>,
) -> ApiResult<Response> {
    let permit = Arc::clone(&state.reports)
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let started = Instant::now();
    let prepared = reporting::prepare(
        &state.store,
        &state.directory,
        &s.scope,
        s.caller.tenant_id,
        &name,
        &params,
        &state.config.report_options(),
    )
    .await?;
    let file_name = prepared.file_name();
    let format = prepared.format;
    let report_name = prepared.report.meta.name.as_str();
    let (mut writer, reader) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(async move {
        let _permit = permit;
        let result =
            fleet_reports::render::write(prepared.report, format, prepared.csv, &mut writer).await;
        let outcome = match &result {
            Ok(rows) => {
                metrics::counter!(m::REPORT_ROWS, "report" => report_name).increment(*rows);
                "ok"
            }
            Err(e) => {
                warn!(report = report_name, error = %e, "report ended early");
                "failed"
            }
        };
        metrics::counter!(m::REPORTS, "report" => report_name, "format" => format.extension(),
            "outcome" => outcome)
        .increment(1);
        metrics::histogram!(m::REPORT_SECONDS, "report" => report_name)
            .record(started.elapsed().as_secs_f64());
    });
    let mut response = Body::from_stream(ReaderStream::new(reader)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = match format {
        Format::Json => format!("inline; filename=\"{file_name}\""),
        _ => format!("attachment; filename=\"{file_name}\""),
    };
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
