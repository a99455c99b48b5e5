//! `authkeep session …`: list a user's live sessions, revoke them (all of a user's, or one by
//! token). Revocation goes through the store's routing, so sessions kept in Redis end too.

use std::process::ExitCode;

use clap::Subcommand;

use super::admin::{self, Failure, date, print_json};
use super::printable;
use crate::auth::admin::{self as ops, UserRef};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub(super) enum SessionCommand {
    /// List a user's live sessions, oldest first (with their tokens: treat the output as
    /// a secret).
    List {
        #[arg(long)]
        email: String,
        /// Print the sessions as JSON (as better-auth's list-sessions returns them).
        #[arg(long)]
        json: bool,
    },
    /// End every session of a user, or the one session a token names.
    Revoke {
        #[arg(long, required_unless_present = "token", conflicts_with = "token")]
        email: Option<String>,
        /// The session token (the part of the cookie before the dot).
        #[arg(long)]
        token: Option<String>,
    },
}

pub(super) fn run(cfg: &Config, command: SessionCommand) -> ExitCode {
    admin::run(cfg, async move |a, cfg| match command {
        SessionCommand::List { email, json } => {
            let who = UserRef::Email(admin::email(&email)?);
            let user = admin::find(a, cfg, &who).await?;
            let sessions = ops::list_sessions(a, &user.id)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            if json {
                return print_json(&sessions);
            }
            println!(
                "{:<32}  {:<24}  {:<24}  {:<15}  USER AGENT",
                "TOKEN", "CREATED", "EXPIRES", "IP"
            );
            for s in &sessions {
                println!(
                    "{:<32}  {:<24}  {:<24}  {:<15}  {}",
                    s.token,
                    date(&s.created_at),
                    date(&s.expires_at),
                    printable(s.ip_address.as_deref().unwrap_or("")),
                    printable(s.user_agent.as_deref().unwrap_or(""))
                );
            }
            println!("{} live session(s) of {}", sessions.len(), user.email);
            Ok(())
        }
        SessionCommand::Revoke {
            email: Some(email), ..
        } => {
            let who = UserRef::Email(admin::email(&email)?);
            let user = admin::find(a, cfg, &who).await?;
            let live = ops::list_sessions(a, &user.id)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            ops::revoke_sessions(a, &user.id)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            println!(
                "revoked every session of {} ({} live)",
                user.email,
                live.len()
            );
            Ok(())
        }
        SessionCommand::Revoke {
            token: Some(token), ..
        } => {
            // A signed cookie value (`token.signature`, possibly percent-encoded) names the
            // same session as its token.
            let token = token.replace("%2E", ".").replace("%2e", ".");
            let token = token.split('.').next().unwrap_or_default();
            match ops::revoke_session(a, token)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?
            {
                Some(s) => {
                    println!("revoked session {} of user {}", s.id, s.user_id);
                    Ok(())
                }
                None => Err(Failure::Refused(
                    "no live session has this token (already signed out, expired or revoked)"
                        .into(),
                )),
            }
        }
        SessionCommand::Revoke {
            email: None,
            token: None,
        } => Err(Failure::Usage("give --email or --token".into())),
    })
}
