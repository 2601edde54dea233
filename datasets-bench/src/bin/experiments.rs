//! The cost of experiments: the harness's spans, and the server ingesting
//! them, against a release server in its own process, on SQLite or (with
//! `--db`) PostgreSQL:
//!
//! ```sh
//! cargo run --release -p datasets-bench --bin experiments
//! cargo run --release -p datasets-bench --bin experiments -- --db postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! - a `--cases`-case run (10,000; a trivial task and `EqualsExpected`),
//!   the median of `--runs`: with no `tracing` subscriber (the spans are
//!   disabled at their callsites and nothing is serialized), with a
//!   subscriber that filters the harness's target out, and with the spans
//!   exported through tracing-opentelemetry (to an in-memory exporter);
//! - the spans of that run encoded as Logfire's SDK sends them (OTLP
//!   protobuf, gzip, 512 spans a request, the run's span last) and posted
//!   to `/v1/traces` one request after another: the time until the last is
//!   answered, and the server's peak memory before and after; then the
//!   stored experiment is read back and its case count checked.
//!
//! Nothing here asserts a time: machines vary.

use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::Parser;
use datasets::Case;
use datasets::eval::{Dataset, EqualsExpected};
use datasets_bench::{KEY, PostgresDatabase, ServerChild, ms, server_binary};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use prost::Message as _;
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt as _;

/// Benchmarks of experiments.
#[derive(Debug, Parser)]
struct Args {
    /// Cases in the run.
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
    /// Timed repeats of the run; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// A PostgreSQL URL to ingest into instead of SQLite; a fresh database
    /// is made next to the one named, and dropped afterwards.
    #[arg(long)]
    db: Option<String>,
    /// Run the evaluation once, with no subscriber, and stop: for counting
    /// its instructions (`valgrind --tool=callgrind`), which a noisy
    /// machine does not disturb as it does times.
    #[arg(long)]
    once: bool,
}

/// Spans per request, as Logfire's SDK batches them.
const BATCH: usize = 512;

fn dataset(cases: usize) -> Dataset<String, String, ()> {
    Dataset::new(
        "bench-experiments",
        (0..cases)
            .map(|i| {
                Case::new(format!("question {i}"))
                    .name(format!("case-{i}"))
                    .expected_output(format!("QUESTION {i}"))
            })
            .collect(),
    )
}

fn run_once(runtime: &tokio::runtime::Runtime, dataset: &Dataset<String, String, ()>) -> Duration {
    let started = Instant::now();
    let report = runtime.block_on(
        dataset
            .evaluate(|q: String| async move { q.to_uppercase() })
            .name("bench")
            .evaluator(EqualsExpected::default())
            .progress(false)
            .into_future(),
    );
    let elapsed = started.elapsed();
    assert_eq!(report.cases.len(), dataset.cases.len());
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let args = Args::parse();
    let runtime = datasets_bench::runtime();
    let dataset = dataset(args.cases);
    let once = run_once(&runtime, &dataset);
    if args.once {
        println!(
            "one run of {} cases, no subscriber: {} ms",
            args.cases,
            ms(once)
        );
        return;
    }

    let bare = median(
        (0..args.runs)
            .map(|_| run_once(&runtime, &dataset))
            .collect(),
    );
    let filtered = {
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_target("datasets::eval", tracing::level_filters::LevelFilter::OFF);
        let subscriber = tracing_subscriber::registry().with(filter);
        tracing::subscriber::with_default(subscriber, || {
            median(
                (0..args.runs)
                    .map(|_| run_once(&runtime, &dataset))
                    .collect(),
            )
        })
    };
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let traced = {
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            median(
                (0..args.runs)
                    .map(|_| {
                        exporter.reset();
                        run_once(&runtime, &dataset)
                    })
                    .collect(),
            )
        })
    };
    let spans = exporter.get_finished_spans().expect("the spans");
    assert_eq!(spans.len(), args.cases + 1, "a run span and one per case");

    let bodies = encode(spans);
    let binary = server_binary();
    let ingest = runtime.block_on(ingest(&binary, &args, &bodies));

    let per_case = |d: Duration| d.as_secs_f64() * 1e6 / args.cases as f64;
    println!(
        "\n| cases | no subscriber | subscriber, harness target off | spans exported (tracing-opentelemetry) |\n\
         |---|---|---|---|\n\
         | {} | {} ms ({:.2} µs/case) | {} ms ({:.2} µs/case) | {} ms ({:.2} µs/case) |",
        args.cases,
        ms(bare),
        per_case(bare),
        ms(filtered),
        per_case(filtered),
        ms(traced),
        per_case(traced),
    );
    println!(
        "\n| store | spans | requests (gzip protobuf) | bytes sent | ingest time | spans/s | server peak RSS before → after |\n\
         |---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {:.1} MiB | {} ms | {:.0} | {:.1} → {:.1} MiB |",
        ingest["store"].as_str().unwrap_or("?"),
        args.cases + 1,
        bodies.len(),
        bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1_048_576.0,
        ingest["ms"].as_str().unwrap_or("?"),
        (args.cases + 1) as f64 / ingest["seconds"].as_f64().unwrap_or(1.0),
        ingest["rss_before"].as_f64().unwrap_or(0.0),
        ingest["rss_after"].as_f64().unwrap_or(0.0),
    );
}

/// The spans as gzip'd `ExportTraceServiceRequest`s of [`BATCH`] spans, the
/// run's span in the last (as it ends last).
fn encode(mut spans: Vec<SpanData>) -> Vec<Vec<u8>> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;

    spans.sort_by_key(|span| span.name.starts_with("evaluate"));
    let resource =
        ResourceAttributesWithSchema::from(&opentelemetry_sdk::Resource::builder_empty().build());
    let mut bodies = Vec::new();
    while !spans.is_empty() {
        let rest = spans.split_off(spans.len().min(BATCH));
        let batch = std::mem::replace(&mut spans, rest);
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &resource),
        };
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(&request.encode_to_vec())
            .expect("gzip in memory");
        bodies.push(encoder.finish().expect("gzip in memory"));
    }
    bodies
}

async fn ingest(binary: &std::path::Path, args: &Args, bodies: &[Vec<u8>]) -> serde_json::Value {
    let database = match &args.db {
        Some(url) => Some(PostgresDatabase::create(url).await),
        None => None,
    };
    let server = ServerChild::start_on(binary, database.as_ref().map(|db| db.url.as_str()));
    let http = reqwest::Client::new();
    let url = format!("{}/v1/traces", server.base_url);
    let rss_before = server.rss_mib().map_or(0.0, |(_, peak)| peak);
    let started = Instant::now();
    for body in bodies {
        let response = http
            .post(&url)
            .header("authorization", KEY)
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "gzip")
            .body(body.clone())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200);
    }
    let elapsed = started.elapsed();
    let rss_after = server.rss_mib().map_or(0.0, |(_, peak)| peak);
    let client = server.client();
    let experiments = client.list_experiments().await.expect("the list");
    assert_eq!(experiments.len(), 1);
    let detail = client
        .get_experiment(experiments[0].id)
        .await
        .expect("the experiment");
    assert_eq!(detail.case_count as usize, args.cases);
    drop(server);
    if let Some(database) = database {
        database.drop_now().await;
    }
    json!({
        "store": if args.db.is_some() { "postgres" } else { "sqlite" },
        "ms": ms(elapsed),
        "seconds": elapsed.as_secs_f64(),
        "rss_before": rss_before,
        "rss_after": rss_after,
    })
}
