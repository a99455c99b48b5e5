//! Black-box tests: a real server over a real database (SQLite and PostgreSQL), driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // test code: a panic is a failed test

mod helpers;

mod admin_cli;
mod admin_impersonation;
mod admin_plugin;
mod cli;
mod cookie_cache;
mod cookies;
mod doctor;
mod email;
mod faults;
mod hardening;
mod hosted;
mod idp;
mod jwt;
mod layers;
mod metrics;
mod open_api;
mod origin;
mod plugin_logs;
mod rate_limit;
mod routing;
mod schema;
mod schema_export;
mod secondary_storage;
mod services;
mod session;
mod sign_in;
mod sign_up;
mod social;
mod two_factor;
mod user;
mod vectors;
