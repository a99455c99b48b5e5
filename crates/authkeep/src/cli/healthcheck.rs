//! `authkeep healthcheck`: exit 0 when a server answers its readiness endpoint, 1 otherwise.
//! For container HEALTHCHECKs, where the runtime image has no curl.

use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub(super) struct Args {
    /// What to ask: /ready answers 200 only while the database does.
    #[arg(long, default_value = "http://127.0.0.1:3000/ready")]
    url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
}

pub(super) fn run(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let client = authkeep_verify::http_client_builder()?
            .timeout(Duration::from_secs(args.timeout.max(1)))
            .build()
            .map_err(|e| e.to_string())?;
        let r = client
            .get(&args.url)
            .send()
            .await
            .map_err(|e| crate::report::Report(&e).to_string())?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("{} answered {}", args.url, r.status()))
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}
