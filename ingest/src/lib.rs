//! Fleetmeter's ingest gateway: readings in over XML-RPC, protobuf and gRPC, committed to
//! ClickHouse in group commits, acknowledged only once committed.
//!
//! The request path is the same for every transport: a front end (`xmlrpc`, `http`, `grpc`)
//! decodes the body into a wire batch and calls [`ingestor::Ingestor::submit`], which
//! authenticates ([`auth`]), rate-limits, validates, deduplicates, builds rows and hands them to
//! the group committer ([`commit`]).

pub mod auth;
pub mod cli;
pub mod commit;
pub mod config;
pub mod error;
pub mod grpc;
pub mod http;
pub mod ingestor;
pub mod ledger;
pub mod metrics;
pub mod server;
pub mod xmlrpc;

pub use server::Gateway;
