//! What the benchmark and load-test binaries share: the release
//! `datasets-server` binary started as a child process over a fresh
//! database (so its memory is measured alone), the dataset they work on,
//! and figures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The key the child server is bootstrapped with.
pub const KEY: &str = "dsk_bench_key_0123456789abcdef0123456789abcdef0123456789abcdef";

/// Builds the release `datasets-server` binary (a no-op when it is up to
/// date) and returns its path.
pub fn server_binary() -> PathBuf {
    release_binary("datasets-server", "datasets-server")
}

/// Builds the release binary `bin` of `package` (a no-op when it is up to
/// date) and returns its path.
pub fn release_binary(package: &str, bin: &str) -> PathBuf {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    eprintln!("building the release {bin} binary...");
    let output = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", package, "--bin", bin])
        .args([
            "--message-format=json-render-diagnostics",
            "--manifest-path",
            manifest,
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "the {bin} binary did not build");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["target"]["name"] == bin)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the built binary")
}

/// The multi-threaded runtime a benchmark's `main` runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the runtime starts")
}

/// A process's peak resident memory so far (`VmHWM`), in MiB (Linux).
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A release server in a child process, over a fresh database; killed on drop.
pub struct ServerChild {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    dir: tempfile::TempDir,
}

impl ServerChild {
    /// Starts `binary` and waits until it listens.
    pub fn start(binary: &Path) -> Self {
        Self::start_on(binary, None)
    }

    /// Starts `binary` on the database `db` (a PostgreSQL URL), or on a
    /// fresh SQLite file when `None`, and waits until it listens.
    pub fn start_on(binary: &Path, db: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = db.map_or_else(|| dir.path().join("bench.db").into_os_string(), Into::into);
        let mut child = Command::new(binary)
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("DATASETS_BOOTSTRAP_KEY", KEY)
            // The load test times 4,000 wrong keys from one address: the
            // check itself, not the limit on failures.
            .env("DATASETS_FAILED_KEY_LIMIT", u32::MAX.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base_url = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            if let Some(url) = line.strip_prefix("datasets-server listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            base_url,
            dir,
        }
    }

    /// The database's folder.
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }

    /// The child's memory: (resident now, peak resident), in MiB (Linux).
    pub fn rss_mib(&self) -> Option<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// A client of the child.
    pub fn client(&self) -> datasets::DatasetsClient {
        datasets::DatasetsClient::builder()
            .api_key(KEY)
            .base_url(&self.base_url)
            .timeout(Duration::from_secs(600))
            .build()
            .expect("the client builds")
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user's question (the seed guide's type).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct QuestionInput {
    /// The question.
    pub question: String,
    /// Context, if any.
    pub context: Option<String>,
}

/// A verified answer.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct AnswerOutput {
    /// The answer.
    pub answer: String,
    /// How sure it is.
    pub confidence: f64,
}

/// What kind of case this is.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct CaseMetadata {
    /// Its category.
    pub category: String,
    /// How hard it is.
    pub difficulty: String,
    /// Whether someone checked it.
    #[serde(default)]
    pub reviewed: bool,
}

/// The benchmark's typed dataset, pushed and exported as the Python SDK's is.
#[derive(DatasetSchema)]
#[dataset(name = "typed-bench")]
pub struct TypedBench {
    inputs: QuestionInput,
    expected_output: AnswerOutput,
    metadata: CaseMetadata,
}

/// Typed case `i`, the same content as [`case`].
pub fn typed_case(i: usize) -> datasets::Case<QuestionInput, AnswerOutput, CaseMetadata> {
    datasets::Case::new(QuestionInput {
        question: format!("What is {i} + {i}?"),
        context: None,
    })
    .name(format!("case-{i}"))
    .expected_output(AnswerOutput {
        answer: format!("{}", 2 * i),
        confidence: 0.99,
    })
    .metadata(CaseMetadata {
        category: ["math", "science", "geography"][i % 3].to_owned(),
        difficulty: "easy".to_owned(),
        reviewed: false,
    })
}

/// The benchmark dataset: the seed guide's three types, as Pydantic
/// writes their schemas.
pub fn dataset_body(name: &str) -> Value {
    json!({
        "name": name,
        "input_schema": {"type": "object", "title": "QuestionInput",
            "properties": {"question": {"type": "string", "title": "Question"},
                           "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Context"}},
            "required": ["question"]},
        "output_schema": {"type": "object", "title": "AnswerOutput",
            "properties": {"answer": {"type": "string", "title": "Answer"},
                           "confidence": {"type": "number", "title": "Confidence"}},
            "required": ["answer", "confidence"]},
        "metadata_schema": {"type": "object", "title": "CaseMetadata",
            "properties": {"category": {"type": "string", "title": "Category"},
                           "difficulty": {"type": "string", "title": "Difficulty"},
                           "reviewed": {"type": "boolean", "default": false, "title": "Reviewed"}},
            "required": ["category", "difficulty"]}
    })
}

/// Small case `i`: about 200 bytes of JSON with all three values.
pub fn case(i: usize) -> Value {
    let category = ["math", "science", "geography"][i % 3];
    json!({
        "name": format!("case-{i}"),
        "inputs": {"question": format!("What is {i} + {i}?"), "context": null},
        "expected_output": {"answer": format!("{}", 2 * i), "confidence": 0.99},
        "metadata": {"category": category, "difficulty": "easy"},
        "tags": [format!("group-{}", i % 50)]
    })
}

/// Cases as `{"cases": [...]}` request bodies, each at most `max_bytes`
/// (a case larger than that goes alone).
pub fn case_bodies(cases: impl IntoIterator<Item = Value>, max_bytes: usize) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let mut body = br#"{"cases":["#.to_vec();
    let mut empty = true;
    for case in cases {
        let encoded = serde_json::to_vec(&case).unwrap();
        if !empty && body.len() + encoded.len() + 3 > max_bytes {
            body.extend_from_slice(b"]}");
            bodies.push(std::mem::replace(&mut body, br#"{"cases":["#.to_vec()));
            empty = true;
        }
        if !empty {
            body.push(b',');
        }
        body.extend_from_slice(&encoded);
        empty = false;
    }
    body.extend_from_slice(b"]}");
    bodies.push(body);
    bodies
}

/// Nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A duration in milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// A fresh PostgreSQL database for one benchmark run, dropped with it.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PostgresDatabase {
    /// Creates a database next to the one `admin_url` names.
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("bench_{:016x}", fastrand::u64(..));
        postgres_execute(admin_url, &format!("CREATE DATABASE {name}")).await;
        let scheme_end = admin_url.find("://").expect("a URL") + 3;
        let rest = &admin_url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let query = rest[authority_end..]
            .find('?')
            .map_or("", |at| &rest[authority_end + at..]);
        let url = format!(
            "{}{}/{name}{query}",
            &admin_url[..scheme_end],
            &rest[..authority_end]
        );
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }

    /// Drops it.
    pub async fn drop_now(self) {
        postgres_execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

/// Runs `sql` on its own connection to `url`.
pub async fn postgres_execute(url: &str, sql: &str) {
    let client = postgres_connect(url).await;
    client.batch_execute(sql).await.expect("the statement runs");
}

/// A connection to `url`, driven on the current runtime.
pub async fn postgres_connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL answers at --db");
    tokio::spawn(connection);
    client
}
