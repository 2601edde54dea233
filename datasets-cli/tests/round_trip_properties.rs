//! Round trips as properties, on both stores: generated datasets (see
//! `support/generate.rs`; a fixed seed, 300 datasets per format per store
//! unless `DATASETS_ROUND_TRIPS` says otherwise) go through
//!
//! - the API: written with the client, read back;
//! - the CLI: `datasets import` of a JSONL file, read back;
//! - each format: `datasets export` to JSONL, pydantic-evals JSON and
//!   YAML, and CSV, then `datasets import` of that file into a new dataset
//!   with the same schemas, read back;
//! - the door: the same JSONL file with a last row holding a 30-digit
//!   integer is refused, naming that row's line and path, and nothing of
//!   it is stored.
//!
//! Every case must come back equal (the same JSON value, strings byte for
//! byte; pydantic-evals files carry no tags or trace links, so those are
//! not compared there). A failing dataset is shrunk and printed, to be kept as a plain
//! regression test in `lossless.rs`.
//!
//! PostgreSQL: `DATASETS_TEST_POSTGRES_URL` (scripts/test.sh sets it);
//! without it the PostgreSQL run says it was skipped, except under CI.

mod support;

#[path = "support/generate.rs"]
mod generate;

use std::sync::atomic::{AtomicUsize, Ordering};

use datasets_core::wire::{CaseDetail, NewCase};
use datasets_server::EmbeddedServer;
use datasets_server::ServerConfig;
use generate::{GenCase, GenDataset};
use serde_json::Value;
use support::Shell;

/// The seed of every run unless `DATASETS_ROUND_TRIP_SEED` says otherwise.
const SEED: u64 = 0x5eed_2026_1207;

/// The formats an export writes and an import reads back.
const FORMATS: [&str; 4] = ["jsonl", "json", "yaml", "csv"];

