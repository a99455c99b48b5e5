//! Sending mail: SMTP through lettre (pooled connections, implicit TLS, STARTTLS or plain), the
//! development `log` transport that prints each message with its link, or an in-memory outbox
//! (for tests that read the mail an end user would get).
//! Sends run in the background with a timeout, so a slow or dead SMTP server never holds a
//! request; failures are logged inside the request's span (with its request id).

pub mod templates;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::Instrument;

use crate::crypto::Secret;
use crate::metrics::{Metrics, Outcome};
pub use templates::{Kind, Values};

/// Whether the log transport prints message bodies. Links carry sign-in and reset tokens, so
/// bodies are shown in development only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogBodies {
    Shown,
    Hidden,
}

/// How to send mail; built from the configuration by the process layer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `smtp://…`, `smtps://…`; empty for the log transport.
    pub smtp_url: Secret,
    pub from: String,
    pub app_name: String,
    pub templates_dir: Option<PathBuf>,
    pub timeout: Duration,
    pub log_bodies: LogBodies,
}

#[derive(Clone)]
enum Transport {
    Log(LogBodies),
    /// With where it delivers (`smtps://host:port`, no credentials), for the start-up log.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, String),
    Memory(Outbox),
}

// The SMTP transport's own `Debug` would print its credentials.
impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Log(bodies) => write!(f, "Log({bodies:?})"),
            Transport::Smtp(_, target) => write!(f, "Smtp({target})"),
            Transport::Memory(_) => f.write_str("Memory"),
        }
    }
}

/// A message as the recipient gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub kind: Kind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where the in-memory transport puts messages; shared by clones.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<SentMail>>>);

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn messages(&self) -> Vec<SentMail> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn push(&self, mail: SentMail) {
        if let Ok(mut m) = self.0.lock() {
            m.push(mail);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email `from` address {from:?} is not valid")]
    From {
        from: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("email smtp_url is not valid")]
    SmtpUrl(#[source] lettre::transport::smtp::Error),
    #[error("recipient address is not valid")]
    Recipient(#[source] lettre::address::AddressError),
    #[error("could not build the message")]
    Build(#[source] lettre::error::Error),
    #[error("the SMTP server refused or failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the SMTP server did not answer NOOP")]
    NotReady,
}

/// Sends authkeep's messages.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    pub app_name: String,
    templates_dir: Option<PathBuf>,
    timeout: Duration,
    /// Where sends and failures are counted (`/metrics`), once the server wires it in.
    metrics: Option<Arc<Metrics>>,
}

impl Mailer {
    pub fn new(settings: &Settings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings.from.parse().map_err(|source| MailError::From {
            from: settings.from.clone(),
            source,
        })?;
        let timeout = settings.timeout.max(Duration::from_secs(1));
        let url = settings.smtp_url.expose().trim();
        let transport = if url.is_empty() {
            Transport::Log(settings.log_bodies)
        } else {
            let builder =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(MailError::SmtpUrl)?;
            let target = url::Url::parse(url)
                .map(|u| {
                    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                    format!("{}://{}{port}", u.scheme(), u.host_str().unwrap_or(""))
                })
                .unwrap_or_else(|_| "smtp".into());
            Transport::Smtp(builder.timeout(Some(timeout)).build(), target)
        };
        Ok(Mailer {
            transport,
            from,
            app_name: settings.app_name.clone(),
            templates_dir: settings.templates_dir.clone(),
            timeout,
            metrics: None,
        })
    }

    /// This mailer, counting what it sends and fails to send in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Mailer {
        Mailer {
            metrics: Some(metrics),
            ..self
        }
    }

    /// This mailer, delivering into `outbox` instead (tests read what a user would receive).
    pub fn into_outbox(self, outbox: Outbox) -> Mailer {
        Mailer {
            transport: Transport::Memory(outbox),
            ..self
        }
    }

    /// Whether the SMTP server answers: connect, TLS as configured, EHLO and log in, without
    /// sending anything (`authkeep doctor`). `Ok(false)`: there is no SMTP server to ask.
    pub async fn probe(&self) -> Result<bool, MailError> {
        match &self.transport {
            Transport::Smtp(smtp, _) => match smtp.test_connection().await {
                Ok(true) => Ok(true),
                Ok(false) => Err(MailError::NotReady),
                Err(e) => Err(MailError::Smtp(e)),
            },
            Transport::Log(_) | Transport::Memory(_) => Ok(false),
        }
    }

    /// Where mail goes, for the startup log (never the password).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Log(LogBodies::Shown) => {
                "log (messages are printed to the log; set [email] smtp_url to deliver them)".into()
            }
            Transport::Log(LogBodies::Hidden) => {
                "log (NOT delivered; production logs omit bodies and links; set [email] smtp_url)"
                    .into()
            }
            Transport::Smtp(_, target) => format!("smtp ({target})"),
            Transport::Memory(_) => "memory (tests)".into(),
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
                let outcome = match tokio::time::timeout(this.timeout, this.deliver(kind, &to, rendered)).await {
                    Ok(Ok(())) => {
                        tracing::info!(kind = kind.file_stem(), "email sent");
                        Outcome::Success
                    }
                    Ok(Err(e)) => {
                        tracing::error!(kind = kind.file_stem(), error = %crate::report::Report(&e), "email could not be sent");
                        Outcome::Failure
                    }
                    Err(_) => {
                        tracing::error!(kind = kind.file_stem(), "email timed out");
                        Outcome::Failure
                    }
                };
                if let Some(m) = &this.metrics {
                    m.mail(kind.file_stem(), outcome);
                }
            }
            .instrument(span),
        );
    }

    async fn deliver(&self, kind: Kind, to: &str, r: templates::Rendered) -> Result<(), MailError> {
        match &self.transport {
            Transport::Memory(outbox) => {
                outbox.push(SentMail {
                    kind,
                    to: to.to_owned(),
                    subject: r.subject,
                    text: r.text,
                    html: r.html,
                });
                Ok(())
            }
            Transport::Log(LogBodies::Shown) => {
                // Development: the whole point is to show the link.
                tracing::warn!(to, subject = %r.subject, body = %r.text, "email (log transport)");
                Ok(())
            }
            Transport::Log(LogBodies::Hidden) => {
                // Not even the subject: a one-time code's subject carries the code.
                let _ = r;
                tracing::warn!("email not delivered: no SMTP server is configured");
                Ok(())
            }
            Transport::Smtp(smtp, _) => {
                let to: Mailbox = to.parse().map_err(MailError::Recipient)?;
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(r.subject)
                    .multipart(MultiPart::alternative_plain_html(r.text, r.html))
                    .map_err(MailError::Build)?;
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(MailError::Smtp)
            }
        }
    }
}
