//! Throughput of bulk import and export, on the release `datasets-server`
//! binary over a real socket: 100,000 small cases into a dataset with all three schemas set.
//!
//! Run with `cargo bench -p datasets-server --bench import_export`
//! (`-- --cases N` to change the size). Prints figures; asserts nothing
//! about time, since machines are noisy.

use std::time::Instant;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const KEY: &str = "dsk_bench_key";

/// The release binary as its own process, so its memory is measured alone.
struct Server {
    child: std::process::Child,
    base_url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_datasets-server"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("bench.db"))
            .env("DATASETS_BOOTSTRAP_KEY", KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the datasets-server binary starts");
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
            _dir: dir,
        }
    }

    /// Peak resident memory of the server process, from /proc (Linux).
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn schemas() -> Value {
    json!({
        "name": "bench",
        "input_schema": {"type": "object", "title": "QuestionInput",
            "properties": {"question": {"type": "string"}, "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}},
            "required": ["question"]},
        "output_schema": {"type": "object", "title": "AnswerOutput",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["answer", "confidence"]},
        "metadata_schema": {"type": "object", "title": "CaseMetadata",
            "properties": {"category": {"type": "string"}, "difficulty": {"type": "string"}, "reviewed": {"type": "boolean", "default": false}},
            "required": ["category", "difficulty"]}
    })
}

fn case(i: usize) -> Value {
    json!({
        "name": format!("case-{i}"),
        "inputs": {"question": format!("What is {i} + {i}?")},
        "expected_output": {"answer": format!("{}", 2 * i), "confidence": 0.99},
        "metadata": {"category": "math", "difficulty": "easy"},
        "tags": ["bench"]
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args
        .iter()
        .position(|a| a == "--cases")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let server = Server::start();
    let client = reqwest::Client::new();
    let base = server.base_url.clone();
    let key = KEY.to_owned();

    let post = |path: String, body: Vec<u8>| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    // One request of every case through /import/.
    post(
        "/v1/datasets/".into(),
        serde_json::to_vec(&schemas()).unwrap(),
    )
    .await
    .unwrap();
    let body =
        serde_json::to_vec(&json!({"cases": (0..total).map(case).collect::<Vec<_>>()})).unwrap();
    let body_mib = body.len() as f64 / 1048576.0;
    let started = Instant::now();
    let response = post("/v1/datasets/bench/import/".into(), body)
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    let answer = response.bytes().await.unwrap();
    let import_secs = started.elapsed().as_secs_f64();

    // The same cases in chunks of 10,000 through /cases/bulk/ into a second dataset.
    let mut second = schemas();
    second["name"] = json!("bench-chunked");
    post("/v1/datasets/".into(), serde_json::to_vec(&second).unwrap())
        .await
        .unwrap();
    let chunks: Vec<Vec<u8>> = (0..total)
        .step_by(10_000)
        .map(|start| serde_json::to_vec(&json!({"cases": (start..(start + 10_000).min(total)).map(case).collect::<Vec<_>>()})).unwrap())
        .collect();
    let started = Instant::now();
    for chunk in chunks {
        let response = post("/v1/datasets/bench-chunked/cases/bulk/".into(), chunk)
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
    }
    let chunked_secs = started.elapsed().as_secs_f64();

    let get = |path: &str| client.get(format!("{base}{path}")).bearer_auth(&key).send();
    let started = Instant::now();
    let export = get("/v1/datasets/bench/export/")
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let export_secs = started.elapsed().as_secs_f64();
    let exported: Value = serde_json::from_slice(&export).unwrap();
    assert_eq!(exported["cases"].as_array().unwrap().len(), total);
    let started = Instant::now();
    let listed = get("/v1/datasets/bench/cases/")
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let list_secs = started.elapsed().as_secs_f64();

    println!("datasets-server bulk import and export, {total} cases, all three schemas set");
    println!("| operation | time | throughput |");
    println!("|---|---|---|");
    println!(
        "| import, 1 request ({body_mib:.1} MiB in, {:.1} MiB out) | {import_secs:.2} s | {:.0} cases/s |",
        answer.len() as f64 / 1048576.0,
        total as f64 / import_secs
    );
    println!(
        "| bulk, {} requests of 10,000 | {chunked_secs:.2} s | {:.0} cases/s |",
        total.div_ceil(10_000),
        total as f64 / chunked_secs
    );
    println!(
        "| export ({:.1} MiB) | {export_secs:.2} s | {:.0} cases/s |",
        export.len() as f64 / 1048576.0,
        total as f64 / export_secs
    );
    println!(
        "| list cases ({:.1} MiB) | {list_secs:.2} s | {:.0} cases/s |",
        listed.len() as f64 / 1048576.0,
        total as f64 / list_secs
    );
    if let Some(rss) = server.peak_rss_mib() {
        println!("peak RSS of the server process: {rss:.0} MiB");
    }
}
