//! Errors as one log line: the error and each of its causes, `outer: inner: innermost`.
//! Layers keep causes as typed `#[source]`s; the place that finally handles an error (the HTTP
//! layer for a request, `main` for the process) prints the chain once with [`Report`].

use std::error::Error;
use std::fmt;

pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
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
}
