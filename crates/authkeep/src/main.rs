use std::process::ExitCode;

fn main() -> ExitCode {
    authkeep::cli::main()
}
