//! Logging in and out, and who the caller is.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleet_ingest::http::PeerAddr;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Json;
use crate::auth::{Caller, Role, SESSION_COOKIE, Via, session_cookie};
use crate::error::{ApiResult, Problems};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Login {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: u64,
    pub email: String,
    pub role: Role,
    /// 0 for administrators.
    pub tenant_id: u64,
    /// Send in `X-CSRF-Token` with every state-changing request made with the session cookie.
    pub csrf_token: Option<String>,
}

/// Log in with e-mail and password: sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", security(()),
    request_body = Login,
    responses(
        (status = 200, description = "Logged in; the cookie is set", body = Me),
        Problems,
    ))]
async fn login(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<PeerAddr>>,
    Json(body): Json<Login>,
) -> ApiResult<Response> {
    let ip = peer.map(|p| p.0.0.ip());
    let (secret, session, user) = state.auth.login(&body.email, &body.password, ip).await?;
    let max_age = session.expires_at.saturating_sub(session.created_at);
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    let me = Me {
        user_id: user.user_id,
        email: user.email,
        role: Role::parse(&user.role).map_err(crate::error::ApiError::Internal)?,
        tenant_id: user.tenant_id,
        csrf_token: Some(session.csrf_token),
    };
    let mut response = Json(me).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie)
            .map_err(|e| crate::error::ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// Log out: ends the session on the server and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Logged out"),
        Problems,
    ))]
async fn logout(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(cookie) = session_cookie(&headers) {
        state.auth.logout(&cookie).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses(
        (status = 200, description = "The caller", body = Me),
        Problems,
    ))]
async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        user_id: caller.user_id,
        email: caller.email,
        role: caller.role,
        tenant_id: caller.tenant_id,
        csrf_token: match caller.via {
            Via::Session { csrf_token } => Some(csrf_token),
            Via::Token => None,
        },
    })
}
