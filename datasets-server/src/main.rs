//! The `datasets-server` command: serve the v1 datasets API, and manage keys.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use datasets_server::auth::Scopes;
use datasets_server::store::Store;
use datasets_server::{
    AppState, DEFAULT_BODY_LIMIT, DEFAULT_MAX_CONNECTIONS, SecureCookies, ServerConfig,
};
use uuid::Uuid;

// A request of many cases makes millions of small allocations; mimalloc
// serves them several times faster than the system allocator and returns
// memory to the system more readily.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Self-hostable server of the v1 datasets API (Pydantic Logfire's managed
/// datasets contract) on embedded SQLite.
#[derive(Debug, Parser)]
#[command(
    name = "datasets-server",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// `--secure-cookies`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CookieFlag {
    Never,
    Forwarded,
    Always,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
struct DbArg {
    /// The database: a SQLite file (created if absent; a `sqlite:` prefix
    /// is allowed), or a PostgreSQL URL such as
    /// `postgres://user:password@host:5432/dbname` (the database must exist;
    /// several servers may share it).
    #[arg(
        long,
        env = "DATASETS_DB",
        default_value = "./datasets.db",
        hide_env_values = true
    )]
    db: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DATASETS_ADDR", default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    #[command(flatten)]
    db: DbArg,
    /// Largest accepted request body, in bytes (413 beyond).
    #[arg(long, env = "DATASETS_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Time for a request's line and headers to arrive (408 and close
    /// beyond): seconds, or a number with `ms`, `s` or `m`.
    #[arg(long, env = "DATASETS_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Longest wait for more of a request body (408 beyond).
    #[arg(long, env = "DATASETS_BODY_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    body_timeout: Duration,
    /// An idle keep-alive connection is closed after this long.
    #[arg(long, env = "DATASETS_KEEP_ALIVE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    keep_alive_timeout: Duration,
    /// A connection whose client reads nothing of its answer for this long
    /// is closed.
    #[arg(long, env = "DATASETS_WRITE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    write_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, env = "DATASETS_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = parse_positive)]
    max_connections: usize,
    /// Versions kept of each dataset: the latest N plus every tagged one
    /// (older ones are pruned as new ones are made); all when not given.
    #[arg(long, env = "DATASETS_KEEP_VERSIONS", value_parser = parse_keep_versions)]
    keep_versions: Option<u64>,
    /// Do not serve the web UI (`/ui/`); the API is served either way.
    #[arg(long)]
    no_ui: bool,
    /// When the UI's cookies are marked Secure: `never`; `forwarded`, when
    /// `X-Forwarded-Proto: https` (only behind a proxy that sets it); or
    /// `always` (the server is only reached over HTTPS).
    #[arg(
        long,
        env = "DATASETS_SECURE_COOKIES",
        value_enum,
        default_value = "never"
    )]
    secure_cookies: CookieFlag,
    /// Failed keys and sign-ins allowed per client address in each
    /// `--failed-key-window`; past them, 429 with Retry-After.
    #[arg(long, env = "DATASETS_FAILED_KEY_LIMIT", default_value_t = datasets_server::DEFAULT_FAILED_KEY_LIMIT)]
    failed_key_limit: u32,
    /// The window failed keys are counted in.
    #[arg(long, env = "DATASETS_FAILED_KEY_WINDOW", default_value = "60s", value_parser = parse_duration)]
    failed_key_window: Duration,
    /// The client's address is the first of `X-Forwarded-For` (only behind a
    /// proxy that sets it), not the connection's peer.
    #[arg(long, env = "DATASETS_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// A key that must exist after start (read+write, project `default`).
    #[arg(long, env = "DATASETS_BOOTSTRAP_KEY", hide_env_values = true)]
    bootstrap_key: Option<String>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        /// The project the key belongs to (created if absent).
        #[arg(long, default_value = "default")]
        project: String,
        /// Comma-separated scopes, as `keys list` shows them or short:
        /// `project:read_datasets` (or `read`) and `project:write_datasets`
        /// (or `write`).
        #[arg(
            long,
            default_value = "project:read_datasets,project:write_datasets",
            value_name = "SCOPES"
        )]
        scopes: String,
        /// A label for people.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// List keys by id and label (no part of a secret).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a key by id; it stops working on the next request.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: Uuid,
        #[command(flatten)]
        db: DbArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only where a terminal shows them, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            None => serve(cli.serve).await,
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Keys(command)) => keys(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A count flag: a whole number from 1.
fn parse_positive(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("{text:?} is not a whole number from 1"))
}

