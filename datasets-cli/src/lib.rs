//! `datasets`: the command line of the datasets project. It moves
//! evaluation datasets in and out of `datasets-server` or Pydantic Logfire
//! from a shell: list and show them, create them, import cases from JSONL,
//! JSON, CSV and pydantic-evals files (streamed, in chunks each written
//! whole), export them, push pydantic-evals files, delete, and see versions.
//! `datasets --help` is the reference.
//!
//! This library is the binary's body ([`main`]) and the fuzz targets'
//! entry points ([`fuzzing`]); it has no other public interface.

mod cases;
mod cli;
mod columns;
mod export;
mod fail;
pub mod fuzzing;
mod import;
mod info;
mod mapping;
mod output;
mod push;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use datasets_core::blocking::DatasetsClient;

use cli::{Cli, Command, Connection};
use fail::{Failure, Outcome};

/// Runs the command line on the process's arguments, printing what fails.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.code == 0 => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Outcome {
    let connection = cli.connection;
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "datasets", &mut std::io::stdout());
            Ok(())
        }
        Command::Ls { json } => info::list(&connect(&connection)?, json),
        Command::Show { name, json } => info::show(&connect(&connection)?, &name, json),
        Command::Create(args) => info::create(&connect(&connection)?, &args),
        Command::Cases(args) => cases::list(&connect(&connection)?, &args),
        Command::Import(args) => import::run(&connect(&connection)?, &args),
        Command::Export(args) => export::run(&connect(&connection)?, &args),
        Command::Push(args) => push::run(&connect(&connection)?, &args),
        Command::Rm { name, yes } => cases::remove_dataset(&connect(&connection)?, &name, yes),
        Command::RmCases(args) => cases::remove_cases(&connect(&connection)?, &args),
        Command::Versions { name, limit, json } => {
            info::versions(&connect(&connection)?, &name, limit, json)
        }
        Command::Diff {
            name,
            from,
            to,
            json,
        } => info::diff(&connect(&connection)?, &name, &from, &to, json),
        Command::Tag { name, version, tag } => {
            info::tag(&connect(&connection)?, &name, version, &tag)
        }
    }
}

/// The client the flags and environment describe.
fn connect(connection: &Connection) -> Outcome<DatasetsClient> {
    let key = connection
        .api_key
        .clone()
        .or_else(|| std::env::var("LOGFIRE_API_KEY").ok())
        .filter(|key| !key.trim().is_empty())
        .ok_or_else(|| {
            Failure::usage(
                "no API key: pass --api-key, or set DATASETS_API_KEY (or LOGFIRE_API_KEY)",
            )
        })?;
    let mut builder = DatasetsClient::builder()
        .user_agent(format!("datasets-cli/{}", env!("CARGO_PKG_VERSION")))
        // A chunk of a large import can take the server a while to validate.
        .timeout(std::time::Duration::from_secs(300));
    match &connection.base_url {
        Some(url) => builder = builder.base_url(url),
        None if datasets_core::client::infer_base_url(&key).is_none() => {
            return Err(Failure::usage(
                "no server: pass --base-url or set DATASETS_BASE_URL \
                 (only a Logfire key, pylf_v1_<region>_..., implies one)",
            ));
        }
        None => {}
    }
    builder
        .api_key(key)
        .build()
        .map_err(|err| Failure::usage(fail::describe(&err)))
}

/// Asks on the terminal whether to `action` (e.g. `delete dataset "qa"`);
/// `Ok(false)` unless the answer is yes. Without a terminal on stdin,
/// refuses: `--yes` must say so.
fn confirm(action: &str) -> Outcome<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(format!(
            "refusing to {action} without --yes: stdin is not a terminal to ask on"
        )));
    }
    let mut question = action.to_owned();
    if let Some(first) = question.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    eprint!("{question}? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}
