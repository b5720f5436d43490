//! Object identifiers as sequences of arcs, ordered arc by arc (the SNMP lexicographic order).

use std::fmt;
use std::str::FromStr;

/// An object identifier. Ordering compares arcs numerically, so `1.3.6.1.2` < `1.3.6.1.10`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(Vec<u32>);

/// A string that is not a dotted OID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an OID (expected dotted numbers such as 1.3.6.1.2.1.1.1.0)")]
pub struct OidError(pub String);

impl Oid {
    pub fn new(arcs: Vec<u32>) -> Self {
        Oid(arcs)
    }

    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` lies in the subtree under `prefix` (or is `prefix` itself).
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The arcs after `prefix`, when `self` is under it: a table row's index.
    pub fn suffix(&self, prefix: &Oid) -> Option<&[u32]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }

    /// `self` followed by `arcs`.
    pub fn child(&self, arcs: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(arcs);
        Oid(v)
    }
}

impl FromStr for Oid {
    type Err = OidError;

    fn from_str(s: &str) -> Result<Self, OidError> {
        let t = s.trim().trim_start_matches('.');
        if t.is_empty() {
            return Err(OidError(s.to_owned()));
        }
        let arcs = t
            .split('.')
            .map(|a| a.parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| OidError(s.to_owned()))?;
        if arcs.len() < 2 || arcs[0] > 2 {
            return Err(OidError(s.to_owned()));
        }
        Ok(Oid(arcs))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl serde::Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically_and_parses_leading_dot() {
        let a: Oid = ".1.3.6.1.2".parse().unwrap();
        let b: Oid = "1.3.6.1.10".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "1.3.6.1.2");
        assert!("1.3.x".parse::<Oid>().is_err());
        assert!("".parse::<Oid>().is_err());
        assert!("0".parse::<Oid>().is_err());
        let t: Oid = "1.3.6.1.2.1.43.11.1.1.9.1.3".parse().unwrap();
        let col: Oid = "1.3.6.1.2.1.43.11.1.1.9".parse().unwrap();
        assert_eq!(t.suffix(&col), Some(&[1, 3][..]));
        assert!(t.starts_with(&col));
    }
}
