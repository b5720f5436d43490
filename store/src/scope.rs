//! The one place where tenant filters are written (DESIGN.md, decision 7). Every query that reads
//! tenant data takes a [`Scope`] and asks it for its `WHERE` condition; nothing else writes one.

use std::collections::BTreeSet;

/// The tenants a caller may see: everything (the platform's administrators) or a set of tenant
/// ids (a dealer's subtree, a customer's own id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    tenants: Option<BTreeSet<u64>>,
}

impl Scope {
    /// Every tenant.
    pub fn everything() -> Scope {
        Scope { tenants: None }
    }

    /// Exactly these tenants (none at all when the set is empty).
    pub fn tenants(ids: impl IntoIterator<Item = u64>) -> Scope {
        Scope {
            tenants: Some(ids.into_iter().collect()),
        }
    }

    pub fn contains(&self, tenant_id: u64) -> bool {
        self.tenants.as_ref().is_none_or(|t| t.contains(&tenant_id))
    }

    /// This scope narrowed to `other`: the tenants in both.
    pub fn narrow(&self, other: &Scope) -> Scope {
        match (&self.tenants, &other.tenants) {
            (None, _) => other.clone(),
            (_, None) => self.clone(),
            (Some(a), Some(b)) => Scope {
                tenants: Some(a.intersection(b).copied().collect()),
            },
        }
    }

    /// The SQL condition on `column` (a `UInt64` tenant id column) that keeps this scope's rows.
    /// Ids are numbers, so the text needs no escaping.
    pub fn condition(&self, column: &str) -> String {
        match &self.tenants {
            None => "1".to_owned(),
            Some(ids) if ids.is_empty() => "0".to_owned(),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(u64::to_string).collect();
                format!("{column} IN ({})", list.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert_eq!(Scope::everything().condition("tenant_id"), "1");
        assert_eq!(Scope::tenants([]).condition("tenant_id"), "0");
        assert_eq!(
            Scope::tenants([3, 1]).condition("d.tenant_id"),
            "d.tenant_id IN (1, 3)"
        );
    }

    #[test]
    fn narrowing_keeps_only_common_tenants() {
        let dealer = Scope::tenants([1, 2, 3]);
        assert_eq!(dealer.narrow(&Scope::tenants([3, 4])), Scope::tenants([3]));
        assert_eq!(Scope::everything().narrow(&dealer), dealer);
        assert!(!dealer.contains(4) && Scope::everything().contains(4));
    }
}
