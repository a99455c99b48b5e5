//! Errors as one log line: the error and each of its causes, `outer: inner: innermost`.
//! Layers keep causes as typed `#[source]`s; the place that finally handles an error (the HTTP
//! layer for a request, `main` for the process) prints the chain once with [`Report`].

use std::error::Error;
use std::fmt;

pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let part = e.to_string();
            // Some errors print their source in their own message already (lettre's do).
            if !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            cause = e.source();
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn prints_the_chain() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(Report(&e).to_string(), "outer: inner");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = Repeats(std::io::Error::other("inner"));
        assert_eq!(Report(&e).to_string(), "outer: inner");
    }
}
