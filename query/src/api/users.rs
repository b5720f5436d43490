//! Users: list, create and disable within the caller's tenants. Admins manage everyone;
//! dealers manage users of their own tenant and of their customers; customers manage nobody.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use fleet_store::{Store, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Json, Path, Scoped, path_id};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult, Problems};
use crate::state::AppState;
use crate::tenancy::TenantKind;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(disable_user))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub user_id: u64,
    pub email: String,
    pub role: Role,
    /// 0 for administrators.
    pub tenant_id: u64,
    pub disabled: bool,
    pub created_at: String,
}

fn user(u: &UserRecord) -> User {
    User {
        user_id: u.user_id,
        email: u.email.clone(),
        role: Role::parse(&u.role).unwrap_or(Role::Customer),
        tenant_id: u.tenant_id,
        disabled: u.disabled != 0,
        created_at: crate::devices::rfc3339(u.created_at),
    }
}

/// Whether a user belongs to the caller's tenants (administrators only to administrators).
fn visible(s: &Scoped, u: &UserRecord) -> bool {
    if u.tenant_id == 0 {
        s.caller.role == Role::Admin
    } else {
        s.scope.contains(u.tenant_id)
    }
}

/// The users of the caller's tenants.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), Problems))]
async fn list_users(State(state): State<Arc<AppState>>, s: Scoped) -> ApiResult<Json<Vec<User>>> {
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    let users = state.store.list_users().await?;
    Ok(Json(
        users.iter().filter(|u| visible(&s, u)).map(user).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub email: String,
    /// At least eight characters.
    pub password: String,
    pub role: Role,
    /// The user's tenant: a dealer for `dealer`, a customer for `customer`; absent (or 0) for
    /// `admin`.
    pub tenant_id: Option<u64>,
}

/// Whether a user of `role` may belong to a tenant of `kind` (dealer users to dealers, customer
/// users to customers; administrators belong to no tenant).
pub fn role_fits(role: Role, kind: TenantKind) -> bool {
    matches!(
        (role, kind),
        (Role::Dealer, TenantKind::Dealer) | (Role::Customer, TenantKind::Customer)
    )
}

/// Checks that `role` fits `tenant` and the caller may create it; returns the tenant id.
pub async fn check_new_user(
    state: &AppState,
    s: &Scoped,
    role: Role,
    tenant: Option<u64>,
) -> ApiResult<u64> {
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    let tenant = tenant.unwrap_or(0);
    match role {
        Role::Admin => {
            s.caller.require(&[Role::Admin])?;
            if tenant != 0 {
                return Err(ApiError::Invalid(
                    "administrators belong to no tenant".into(),
                ));
            }
            Ok(0)
        }
        Role::Dealer | Role::Customer => {
            let record = state.directory.visible(&s.scope, tenant).await?;
            let kind = state.directory.tree().await?.kind(record.tenant_id);
            if !role_fits(role, kind) {
                return Err(ApiError::Invalid(format!(
                    "a {} user belongs to a {} tenant",
                    role.as_str(),
                    role.as_str()
                )));
            }
            Ok(record.tenant_id)
        }
    }
}

pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || fleet_model::password::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Invalid)
}

pub fn check_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err(ApiError::Invalid(format!(
            "`{email}` is not an e-mail address"
        )))
    }
}

/// Create a user in one of the caller's tenants.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), Problems))]
async fn create_user(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Json(body): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let tenant = check_new_user(&state, &s, body.role, body.tenant_id).await?;
    let email = check_email(&body.email)?;
    let hash = hash(body.password).await?;
    let record = state
        .store
        .create_user(&email, tenant, body.role.as_str(), &hash)
        .await?;
    Ok((StatusCode::CREATED, Json(user(&record))))
}

/// Disables a user and ends their sessions and tokens (within the credential cache time).
pub async fn disable(store: &Store, record: UserRecord) -> ApiResult<UserRecord> {
    let disabled = UserRecord {
        disabled: 1,
        updated_at: Store::next_version(record.updated_at),
        ..record
    };
    store.save_user(&disabled).await?;
    Ok(disabled)
}

/// Disable a user of the caller's tenants.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = User), Problems))]
async fn disable_user(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    let record = state
        .store
        .find_user_by_id(path_id(&id, "user")?)
        .await?
        .filter(|u| visible(&s, u))
        .ok_or_else(|| ApiError::not_found("user"))?;
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    if record.user_id == s.caller.user_id {
        return Err(ApiError::Invalid("you cannot disable yourself".into()));
    }
    let disabled = disable(&state.store, record).await?;
    state.auth.forget_all();
    Ok(Json(user(&disabled)))
}
