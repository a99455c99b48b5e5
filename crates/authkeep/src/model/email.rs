//! Email addresses as better-auth accepts them: zod's `z.email()` pattern, stored lower-cased.

use std::fmt;

/// A valid email address, lower-cased as better-auth stores and looks it up. The only way to
/// get one is [`Email::parse`], so code holding an `Email` never checks or normalises again.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl Email {
    pub fn parse(raw: &str) -> Result<Email, InvalidEmail> {
        if is_valid(raw) {
            Ok(Email(raw.to_lowercase()))
        } else {
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// zod 4's default email rule: a local part of `[A-Za-z0-9_'+.-]` that neither starts with a dot
/// nor contains `..` and ends in `[A-Za-z0-9_+-]`, then `@`, dot-separated labels that start
/// alphanumeric, and a final label of two or more letters.
fn is_valid(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.starts_with('.') || email.contains("..") {
        return false;
    }
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_'+-.".contains(&b));
    let last_ok = local
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b));
    if !local_ok || !last_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    let tld_ok = tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok = rest.iter().all(|l| {
        l.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    tld_ok && rest_ok
}

#[cfg(test)]
mod tests {
    use super::{Email, is_valid};

    #[test]
    fn parsing_lower_cases_once() {
        assert_eq!(
            Email::parse("Ada@Example.COM").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(Email::parse("nope").is_err());
    }

    #[test]
    fn accepts_what_zod_accepts() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'neil@x-y.org",
            "A_B@EXAMPLE.COM",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_what_zod_rejects() {
        for bad in [
            "not-an-email",
            "a@b",
            "a@b.c",
            ".a@b.co",
            "a..b@c.co",
            "a.@b.co",
            "a@-b.co",
            "a b@c.co",
            "a@b.c0m",
            "@b.co",
            "a@b..co",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
