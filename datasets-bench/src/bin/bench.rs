//! The benchmark: a release `datasets-server` and the Rust client, against
//! the store's own speed limit and the `logfire` Python SDK, in one run.
//!
//! ```sh
//! cargo run --release -p datasets-bench              # 10k, 100k and 1M cases
//! cargo run --release -p datasets-bench -- --sizes 10000,100000 --no-python
//! ```
//!
//! For each size, on a fresh server, with cases of about 230 bytes and all
//! three schemas set:
//!
//! - import: the cases sent to `/cases/bulk/` in 8 MiB requests (the
//!   client's default), answers read whole, throughput in cases/s;
//! - the store's limit: the same rows, with the same tables and indexes,
//!   inserted straight into SQLite in one transaction through a prepared
//!   statement, then scanned back; import as a fraction of that rate;
//! - both done `--repeat` times (3 by default), into a fresh dataset and a
//!   fresh database file each time, the median reported (every run is in
//!   the JSON), since one run on a small machine varies by ±10%;
//! - export: `GET /export/`, the whole answer read;
//! - paginated listing: the client's case stream, 1,000 per page, decoded;
//! - get-case latency under 32 concurrent clients, p50 and p99, after ten
//!   untimed requests per client that open and warm its connection;
//! - the server's peak resident memory.
//!
//! Then, on one fresh server, 10,000 cases pushed and exported typed by the
//! Rust client and by the Python SDK (`logfire[datasets]` 5.x in
//! `target/interop-venv`, installed from PyPI on first use), and the ratio.
//!
//! It prints markdown tables and writes them, with the figures as JSON, to
//! `target/datasets-bench/`. Nothing here asserts a time: machines vary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use datasets::eval::Dataset;
use datasets_bench::{
    KEY, PostgresDatabase, ServerChild, TypedBench, case, case_bodies, dataset_body, ms,
    percentile, server_binary, typed_case,
};
use serde_json::{Value, json};

/// Benchmarks of datasets-server and the Rust client.
#[derive(Debug, Parser)]
struct Args {
    /// Dataset sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000, 1_000_000])]
    sizes: Vec<usize>,
    /// Skip the comparison with the Python SDK.
    #[arg(long)]
    no_python: bool,
    /// Cases of the Python comparison.
    #[arg(long, default_value_t = 10_000)]
    python_cases: usize,
    /// Get-case requests per size, spread over 32 clients.
    #[arg(long, default_value_t = 20_000)]
    gets: usize,
    /// Imports (and raw SQLite inserts) per size, each into a fresh
    /// dataset (and database file); the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Where to write the results.
    #[arg(long, default_value = "target/datasets-bench")]
    out: PathBuf,
    /// Benchmark on PostgreSQL instead of SQLite: a URL such as
    /// `postgres://postgres@127.0.0.1:5432/postgres`; each run gets a fresh
    /// database next to the one named, dropped afterwards.
    #[arg(long)]
    db: Option<String>,
    /// Server replicas on the one database, comma-separated (PostgreSQL
    /// only; default 1,3): requests and clients are spread over them.
    #[arg(long, value_delimiter = ',')]
    replicas: Option<Vec<usize>>,
}

const CLIENTS: usize = 32;
/// Untimed get-case requests per client before the timed ones.
const WARM_UP_GETS: usize = 10;
const REQUEST_BYTES: usize = 8 * 1024 * 1024;

