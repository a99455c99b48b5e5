//! authkeep: better-auth's HTTP API and database schema, served by one Rust binary.
//!
//! Layers, outermost first: `cli`/`serve` (process), `http` (better-auth's wire format),
//! `auth` (the rules, as plain functions), `store` (SQL for PostgreSQL and SQLite).

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod email;
pub mod http;
pub mod metrics;
pub mod model;
pub mod report;
pub mod secret;
pub mod serve;
pub mod store;
pub mod telemetry;
