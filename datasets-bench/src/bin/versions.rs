//! The cost of dataset versions, against a release server in its own
//! process, on SQLite or (with `--db`) PostgreSQL:
//!
//! ```sh
//! cargo run --release -p datasets-bench --bin versions
//! cargo run --release -p datasets-bench --bin versions -- --db postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! - `--cases` cases (100,000) imported, then ten versions each replacing
//!   1% of them (an import with `on_conflict=update`): the storage each
//!   such version adds (SQLite: the database's used pages; PostgreSQL: the
//!   database's size), and the export of the head against the export of
//!   the version ten back (the median of `--runs`);
//! - `--diff-cases` cases (1,000,000) imported, then 1,000 cases changed
//!   over ten versions: the diff of the versions before and after (all
//!   1,000 changes, streamed), the median of `--runs`.
//!
//! Import throughput with versioning on is the main benchmark's
//! (`--bin bench`). Nothing here asserts a time: machines vary.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use datasets_bench::{
    KEY, PostgresDatabase, ServerChild, case, case_bodies, dataset_body, ms, postgres_connect,
    server_binary,
};
use serde_json::{Value, json};

/// Benchmarks of dataset versions.
#[derive(Debug, Parser)]
struct Args {
    /// Cases of the export and storage runs.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// Cases of the diff run (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    diff_cases: usize,
    /// Timed repeats; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// A PostgreSQL URL to benchmark on instead of SQLite; a fresh database
    /// is made next to the one named, and dropped afterwards.
    #[arg(long)]
    db: Option<String>,
}

const REQUEST_BYTES: usize = 8 * 1024 * 1024;

fn main() {
    let args = Args::parse();
    let binary = server_binary();
    let runtime = datasets_bench::runtime();
    let store = if args.db.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let export = runtime.block_on(export_run(&binary, &args));
    let diff = (args.diff_cases > 0).then(|| runtime.block_on(diff_run(&binary, &args)));
    let mut table = format!(
        "| store | cases | head export | export 10 versions back | storage per 1% version |\n\
         |---|---|---|---|---|\n\
         | {store} | {} | {} ms | {} ms | {:.2} MiB ({:.0} bytes per changed case) |\n",
        args.cases,
        export["head_ms"].as_str().unwrap_or("?"),
        export["back_ms"].as_str().unwrap_or("?"),
        export["bytes_per_version"].as_f64().unwrap_or(0.0) / 1_048_576.0,
        export["bytes_per_changed_case"].as_f64().unwrap_or(0.0),
    );
    if let Some(diff) = &diff {
        table.push_str(&format!(
            "\n| store | cases | diff of 1,000 changes (10 versions apart) | diff of the whole import (every case added) |\n|---|---|---|---|\n\
             | {store} | {} | {} ms | {} ms |\n",
            args.diff_cases,
            diff["diff_ms"].as_str().unwrap_or("?"),
            diff["whole_import_diff_ms"].as_str().unwrap_or("?"),
        ));
    }
    print!("\n{table}");
    let out = Path::new("target/datasets-bench");
    std::fs::create_dir_all(out).expect("the output folder");
    let figures = json!({"store": store, "export": export, "diff": diff});
    std::fs::write(
        out.join(format!("versions-{store}.json")),
        serde_json::to_string_pretty(&figures).unwrap() + "\n",
    )
    .expect("the figures");
}

/// Import bodies of the cases `range`, each at most [`REQUEST_BYTES`],
/// with `answer` as every expected answer.
fn bodies(range: impl Iterator<Item = usize>, answer: Option<&str>) -> Vec<Vec<u8>> {
    let cases = range.map(|i| {
        let mut value = case(i);
        if let Some(answer) = answer {
            value["expected_output"]["answer"] = json!(answer);
        }
        value
    });
    case_bodies(cases, REQUEST_BYTES)
}

struct Bench {
    http: reqwest::Client,
    base: String,
}

impl Bench {
    /// A server on a fresh database (a new PostgreSQL database next to
    /// `db`'s, or a SQLite file), and requests to it.
    async fn start(
        binary: &Path,
        db: Option<&str>,
    ) -> (Option<PostgresDatabase>, ServerChild, Self) {
        let database = match db {
            Some(url) => Some(PostgresDatabase::create(url).await),
            None => None,
        };
        let server = ServerChild::start_on(binary, database.as_ref().map(|db| db.url.as_str()));
        let bench = Self {
            http: reqwest::Client::new(),
            base: server.base_url.clone(),
        };
        (database, server, bench)
    }

