//! Tenants: list, read, create (admins create dealers and customers, dealers create customers
//! under themselves), and set a tenant's time zone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Json, Path, Scoped, path_id};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult, Problems};
use crate::state::AppState;
use crate::tenancy::{TenantKind, Tree};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub tenant_id: u64,
    pub name: String,
    pub kind: TenantKind,
    /// The dealer of a customer; absent for dealers.
    pub parent_id: Option<u64>,
    /// The zone its reports use (its own, else inherited).
    pub time_zone: String,
    /// Whether the zone is set on this tenant (false: inherited).
    pub time_zone_set: bool,
    pub created_at: String,
}

fn tenant(tree: &Tree, t: &fleet_store::TenantRecord) -> Tenant {
    Tenant {
        tenant_id: t.tenant_id,
        name: t.name.clone(),
        kind: tree.kind(t.tenant_id),
        parent_id: (t.parent_id != 0).then_some(t.parent_id),
        time_zone: tree.time_zone(t.tenant_id),
        time_zone_set: tree.own_time_zone(t.tenant_id).is_some(),
        created_at: crate::devices::rfc3339(t.created_at),
    }
}

/// The tenants the caller may see, by name.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = Vec<Tenant>), Problems))]
async fn list_tenants(
    State(state): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Json<Vec<Tenant>>> {
    let tree = state.directory.tree().await?;
    let mut out: Vec<Tenant> = tree
        .all()
        .filter(|t| s.scope.contains(t.tenant_id))
        .map(|t| tenant(&tree, t))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(out))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Tenant), Problems))]
async fn get_tenant(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<Tenant>> {
    let record = state
        .directory
        .visible(&s.scope, path_id(&id, "tenant")?)
        .await?;
    let tree = state.directory.tree().await?;
    Ok(Json(tenant(&tree, &record)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTenant {
    /// Unique name: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// The dealer for a new customer. Dealers may omit it (their own tenant); admins omit it to
    /// create a dealer.
    pub parent_id: Option<u64>,
    /// IANA time zone; absent to inherit the parent's.
    pub time_zone: Option<String>,
}

fn check_zone(zone: &str) -> ApiResult<()> {
    jiff::tz::TimeZone::get(zone)
        .map(|_| ())
        .map_err(|_| ApiError::Invalid(format!("`{zone}` is not an IANA time zone name")))
}

/// Create a dealer (admins) or a customer (admins, and dealers under themselves).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = NewTenant,
    responses((status = 201, body = Tenant), Problems))]
async fn create_tenant(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Json(body): Json<NewTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    let parent = match (s.caller.role, body.parent_id) {
        (Role::Dealer, None) => Some(s.caller.tenant_id),
        (_, parent) => parent,
    };
    let parent_name = match parent {
        None => None,
        Some(id) => {
            let p = state.directory.visible(&s.scope, id).await?;
            if p.parent_id != 0 {
                return Err(ApiError::Invalid(
                    "customers belong to a dealer; a customer cannot have customers".into(),
                ));
            }
            Some(p.name)
        }
    };
    if let Some(zone) = &body.time_zone {
        check_zone(zone)?;
    }
    let record = state
        .store
        .create_tenant(&body.name, parent_name.as_deref())
        .await?;
    if let Some(zone) = &body.time_zone {
        state.store.set_time_zone(record.tenant_id, zone).await?;
    }
    state.directory.invalidate();
    let tree = state.directory.tree().await?;
    Ok((StatusCode::CREATED, Json(tenant(&tree, &record))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TenantUpdate {
    /// IANA time zone; an empty string inherits the parent's again.
    pub time_zone: String,
}

/// Set a tenant's time zone (admins, and dealers within their subtree).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")), request_body = TenantUpdate,
    responses((status = 200, body = Tenant), Problems))]
async fn update_tenant(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
    Json(body): Json<TenantUpdate>,
) -> ApiResult<Json<Tenant>> {
    let record = state
        .directory
        .visible(&s.scope, path_id(&id, "tenant")?)
        .await?;
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    if !body.time_zone.is_empty() {
        check_zone(&body.time_zone)?;
    }
    state
        .store
        .set_time_zone(record.tenant_id, &body.time_zone)
        .await?;
    state.directory.invalidate();
    let tree = state.directory.tree().await?;
    Ok(Json(tenant(&tree, &record)))
}
