//! Fleetmeter's collector: SNMP polling with device profiles, discovery, a durable spool and
//! one-way delivery to the ingest gateway; and the printer fleet simulator used by tests,
//! benchmarks and the demo.

pub mod config;
pub mod deliver;
pub mod discover;
pub mod metrics;
pub mod poll;
pub mod profile;
pub mod report;
pub mod schedule;
pub mod service;
pub mod sim;
pub mod snmp;
pub mod spool;
pub mod status_page;
pub mod vendors;
