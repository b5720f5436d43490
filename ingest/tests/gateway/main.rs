//! Integration tests of the gateway against the real ClickHouse server (`deploy/dev.sh test`
//! starts it). Each test uses its own database. One test binary keeps link time down; nextest
//! runs its tests in parallel.

mod common;

mod admin;
mod hostile;
mod idempotency;
mod python_client;
mod resilience;
mod transports;
