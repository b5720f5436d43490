//! Server version detection and the features each version has.

use std::fmt;

/// A ClickHouse server version as `SELECT version()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ServerVersion {
    /// Parses `18.16.1`, `24.8.4.13` and the like; parts after the third are ignored.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(ServerVersion {
            major,
            minor,
            patch,
        })
    }

    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What the schema may use on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `LowCardinality(String)`: production-ready since 19.3.
    pub low_cardinality: bool,
    /// `CODEC(DoubleDelta|Delta|Gorilla|T64, ZSTD)`: all of them since 19.11.
    pub codecs: bool,
    /// Table `TTL`: since 19.6; `ttl_only_drop_parts` is used from 20.1.
    pub ttl: bool,
    /// `SETTINGS ttl_only_drop_parts = 1`.
    pub ttl_only_drop_parts: bool,
}

impl Features {
    /// The features of a server version.
    pub fn of(version: ServerVersion) -> Features {
        Features {
            low_cardinality: version.at_least(19, 3),
            codecs: version.at_least(19, 11),
            ttl: version.at_least(19, 6),
            ttl_only_drop_parts: version.at_least(20, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let old = ServerVersion::parse("18.16.1").unwrap();
        let new = ServerVersion::parse("24.8.4.13").unwrap();
        assert!(old < new);
        assert_eq!(new.to_string(), "24.8.4");
        assert_eq!(ServerVersion::parse("garbage"), None);
    }

    #[test]
    fn old_servers_get_plain_columns_and_new_servers_everything() {
        let old = Features::of(ServerVersion::parse("18.16.1").unwrap());
        assert!(!old.low_cardinality && !old.codecs && !old.ttl);
        let new = Features::of(ServerVersion::parse("26.9.1").unwrap());
        assert!(new.low_cardinality && new.codecs && new.ttl && new.ttl_only_drop_parts);
    }
}
