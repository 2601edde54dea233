//! What the benchmark and load-test binaries share: a release server of
//! their own in a child process (so its memory is measured alone), the
//! dataset they work on, and figures.
//!
//! The binaries run the server by starting themselves again with the
//! argument [`SERVE_CHILD`]; each calls [`serve_child_if_asked`] first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The argument that makes a benchmark binary serve instead.
pub const SERVE_CHILD: &str = "__serve-child";
/// The key the child server is bootstrapped with.
pub const KEY: &str = "dsk_bench_key_0123456789abcdef0123456789abcdef0123456789abcdef";

/// Serves the API and never returns, when this process was started as a
/// child server (`<binary> __serve-child <db>`); else returns at once.
/// Call it first in `main`, outside any async runtime.
pub fn serve_child_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(SERVE_CHILD) {
        return;
    }
    let db = PathBuf::from(&args[2]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the child server's runtime starts");
    runtime.block_on(async move {
        let store = datasets_server::store::SqliteStore::open(&db).expect("the database opens");
        let state = datasets_server::AppState::new(store, datasets_server::ServerConfig::default());
        state
            .bootstrap(Some(KEY))
            .await
            .expect("the key is created");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        datasets_server::serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    std::process::exit(0);
}

/// A server in a child process, over a fresh database; killed on drop.
pub struct ServerChild {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    _dir: tempfile::TempDir,
}

impl ServerChild {
    /// Starts this binary again as a server and waits until it listens.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(std::env::current_exe().expect("the binary's own path"))
            .arg(SERVE_CHILD)
            .arg(dir.path().join("bench.db"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("the child server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base_url = loop {
            let line = lines.next().expect("the child prints its address").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            base_url,
            _dir: dir,
        }
    }

    /// The database's folder.
    pub fn folder(&self) -> &Path {
        self._dir.path()
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

    /// A client of the child, with this many retries.
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
