//! `authkeep user …`: create, list, show, delete, set a password, verify an address. Thin: the
//! operations are `auth::admin`'s; this file reads flags and prints.

use std::process::ExitCode;

use clap::Subcommand;

use super::admin::{self, Failure, Outcome, PasswordInput, date, print_json};
use super::printable;
use crate::auth::admin::{self as ops, Admin, NewUser, Sessions, UserRef};
use crate::config::Config;
use crate::model::User;

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
    /// Create a user with an email and password, as sign-up would (the configured password
    /// rules and additional-field defaults apply; no session is started, no mail is sent).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        password: PasswordInput,
        /// Mark the address verified (no verification mail is needed).
        #[arg(long)]
        verified: bool,
        /// Print the new user as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List users, oldest first, a page at a time.
    List {
        /// Users per page (at most 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=ops::MAX_PAGE))]
        limit: i64,
        /// Users to skip (the next page starts at offset + limit).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
        offset: i64,
        /// Print `{users, total, limit, offset}` as JSON (better-auth's list-users answer).
        #[arg(long)]
        json: bool,
    },
    /// Show one user with its accounts and the number of live sessions.
    Show {
        #[arg(long, required_unless_present = "id", conflicts_with = "id")]
        email: Option<String>,
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a user with all its accounts and sessions (signed out everywhere at once).
    /// Without --yes, only says what would be deleted.
    Delete {
        #[arg(long)]
        email: String,
        /// Really delete.
        #[arg(long)]
        yes: bool,
    },
    /// Set a user's password (creating the email/password account for a user who signed up
    /// through a provider or a link). Signed-in devices stay signed in, as with better-auth's
    /// admin set-user-password, unless --revoke-sessions.
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordInput,
        /// Also end every session of the user (when the old password may have leaked).
        #[arg(long)]
        revoke_sessions: bool,
    },
    /// Mark a user's email address verified.
    VerifyEmail {
        #[arg(long)]
        email: String,
    },
}

pub(super) fn run(cfg: &Config, command: UserCommand) -> ExitCode {
    admin::run(cfg, async move |a, cfg| match command {
        UserCommand::Create {
            email,
            name,
            password,
            verified,
            json,
        } => {
            let input = NewUser {
                name,
                email: admin::email(&email)?,
                password: Some(password.read()?),
                email_verified: verified,
                fields: Default::default(),
            };
            let user = ops::create_user(a, input)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            if json {
                return print_json(&user);
            }
            println!("created user {} <{}>", user.id, user.email);
            Ok(())
        }
        UserCommand::List {
            limit,
            offset,
            json,
        } => list(a, cfg, limit, offset, json).await,
        UserCommand::Show { email, id, json } => {
            let who = match (email, id) {
                (Some(e), _) => UserRef::Email(admin::email(&e)?),
                (None, Some(id)) => UserRef::Id(id),
                (None, None) => return Err(Failure::Usage("give --email or --id".into())),
            };
            let user = admin::find(a, cfg, &who).await?;
            let details = ops::user_details(a, user)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            if json {
                return print_json(&details);
            }
            print_user(&details.user);
            println!("sessions:   {} live", details.active_sessions);
            for acc in &details.accounts {
                println!(
                    "account:    {} (id {}, since {})",
                    acc.provider_id,
                    acc.id,
                    date(&acc.created_at)
                );
            }
            Ok(())
        }
        UserCommand::Delete { email, yes } => {
            let who = UserRef::Email(admin::email(&email)?);
            let user = admin::find(a, cfg, &who).await?;
            let d = ops::user_details(a, user)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            if !yes {
                return Err(Failure::Refused(format!(
                    "not deleted: this would delete user {} <{}> with {} account(s) and {} live session(s); add --yes to delete",
                    d.user.id,
                    d.user.email,
                    d.accounts.len(),
                    d.active_sessions
                )));
            }
            ops::delete_user(a, &d.user.id)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            println!(
                "deleted user {} <{}>, its {} account(s) and every session",
                d.user.id,
                d.user.email,
                d.accounts.len()
            );
            Ok(())
        }
        UserCommand::SetPassword {
            email,
            password,
            revoke_sessions,
        } => {
            let who = UserRef::Email(admin::email(&email)?);
            let password = password.read()?;
            let user = admin::find(a, cfg, &who).await?;
            let sessions = if revoke_sessions {
                Sessions::Revoke
            } else {
                Sessions::Keep
            };
            ops::set_password(a, &user.id, &password, sessions)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            let ended = if revoke_sessions {
                "; every session ended"
            } else {
                "; sessions kept"
            };
            println!("password set for {} <{}>{ended}", user.id, user.email);
            Ok(())
        }
        UserCommand::VerifyEmail { email } => {
            let who = UserRef::Email(admin::email(&email)?);
            let user = admin::find(a, cfg, &who).await?;
            let changed = ops::verify_email(a, &user)
                .await
                .map_err(|e| admin::failure(e, a, cfg))?;
            if changed {
                println!("verified {}", user.email);
            } else {
                println!("{} was already verified", user.email);
            }
            Ok(())
        }
    })
}

async fn list(a: Admin<'_>, cfg: &Config, limit: i64, offset: i64, json: bool) -> Outcome {
    let page = ops::list_users(a, limit, offset)
        .await
        .map_err(|e| admin::failure(e, a, cfg))?;
    if json {
        return print_json(&page);
    }
    println!(
        "{:<32}  {:<8}  {:<24}  {:<24}  NAME",
        "ID", "VERIFIED", "CREATED", "EMAIL"
    );
    for u in &page.users {
        let verified = if u.email_verified { "yes" } else { "no" };
        println!(
            "{:<32}  {verified:<8}  {:<24}  {:<24}  {}",
            u.id,
            date(&u.created_at),
            printable(&u.email),
            printable(&u.name)
        );
    }
    let shown = i64::try_from(page.users.len()).unwrap_or(i64::MAX);
    let end = page.offset + shown;
    if shown == 0 {
        println!("(no users at offset {} of {})", page.offset, page.total);
    } else {
        println!("users {}-{} of {}", page.offset + 1, end, page.total);
    }
    if end < page.total {
        println!("next page: --offset {end} --limit {}", page.limit);
    }
    Ok(())
}

fn print_user(u: &User) {
    println!("id:         {}", u.id);
    println!("email:      {}", printable(&u.email));
    println!("name:       {}", printable(&u.name));
    println!(
        "verified:   {}",
        if u.email_verified { "yes" } else { "no" }
    );
    if let Some(image) = &u.image {
        println!("image:      {}", printable(image));
    }
    println!("created:    {}", date(&u.created_at));
    println!("updated:    {}", date(&u.updated_at));
    for (k, v) in &u.additional {
        println!("{:<11} {}", format!("{k}:"), printable(&v.to_string()));
    }
}