/// `--keep-versions`: a whole number from 1 (the current version is always kept).
fn parse_keep_versions(text: &str) -> Result<u64, String> {
    parse_positive(text).map(|n| n as u64)
}

/// A duration flag: seconds (`10`, `0.5`), or a number with `ms`, `s` or `m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit.trim() {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        other => return Err(format!("unknown unit {other:?}; use ms, s or m, e.g. 10s")),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
        .and_then(|n| Duration::try_from_secs_f64(n * scale).ok())
        .ok_or_else(|| format!("{text:?} is not a positive duration, e.g. 10s or 500ms"))
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn open(db: &DbArg) -> Result<Arc<dyn Store>, Box<dyn std::error::Error>> {
    Ok(datasets_server::store::open(&db.db).await?)
}

async fn serve(args: ServeArgs) -> CliResult {
    // The address first: a server that cannot listen creates no database
    // and prints no key.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", args.addr))?;
    let store = open(&args.db).await?;
    let state = AppState::with_store(
        store,
        ServerConfig::default()
            .body_limit(args.body_limit)
            .header_timeout(args.header_timeout)
            .body_timeout(args.body_timeout)
            .keep_alive_timeout(args.keep_alive_timeout)
            .write_timeout(args.write_timeout)
            .max_connections(args.max_connections)
            .keep_versions(args.keep_versions)
            .ui(!args.no_ui)
            .failed_keys(args.failed_key_limit, args.failed_key_window)
            .trust_forwarded_for(args.trust_forwarded_for)
            .secure_cookies(match args.secure_cookies {
                CookieFlag::Never => SecureCookies::Never,
                CookieFlag::Forwarded => SecureCookies::WhenForwardedHttps,
                CookieFlag::Always => SecureCookies::Always,
            }),
    );
    if let Some(key) = state.bootstrap(args.bootstrap_key.as_deref()).await? {
        println!("Created project `default` and its first API key (shown only this once):");
        println!("{key}");
    }
    let addr = listener.local_addr()?;
    let db = if datasets_server::store::is_postgres_url(&args.db.db) {
        datasets_server::store::redact_url(&args.db.db)
    } else {
        args.db.db.clone()
    };
    tracing::info!(%addr, %db, "datasets-server listening");
    // A plain line on stdout, so scripts (and `--addr 127.0.0.1:0`) can find the port.
    println!("datasets-server listening on http://{addr}");
    std::io::Write::flush(&mut std::io::stdout())?;
    datasets_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
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
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn keys(command: KeysCommand) -> CliResult {
    match command {
        KeysCommand::Create {
            project,
            scopes,
            name,
            db,
        } => {
            let scopes = Scopes::parse(&scopes)?;
            let state = AppState::with_store(open(&db).await?, ServerConfig::default());
            let (record, key) = state.create_key(&project, scopes, name).await?;
            eprintln!(
                "Created key {} for project `{}` with scopes {} (the key is shown only this once):",
                record.id, record.project_name, record.scopes
            );
            println!("{key}");
        }
        KeysCommand::List { db } => {
            let keys = open(&db).await?.list_keys().await?;
            // No part of a secret is printed: a key is known by its id and
            // its label.
            println!(
                "{:<36}  {:<16}  {:<44}  {:<11}  name",
                "id", "project", "scopes", "status"
            );
            for key in keys {
                println!(
                    "{:<36}  {:<16}  {:<44}  {:<11}  {}",
                    key.id,
                    key.project_name,
                    key.scopes.to_string(),
                    if key.revoked { "revoked" } else { "active" },
                    key.name.unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { id, db } => {
            if !open(&db).await?.revoke_key(id).await? {
                return Err(format!("no key with id {id}").into());
            }
            eprintln!("Revoked key {id}.");
        }
    }
    Ok(())
}
