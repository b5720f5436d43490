//! SQL script files (the BI views, test fixtures): statements end with a line holding only `;`,
//! and lines starting with `--` are comments.

/// The statements of a script, comments removed, with `{db}` replaced by `database`.
pub fn sql_statements(script: &str, database: &str) -> Vec<String> {
    script
        .replace("{db}", database)
        .split("\n;\n")
        .map(|statement| {
            statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty() && s.trim() != ";")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_semicolon_lines_without_comments() {
        let script = "-- header\nSELECT 1\n;\n\n-- two\nSELECT '{db}'\n;\n";
        assert_eq!(
            sql_statements(script, "x"),
            vec!["SELECT 1", "\nSELECT 'x'"]
        );
    }
}
