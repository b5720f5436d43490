//! Fleetmeter's query service: tenancy and roles, the REST API with its OpenAPI document,
//! reports, health and metrics.

pub mod api;
pub mod auth;
pub mod bi;
pub mod config;
pub mod detail;
pub mod devices;
pub mod error;
pub mod metrics;
pub mod reporting;
pub mod server;
pub mod state;
pub mod tenancy;

pub use server::QueryService;