fn runs() -> usize {
    std::env::var("DATASETS_ROUND_TRIPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

fn seed() -> u64 {
    std::env::var("DATASETS_ROUND_TRIP_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SEED)
}

/// A fresh dataset name on this store.
fn fresh(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What a stored case holds that a file carries.
fn stored(case: &CaseDetail, with_tags: bool) -> Value {
    serde_json::json!({
        "name": case.name,
        "inputs": case.inputs,
        "expected_output": case.expected_output.clone().filter(|v| !v.is_null()),
        "metadata": case.metadata.clone().filter(|v| !v.is_null()),
        "tags": if with_tags { case.tags.clone() } else { Vec::new() },
        "link": if with_tags { case.source_trace_id.clone().zip(case.source_span_id.clone()) } else { None },
    })
}

fn generated(case: &GenCase, with_tags: bool) -> Value {
    serde_json::json!({
        "name": case.name,
        "inputs": case.inputs,
        "expected_output": case.expected_output.clone().filter(|v| !v.is_null()),
        "metadata": case.metadata.clone().filter(|v| !v.is_null()),
        "tags": if with_tags { case.tags.clone() } else { Vec::new() },
        "link": if with_tags { case.link.clone() } else { None },
    })
}

/// Whether `dataset`'s cases came back as `back`; or how they did not.
fn compare(dataset: &GenDataset, back: &[CaseDetail], with_tags: bool) -> Result<(), String> {
    if back.len() != dataset.cases.len() {
        return Err(format!(
            "{} case(s) came back of {}",
            back.len(),
            dataset.cases.len()
        ));
    }
    for (index, (sent, got)) in dataset.cases.iter().zip(back).enumerate() {
        let (sent, got) = (generated(sent, with_tags), stored(got, with_tags));
        if sent != got {
            return Err(format!("case {index}: sent {sent}\n  came back {got}"));
        }
    }
    Ok(())
}

/// One store, its CLI and its client.
struct Store {
    shell: Shell,
    client: datasets_core::blocking::DatasetsClient,
}

impl Store {
    fn new(server: EmbeddedServer) -> Self {
        let shell = Shell {
            server,
            dir: tempfile::tempdir().unwrap(),
        };
        let client = shell.client();
        Store { shell, client }
    }

    fn create(&self, name: &str, dataset: &GenDataset) -> Result<(), String> {
        let [input, output, metadata] = dataset.schemas.clone();
        let mut request = self.client.create_dataset(name);
        if let Some(schema) = input {
            request = request.input_schema(schema);
        }
        if let Some(schema) = output {
            request = request.output_schema(schema);
        }
        if let Some(schema) = metadata {
            request = request.metadata_schema(schema);
        }
        request
            .send()
            .map(drop)
            .map_err(|err| format!("creating {name}: {err}"))
    }

    fn cases(&self, name: &str) -> Result<Vec<CaseDetail>, String> {
        self.client
            .list_cases(name)
            .send()
            .map_err(|err| format!("listing {name}: {err}"))
    }

    /// Runs the CLI; its stderr when it fails.
    fn cli(&self, args: &[&str]) -> Result<(), String> {
        let run = self.shell.run(args);
        if run.code == 0 {
            Ok(())
        } else {
            Err(format!(
                "`datasets {}` exited {}: {}",
                args.join(" "),
                run.code,
                run.stderr.trim()
            ))
        }
    }

    /// The surfaces `dataset` fails on, each with what went wrong.
    fn failures(&self, dataset: &GenDataset) -> Vec<(String, String)> {
        let mut failures = Vec::new();
        let mut fail = |surface: &str, err: String| failures.push((surface.to_owned(), err));

        // The API: written with the client, read back.
        let api = fresh("api");
        let written = self.create(&api, dataset).and_then(|()| {
            let cases: Vec<NewCase> = dataset
                .cases
                .iter()
                .map(|case| serde_json::from_value(case.line()).unwrap())
                .collect();
            self.client
                .add_cases(&api, cases)
                .send()
                .map(drop)
                .map_err(|err| format!("adding cases: {err}"))
        });
        if let Err(err) = written.and_then(|()| compare(dataset, &self.cases(&api)?, true)) {
            fail("api", err);
        }

        // The CLI's import of a JSONL file.
        let source = fresh("cli");
        let file = format!("{source}.jsonl");
        self.shell.file(&file, dataset.jsonl());
        let imported = self
            .create(&source, dataset)
            .and_then(|()| self.cli(&["import", &source, &file]))
            .and_then(|()| compare(dataset, &self.cases(&source)?, true));
        if let Err(err) = imported {
            fail("import", err);
            return failures;
        }

        // The same file with a row holding a number no 64-bit value holds:
        // refused at the door, naming the line and path, and nothing stored.
        let refused = fresh("refused");
        let file = format!("{refused}.jsonl");
        let line = dataset.cases.len() + 1;
        self.shell.file(
            &file,
            format!(
                "{}{{\"inputs\": {{\"n\": [1, 12345678901234567890123456789{}]}}}}\n",
                dataset.jsonl(),
                line % 10
            ),
        );
        let outcome = self.create(&refused, dataset).and_then(|()| {
            let run = self.shell.run(&["import", &refused, &file]);
            let expected =
                format!("line {line}: inputs.n.1: the integer 12345678901234567890123456789");
            if run.code != 1 || !run.stderr.contains(&expected) {
                return Err(format!(
                    "expected a refusal naming {expected:?}, got exit {}: {}",
                    run.code, run.stderr
                ));
            }
            match self.cases(&refused)?.len() {
                0 => Ok(()),
                n => Err(format!("{n} case(s) were stored from a refused chunk")),
            }
        });
        if let Err(err) = outcome {
            fail("refusal", err);
        }

        // Each format: export, import into a new dataset, read back.
        for format in FORMATS {
            let target = fresh(format);
            let file = format!("{target}.{format}");
            let result = self
                .cli(&["export", &source, "-o", &file])
                .and_then(|()| self.create(&target, dataset))
                .and_then(|()| self.cli(&["import", &target, &file]))
                .and_then(|()| {
                    let tags = matches!(format, "jsonl" | "csv");
                    compare(dataset, &self.cases(&target)?, tags)
                });
            if let Err(err) = result {
                let text = std::fs::read_to_string(self.shell.path(&file)).unwrap_or_default();
                fail(format, format!("{err}\n  the {format} file:\n{text}"));
            }
        }
        failures
    }
}

/// Runs the properties on `store`, shrinking and printing the first
/// failing dataset.
fn run_properties(label: &str, store: &Store) {
    let mut rng = fastrand::Rng::with_seed(seed());
    let runs = runs();
    let mut cases = 0;
    let mut refit = 0;
    for index in 0..runs {
        let dataset = generate::dataset(&mut rng, index);
        cases += dataset.cases.len();
        refit += usize::from(dataset.schemas.iter().any(Option::is_some));
        let failures = store.failures(&dataset);
        if failures.is_empty() {
            continue;
        }
        let surfaces: Vec<String> = failures.iter().map(|(s, _)| s.clone()).collect();
        eprintln!("{label}: dataset {index} failed on {surfaces:?}; shrinking");
        let smallest = generate::minimize(dataset, 400, |candidate| {
            let now: Vec<String> = store
                .failures(candidate)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            surfaces.iter().any(|s| now.contains(s))
        });
        let failures = store.failures(&smallest);
        panic!(
            "{label}: a round trip lost data (seed {}, dataset {index}).\nshrunk to the schemas \
             {}\nand the JSONL\n{}\nfailures:\n{}",
            seed(),
            serde_json::to_string(&smallest.schemas).unwrap(),
            smallest.jsonl(),
            failures
                .iter()
                .map(|(surface, err)| format!("- {surface}: {err}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    println!(
        "{label}: {runs} generated datasets ({refit} with schemas), {cases} cases, each through \
         the API, a JSONL import, and export then import in {}: every case came back equal, and \
         each file with a 30-digit integer added was refused whole",
        FORMATS.join(", ")
    );
}

#[test]
fn every_case_comes_back_on_sqlite() {
    let server = EmbeddedServer::start().unwrap();
    let label = if server.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    run_properties(label, &Store::new(server));
}

#[test]
fn every_case_comes_back_on_postgres() {
    let Some(url) = std::env::var("DATASETS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the round trips on PostgreSQL: set DATASETS_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: DATASETS_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)");
        return;
    };
    let server = EmbeddedServer::on_postgres(&url, ServerConfig::default()).unwrap();
    run_properties("postgres", &Store::new(server));
}
