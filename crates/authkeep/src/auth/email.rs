//! Email addresses as better-auth accepts them: zod's `z.email()` pattern, stored lower-cased.

/// zod 4's default email rule: a local part of `[A-Za-z0-9_'+.-]` that neither starts with a dot
/// nor contains `..` and ends in `[A-Za-z0-9_+-]`, then `@`, dot-separated labels that start
/// alphanumeric, and a final label of two or more letters.
pub fn is_valid(email: &str) -> bool {
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
    let (tld, rest) = labels.split_last().expect("at least two labels");
    let tld_ok = tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok = rest.iter().all(|l| {
        l.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    tld_ok && rest_ok
}

/// better-auth stores and looks up emails lower-cased.
pub fn normalize(email: &str) -> String {
    email.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::is_valid;

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
