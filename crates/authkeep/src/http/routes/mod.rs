//! One module per better-auth route file. Handlers parse the request, call a domain function
//! from `crate::auth`, and shape better-auth's response.

pub mod account;
pub mod admin;
pub mod email_otp;
pub mod email_verification;
pub mod impersonation;
pub mod jwt;
pub mod magic_link;
pub mod ok;
pub mod password;
pub mod session;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
pub mod social;
pub mod two_factor;
pub mod update_user;
