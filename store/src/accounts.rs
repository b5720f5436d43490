//! People and their credentials: users, login sessions, API tokens, and tenant settings (time
//! zones). Secrets are never stored: passwords as argon2id PHC strings, session ids and tokens as
//! SHA-256 hashes.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::store::{QUERY_TIMEOUT, check_name, new_id, now, timed};
use crate::{Store, StoreError, Table};

/// A user as stored; `role` is `admin`, `dealer` or `customer`.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct UserRecord {
    pub email: String,
    pub user_id: u64,
    pub tenant_id: u64,
    pub role: String,
    pub password_hash: String,
    pub disabled: u8,
    pub created_at: u32,
    pub updated_at: u32,
}

/// A login session: the hash of the cookie's value, its CSRF token and its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_hash: String,
    pub user_id: u64,
    pub csrf_token: String,
    pub created_at: u32,
    pub expires_at: u32,
    pub revoked: u8,
    pub updated_at: u32,
}

/// A user's API token; `expires_at` 0 means it does not expire.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    pub token_hash: String,
    pub token_prefix: String,
    pub user_id: u64,
    pub created_at: u32,
    pub expires_at: u32,
    pub revoked: u8,
    pub updated_at: u32,
}

#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct TenantSettingRow {
    tenant_id: u64,
    time_zone: String,
    updated_at: u32,
}

impl Store {
    /// Creates a user; the e-mail address must be new.
    pub async fn create_user(
        &self,
        email: &str,
        tenant_id: u64,
        role: &str,
        password_hash: &str,
    ) -> Result<UserRecord, StoreError> {
        check_name("e-mail", email)?;
        if self.find_user(email).await?.is_some() {
            return Err(StoreError::Refused(format!(
                "a user with the e-mail `{email}` already exists"
            )));
        }
        let at = now();
        let record = UserRecord {
            email: email.to_owned(),
            user_id: new_id(),
            tenant_id,
            role: role.to_owned(),
            password_hash: password_hash.to_owned(),
            disabled: 0,
            created_at: at,
            updated_at: at,
        };
        self.save_user(&record).await?;
        Ok(record)
    }

    /// Writes a new version of a user (disable, new password); newer versions win.
    pub async fn save_user(&self, record: &UserRecord) -> Result<(), StoreError> {
        self.insert_rows(Table::Users.name(), std::slice::from_ref(record))
            .await
    }

    /// A version of `record` stamped later than the stored one, for updates.
    pub fn next_version(updated_at: u32) -> u32 {
        now().max(updated_at + 1)
    }

    pub async fn find_user(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM users FINAL WHERE email = ? LIMIT 1")
                .bind(email)
                .fetch_optional(),
        )
        .await
    }

    pub async fn find_user_by_id(&self, user_id: u64) -> Result<Option<UserRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM users FINAL WHERE user_id = ? LIMIT 1")
                .bind(user_id)
                .fetch_optional(),
        )
        .await
    }

    /// Every user, by e-mail address.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM users FINAL ORDER BY email")
                .fetch_all(),
        )
        .await
    }

    pub async fn save_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.insert_rows(Table::Sessions.name(), std::slice::from_ref(record))
            .await
    }

    pub async fn find_session(
        &self,
        session_hash: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM sessions FINAL WHERE session_hash = ? LIMIT 1")
                .bind(session_hash)
                .fetch_optional(),
        )
        .await
    }

    pub async fn save_api_token(&self, record: &ApiTokenRecord) -> Result<(), StoreError> {
        self.insert_rows(Table::ApiTokens.name(), std::slice::from_ref(record))
            .await
    }

    pub async fn find_api_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM api_tokens FINAL WHERE token_hash = ? LIMIT 1")
                .bind(token_hash)
                .fetch_optional(),
        )
        .await
    }

    /// Every API token, newest first.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM api_tokens FINAL ORDER BY created_at DESC")
                .fetch_all(),
        )
        .await
    }

    /// Sets a tenant's IANA time zone; an empty name means "inherit from the parent".
    pub async fn set_time_zone(&self, tenant_id: u64, time_zone: &str) -> Result<(), StoreError> {
        let row = TenantSettingRow {
            tenant_id,
            time_zone: time_zone.to_owned(),
            updated_at: now(),
        };
        self.insert_rows(Table::TenantSettings.name(), std::slice::from_ref(&row))
            .await
    }

    /// Every tenant's own time zone setting (tenants without one are absent).
    pub async fn time_zones(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let rows: Vec<TenantSettingRow> = timed(
            QUERY_TIMEOUT,
            self.client()
                .query("SELECT ?fields FROM tenant_settings FINAL WHERE time_zone != ''")
                .fetch_all(),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.tenant_id, r.time_zone))
            .collect())
    }
}
