//! Collectors of the caller's tenants: last contact, devices, batches and sequence gaps.

use std::sync::Arc;

use axum::extract::State;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Json, Scoped};
use crate::devices::rfc3339;
use crate::error::{ApiResult, Problems};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(list_collectors))
}

#[derive(Debug, Row, Deserialize)]
struct CollectorRow {
    collector_id: u64,
    tenant_id: u64,
    name: String,
    created_at: u32,
    last_contact: u32,
    transport: String,
    batches: u64,
    gaps: u64,
    devices: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Collector {
    pub collector_id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub created_at: String,
    /// When its latest batch arrived; absent if none has.
    pub last_contact: Option<String>,
    /// The transport of its latest batch (grpc, protobuf or xmlrpc).
    pub transport: Option<String>,
    /// The collector's software version. The gateway does not record it yet, so it is absent.
    pub version: Option<String>,
    /// Batches received in the last 30 days.
    pub batches_30d: u64,
    /// Sequence numbers skipped in the last 30 days: batches possibly lost.
    pub sequence_gaps_30d: u64,
    /// Devices it reported (inventory rows naming it as the last collector).
    pub devices: u64,
}

/// The collectors of the caller's tenants.
#[utoipa::path(get, path = "/api/v1/collectors", tag = "collectors",
    responses((status = 200, body = Vec<Collector>), Problems))]
async fn list_collectors(
    State(state): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Json<Vec<Collector>>> {
    let cond = s.scope.condition("tenant_id");
    let sql = format!(
        "SELECT collector_id, tenant_id, name, created_at, last_contact, transport, batches, \
         gaps, devices FROM ( \
          SELECT collector_id, tenant_id, name, created_at, last_contact, transport, batches, \
           gaps FROM ( \
           SELECT collector_id, tenant_id, name, toUInt32(created_at) AS created_at \
           FROM collectors FINAL WHERE {cond} \
          ) AS l ANY LEFT JOIN ( \
           SELECT collector_id, toUInt32(max(received_at)) AS last_contact, \
            argMax(transport, received_at) AS transport, \
            countIf(received_at >= now() - 30 * 86400) AS batches, \
            sumIf(sequence_gap, received_at >= now() - 30 * 86400) AS gaps \
           FROM batches WHERE {cond} GROUP BY collector_id \
          ) AS r USING (collector_id) \
         ) AS l ANY LEFT JOIN ( \
          SELECT collector_id, count() AS devices FROM ( \
           SELECT device_id, argMax(collector_id, last_seen) AS collector_id FROM devices \
           WHERE {cond} GROUP BY tenant_id, device_id \
          ) GROUP BY collector_id \
         ) AS r USING (collector_id) ORDER BY name"
    );
    let rows: Vec<CollectorRow> = state.store.client().query(&sql).fetch_all().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Collector {
                collector_id: r.collector_id,
                tenant_id: r.tenant_id,
                name: r.name,
                created_at: rfc3339(r.created_at),
                last_contact: (r.last_contact != 0).then(|| rfc3339(r.last_contact)),
                transport: (!r.transport.is_empty()).then_some(r.transport),
                version: None,
                batches_30d: r.batches,
                sequence_gaps_30d: r.gaps,
                devices: r.devices,
            })
            .collect(),
    ))
}
