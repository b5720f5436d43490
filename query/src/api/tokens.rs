//! API tokens (for BI tools and automation, belonging to the caller) and collector tokens (for
//! the gateway, belonging to a customer's collector). Each token is shown once; only its hash
//! is stored.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use fleet_store::{ApiTokenRecord, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Json, Path, Scoped};
use crate::auth::{API_TOKEN_PREFIX, Role, new_secret};
use crate::devices::rfc3339;
use crate::error::{ApiError, ApiResult, Problems};
use crate::state::AppState;
use crate::tenancy::TenantKind;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_api_tokens, create_api_token))
        .routes(routes!(revoke_api_token))
        .routes(routes!(list_collector_tokens, create_collector_token))
        .routes(routes!(revoke_collector_token))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiToken {
    /// The first characters, to recognise and revoke it.
    pub prefix: String,
    pub user_id: u64,
    pub created_at: String,
    /// Absent when it never expires.
    pub expires_at: Option<String>,
    pub revoked: bool,
}

fn api_token(t: &ApiTokenRecord) -> ApiToken {
    ApiToken {
        prefix: t.token_prefix.clone(),
        user_id: t.user_id,
        created_at: rfc3339(t.created_at),
        expires_at: (t.expires_at != 0).then(|| rfc3339(t.expires_at)),
        revoked: t.revoked != 0,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenAnswer {
    /// The token: shown this once, stored nowhere.
    pub token: String,
    pub prefix: String,
    pub expires_at: Option<String>,
}

/// Length of the stored prefix.
const PREFIX_CHARS: usize = 12;

/// Creates an API token for a user, expiring after `days` (never when `None`).
pub async fn issue_api_token(
    store: &Store,
    user_id: u64,
    days: Option<u32>,
) -> ApiResult<NewTokenAnswer> {
    if days == Some(0) || days.is_some_and(|d| d > 3650) {
        return Err(ApiError::Invalid(
            "expires_in_days must be 1 to 3650".into(),
        ));
    }
    let (token, hash) = new_secret(API_TOKEN_PREFIX);
    let now = jiff::Timestamp::now().as_second() as u32;
    let expires_at = days.map_or(0, |d| now.saturating_add(d * 86_400));
    let record = ApiTokenRecord {
        token_hash: hash,
        token_prefix: token[..PREFIX_CHARS].to_owned(),
        user_id,
        created_at: now,
        expires_at,
        revoked: 0,
        updated_at: now,
    };
    store.save_api_token(&record).await?;
    Ok(NewTokenAnswer {
        prefix: record.token_prefix,
        expires_at: (expires_at != 0).then(|| rfc3339(expires_at)),
        token,
    })
}

/// The API tokens the caller may see: its own; a dealer's also those of users of its tenants;
/// an administrator's all.
async fn visible_api_tokens(state: &AppState, s: &Scoped) -> ApiResult<Vec<ApiTokenRecord>> {
    let owners: std::collections::HashMap<u64, u64> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.user_id, u.tenant_id))
        .collect();
    let visible = |user_id: u64| match s.caller.role {
        Role::Admin => true,
        _ if user_id == s.caller.user_id => true,
        Role::Dealer => owners
            .get(&user_id)
            .is_some_and(|t| *t != 0 && s.scope.contains(*t)),
        Role::Customer => false,
    };
    Ok(state
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .filter(|t| visible(t.user_id))
        .collect())
}

