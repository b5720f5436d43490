//! ClickHouse connection settings, resolved from flags, environment and a TOML file.

use serde::Deserialize;

use crate::StoreError;

/// Where ClickHouse is and how to log in. Defaults: `http://127.0.0.1:8123`, user `default`,
/// no password, database `fleet`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseSettings {
    pub url: String,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl std::fmt::Debug for ClickHouseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("ClickHouseSettings")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// One source of settings: flags and environment (merged by the command-line parser) or the
/// `[clickhouse]` table of a TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialClickHouseSettings {
    pub url: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
}

impl ClickHouseSettings {
    pub const DEFAULT_URL: &'static str = "http://127.0.0.1:8123";
    pub const DEFAULT_DATABASE: &'static str = "fleet";

    /// Resolves settings: each value from the first source that has it, in the order given
    /// (flags and environment first, then the file), then the default.
    pub fn resolve(sources: &[&PartialClickHouseSettings]) -> Result<Self, StoreError> {
        let pick = |get: fn(&PartialClickHouseSettings) -> &Option<String>| {
            sources.iter().find_map(|s| get(s).clone())
        };
        let settings = ClickHouseSettings {
            url: pick(|s| &s.url).unwrap_or_else(|| Self::DEFAULT_URL.to_owned()),
            user: pick(|s| &s.user).unwrap_or_else(|| "default".to_owned()),
            password: pick(|s| &s.password).unwrap_or_default(),
            database: pick(|s| &s.database).unwrap_or_else(|| Self::DEFAULT_DATABASE.to_owned()),
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), StoreError> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(StoreError::Settings(format!(
                "url `{}` must start with http:// or https://",
                self.url
            )));
        }
        if self.url.starts_with("https://") {
            return Err(StoreError::Settings(
                "https is not supported yet: reach ClickHouse over loopback or a TLS proxy".into(),
            ));
        }
        let name_ok = !self.database.is_empty()
            && self.database.len() <= 64
            && self
                .database
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !self.database.as_bytes()[0].is_ascii_digit();
        if !name_ok {
            return Err(StoreError::Settings(format!(
                "database `{}` must be 1 to 64 letters, digits or `_`, not starting with a digit",
                self.database
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(url: Option<&str>, database: Option<&str>) -> PartialClickHouseSettings {
        PartialClickHouseSettings {
            url: url.map(str::to_owned),
            database: database.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn earlier_sources_win_and_defaults_fill_the_rest() {
        let flags = partial(Some("http://flags:8123"), None);
        let file = partial(Some("http://file:8123"), Some("from_file"));
        let settings = ClickHouseSettings::resolve(&[&flags, &file]).unwrap();
        assert_eq!(settings.url, "http://flags:8123");
        assert_eq!(settings.database, "from_file");
        assert_eq!(settings.user, "default");
    }

    #[test]
    fn bad_database_names_and_urls_are_refused() {
        assert!(ClickHouseSettings::resolve(&[&partial(None, Some("a-b"))]).is_err());
        assert!(ClickHouseSettings::resolve(&[&partial(None, Some("1abc"))]).is_err());
        assert!(ClickHouseSettings::resolve(&[&partial(Some("ftp://x"), None)]).is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let secret = PartialClickHouseSettings {
            password: Some("hunter2".into()),
            ..Default::default()
        };
        let settings = ClickHouseSettings::resolve(&[&secret]).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
