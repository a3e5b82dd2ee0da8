//! `conformance`: plays the feature suite against a server (a `--profile`, `--target` URLs, or
//! the reference server in process), or `conformance matrix PROFILE...` against several.
//!
//! ```text
//! conformance [--profile FILE] [--target URL…] [--jwt-secret S] [--admin-token T]
//!             [--redis-url URL] [--mongo-url URL] [--report-dir DIR] [--junit FILE]
//!             [cucumber options: --tags, --name, --concurrency, --retry, …]
//! conformance matrix PROFILE... [--report-dir DIR] [--jobs N] [-- suite options]
//! ```
//!
//! Exit code 0 when no scenario failed, 1 when one did, 2 when the run could not be made.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let outcome = if std::env::args().nth(1).as_deref() == Some("matrix") {
        let cli = conformance::cli::Matrix::parse_from(std::env::args().skip(1));
        conformance::matrix::run(cli).await
    } else {
        conformance::run::suite(conformance::cli::parse()).await
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