fn main() {
    let args = Args::parse();
    let binary = server_binary();
    let runtime = datasets_bench::runtime();
    let replicas = match (&args.db, &args.replicas) {
        (None, _) => vec![1],
        (Some(_), None) => vec![1, 3],
        (Some(_), Some(replicas)) => replicas.iter().map(|r| (*r).max(1)).collect(),
    };
    let mut sizes = Vec::new();
    for &n in &args.sizes {
        for &replicas in &replicas {
            eprintln!("\n== {n} cases, {replicas} server(s)");
            sizes.push(runtime.block_on(size_run(
                &binary,
                n,
                args.gets,
                args.repeat.max(1),
                args.db.as_deref(),
                replicas,
            )));
        }
    }
    let python = if args.no_python {
        None
    } else {
        eprintln!("\n== Rust and Python, {} cases", args.python_cases);
        runtime.block_on(python_run(&binary, args.python_cases))
    };
    let report = render(&sizes, python.as_ref());
    print!("\n{report}");
    std::fs::create_dir_all(&args.out).expect("the output folder");
    std::fs::write(args.out.join("results.md"), &report).expect("results.md");
    let figures = json!({"sizes": sizes, "python": python});
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&figures).unwrap() + "\n",
    )
    .expect("results.json");
    eprintln!("\nwritten to {}", args.out.display());
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The cases of size `n` as bulk request bodies under [`REQUEST_BYTES`].
fn bodies(n: usize) -> Vec<Vec<u8>> {
    case_bodies((0..n).map(case), REQUEST_BYTES)
}

