//! Black-box tests: a real server over a real database (SQLite and PostgreSQL), driven over HTTP.

mod helpers;

mod cli;
mod faults;
mod jwt;
mod origin;
mod routing;
mod session;
mod sign_in;
mod sign_up;
mod user;
mod vectors;
