//! `AUTHKEEP_*` environment variables. A variable that names no configuration key is not an
//! error (other tools share the prefix: `AUTHKEEP_TEST_POSTGRES_URL`, `AUTHKEEP_BIN`); it is
//! reported as a warning, with the closest real key when one is near, so a typo is found.
//! Unknown keys in a configuration file stay errors: a file is the operator's own.

use std::collections::BTreeSet;

use serde_json::Value;

pub(super) const PREFIX: &str = "AUTHKEEP_";

/// Variables that are read elsewhere, not configuration keys.
const NOT_KEYS: [&str; 1] = ["AUTHKEEP_CONFIG"];

/// Whether `key` (dotted, lower-case) is a configuration key. Field-name maps
/// (`user.fields`, `user.additional_fields`) are not: variable names lose their case, and
/// better-auth's field names are camelCase, so those are set in the file.
pub(super) fn is_key(key: &str, known: &BTreeSet<String>) -> bool {
    known.contains(key)
}

/// Every configuration key, dotted (`session.expires_in`), from the defaults' own shape.
pub(super) fn known_keys(defaults: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", defaults, &mut out);
    out
}

/// The dotted key an `AUTHKEEP_*` variable names (`AUTHKEEP_SESSION__EXPIRES_IN` →
/// `session.expires_in`), as figment's `Env::split("__")` reads it.
pub(super) fn key_of(var: &str) -> Option<String> {
    let rest = var.strip_prefix(PREFIX)?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

fn var_of(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Warnings for the `AUTHKEEP_*` variables in `vars` that name no key.
pub(super) fn unknown_variables(
    vars: impl Iterator<Item = String>,
    known: &BTreeSet<String>,
) -> Vec<String> {
    vars.filter(|v| v.starts_with(PREFIX) && !NOT_KEYS.contains(&v.as_str()))
        .filter_map(|var| {
            let key = key_of(&var)?;
            if is_key(&key, known) {
                return None;
            }
            let near = known
                .iter()
                .map(|k| (distance(&key, k), k))
                .filter(|(d, _)| *d <= 3)
                .min();
            Some(match near {
                Some((_, k)) => format!(
                    "{var} is not a configuration key and is ignored; did you mean {}?",
                    var_of(k)
                ),
                None => format!("{var} is not a configuration key and is ignored"),
            })
        })
        .collect()
}

/// Levenshtein distance, for "did you mean".
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_variables_are_named_with_a_suggestion() {
        let known = known_keys(&json!({"env": "x", "session": {"expires_in": 1, "update_age": 2}}));
        let vars = [
            "AUTHKEEP_SESSION__EXPIRES_IN",
            "AUTHKEEP_SESSION__EXPIRE_IN",
            "AUTHKEEP_TEST_POSTGRES_URL",
            "AUTHKEEP_CONFIG",
            "PATH",
        ]
        .map(String::from);
        let warnings = unknown_variables(vars.into_iter(), &known);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("did you mean AUTHKEEP_SESSION__EXPIRES_IN?"));
        assert!(warnings[1].starts_with("AUTHKEEP_TEST_POSTGRES_URL is not a configuration key"));
    }

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