async fn size_run(
    binary: &Path,
    n: usize,
    gets: usize,
    repeat: usize,
    db: Option<&str>,
    replicas: usize,
) -> Value {
    let database = match db {
        Some(url) => Some(PostgresDatabase::create(url).await),
        None => None,
    };
    let url = database.as_ref().map(|db| db.url.clone());
    let servers: Vec<ServerChild> = (0..replicas)
        .map(|_| ServerChild::start_on(binary, url.as_deref()))
        .collect();
    let server = &servers[0];
    let client = server.client();
    let http = reqwest::Client::new();
    let bases: Vec<String> = servers.iter().map(|s| s.base_url.clone()).collect();
    let bodies = bodies(n);
    let megabytes: f64 = bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1048576.0;
    let mut imports = Vec::new();
    let mut raw_inserts = Vec::new();
    let mut raw_scans = Vec::new();
    // The first dataset, "bench-0", is the one exported, listed and read.
    for round in 0..repeat {
        let dataset = format!("bench-{round}");
        client
            .create_dataset(&dataset)
            .body(serde_json::from_value(dataset_body(&dataset)).unwrap())
            .await
            .unwrap();
        eprintln!(
            "import {}/{repeat}: {} requests, {megabytes:.1} MiB",
            round + 1,
            bodies.len()
        );
        let started = Instant::now();
        // One request in flight per server, each server taking its turn.
        for group in bodies.chunks(bases.len()) {
            let sends = group.iter().zip(&bases).map(|(body, base)| {
                http.post(format!("{base}/v1/datasets/{dataset}/cases/bulk/"))
                    .bearer_auth(KEY)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
            });
            for answer in futures_util::future::join_all(sends).await {
                let answer = answer.unwrap();
                assert_eq!(answer.status().as_u16(), 201);
                answer.bytes().await.unwrap();
            }
        }
        imports.push(started.elapsed());

        let (insert, scan) = match &url {
            Some(url) => {
                eprintln!(
                    "store limit {}/{repeat}: the same rows COPYed straight into PostgreSQL...",
                    round + 1
                );
                raw_postgres(n, url, round).await
            }
            None => {
                eprintln!(
                    "store limit {}/{repeat}: the same rows straight into SQLite...",
                    round + 1
                );
                raw_sqlite(n, &server.folder().join(format!("raw-{round}.db")))
            }
        };
        raw_inserts.push(insert);
        raw_scans.push(scan);
    }
    let (import, raw_insert, raw_scan) = (
        median(&mut imports),
        median(&mut raw_inserts),
        median(&mut raw_scans),
    );

    eprintln!("export...");
    let started = Instant::now();
    let answer = http
        .get(format!("{}/v1/datasets/bench-0/export/", bases[0]))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let export_bytes = answer.bytes().await.unwrap().len();
    let export = started.elapsed();

    eprintln!("paginated listing...");
    let started = Instant::now();
    let mut stream = client.list_cases("bench-0").page_size(1_000).stream();
    let mut listed = 0usize;
    let mut ids = Vec::new();
    while let Some(case) = stream.next().await {
        let case = case.unwrap();
        if listed.is_multiple_of((n / 2000).max(1)) {
            ids.push(case.id);
        }
        listed += 1;
    }
    let listing = started.elapsed();
    assert_eq!(listed, n);

    eprintln!("get-case latency, {CLIENTS} clients...");
    let ids = std::sync::Arc::new(ids);
    let mut workers = Vec::new();
    for worker in 0..CLIENTS {
        let (client, ids) = (servers[worker % servers.len()].client(), ids.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(worker as u64);
            // Untimed: each client's connection is opened and warm.
            for _ in 0..WARM_UP_GETS {
                let id = ids[rng.usize(0..ids.len())];
                client.get_case("bench-0", id).await.unwrap();
            }
            let mut times = Vec::with_capacity(gets / CLIENTS);
            for _ in 0..gets / CLIENTS {
                let id = ids[rng.usize(0..ids.len())];
                let began = Instant::now();
                client.get_case("bench-0", id).await.unwrap();
                times.push(began.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for worker in workers {
        times.extend(worker.await.unwrap());
    }
    times.sort_unstable();
    // The largest of the servers' figures: the target is per replica.
    let (rss_end, rss_peak) = servers
        .iter()
        .filter_map(ServerChild::rss_mib)
        .fold((0.0f64, 0.0f64), |(end, peak), (e, p)| {
            (end.max(e), peak.max(p))
        });
    drop(servers);
    if let Some(database) = database {
        database.drop_now().await;
    }

    let rate = |d: Duration| n as f64 / seconds(d);
    json!({
        "store": if db.is_some() { "postgres" } else { "sqlite" },
        "replicas": replicas,
        "cases": n,
        "import_s": seconds(import),
        "repeat": repeat,
        "import_s_all": imports.iter().map(|d| seconds(*d)).collect::<Vec<_>>(),
        "import_cases_per_s": rate(import),
        "import_mib": megabytes,
        "raw_sqlite_insert_s": seconds(raw_insert),
        "raw_sqlite_insert_s_all": raw_inserts.iter().map(|d| seconds(*d)).collect::<Vec<_>>(),
        "raw_sqlite_cases_per_s": rate(raw_insert),
        "import_fraction_of_raw": seconds(raw_insert) / seconds(import),
        "raw_sqlite_scan_s": seconds(raw_scan),
        "export_s": seconds(export),
        "export_mib": export_bytes as f64 / 1048576.0,
        "paged_listing_s": seconds(listing),
        "paged_listing_cases_per_s": rate(listing),
        "get_case_p50_ms": seconds(percentile(&times, 0.50)) * 1e3,
        "get_case_p99_ms": seconds(percentile(&times, 0.99)) * 1e3,
        "server_peak_rss_mib": rss_peak,
        "server_end_rss_mib": rss_end,
    })
}

/// The middle of `times` (sorted in place).
fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// The same rows as an import of `n` cases, with the server's tables and
/// indexes, inserted in one transaction through prepared statements into a
/// new database at `path`, then read back: the store's own speed limit.
fn raw_sqlite(n: usize, path: &Path) -> (Duration, Duration) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;",
    )
    .unwrap();
    conn.execute_batch(include_str!(
        "../../../datasets-server/migrations/sqlite/0001_initial.sql"
    ))
    .unwrap();
    conn.execute_batch(
        "INSERT INTO projects (id, name, created_at) VALUES ('p', 'p', '2026-01-01T00:00:00Z');
         INSERT INTO datasets (pk, id, project_id, name, created_at, updated_at)
             VALUES (1, 'd', 'p', 'd', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
    )
    .unwrap();
    let rows: Vec<[String; 6]> = (0..n)
        .map(|i| {
            let case = case(i);
            [
                uuid::Uuid::now_v7().to_string(),
                case["name"].as_str().unwrap().to_owned(),
                case["inputs"].to_string(),
                case["expected_output"].to_string(),
                case["metadata"].to_string(),
                case["tags"].to_string(),
            ]
        })
        .collect();
    let started = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO cases (id, dataset_pk, name, inputs, expected_output, metadata, tags,
                     version, created_at, updated_at, created_by, updated_by)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8, ?8)",
            )
            .unwrap();
        let mut tag = conn
            .prepare_cached("INSERT INTO case_tags (case_pk, dataset_pk, tag) VALUES (?1, 1, ?2)")
            .unwrap();
        let at = "2026-11-25T12:00:00.123456Z";
        let actor = "01a214b7-7527-7789-b73f-1f78fac6a87d";
        for (i, row) in rows.iter().enumerate() {
            insert
                .execute(rusqlite::params![
                    row[0], row[1], row[2], row[3], row[4], row[5], at, actor
                ])
                .unwrap();
            let pk = conn.last_insert_rowid();
            tag.execute(rusqlite::params![pk, format!("group-{}", i % 50)])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    let insert = started.elapsed();

    let started = Instant::now();
    let mut stmt = conn
        .prepare(
            "SELECT pk, id, name, inputs, expected_output, metadata, evaluators, source_trace_id,
                 source_span_id, tags, version, created_at, updated_at, created_by, updated_by
             FROM cases WHERE dataset_pk = 1 ORDER BY pk",
        )
        .unwrap();
    let mut scanned = 0usize;
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        let text = |i: usize| row.get::<_, Option<String>>(i).unwrap();
        let _ = (
            row.get::<_, i64>(0).unwrap(),
            text(1),
            text(2),
            text(3),
            text(4),
            text(5),
        );
        let _ = (
            text(6),
            text(7),
            text(8),
            text(9),
            row.get::<_, i64>(10).unwrap(),
        );
        let _ = (text(11), text(12), text(13), text(14));
        scanned += 1;
    }
    assert_eq!(scanned, n);
    (insert, started.elapsed())
}

/// The same rows as an import of `n` cases, with the server's tables and
/// indexes (its migration, in a schema of their own), `COPY`ed in binary in
/// one transaction, then read back: PostgreSQL's own speed limit.
async fn raw_postgres(n: usize, url: &str, round: usize) -> (Duration, Duration) {
    use tokio_postgres::types::{ToSql, Type};
    let mut client = datasets_bench::postgres_connect(url).await;
    let schema = format!("raw_{round}");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path = {schema};\n{}",
            include_str!("../../../datasets-server/migrations/postgres/0001_initial.sql")
        ))
        .await
        .unwrap();
    let at = time::OffsetDateTime::now_utc();
    let actor = uuid::Uuid::now_v7();
    client
        .execute(
            "INSERT INTO projects (id, name, created_at) VALUES ($1, 'p', $2)",
            &[&actor, &at],
        )
        .await
        .unwrap();
    let dataset: i64 = client
        .query_one(
            "INSERT INTO datasets (id, project_id, name, created_at, updated_at)
             VALUES ($1, $2, 'd', $3, $3) RETURNING pk",
            &[&uuid::Uuid::now_v7(), &actor, &at],
        )
        .await
        .unwrap()
        .get(0);
    let rows: Vec<(uuid::Uuid, String, String, String, String, Vec<String>)> = (0..n)
        .map(|i| {
            let case = case(i);
            (
                uuid::Uuid::now_v7(),
                case["name"].as_str().unwrap().to_owned(),
                case["inputs"].to_string(),
                case["expected_output"].to_string(),
                case["metadata"].to_string(),
                vec![format!("group-{}", i % 50)],
            )
        })
        .collect();
    let started = Instant::now();
    let tx = client.transaction().await.unwrap();
    let sink = tx
        .copy_in(
            "COPY cases (id, dataset_pk, name, inputs, expected_output, metadata, tags, version,
                 created_at, updated_at, created_by, updated_by) FROM STDIN BINARY",
        )
        .await
        .unwrap();
    let types = [
        Type::UUID,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::UUID,
        Type::UUID,
    ];
    let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    let version = 1i64;
    for row in &rows {
        let values: [&(dyn ToSql + Sync); 12] = [
            &row.0, &dataset, &row.1, &row.2, &row.3, &row.4, &row.5, &version, &at, &at, &actor,
            &actor,
        ];
        writer.as_mut().write(&values).await.unwrap();
    }
    writer.as_mut().finish().await.unwrap();
    tx.commit().await.unwrap();
    let insert = started.elapsed();

    let started = Instant::now();
    let scanned = client
        .query(
            "SELECT pk, id, name, inputs, expected_output, metadata, evaluators, source_trace_id,
                 source_span_id, tags, version, created_at, updated_at, created_by, updated_by
             FROM cases WHERE dataset_pk = $1 ORDER BY pk",
            &[&dataset],
        )
        .await
        .unwrap()
        .len();
    assert_eq!(scanned, n);
    (insert, started.elapsed())
}

