//! Operational counters, rendered in Prometheus' text exposition format (version 0.0.4) for
//! `GET /metrics` on its own listener (ADR 0014).
//!
//! One `Metrics` per server, held by the app and passed down like everything else: no global
//! recorder, so the tests' many servers in one process each count only their own requests.
//! Every label value is a `&'static str` (a route template, an outcome, a mail kind) or an HTTP
//! status, so the number of series is bounded by construction: no client-chosen text becomes
//! a label.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency buckets: from a cached `get-session` to a
/// slow sign-in (scrypt) on a loaded machine.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The database pool at the moment of a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open (idle and in use).
    pub size: u32,
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket, the observations at or below its bound (not cumulative; summed on render).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// (route template, status) → latencies; its count is the request count.
    requests: BTreeMap<(&'static str, u16), Histogram>,
    /// (method, outcome) → sign-ins.
    sign_ins: BTreeMap<(&'static str, Outcome), u64>,
    /// Route template → requests refused by the rate limiter.
    rate_limited: BTreeMap<&'static str, u64>,
    /// (mail kind, outcome) → messages.
    mail: BTreeMap<(&'static str, Outcome), u64>,
}

/// The registry. Updates take a short lock on plain maps; a scrape copies nothing it does not
/// print.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn with(&self, f: impl FnOnce(&mut Counts)) {
        // A poisoned lock only means another update panicked mid-way; counting goes on.
        let mut guard = match self.counts.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }

    /// One answered request: its route template (`unmatched` for unknown paths) and status.
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        self.with(|c| {
            c.requests
                .entry((route, status))
                .or_default()
                .observe(took.as_secs_f64())
        });
    }

    /// A sign-in attempt by `method` (`email`, `email-otp`, ...) and how it ended.
    pub fn sign_in(&self, method: &'static str, outcome: Outcome) {
        self.with(|c| *c.sign_ins.entry((method, outcome)).or_default() += 1);
    }

    /// A request the rate limiter refused (429).
    pub fn rate_limited(&self, route: &'static str) {
        self.with(|c| *c.rate_limited.entry(route).or_default() += 1);
    }

    /// A message handed to the transport (`Success`) or lost to an error or time-out.
    pub fn mail(&self, kind: &'static str, outcome: Outcome) {
        self.with(|c| *c.mail.entry((kind, outcome)).or_default() += 1);
    }

    /// Everything, in the text exposition format.
    pub fn render(&self, pool: PoolUsage) -> String {
        let counts = match self.counts.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "authkeep_http_requests_total",
            "counter",
            "HTTP requests answered, by route template and status.",
        );
        for ((route, status), h) in &counts.requests {
            let _ = writeln!(
                out,
                "authkeep_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        header(
            &mut out,
            "authkeep_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, by route template and status.",
        );
        for ((route, status), h) in &counts.requests {
            let labels = format!("route=\"{route}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "authkeep_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "authkeep_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "authkeep_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "authkeep_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        header(
            &mut out,
            "authkeep_sign_ins_total",
            "counter",
            "Sign-in attempts, by method and outcome.",
        );
        for ((method, outcome), n) in &counts.sign_ins {
            let _ = writeln!(
                out,
                "authkeep_sign_ins_total{{method=\"{method}\",outcome=\"{}\"}} {n}",
                outcome.label()
            );
        }
        header(
            &mut out,
            "authkeep_rate_limited_total",
            "counter",
            "Requests refused by the rate limiter (429), by route template.",
        );
        for (route, n) in &counts.rate_limited {
            let _ = writeln!(out, "authkeep_rate_limited_total{{route=\"{route}\"}} {n}");
        }
        header(
            &mut out,
            "authkeep_emails_total",
            "counter",
            "Emails handed to the transport (sent) or lost (failed), by kind.",
        );
        for ((kind, outcome), n) in &counts.mail {
            let _ = writeln!(
                out,
                "authkeep_emails_total{{kind=\"{kind}\",outcome=\"{}\"}} {n}",
                match outcome {
                    Outcome::Success => "sent",
                    Outcome::Failure => "failed",
                }
            );
        }
        drop(counts);
        let in_use = pool.size.saturating_sub(pool.idle);
        gauge(
            &mut out,
            "authkeep_db_pool_connections",
            "Database connections open in the pool.",
            pool.size,
        );
        gauge(
            &mut out,
            "authkeep_db_pool_idle_connections",
            "Open database connections not in use.",
            pool.idle,
        );
        gauge(
            &mut out,
            "authkeep_db_pool_in_use_connections",
            "Database connections in use by a request.",
            in_use,
        );
        gauge(
            &mut out,
            "authkeep_db_pool_max_connections",
            "The most connections the pool opens.",
            pool.max,
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u32) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: PoolUsage = PoolUsage {
        size: 3,
        idle: 2,
        max: 16,
    };

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_the_count() {
        let m = Metrics::new();
        m.request("/ok", 200, Duration::from_millis(3));
        m.request("/ok", 200, Duration::from_millis(70));
        m.request("/ok", 200, Duration::from_secs(60));
        let text = m.render(POOL);
        for line in [
            r#"authkeep_http_requests_total{route="/ok",status="200"} 3"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/ok",status="200",le="0.005"} 1"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/ok",status="200",le="0.05"} 1"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/ok",status="200",le="0.1"} 2"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/ok",status="200",le="30"} 2"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/ok",status="200",le="+Inf"} 3"#,
            r#"authkeep_http_request_duration_seconds_count{route="/ok",status="200"} 3"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn counters_and_pool_gauges() {
        let m = Metrics::new();
        m.sign_in("email", Outcome::Failure);
        m.sign_in("email", Outcome::Failure);
        m.sign_in("email", Outcome::Success);
        m.rate_limited("/sign-in/email");
        m.mail("reset-password", Outcome::Success);
        m.mail("reset-password", Outcome::Failure);
        let text = m.render(POOL);
        for line in [
            r#"authkeep_sign_ins_total{method="email",outcome="failure"} 2"#,
            r#"authkeep_sign_ins_total{method="email",outcome="success"} 1"#,
            r#"authkeep_rate_limited_total{route="/sign-in/email"} 1"#,
            r#"authkeep_emails_total{kind="reset-password",outcome="sent"} 1"#,
            r#"authkeep_emails_total{kind="reset-password",outcome="failed"} 1"#,
            "authkeep_db_pool_connections 3",
            "authkeep_db_pool_idle_connections 2",
            "authkeep_db_pool_in_use_connections 1",
            "authkeep_db_pool_max_connections 16",
            "# TYPE authkeep_sign_ins_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
