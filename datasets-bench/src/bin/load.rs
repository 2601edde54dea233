//! The load test: N concurrent clients for a fixed time against a release
//! server, a mixed read/write workload, and figures: throughput, latency
//! percentiles per operation, errors (there must be none) and the server's
//! memory at start and end. Not a timed test: it prints, and fails only on
//! errors.
//!
//! ```sh
//! cargo run --release -p datasets-bench --bin load -- --clients 32 --seconds 30
//! ```
//!
//! It also measures the key check: answers to wrong keys that share 63 of
//! their 64 characters with the real one, and to keys that share none, so
//! that a difference in timing would show.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use datasets::wire::{NewCase, OnConflict};
use datasets_bench::{KEY, ServerChild, case, dataset_body, ms, percentile};
use serde_json::json;
use tokio::sync::Mutex;

/// Mixed read/write load against a release datasets-server.
#[derive(Debug, Parser)]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long the load runs, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Cases in the dataset before the load starts.
    #[arg(long, default_value_t = 10_000)]
    preload: usize,
}

/// The operations, with their share of the load in percent.
const MIX: &[(&str, u32)] = &[
    ("get_case", 50),
    ("list_cases_by_tag", 15),
    ("add_case", 15),
    ("update_case", 10),
    ("import_upsert_10", 5),
    ("get_dataset", 4),
    ("delete_case", 1),
];

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: Vec<String>,
}

fn main() {
    let args = Args::parse();
    datasets_bench::runtime().block_on(run(args));
}

async fn run(args: Args) {
    let server = ServerChild::start(&datasets_bench::server_binary());
    let client = server.client();
    eprintln!(
        "preloading {} cases into a dataset with all three schemas...",
        args.preload
    );
    let body = dataset_body("load");
    client
        .create_dataset("load")
        .body(serde_json::from_value(body).unwrap())
        .await
        .unwrap();
    let preload: Vec<NewCase> = (0..args.preload)
        .map(|i| serde_json::from_value(case(i)).unwrap())
        .collect();
    let ids: Vec<uuid::Uuid> = client
        .add_cases("load", preload)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let ids = Arc::new(ids);
    let rss_start = server.rss_mib();

    let tally = Arc::new(Mutex::new(Tally::default()));
    let next_case = Arc::new(AtomicU64::new(args.preload as u64));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    eprintln!("running {} clients for {} s...", args.clients, args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.clients {
        // Each client its own connection pool, as separate programs would have.
        let client = server.client();
        let (ids, tally, next_case) = (ids.clone(), tally.clone(), next_case.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(worker as u64);
            let mut own: Vec<uuid::Uuid> = Vec::new();
            let mut local = Tally::default();
            while Instant::now() < deadline {
                let mut roll = rng.u32(0..100);
                let op = MIX
                    .iter()
                    .find(|(_, share)| {
                        if roll < *share {
                            true
                        } else {
                            roll -= share;
                            false
                        }
                    })
                    .map_or("get_case", |(op, _)| *op);
                let id = ids[rng.usize(0..ids.len())];
                let began = Instant::now();
                let result = match op {
                    "get_case" => client.get_case("load", id).await.map(drop),
                    "list_cases_by_tag" => client
                        .list_cases("load")
                        .tags([format!("group-{}", rng.usize(0..50))])
                        .await
                        .map(drop),
                    "add_case" => {
                        let n = next_case.fetch_add(1, Ordering::Relaxed) as usize;
                        let new: NewCase = serde_json::from_value(case(n)).unwrap();
                        client.add_case("load", new).await.map(|c| own.push(c.id))
                    }
                    "update_case" => client
                        .update_case("load", id)
                        .metadata(
                            json!({"category": "math", "difficulty": "hard", "reviewed": true}),
                        )
                        .await
                        .map(drop),
                    "import_upsert_10" => {
                        let first = rng.usize(0..ids.len().saturating_sub(10).max(1));
                        let cases: Vec<NewCase> = (first..first + 10)
                            .map(|i| serde_json::from_value(case(i)).unwrap())
                            .collect();
                        client
                            .import_cases("load", cases)
                            .on_conflict(OnConflict::Update)
                            .await
                            .map(drop)
                    }
                    "get_dataset" => client.get_dataset("load").await.map(drop),
                    _ => match own.pop() {
                        Some(mine) => client.delete_case("load", mine).await,
                        None => Ok(()),
                    },
                };
                let took = began.elapsed();
                match result {
                    Ok(()) => local.latencies.entry(op).or_default().push(took),
                    Err(err) => local.errors.push(format!("{op}: {err}")),
                }
            }
            let mut tally = tally.lock().await;
            for (op, mut latencies) in local.latencies {
                tally
                    .latencies
                    .entry(op)
                    .or_default()
                    .append(&mut latencies);
            }
            tally.errors.extend(local.errors);
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let rss_end = server.rss_mib();
    let tally = tally.lock().await;

    let total: usize = tally.latencies.values().map(Vec::len).sum();
    println!(
        "\nload: {} clients, {:.1} s, {} preloaded cases, release server",
        args.clients,
        elapsed.as_secs_f64(),
        args.preload
    );
    println!("\n| operation | requests | per second | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    let mut all = Vec::with_capacity(total);
    for (op, latencies) in tally.latencies.iter() {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        all.extend_from_slice(&sorted);
        println!(
            "| {op} | {} | {:.0} | {} | {} | {} | {} |",
            sorted.len(),
            sorted.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&sorted, 0.50)),
            ms(percentile(&sorted, 0.90)),
            ms(percentile(&sorted, 0.99)),
            ms(*sorted.last().unwrap_or(&Duration::ZERO)),
        );
    }
    all.sort_unstable();
    println!(
        "| **all** | {total} | {:.0} | {} | {} | {} | {} |",
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.90)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap_or(&Duration::ZERO)),
    );
    println!("\nerrors: {}", tally.errors.len());
    for error in tally.errors.iter().take(10) {
        println!("  {error}");
    }
    if let (Some((start, _)), Some((end, peak))) = (rss_start, rss_end) {
        println!(
            "server memory: {start:.1} MiB resident at start, {end:.1} MiB at end, {peak:.1} MiB peak"
        );
    }

    key_check_timing(&server.base_url).await;
    if !tally.errors.is_empty() {
        std::process::exit(1);
    }
}

/// Median time to a 401 for wrong keys sharing 63 of 64 characters with
/// the real key, and for keys sharing none, alternated so drift hits both.
async fn key_check_timing(base: &str) {
    let http = reqwest::Client::new();
    let near = format!(
        "{}{}",
        &KEY[..KEY.len() - 1],
        if KEY.ends_with('0') { '1' } else { '0' }
    );
    let far = format!("dsk_{}", "z".repeat(KEY.len() - 4));
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..4000 {
        let which = round % 2;
        let key = if which == 0 { &near } else { &far };
        let began = Instant::now();
        let answer = http
            .get(format!("{base}/v1/datasets/"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        times[which].push(began.elapsed());
    }
    for list in &mut times {
        list.sort_unstable();
    }
    println!(
        "key check, 2000 wrong keys each: sharing 63 of 64 characters p50 {} ms p90 {} ms; \
         sharing none p50 {} ms p90 {} ms",
        ms(percentile(&times[0], 0.5)),
        ms(percentile(&times[0], 0.9)),
        ms(percentile(&times[1], 0.5)),
        ms(percentile(&times[1], 0.9)),
    );
}