/// The interpreter of the interop virtualenv, made on first use.
fn python() -> Option<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/interop-venv.sh");
    let output = Command::new("bash").arg(script).output().ok()?;
    if !output.status.success() {
        eprintln!(
            "no Python SDK (scripts/interop-venv.sh failed): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    Some(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

async fn python_run(binary: &Path, n: usize) -> Option<Value> {
    let python = python()?;
    let server = ServerChild::start(binary);
    let client = server.client();
    let handle = client.dataset::<TypedBench>();
    let local = Dataset::new("typed-bench", (0..n).map(typed_case).collect());

    let started = Instant::now();
    let pushed = handle.push(&local).await.unwrap();
    let rust_push = started.elapsed();
    assert_eq!(pushed.case_count as usize, n);
    let started = Instant::now();
    let exported = handle.export().await.unwrap();
    let rust_export = started.elapsed();
    assert_eq!(exported.cases.len(), n);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/bench_python.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&server.base_url)
        .arg(KEY)
        .arg(n.to_string())
        .output()
        .expect("the Python benchmark starts");
    if !output.status.success() {
        eprintln!(
            "the Python benchmark failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let figures: Value = serde_json::from_slice(&output.stdout).expect("the Python figures");
    let python_push = figures["push_s"].as_f64()?;
    let python_export = figures["typed_export_s"].as_f64()?;
    Some(json!({
        "cases": n,
        "rust_push_s": seconds(rust_push),
        "python_push_s": python_push,
        "push_speedup": python_push / seconds(rust_push),
        "rust_typed_export_s": seconds(rust_export),
        "python_typed_export_s": python_export,
        "typed_export_speedup": python_export / seconds(rust_export),
        "python_sdk": figures["sdk"],
    }))
}

fn render(sizes: &[Value], python: Option<&Value>) -> String {
    let mut out = String::from(
        "| store | servers | cases | import (cases/s) | store limit (cases/s) | import / limit | export | paged listing (cases/s) | get p50 / p99 (ms, 32 clients) | peak RSS (largest server) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for size in sizes {
        let f = |key: &str| size[key].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} ({:.2} s) | {:.0} ({:.2} s) | {:.0}% | {:.0} ms ({:.0} MiB) | {:.0} | {:.2} / {:.2} | {:.0} MiB |\n",
            size["store"].as_str().unwrap_or("?"),
            size["replicas"],
            size["cases"],
            f("import_cases_per_s"),
            f("import_s"),
            f("raw_sqlite_cases_per_s"),
            f("raw_sqlite_insert_s"),
            f("import_fraction_of_raw") * 100.0,
            f("export_s") * 1e3,
            f("export_mib"),
            f("paged_listing_cases_per_s"),
            f("get_case_p50_ms"),
            f("get_case_p99_ms"),
            f("server_peak_rss_mib"),
        ));
    }
    if let Some(repeat) = sizes.first().and_then(|size| size["repeat"].as_u64()) {
        out.push_str(&format!(
            "\nImport and store limit: the median of {repeat} runs each.\n"
        ));
    }
    if let Some(python) = python {
        let f = |key: &str| python[key].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "\n| {} cases, typed, same server | Rust client | Python SDK ({}) | Rust faster by |\n\
             |---|---|---|---|\n\
             | push (create + upsert) | {} ms | {} ms | {:.1}x |\n\
             | export into typed cases | {} ms | {} ms | {:.1}x |\n",
            python["cases"],
            python["python_sdk"].as_str().unwrap_or("?"),
            ms(Duration::from_secs_f64(f("rust_push_s"))),
            ms(Duration::from_secs_f64(f("python_push_s"))),
            f("push_speedup"),
            ms(Duration::from_secs_f64(f("rust_typed_export_s"))),
            ms(Duration::from_secs_f64(f("python_typed_export_s"))),
            f("typed_export_speedup"),
        ));
    }
    out
}
