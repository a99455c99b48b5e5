//! Sending mail: SMTP through lettre (pooled connections, implicit TLS, STARTTLS or plain), or
//! the development `log` transport that prints each message with its link.
//! Sends run in the background with a timeout, so a slow or dead SMTP server never holds a
//! request; failures are logged inside the request's span (with its request id).

pub mod templates;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::Instrument;

use crate::config::EmailConfig;
pub use templates::{Kind, Values};

#[derive(Debug, Clone)]
enum Transport {
    /// Prints each message; with `reveal`, its body and link too (development only: links
    /// carry sign-in and reset tokens, which must never reach production logs).
    Log {
        reveal: bool,
    },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email configuration: {0}")]
    Config(String),
}

/// Sends authkeep's messages.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    pub app_name: String,
    templates_dir: Option<PathBuf>,
    timeout: Duration,
}

impl Mailer {
    /// `production` hides message bodies (and so their tokens) from the log transport.
    pub fn from_config(cfg: &EmailConfig, production: bool) -> Result<Mailer, MailError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("from {:?}: {e}", cfg.from)))?;
        let timeout = Duration::from_secs(cfg.timeout.max(1));
        let transport = if cfg.smtp_url.expose().trim().is_empty() {
            Transport::Log {
                reveal: !production,
            }
        } else {
            let builder =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(cfg.smtp_url.expose().trim())
                    .map_err(|e| MailError::Config(format!("smtp_url: {e}")))?;
            Transport::Smtp(builder.timeout(Some(timeout)).build())
        };
        let templates_dir =
            (!cfg.templates_dir.is_empty()).then(|| PathBuf::from(&cfg.templates_dir));
        Ok(Mailer {
            transport,
            from,
            app_name: cfg.app_name.clone(),
            templates_dir,
            timeout,
        })
    }

    /// Where mail goes, for the startup log (never the password).
    pub fn describe(&self) -> &'static str {
        match self.transport {
            Transport::Log { reveal: true } => {
                "log (messages are printed to the log; set [email] smtp_url to deliver them)"
            }
            Transport::Log { reveal: false } => {
                "log (NOT delivered; production logs omit bodies and links; set [email] smtp_url)"
            }
            Transport::Smtp(_) => "smtp",
        }
    }

    /// Mails `user` a message of `kind` carrying `url` (and `token`, for templates that show it).
    pub fn send_to_user(&self, kind: Kind, user: &crate::model::User, url: &str, token: &str) {
        let values = Values {
            url,
            name: &user.name,
            email: &user.email,
            token,
            ..Default::default()
        };
        self.send(kind, &user.email, values);
    }

    /// Queues a message; returns at once. The send gets `timeout` to finish.
    pub fn send(&self, kind: Kind, to: &str, values: Values<'_>) {
        let values = Values {
            app_name: &self.app_name,
            ..values
        };
        let rendered = templates::render(kind, self.templates_dir.as_deref(), &values);
        let this = self.clone();
        let to = to.to_owned();
        let span = tracing::Span::current();
        tokio::spawn(
            async move {
                match tokio::time::timeout(this.timeout, this.deliver(&to, rendered)).await {
                    Ok(Ok(())) => tracing::info!(kind = kind.file_stem(), "email sent"),
                    Ok(Err(e)) => tracing::error!(kind = kind.file_stem(), error = %e, "email could not be sent"),
                    Err(_) => tracing::error!(kind = kind.file_stem(), "email timed out"),
                }
            }
            .instrument(span),
        );
    }

    async fn deliver(&self, to: &str, r: templates::Rendered) -> Result<(), String> {
        match &self.transport {
            Transport::Log { reveal: true } => {
                // Development: the whole point is to show the link.
                tracing::warn!(to, subject = %r.subject, body = %r.text, "email (log transport)");
                Ok(())
            }
            Transport::Log { reveal: false } => {
                // Not even the subject: a one-time code's subject carries the code.
                let _ = r;
                tracing::warn!("email not delivered: no SMTP server is configured");
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(r.subject)
                    .multipart(MultiPart::alternative_plain_html(r.text, r.html))
                    .map_err(|e| e.to_string())?;
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}
