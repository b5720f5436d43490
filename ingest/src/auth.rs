//! Collector tokens: creation, hashing and cached lookup, and the per-address limit on failed
//! authentication.
//!
//! A token is `fmt_` followed by 43 characters (32 random bytes, base64url). Only its SHA-256
//! hash is stored. Lookups are cached: a known token for `token_cache_ttl_ms`, an unknown one
//! for `negative_cache_ttl_ms`, so a revoked token stops working within the former.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use fleet_model::{CollectorId, TenantId};
use fleet_store::Store;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::future::Cache;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, RateLimitConfig};
use crate::error::IngestError;
use crate::metrics as m;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub collector: CollectorId,
}

/// A new token and what is stored of it.
#[derive(Debug)]
pub struct NewToken {
    /// Shown once to the operator, never stored or logged.
    pub token: String,
    pub hash: String,
    pub prefix: String,
}

/// Creates a random token.
pub fn new_token() -> NewToken {
    let secret: [u8; 32] = rand::random();
    let token = format!(
        "fmt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let prefix = token[..12].to_owned();
    NewToken {
        hash: hash_token(&token),
        prefix,
        token,
    }
}

/// Creates a token for a collector of `tenant` (the collector is created if new) and stores its
/// hash. The token itself is returned once and stored nowhere.
pub async fn issue_token(
    store: &Store,
    tenant: &fleet_store::TenantRecord,
    collector: &str,
) -> Result<(NewToken, fleet_store::CollectorRecord), fleet_store::StoreError> {
    let collector = store.ensure_collector(tenant.tenant_id, collector).await?;
    let token = new_token();
    let now = fleet_store::datetime(time::OffsetDateTime::now_utc());
    store
        .add_token(&fleet_store::TokenRecord {
            token_hash: token.hash.clone(),
            token_prefix: token.prefix.clone(),
            collector_id: collector.collector_id,
            tenant_id: tenant.tenant_id,
            created_at: now,
            revoked: 0,
            updated_at: now,
        })
        .await?;
    Ok((token, collector))
}

/// The stored form of a token: hex SHA-256.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Clone, Copy)]
struct CachedPrincipal {
    principal: Principal,
    digest: [u8; 32],
}

/// Authenticates tokens against the store, with caches and a failed-attempt limiter.
pub struct Authenticator {
    store: Store,
    known: Cache<[u8; 32], CachedPrincipal>,
    unknown: Cache<[u8; 32], ()>,
    failed_by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    blocked: Cache<IpAddr, ()>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(store: Store, auth: &AuthConfig, limits: &RateLimitConfig) -> Self {
        let per_minute = NonZeroU32::new(limits.failed_auth_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.failed_auth_burst).unwrap_or(NonZeroU32::MIN);
        let block_for = Duration::from_secs(60) / per_minute.get();
        Self {
            store,
            known: Cache::builder()
                .max_capacity(auth.token_cache_capacity)
                .time_to_live(Duration::from_millis(auth.token_cache_ttl_ms))
                .build(),
            unknown: Cache::builder()
                .max_capacity(auth.token_cache_capacity)
                .time_to_live(Duration::from_millis(auth.negative_cache_ttl_ms))
                .build(),
            failed_by_address: Arc::new(RateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            )),
            blocked: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(block_for.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// The limiter's state, for the periodic clean-up task.
    pub fn failed_auth_limiter(&self) -> Arc<DefaultKeyedRateLimiter<IpAddr>> {
        Arc::clone(&self.failed_by_address)
    }

    /// Authenticates a request's token from `peer`.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        peer: Option<IpAddr>,
    ) -> Result<Principal, IngestError> {
        if let Some(ip) = peer
            && self.blocked.contains_key(&ip)
        {
            metrics::counter!(m::RATE_LIMITED, "kind" => "failed_auth").increment(1);
            return Err(IngestError::RateLimited {
                retry_after: Duration::from_secs(2),
            });
        }
        let result = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => self.lookup(token).await,
            None => Err(IngestError::BadToken),
        };
        if matches!(result, Err(IngestError::BadToken)) {
            metrics::counter!(m::AUTH_FAILURES).increment(1);
            if let Some(ip) = peer
                && self.failed_by_address.check_key(&ip).is_err()
            {
                self.blocked.insert(ip, ()).await;
                metrics::counter!(m::RATE_LIMITED, "kind" => "failed_auth").increment(1);
                return Err(IngestError::RateLimited {
                    retry_after: Duration::from_secs(2),
                });
            }
        }
        result
    }

    async fn lookup(&self, token: &str) -> Result<Principal, IngestError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(cached) = self.known.get(&digest).await {
            // The cache is keyed by the digest already; the explicit constant-time comparison
            // keeps the final decision free of early exits.
            if bool::from(cached.digest.ct_eq(&digest)) {
                return Ok(cached.principal);
            }
        }
        if self.unknown.contains_key(&digest) {
            return Err(IngestError::BadToken);
        }

        let hash = hex::encode(digest);
        let found = self.store.lookup_token(&hash).await.map_err(|e| {
            metrics::counter!(m::CLICKHOUSE_ERRORS).increment(1);
            IngestError::unavailable(format!("token lookup failed: {e}"))
        })?;
        match found {
            Some((collector, tenant)) => {
                let principal = Principal {
                    tenant: TenantId(tenant),
                    collector: CollectorId(collector),
                };
                self.known
                    .insert(digest, CachedPrincipal { principal, digest })
                    .await;
                Ok(principal)
            }
            None => {
                self.unknown.insert(digest, ()).await;
                Err(IngestError::BadToken)
            }
        }
    }
}

/// Reads a bearer token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 4 + 43);
        assert!(a.token.starts_with(&a.prefix));
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer   abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(None), None);
    }
}
