//! The tenant tree (platform → dealers → customers), each tenant's time zone, and the one
//! function that turns a caller into the tenants it may see: [`Directory::scope`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use fleet_store::{Scope, Store, TenantRecord};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};

/// How long the tree is trusted before it is read again (other instances may have changed it).
const REFRESH: Duration = Duration::from_secs(2);

/// The zone of tenants that set none, up to the root.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    Dealer,
    Customer,
}

#[derive(Debug, Default)]
pub struct Tree {
    tenants: HashMap<u64, TenantRecord>,
    children: HashMap<u64, Vec<u64>>,
    zones: HashMap<u64, String>,
}

impl Tree {
    fn build(tenants: Vec<TenantRecord>, zones: Vec<(u64, String)>) -> Tree {
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        for t in &tenants {
            if t.parent_id != 0 {
                children.entry(t.parent_id).or_default().push(t.tenant_id);
            }
        }
        Tree {
            tenants: tenants.into_iter().map(|t| (t.tenant_id, t)).collect(),
            children,
            zones: zones.into_iter().collect(),
        }
    }

    pub fn get(&self, id: u64) -> Option<&TenantRecord> {
        self.tenants.get(&id)
    }

    pub fn by_name(&self, name: &str) -> Option<&TenantRecord> {
        self.tenants.values().find(|t| t.name == name)
    }

    pub fn all(&self) -> impl Iterator<Item = &TenantRecord> {
        self.tenants.values()
    }

    /// A tenant and everything below it.
    pub fn subtree(&self, id: u64) -> Vec<u64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(&out[i]) {
                out.extend(kids);
            }
            i += 1;
        }
        out
    }

    pub fn kind(&self, id: u64) -> TenantKind {
        match self.tenants.get(&id) {
            Some(t) if t.parent_id != 0 => TenantKind::Customer,
            _ => TenantKind::Dealer,
        }
    }

    /// The tenant's own zone, else the nearest ancestor's, else UTC.
    pub fn time_zone(&self, id: u64) -> String {
        let mut at = id;
        for _ in 0..16 {
            if let Some(zone) = self.zones.get(&at) {
                return zone.clone();
            }
            match self.tenants.get(&at) {
                Some(t) if t.parent_id != 0 => at = t.parent_id,
                _ => break,
            }
        }
        DEFAULT_TIME_ZONE.to_owned()
    }

    /// The zone set on the tenant itself, if any.
    pub fn own_time_zone(&self, id: u64) -> Option<&str> {
        self.zones.get(&id).map(String::as_str)
    }

    pub fn names(&self) -> HashMap<u64, String> {
        self.tenants
            .values()
            .map(|t| (t.tenant_id, t.name.clone()))
            .collect()
    }
}

#[derive(Debug)]
pub struct Directory {
    store: Store,
    cached: RwLock<Option<(Instant, Arc<Tree>)>>,
}

impl Directory {
    pub fn new(store: Store) -> Directory {
        Directory {
            store,
            cached: RwLock::new(None),
        }
    }

    pub async fn tree(&self) -> ApiResult<Arc<Tree>> {
        if let Some((at, tree)) = self.cached.read().expect("not poisoned").as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(Arc::clone(tree));
        }
        let tenants = self.store.list_tenants().await?;
        let zones = self.store.time_zones().await?;
        let tree = Arc::new(Tree::build(tenants, zones));
        *self.cached.write().expect("not poisoned") = Some((Instant::now(), Arc::clone(&tree)));
        Ok(tree)
    }

    /// Forgets the cached tree after a change made here.
    pub fn invalidate(&self) {
        *self.cached.write().expect("not poisoned") = None;
    }

    /// The tenants `caller` may see. Every query of tenant data is filtered by this scope and
    /// by nothing written elsewhere.
    pub async fn scope(&self, caller: &Caller) -> ApiResult<Scope> {
        Ok(match caller.role {
            Role::Admin => Scope::everything(),
            Role::Dealer => Scope::tenants(self.tree().await?.subtree(caller.tenant_id)),
            Role::Customer => Scope::tenants([caller.tenant_id]),
        })
    }

    /// A tenant the caller may see, by id; 404 otherwise (existence elsewhere does not leak).
    pub async fn visible(&self, scope: &Scope, id: u64) -> ApiResult<TenantRecord> {
        let tree = self.tree().await?;
        match tree.get(id) {
            Some(t) if scope.contains(id) => Ok(t.clone()),
            _ => Err(ApiError::not_found("tenant")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: u64, parent: u64) -> TenantRecord {
        TenantRecord {
            tenant_id: id,
            name: format!("t{id}"),
            parent_id: parent,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn subtrees_kinds_and_inherited_zones() {
        let tree = Tree::build(
            vec![t(1, 0), t(2, 1), t(3, 1), t(4, 0), t(5, 4)],
            vec![(1, "Europe/Berlin".into()), (3, "Europe/Vienna".into())],
        );
        let mut sub = tree.subtree(1);
        sub.sort();
        assert_eq!(sub, vec![1, 2, 3]);
        assert_eq!(tree.subtree(2), vec![2]);
        assert_eq!(tree.kind(1), TenantKind::Dealer);
        assert_eq!(tree.kind(5), TenantKind::Customer);
        assert_eq!(tree.time_zone(2), "Europe/Berlin");
        assert_eq!(tree.time_zone(3), "Europe/Vienna");
        assert_eq!(tree.time_zone(5), "UTC");
    }
}
