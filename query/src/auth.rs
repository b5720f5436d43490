//! Who is calling: a session cookie (after an e-mail and password login) or an API token in
//! `Authorization: Bearer`. Sessions and tokens are stored as SHA-256 hashes only. Requests that
//! change state with a cookie must carry the session's CSRF token in `X-CSRF-Token`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use fleet_ingest::http::PeerAddr;
use fleet_store::{SessionRecord, Store, UserRecord};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "fleet_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API tokens start with this, so they are recognisable in logs and secret scanners.
pub const API_TOKEN_PREFIX: &str = "fqt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Dealer,
    Customer,
}

impl Role {
    pub fn parse(text: &str) -> Result<Role, String> {
        match text {
            "admin" => Ok(Role::Admin),
            "dealer" => Ok(Role::Dealer),
            "customer" => Ok(Role::Customer),
            other => Err(format!(
                "role must be admin, dealer or customer, not `{other}`"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dealer => "dealer",
            Role::Customer => "customer",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: u64,
    pub email: String,
    pub role: Role,
    /// 0 for administrators (the platform); otherwise the dealer or customer.
    pub tenant_id: u64,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { csrf_token: String },
    Token,
}

impl Caller {
    pub fn require(&self, roles: &[Role]) -> ApiResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new random secret with a prefix, and its hash.
pub fn new_secret(prefix: &str) -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{prefix}{}", hex::encode(bytes));
    let hash = sha256_hex(&secret);
    (secret, hash)
}

fn now() -> u32 {
    jiff::Timestamp::now()
        .as_second()
        .clamp(0, i64::from(u32::MAX)) as u32
}

/// Resolved credentials, cached briefly so a burst of requests does not query ClickHouse for
/// each one.
#[derive(Debug, Clone)]
enum Resolved {
    Session(SessionRecord, UserRecord),
    Token(UserRecord),
}

#[derive(Debug)]
pub struct Auth {
    store: Store,
    config: AuthConfig,
    cache: moka::sync::Cache<String, Resolved>,
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Auth {
    pub fn new(store: Store, config: &AuthConfig) -> Auth {
        Auth {
            store,
            cache: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(config.cache_seconds))
                .build(),
            per_account: RateLimiter::keyed(per_minute(
                config.login_attempts_per_account_per_minute,
            )),
            per_address: RateLimiter::keyed(per_minute(
                config.login_attempts_per_address_per_minute,
            )),
            config: config.clone(),
        }
    }

    /// Checks an e-mail and password; on success stores a new session and returns it with its
    /// secret (the cookie value) and the user.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> ApiResult<(String, SessionRecord, UserRecord)> {
        let email = email.trim().to_lowercase();
        if let Some(ip) = peer
            && self.per_address.check_key(&ip).is_err()
        {
            metrics::counter!(crate::metrics::LOGIN_RATE_LIMITED, "by" => "address").increment(1);
            return Err(ApiError::RateLimited(
                "too many login attempts from this address; wait a minute".into(),
                60,
            ));
        }
        if self.per_account.check_key(&email).is_err() {
            metrics::counter!(crate::metrics::LOGIN_RATE_LIMITED, "by" => "account").increment(1);
            return Err(ApiError::RateLimited(
                "too many login attempts for this account; wait a minute".into(),
                60,
            ));
        }
        let user = self.store.find_user(&email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_owned();
        // Verify against a real hash even for unknown users, so timing does not tell them apart.
        let ok = tokio::task::spawn_blocking(move || {
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
            fleet_model::password::verify_password(&hash, &password)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        let user = match user {
            Some(u) if ok && u.disabled == 0 => u,
            _ => {
                metrics::counter!(crate::metrics::LOGINS, "outcome" => "failed").increment(1);
                return Err(ApiError::Unauthenticated("wrong e-mail or password".into()));
            }
        };
        let (secret, hash) = new_secret("fqs_");
        let (csrf, _) = new_secret("");
        let at = now();
        let session = SessionRecord {
            session_hash: hash,
            user_id: user.user_id,
            csrf_token: csrf,
            created_at: at,
            expires_at: at.saturating_add(self.config.session_hours * 3600),
            revoked: 0,
            updated_at: at,
        };
        self.store.save_session(&session).await?;
        metrics::counter!(crate::metrics::LOGINS, "outcome" => "ok").increment(1);
        Ok((secret, session, user))
    }

    pub async fn logout(&self, caller_cookie: &str) -> ApiResult<()> {
        let hash = sha256_hex(caller_cookie);
        if let Some(session) = self.store.find_session(&hash).await? {
            let revoked = SessionRecord {
                revoked: 1,
                updated_at: Store::next_version(session.updated_at),
                ..session
            };
            self.store.save_session(&revoked).await?;
        }
        self.cache.invalidate(&hash);
        Ok(())
    }

    /// Forgets cached credentials (after a user is disabled or a token revoked).
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }

    async fn resolve_token(&self, token: &str) -> ApiResult<Resolved> {
        let hash = sha256_hex(token);
        if let Some(hit) = self.cache.get(&hash) {
            return Ok(hit);
        }
        let record = self
            .store
            .find_api_token(&hash)
            .await?
            .filter(|t| t.revoked == 0 && (t.expires_at == 0 || t.expires_at > now()))
            .ok_or_else(|| ApiError::Unauthenticated("unknown, expired or revoked token".into()))?;
        let user = self.active_user(record.user_id).await?;
        let resolved = Resolved::Token(user);
        self.cache.insert(hash, resolved.clone());
        Ok(resolved)
    }

    async fn resolve_session(&self, secret: &str) -> ApiResult<Resolved> {
        let hash = sha256_hex(secret);
        if let Some(hit) = self.cache.get(&hash) {
            return Ok(hit);
        }
        let record = self
            .store
            .find_session(&hash)
            .await?
            .filter(|s| s.revoked == 0 && s.expires_at > now())
            .ok_or_else(|| ApiError::Unauthenticated("the session has ended; log in".into()))?;
        let user = self.active_user(record.user_id).await?;
        let resolved = Resolved::Session(record, user);
        self.cache.insert(hash, resolved.clone());
        Ok(resolved)
    }

    async fn active_user(&self, user_id: u64) -> ApiResult<UserRecord> {
        self.store
            .find_user_by_id(user_id)
            .await?
            .filter(|u| u.disabled == 0)
            .ok_or_else(|| ApiError::Unauthenticated("the user is disabled".into()))
    }
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    fleet_model::password::hash_password("not a real password").unwrap_or_default()
});

/// The value of the session cookie in a request, if any.
pub fn session_cookie(parts: &axum::http::HeaderMap) -> Option<String> {
    parts
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn caller_of(user: &UserRecord, via: Via) -> ApiResult<Caller> {
    Ok(Caller {
        user_id: user.user_id,
        email: user.email.clone(),
        role: Role::parse(&user.role).map_err(ApiError::Internal)?,
        tenant_id: user.tenant_id,
        via,
    })
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Caller> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| fleet_ingest::auth::bearer(Some(v)))
            .map(str::to_owned);
        if let Some(token) = bearer {
            return match state.auth.resolve_token(&token).await? {
                Resolved::Token(user) => caller_of(&user, Via::Token),
                Resolved::Session(..) => Err(ApiError::Unauthenticated("not a token".into())),
            };
        }
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(ApiError::Unauthenticated(
                "log in (POST /api/v1/session) or send `Authorization: Bearer <token>`".into(),
            ));
        };
        let Resolved::Session(session, user) = state.auth.resolve_session(&cookie).await? else {
            return Err(ApiError::Unauthenticated("not a session".into()));
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
                return Err(ApiError::Csrf(format!(
                    "send the session's CSRF token (from the login answer) in `{CSRF_HEADER}`"
                )));
            }
        }
        caller_of(
            &user,
            Via::Session {
                csrf_token: session.csrf_token,
            },
        )
    }
}

/// The client's address, when the listener recorded it.
pub fn peer(parts: &axum::http::Extensions) -> Option<IpAddr> {
    parts.get::<PeerAddr>().map(|p| p.0.ip())
}
