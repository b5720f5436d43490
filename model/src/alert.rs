//! Rows of the device's own alert table (`prtAlertTable`).

closed_enum! {
    /// `prtAlertSeverityLevel`, folded to three levels.
    pub enum Severity ("alert severity") {
        Critical => "critical",
        Warning => "warning",
        Other => "other",
    }
}

/// One alert as the device lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alert {
    pub severity: Severity,
    /// `prtAlertGroup` as a name (`markerSupplies`, `input`, ...) or number.
    pub group: String,
    /// `prtAlertCode` (RFC 3805 `PrtAlertCodeTC`) or a vendor code.
    pub code: i64,
    pub description: String,
    /// `prtAlertIndex`: identifies the alert while it stays in the table.
    pub index: i64,
    pub training_level: String,
}