/// The caller's API tokens (a dealer's also include its tenants' users'; admins see all).
#[utoipa::path(get, path = "/api/v1/api-tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiToken>), Problems))]
async fn list_api_tokens(
    State(state): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Json<Vec<ApiToken>>> {
    let tokens = visible_api_tokens(&state, &s).await?;
    Ok(Json(tokens.iter().map(api_token).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApiToken {
    /// Days until it expires; absent for a token that does not expire.
    pub expires_in_days: Option<u32>,
}

/// Create an API token for the caller.
#[utoipa::path(post, path = "/api/v1/api-tokens", tag = "tokens", request_body = NewApiToken,
    responses((status = 201, body = NewTokenAnswer), Problems))]
async fn create_api_token(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Json(body): Json<NewApiToken>,
) -> ApiResult<(StatusCode, Json<NewTokenAnswer>)> {
    let answer = issue_api_token(&state.store, s.caller.user_id, body.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Revoke an API token by its prefix.
#[utoipa::path(delete, path = "/api/v1/api-tokens/{prefix}", tag = "tokens",
    params(("prefix" = String, Path, description = "The token's prefix")),
    responses((status = 204, description = "Revoked"), Problems))]
async fn revoke_api_token(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(prefix): Path<String>,
) -> ApiResult<StatusCode> {
    let mut found = false;
    for t in visible_api_tokens(&state, &s).await? {
        if t.token_prefix == prefix && t.revoked == 0 {
            let revoked = ApiTokenRecord {
                revoked: 1,
                updated_at: Store::next_version(t.updated_at),
                ..t
            };
            state.store.save_api_token(&revoked).await?;
            found = true;
        }
    }
    if !found {
        return Err(ApiError::not_found("token"));
    }
    state.auth.forget_all();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectorToken {
    pub prefix: String,
    pub collector_id: u64,
    pub tenant_id: u64,
    pub created_at: String,
    pub revoked: bool,
}

/// Collector tokens of the caller's tenants.
#[utoipa::path(get, path = "/api/v1/collector-tokens", tag = "tokens",
    responses((status = 200, body = Vec<CollectorToken>), Problems))]
async fn list_collector_tokens(
    State(state): State<Arc<AppState>>,
    s: Scoped,
) -> ApiResult<Json<Vec<CollectorToken>>> {
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    let tokens = state.store.list_tokens().await?;
    Ok(Json(
        tokens
            .into_iter()
            .filter(|t| s.scope.contains(t.tenant_id))
            .map(|t| CollectorToken {
                prefix: t.token_prefix,
                collector_id: t.collector_id,
                tenant_id: t.tenant_id,
                created_at: rfc3339(t.created_at),
                revoked: t.revoked != 0,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCollectorToken {
    /// The customer the collector belongs to.
    pub tenant_id: u64,
    /// The collector's name (created when new): letters, digits, `-`, `_`, `.`.
    pub collector: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewCollectorTokenAnswer {
    /// The token for the collector's `server.token`: shown this once.
    pub token: String,
    pub prefix: String,
    pub collector_id: u64,
}

/// Create a token for a customer's collector (admins and dealers).
#[utoipa::path(post, path = "/api/v1/collector-tokens", tag = "tokens",
    request_body = NewCollectorToken,
    responses((status = 201, body = NewCollectorTokenAnswer), Problems))]
async fn create_collector_token(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Json(body): Json<NewCollectorToken>,
) -> ApiResult<(StatusCode, Json<NewCollectorTokenAnswer>)> {
    let tenant = state.directory.visible(&s.scope, body.tenant_id).await?;
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    if state.directory.tree().await?.kind(tenant.tenant_id) != TenantKind::Customer {
        return Err(ApiError::Invalid(
            "collectors belong to a customer, not a dealer".into(),
        ));
    }
    let (token, collector) =
        fleet_ingest::auth::issue_token(&state.store, &tenant, &body.collector).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewCollectorTokenAnswer {
            token: token.token,
            prefix: token.prefix,
            collector_id: collector.collector_id,
        }),
    ))
}

/// Revoke a collector token by its prefix (the gateway refuses it within its cache time).
#[utoipa::path(delete, path = "/api/v1/collector-tokens/{prefix}", tag = "tokens",
    params(("prefix" = String, Path, description = "The token's prefix")),
    responses((status = 204, description = "Revoked"), Problems))]
async fn revoke_collector_token(
    State(state): State<Arc<AppState>>,
    s: Scoped,
    Path(prefix): Path<String>,
) -> ApiResult<StatusCode> {
    let tokens = state.store.list_tokens().await?;
    let mine: Vec<_> = tokens
        .into_iter()
        .filter(|t| t.token_prefix == prefix && t.revoked == 0 && s.scope.contains(t.tenant_id))
        .collect();
    if mine.is_empty() {
        return Err(ApiError::not_found("token"));
    }
    s.caller.require(&[Role::Admin, Role::Dealer])?;
    for t in mine {
        state.store.revoke_tokens(&t.token_hash).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
