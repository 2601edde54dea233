//! The command line's grammar: every command, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage evaluation datasets on datasets-server or Pydantic Logfire: list,
/// inspect, create, import, export, push and delete datasets and cases.
///
/// The API key comes from --api-key, DATASETS_API_KEY or LOGFIRE_API_KEY.
/// The server is --base-url or DATASETS_BASE_URL; without either, a Logfire
/// key (pylf_v1_<region>_...) picks Logfire's hosted API for its region.
///
/// Exit codes: 0 success, 1 failure, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "datasets", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) connection: Connection,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the server is and how to authenticate.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// API key (a datasets-server key or a Logfire key).
    #[arg(long, global = true, env = "DATASETS_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// Base URL of the server, e.g. http://127.0.0.1:8000.
    #[arg(long, global = true, env = "DATASETS_BASE_URL")]
    pub(crate) base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List datasets.
    Ls {
        /// Print JSON (the API's dataset summaries) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a dataset: its details, schemas, evaluators and counts.
    Show {
        /// The dataset's name or id.
        name: String,
        /// Print the dataset as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a dataset, optionally with JSON Schemas its cases must follow.
    Create(CreateArgs),
    /// List a dataset's cases.
    Cases(CasesArgs),
    /// Import cases from a JSONL, JSON, CSV or pydantic-evals YAML/JSON file.
    Import(Box<ImportArgs>),
    /// Export a dataset to a file; the format follows the extension.
    Export(ExportArgs),
    /// Publish a pydantic-evals dataset file: create or update the dataset,
    /// then upsert its cases by name (the Python SDK's `push_dataset`).
    Push(PushArgs),
    /// Delete a dataset and all its cases.
    Rm {
        /// The dataset's name or id.
        name: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete cases of a dataset, by id or by tag.
    RmCases(RmCasesArgs),
    /// List a dataset's versions, newest first (datasets-server only).
    Versions {
        /// The dataset's name or id.
        name: String,
        /// Show at most this many versions.
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show how a dataset's cases differ between two versions (numbers or tags).
    Diff {
        /// The dataset's name or id.
        name: String,
        /// The earlier version: a number or a tag.
        from: String,
        /// The later version: a number or a tag.
        to: String,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Name a version with a tag, e.g. a release (datasets-server only).
    Tag {
        /// The dataset's name or id.
        name: String,
        /// The version's number.
        version: u64,
        /// The tag (not all digits, unique within the dataset).
        tag: String,
    },
    /// Print a shell completion script, e.g. `datasets completions bash >
    /// ~/.local/share/bash-completion/completions/datasets`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The new dataset's name.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) schemas: SchemaArgs,
    /// A description.
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,
    /// Print the created dataset as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The JSON Schemas a dataset's cases must follow, from files.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// A JSON Schema file every case's inputs must follow.
    #[arg(long, value_name = "FILE")]
    pub(crate) input_schema: Option<PathBuf>,
    /// A JSON Schema file every case's expected output must follow.
    #[arg(long, value_name = "FILE")]
    pub(crate) output_schema: Option<PathBuf>,
    /// A JSON Schema file every case's metadata must follow.
    #[arg(long, value_name = "FILE")]
    pub(crate) metadata_schema: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CasesArgs {
    /// The dataset's name or id.
    pub(crate) name: String,
    /// Only cases having this tag (repeat for any of several).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Show at most this many cases.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// The cases as they were at this version (a number or a tag).
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// Print one JSON array of cases.
    #[arg(long, conflicts_with = "jsonl")]
    pub(crate) json: bool,
    /// Print one JSON case per line.
    #[arg(long)]
    pub(crate) jsonl: bool,
}

/// A file format of `import` and `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FileFormat {
    /// One case per line, as the bulk route takes it.
    Jsonl,
    /// A JSON array of cases, or a pydantic-evals JSON file (an object with `cases`).
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// A pydantic-evals YAML file.
    Yaml,
}

/// What a case whose name exists does on import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnConflict {
    /// Fail (nothing of that chunk is written).
    Error,
    /// Update the existing case in place (upsert by name).
    Update,
}

#[derive(Debug, Args)]
#[command(after_long_help = IMPORT_HELP)]
pub(crate) struct ImportArgs {
    /// The dataset's name or id (it must exist: see `datasets create`).
    pub(crate) name: String,
    /// The file: .jsonl, .json, .csv, .yaml or .yml; `-` reads stdin (with --format).
    pub(crate) file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub(crate) format: Option<FileFormat>,
    /// What a named case whose name is taken does.
    #[arg(long, value_enum, default_value = "error")]
    pub(crate) on_conflict: OnConflict,
    /// Write refused rows to NAME.rejects.EXT beside the file (NAME the
    /// dataset's, EXT the file's), as they were, and go on.
    #[arg(long)]
    pub(crate) skip_invalid: bool,
    /// A tag added to every imported case (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Cases per request (each request is written whole or not at all).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) chunk_size: u32,
    /// Never draw a progress bar, even on a terminal.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// The largest row sent, in bytes of case JSON: a larger one is a
    /// refused row (with its line; to the rejects file with
    /// --skip-invalid), never sent. The default is the server's default
    /// body limit (32 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024 * 1024)]
    pub(crate) max_row_bytes: usize,
    #[command(flatten)]
    pub(crate) columns: ColumnArgs,
}

/// How the columns of a CSV file make cases.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "CSV columns")]
pub(crate) struct ColumnArgs {
    /// Columns that make the inputs, comma-separated (`context.topic` nests).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub(crate) inputs: Option<Vec<String>>,
    /// Columns that make the expected output.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub(crate) expected: Option<Vec<String>>,
    /// Columns that make the metadata.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub(crate) metadata: Option<Vec<String>>,
    /// The column holding comma-separated tags.
    #[arg(long, value_name = "COLUMN")]
    pub(crate) tags_column: Option<String>,
    /// The column holding the case's name.
    #[arg(long, value_name = "COLUMN")]
    pub(crate) name_column: Option<String>,
}

impl ColumnArgs {
    /// Whether any mapping flag was given.
    pub(crate) fn any(&self) -> bool {
        self.inputs.is_some()
            || self.expected.is_some()
            || self.metadata.is_some()
            || self.tags_column.is_some()
            || self.name_column.is_some()
    }
}

const IMPORT_HELP: &str = "\
Formats:
  .jsonl  one case per line: {\"name\", \"inputs\", \"expected_output\", \"metadata\", \"tags\", ...}
  .json   an array of such cases, or a pydantic-evals file (an object with \"cases\")
  .yaml   a pydantic-evals dataset file
  .csv    a header row, then one case per row

CSV columns, without mapping flags: name, tags, and inputs.<path>,
expected_output.<path>, metadata.<path> for each leaf (what `datasets export`
writes); a column named just `inputs` holds the whole value. With
--inputs/--expected/--metadata, each builds an object keyed by the columns it
names, a dotted name nesting: --inputs question,context.topic gives
{\"question\": ..., \"context\": {\"topic\": ...}}. Where the dataset's schema
says a part is not an object, its flag names one column holding the whole
value. Cells are text unless the schema says a field is a number, integer,
boolean, array or object; an empty cell is absent.

Large files stream in chunks of --chunk-size cases, each written whole or not
at all. A refused row is reported with its line; without --skip-invalid
nothing after its chunk is sent, and the command says how many rows landed.

Examples:
  datasets import qa-golden-set cases.jsonl
  datasets import qa-golden-set sheet.csv --inputs question,context.topic \\
      --expected answer --metadata category --tags-column tags
  datasets import qa-golden-set golden.yaml --on-conflict update";

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The dataset's name or id.
    pub(crate) name: String,
    /// The file to write: .yaml/.yml or .json (pydantic-evals), .jsonl, or .csv; `-` is stdout (with --format).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// The format, when the extension does not say. `json` is pydantic-evals' JSON.
    #[arg(long, value_enum)]
    pub(crate) format: Option<FileFormat>,
    /// The dataset as it was at this version (a number or a tag).
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// For YAML and JSON, also write pydantic-evals' `<stem>_schema.json`
    /// beside the file and reference it, as pydantic-evals' `to_file` does.
    #[arg(long)]
    pub(crate) with_schema: bool,
    /// For CSV, write cells as they are: without the `'` that keeps a
    /// spreadsheet from running a cell starting with =, +, -, @, a tab or a
    /// CR as a formula. An import still takes one `'` off a cell starting
    /// with `'` and one of those (or another `'`), so such values no longer
    /// read back exactly.
    #[arg(long)]
    pub(crate) raw_cells: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// A pydantic-evals dataset file (.yaml, .yml or .json).
    pub(crate) file: PathBuf,
    /// The dataset's name; by default the file's `name`, else its stem.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A description.
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,
    #[command(flatten)]
    pub(crate) schemas: SchemaArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "tags"])))]
pub(crate) struct RmCasesArgs {
    /// The dataset's name or id.
    pub(crate) name: String,
    /// A case id to delete (repeatable).
    #[arg(long = "id", value_name = "ID", conflicts_with = "tags")]
    pub(crate) ids: Vec<uuid::Uuid>,
    /// Delete the cases having this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }
}
