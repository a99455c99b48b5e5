//! The messages authkeep sends, each a subject, a text body and an HTML body. Defaults are
//! built in; a file named `<kind>.subject`, `<kind>.txt` or `<kind>.html` in the configured
//! templates directory replaces the matching part. Placeholders: `{{app_name}}`, `{{url}}`,
//! `{{name}}`, `{{email}}`, `{{token}}` (values are HTML-escaped in the HTML body).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VerifyEmail,
    ResetPassword,
    MagicLink,
    ChangeEmail,
    DeleteAccount,
    Otp,
}

impl Kind {
    pub fn file_stem(self) -> &'static str {
        match self {
            Kind::VerifyEmail => "verify-email",
            Kind::ResetPassword => "reset-password",
            Kind::MagicLink => "magic-link",
            Kind::ChangeEmail => "change-email",
            Kind::DeleteAccount => "delete-account",
            Kind::Otp => "otp",
        }
    }

    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::VerifyEmail => (
                "Verify your email for {{app_name}}",
                "Hello,\n\nConfirm your email address for {{app_name}} by opening this link:\n\n{{url}}\n\nIf you did not sign up, ignore this message.\n",
                "<p>Hello,</p><p>Confirm your email address for {{app_name}}:</p><p><a href=\"{{url}}\">Verify my email</a></p><p>If you did not sign up, ignore this message.</p>",
            ),
            Kind::ChangeEmail => (
                "Confirm the change of your {{app_name}} email",
                "Hello,\n\nTo change the email of your {{app_name}} account to {{email}}, open:\n\n{{url}}\n\nIf you did not ask for this, ignore this message.\n",
                "<p>Hello,</p><p>To change the email of your {{app_name}} account to {{email}}:</p><p><a href=\"{{url}}\">Confirm the change</a></p><p>If you did not ask for this, ignore this message.</p>",
            ),
            Kind::DeleteAccount => (
                "Confirm the deletion of your {{app_name}} account",
                "Hello,\n\nTo delete your {{app_name}} account for good, open:\n\n{{url}}\n\nIf you did not ask for this, ignore this message; nothing will be deleted.\n",
                "<p>Hello,</p><p><a href=\"{{url}}\">Delete my {{app_name}} account</a></p><p>If you did not ask for this, ignore this message; nothing will be deleted.</p>",
            ),
            Kind::Otp => (
                "Your {{app_name}} code: {{token}}",
                "Hello,\n\nYour {{app_name}} code is {{token}}. It works once, for a few minutes.\n\nIf you did not ask for it, ignore this message.\n",
                "<p>Hello,</p><p>Your {{app_name}} code is <strong>{{token}}</strong>. It works once, for a few minutes.</p><p>If you did not ask for it, ignore this message.</p>",
            ),
            Kind::MagicLink => (
                "Sign in to {{app_name}}",
                "Hello,\n\nOpen this link to sign in to {{app_name}}. It works once, for a few minutes:\n\n{{url}}\n\nIf you did not ask for it, ignore this message.\n",
                "<p>Hello,</p><p><a href=\"{{url}}\">Sign in to {{app_name}}</a></p><p>The link works once, for a few minutes. If you did not ask for it, ignore this message.</p>",
            ),
            Kind::ResetPassword => (
                "Reset your {{app_name}} password",
                "Hello,\n\nSomeone asked to reset the password of your {{app_name}} account. To choose a new one, open:\n\n{{url}}\n\nIf it was not you, ignore this message; your password stays as it is.\n",
                "<p>Hello,</p><p>Someone asked to reset the password of your {{app_name}} account.</p><p><a href=\"{{url}}\">Choose a new password</a></p><p>If it was not you, ignore this message; your password stays as it is.</p>",
            ),
        }
    }
}

/// Values substituted into a template.
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    pub app_name: &'a str,
    pub url: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub token: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Control characters in a value become spaces: a stored name (perhaps written by another
/// server) must not add lines to a message.
fn single_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if crate::model::rewrites_text(c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn fill(template: &str, v: &Values<'_>, escape: bool) -> String {
    let e = |s: &str| {
        let s = single_line(s);
        if escape { escape_html(&s) } else { s }
    };
    template
        .replace("{{app_name}}", &e(v.app_name))
        .replace("{{url}}", &e(v.url))
        .replace("{{name}}", &e(v.name))
        .replace("{{email}}", &e(v.email))
        .replace("{{token}}", &e(v.token))
}

/// Renders `kind`, reading overrides from `dir` when given (read on each send, so edits apply at once).
pub fn render(kind: Kind, dir: Option<&Path>, v: &Values<'_>) -> Rendered {
    let (subject, text, html) = kind.defaults();
    let read = |ext: &str, default: &str| {
        dir.and_then(|d| {
            std::fs::read_to_string(d.join(format!("{}.{ext}", kind.file_stem()))).ok()
        })
        .unwrap_or_else(|| default.to_owned())
    };
    Rendered {
        subject: fill(read("subject", subject).trim(), v, false),
        text: fill(&read("txt", text), v, false),
        html: fill(&read("html", html), v, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_add_lines() {
        let v = Values {
            name: "Ann\n\nSECURITY ALERT: https://evil.example\r\u{1b}[0m\u{2028}\u{202e}",
            ..Default::default()
        };
        let r = render(Kind::VerifyEmail, None, &v);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("verify-email.txt"),
            "Dear {{name}}:\n{{url}}\n",
        )
        .unwrap();
        let custom = render(Kind::VerifyEmail, Some(dir.path()), &v);
        assert!(!r.text.contains("SECURITY"));
        assert_eq!(custom.text.lines().count(), 2, "{:?}", custom.text);
        assert!(custom.text.starts_with("Dear Ann  SECURITY ALERT"));
    }

    #[test]
    fn defaults_and_overrides() {
        let v = Values {
            app_name: "Acme",
            url: "https://a.test/x?a=1&b=2",
            name: "<Ann>",
            email: "a@b.co",
            token: "t",
        };
        let r = render(Kind::VerifyEmail, None, &v);
        assert_eq!(r.subject, "Verify your email for Acme");
        assert!(r.text.contains("https://a.test/x?a=1&b=2"));
        assert!(r.html.contains("https://a.test/x?a=1&amp;b=2"));
        assert!(
            !r.text.contains("Ann"),
            "security mail does not quote the user's name"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("reset-password.subject"),
            "Reset for {{email}}\n",
        )
        .unwrap();
        let r = render(Kind::ResetPassword, Some(dir.path()), &v);
        assert_eq!(r.subject, "Reset for a@b.co");
        assert!(r.text.contains("Choose") || r.text.contains("choose"));
    }
}
