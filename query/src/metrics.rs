//! Metric names of the query service, with their descriptions.

use metrics::{Unit, describe_counter, describe_histogram};

pub const REQUESTS: &str = "fleet_query_requests_total";
pub const REQUEST_SECONDS: &str = "fleet_query_request_seconds";
pub const LOGINS: &str = "fleet_query_logins_total";
pub const LOGIN_RATE_LIMITED: &str = "fleet_query_login_rate_limited_total";
pub const REPORTS: &str = "fleet_query_reports_total";
pub const REPORT_ROWS: &str = "fleet_query_report_rows_total";
pub const REPORT_SECONDS: &str = "fleet_query_report_seconds";

pub fn describe() {
    describe_counter!(REQUESTS, "API requests by route and status class.");
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "API request latency by route."
    );
    describe_counter!(LOGINS, "Login attempts by outcome.");
    describe_counter!(
        LOGIN_RATE_LIMITED,
        "Login attempts refused by a rate limit."
    );
    describe_counter!(REPORTS, "Reports served by name, format and outcome.");
    describe_counter!(REPORT_ROWS, "Report rows streamed, by name.");
    describe_histogram!(
        REPORT_SECONDS,
        Unit::Seconds,
        "Time to stream a report, by name."
    );
}
