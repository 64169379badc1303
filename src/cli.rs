//! The `confab` command line: `serve` (default), `migrate`, `reseller create`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{app::AppState, config::Config, tenancy::resellers};

/// Self-hostable, multi-tenant, white-label video meetings.
#[derive(Parser, Debug)]
#[command(name = "confab", version)]
pub struct Cli {
    /// Configuration file (TOML); also `CONFAB_CONFIG`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage resellers.
    Reseller {
        #[command(subcommand)]
        command: ResellerCommand,
    },
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Load the SFU with WebRTC bots on loopback and print throughput, CPU and latency figures.
    Sfu(crate::bench::SfuBenchArgs),
}

#[derive(Subcommand, Debug)]
pub enum ResellerCommand {
    /// Create a reseller with its admin company `reseller-admin.<domain>` and an admin host.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        #[arg(long)]
        admin_email: String,
        /// Generated and printed once when omitted.
        #[arg(long)]
        admin_password: Option<String>,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command.unwrap_or(Command::Serve) {
        // The benchmark makes its own throw-away configuration.
        Command::Bench {
            command: BenchCommand::Sfu(args),
        } => return crate::bench::sfu(args).await,
        other => other,
    };
    let config = Config::load(cli.config)?;
    match command {
        Command::Serve => serve(config).await,
        Command::Bench { .. } => Ok(()),
        Command::Migrate => {
            AppState::build_offline(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Reseller {
            command:
                ResellerCommand::Create {
                    name,
                    domain,
                    admin_email,
                    admin_password,
                },
        } => {
            let state = AppState::build_offline(config).await?;
            let generated = admin_password.is_none();
            let password = admin_password
                .unwrap_or_else(|| crate::auth::token::random_secret()[..20].to_string());
            let created = resellers::create(&state, &name, &domain, &admin_email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("reseller {} created (id {})", name, created.reseller_id);
            println!(
                "API: {}/enterprise_api/",
                state.config.base_url(&created.api_hostname)
            );
            println!("admin: {admin_email}");
            if generated {
                println!("admin password (shown once): {password}");
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = AppState::build(config).await?;
    if let Some((created, generated)) = resellers::bootstrap_demo(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?
    {
        println!("created the demo reseller on domain `localhost`");
        println!(
            "  API:   {}/enterprise_api/",
            state.config.base_url(&created.api_hostname)
        );
        println!("  admin: admin@localhost");
        match generated {
            Some(pw) => println!("  password (shown once): {pw}"),
            None => println!("  password: from CONFAB_BOOTSTRAP_PASSWORD"),
        }
    }
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(%listen, mail = %state.transport.describe(), "confab listening");
    println!("confab listening on http://{listen}");
    let tls_listener = match state.config.tls_listen {
        Some(tls_listen) => {
            let tls_listener = TcpListener::bind(tls_listen).await?;
            println!("confab listening on https://{tls_listen}");
            Some(tls_listener)
        }
        None => None,
    };
    crate::app::serve_all(state, listener, tls_listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