    /// Stops the server and drops its PostgreSQL database.
    async fn stop(database: Option<PostgresDatabase>, server: ServerChild) {
        drop(server);
        if let Some(database) = database {
            database.drop_now().await;
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (Value, Option<u64>) {
        let (bytes, version) = self.send_raw(method, path, body).await;
        (
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            version,
        )
    }

    /// The answer's bytes, read whole but not parsed, and its `Dataset-Version`.
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (Vec<u8>, Option<u64>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let version = response
            .headers()
            .get("dataset-version")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let bytes = response.bytes().await.expect("the body arrives");
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        );
        (bytes.to_vec(), version)
    }

    async fn create(&self, name: &str) {
        let body = serde_json::to_vec(&dataset_body(name)).unwrap();
        self.send(reqwest::Method::POST, "/v1/datasets/", Some(body))
            .await;
    }

    async fn import(&self, dataset: &str, bodies: Vec<Vec<u8>>, upsert: bool) {
        let path = if upsert {
            format!("/v1/datasets/{dataset}/import/?on_conflict=update")
        } else {
            format!("/v1/datasets/{dataset}/cases/bulk/")
        };
        for body in bodies {
            self.send(reqwest::Method::POST, &path, Some(body)).await;
        }
    }

    async fn version(&self, dataset: &str) -> u64 {
        let (detail, _) = self
            .send(
                reqwest::Method::GET,
                &format!("/v1/datasets/{dataset}/"),
                None,
            )
            .await;
        detail["version"].as_u64().expect("the dataset's version")
    }
}

/// The median of `runs` timings of `f`.
async fn median<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// The bytes the database uses now.
async fn storage(server: &ServerChild, postgres: Option<&str>) -> u64 {
    match postgres {
        Some(url) => {
            let client = postgres_connect(url).await;
            let row = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await
                .expect("the size");
            row.get::<_, i64>(0) as u64
        }
        None => {
            let conn = rusqlite::Connection::open_with_flags(
                server.folder().join("bench.db"),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .expect("the database opens");
            let pragma = |name: &str| -> u64 {
                conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
                    .expect("the pragma") as u64
            };
            (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
        }
    }
}

async fn export_run(binary: &Path, args: &Args) -> Value {
    let n = args.cases;
    let (database, server, bench) = Bench::start(binary, args.db.as_deref()).await;
    let url = database.as_ref().map(|db| db.url.clone());
    bench.create("golden").await;
    eprintln!("importing {n} cases");
    bench.import("golden", bodies(0..n, None), false).await;
    let before = storage(&server, url.as_deref()).await;
    let changed = n / 100;
    for round in 0..10 {
        // 1% of the cases, spread over the dataset, get a new answer.
        let picked = (0..changed).map(move |m| (m * 100 + round * 7) % n);
        bench
            .import("golden", bodies(picked, Some(&format!("v{round}"))), true)
            .await;
    }
    let after = storage(&server, url.as_deref()).await;
    let head = bench.version("golden").await;
    let back = head - 10;
    let path = |version: Option<u64>| match version {
        Some(v) => format!("/v1/datasets/golden/export/?version={v}"),
        None => "/v1/datasets/golden/export/".to_owned(),
    };
    // Checked once, untimed: the whole dataset, at the version asked.
    for version in [None, Some(back)] {
        let (body, read) = bench.send(reqwest::Method::GET, &path(version), None).await;
        assert_eq!(body["cases"].as_array().map(Vec::len), Some(n));
        assert_eq!(read, Some(version.unwrap_or(head)));
    }
    // Timed: the answer read whole (not parsed), as the main benchmark's export.
    let export = |version: Option<u64>| {
        let (bench, path) = (&bench, path(version));
        async move {
            let (bytes, read) = bench.send_raw(reqwest::Method::GET, &path, None).await;
            assert!(bytes.len() > n * 100);
            assert_eq!(read, Some(version.unwrap_or(head)));
        }
    };
    let head_time = median(args.runs, || export(None)).await;
    let back_time = median(args.runs, || export(Some(back))).await;
    let per_version = after.saturating_sub(before) as f64 / 10.0;
    eprintln!(
        "head export {} ms, version {back} export {} ms, {per_version:.0} bytes per version",
        ms(head_time),
        ms(back_time)
    );
    Bench::stop(database, server).await;
    json!({
        "cases": n,
        "head_version": head,
        "head_ms": ms(head_time),
        "back_version": back,
        "back_ms": ms(back_time),
        "bytes_before": before,
        "bytes_after": after,
        "bytes_per_version": per_version,
        "bytes_per_changed_case": per_version / changed.max(1) as f64,
    })
}

async fn diff_run(binary: &Path, args: &Args) -> Value {
    let n = args.diff_cases;
    let (database, server, bench) = Bench::start(binary, args.db.as_deref()).await;
    bench.create("big").await;
    eprintln!("importing {n} cases");
    bench.import("big", bodies(0..n, None), false).await;
    let from = bench.version("big").await;
    for round in 0..10 {
        let picked = (0..100).map(move |m| (m * (n / 100) + round * 13) % n);
        bench
            .import("big", bodies(picked, Some(&format!("d{round}"))), true)
            .await;
    }
    let to = bench.version("big").await;
    let path = format!("/v1/datasets/big/diff/?from={from}&to={to}");
    let (items, _) = bench.send(reqwest::Method::GET, &path, None).await;
    assert_eq!(items.as_array().map(Vec::len), Some(1_000));
    let diff = || {
        let (bench, path) = (&bench, &path);
        async move {
            let (bytes, _) = bench.send_raw(reqwest::Method::GET, path, None).await;
            assert!(bytes.len() > 1_000 * 50);
        }
    };
    let time = median(args.runs, diff).await;
    eprintln!("diff {from} → {to} of {n} cases: {} ms", ms(time));
    // And the whole import as one diff: every case added, streamed.
    let started = Instant::now();
    let (bytes, _) = bench
        .send_raw(
            reqwest::Method::GET,
            &format!("/v1/datasets/big/diff/?from=1&to={from}"),
            None,
        )
        .await;
    let whole = started.elapsed();
    let added: Vec<Value> = serde_json::from_slice(&bytes).expect("a JSON list");
    assert_eq!(added.len(), n);
    eprintln!("diff 1 → {from} ({n} added): {} ms", ms(whole));
    Bench::stop(database, server).await;
    json!({
        "cases": n,
        "from": from,
        "to": to,
        "changes": 1000,
        "diff_ms": ms(time),
        "whole_import_diff_ms": ms(whole),
    })
}
