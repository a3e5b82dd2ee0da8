//! `reference-server`: parses the command line, starts the server, stops on SIGTERM or SIGINT.

use clap::Parser;
use reference_server::config::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match reference_server::tokio_runtime(cli.worker_threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
        // Colours only on a terminal: a log file or a collector gets plain text.
        LogFormat::Text => tracing_subscriber::fmt()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_env_filter(filter)
            .init(),
    }
    let key_file = cli.jwt_public_key.clone();
    let config = cli.into_config()?;
    let in_memory = matches!(config.store, reference_server::StoreConfig::Memory);
    if in_memory {
        tracing::warn!(
            "no --redis-url: running on the in-memory store (single node; state is lost on exit)"
        );
    }
    let algorithm = config.tokens.algorithm();
    match &key_file {
        Some(key) => {
            tracing::info!(%algorithm, key = %key.display(), "client tokens are verified with {algorithm} and the public key")
        }
        None => {
            tracing::info!(%algorithm, "client tokens are verified with {algorithm} and JWT_SECRET")
        }
    }
    if config.admin_token.is_some() {
        tracing::info!("Control API on: /admin/conferences/... is served (bearer ADMIN_TOKEN)");
    } else {
        tracing::info!(
            "Control API off: no /admin route is served; conferences come from MongoDB and Redis, written by another backend"
        );
        if in_memory {
            tracing::warn!(
                "--control-api off on the in-memory store: nothing can create a conference, every join answers CONFERENCE_NOT_FOUND"
            );
        } else if config.mongo.is_none() {
            tracing::warn!(
                "--control-api off without --mongo-url: questions come from this server's own Redis catalog, which only the Control API writes; give --mongo-url to serve conferences another backend writes"
            );
        }
    }
    let server = reference_server::start(config).await?;
    server.run_until(shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
