//! The `datasets` command line moving a large dataset in and out of a
//! release server on SQLite, each in its own process:
//!
//! ```sh
//! cargo run --release -p datasets-bench --bin cli_import
//! cargo run --release -p datasets-bench --bin cli_import -- --rows 100000
//! ```
//!
//! - `--rows` cases (1,000,000) written to a JSONL file, imported with
//!   `datasets import` (chunks of `--chunk-size`): the time, rows/s, MB/s,
//!   and the command's peak resident memory, which must stay bounded
//!   whatever the file's size (it streams);
//! - the dataset exported with `datasets export` to CSV, and that CSV
//!   imported into a second dataset (the schema types its cells): the same
//!   figures for each.
//!
//! Nothing here asserts a time: machines vary.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use datasets_bench::{KEY, ServerChild, case, dataset_body, peak_rss_mib, release_binary};

/// Benchmarks of the `datasets` command line.
#[derive(Debug, Parser)]
struct Args {
    /// Cases in the file.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Cases per request.
    #[arg(long, default_value_t = 1000)]
    chunk_size: usize,
    /// Skip the CSV export and import.
    #[arg(long)]
    no_csv: bool,
}

/// What one run of the command line took.
struct Figures {
    elapsed: Duration,
    peak_mib: f64,
}

/// Runs the command line with `args` to its end, sampling its peak memory.
fn run(cli: &Path, server: &ServerChild, args: &[&str]) -> Figures {
    let start = Instant::now();
    let mut child = Command::new(cli)
        .args(args)
        .env("DATASETS_API_KEY", KEY)
        .env("DATASETS_BASE_URL", &server.base_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the command line starts");
    let mut peak: f64 = 0.0;
    let status = loop {
        if let Some(mib) = peak_rss_mib(child.id()) {
            peak = peak.max(mib);
        }
        if let Some(status) = child.try_wait().expect("the command line runs") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "datasets {args:?} failed: {out}");
    Figures {
        elapsed,
        peak_mib: peak,
    }
}

fn report(what: &str, rows: usize, bytes: u64, figures: &Figures) {
    let seconds = figures.elapsed.as_secs_f64();
    println!(
        "{what:<28} {rows:>9} rows  {:>7.1} MB  {seconds:>7.2} s  {:>9.0} rows/s  {:>6.1} MB/s  peak RSS {:>6.1} MiB",
        bytes as f64 / 1e6,
        rows as f64 / seconds,
        bytes as f64 / 1e6 / seconds,
        figures.peak_mib,
    );
}

fn main() {
    let args = Args::parse();
    let server_bin = datasets_bench::server_binary();
    let cli = release_binary("datasets-cli", "datasets");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = ServerChild::start(&server_bin);

    // The main benchmark's dataset and cases.
    let body = dataset_body("unused");
    for (flag, key) in [
        ("input", "input_schema"),
        ("output", "output_schema"),
        ("metadata", "metadata_schema"),
    ] {
        std::fs::write(
            dir.path().join(format!("{flag}.json")),
            body[key].to_string(),
        )
        .unwrap();
    }
    let schema_args = |name: &'static str| -> Vec<String> {
        let mut create = vec!["create".to_owned(), name.to_owned()];
        for flag in ["input", "output", "metadata"] {
            create.push(format!("--{flag}-schema"));
            create.push(
                dir.path()
                    .join(format!("{flag}.json"))
                    .display()
                    .to_string(),
            );
        }
        create
    };
    for name in ["cli-jsonl", "cli-csv"] {
        let create = schema_args(name);
        let create: Vec<&str> = create.iter().map(String::as_str).collect();
        run(&cli, &server, &create);
    }

    let jsonl = dir.path().join("cases.jsonl");
    {
        let mut out = BufWriter::new(std::fs::File::create(&jsonl).unwrap());
        for i in 0..args.rows {
            serde_json::to_writer(&mut out, &case(i)).unwrap();
            out.write_all(b"\n").unwrap();
        }
        out.flush().unwrap();
    }
    let size = |path: &Path| std::fs::metadata(path).unwrap().len();
    let chunk = args.chunk_size.to_string();
    let jsonl_text = jsonl.display().to_string();
    println!(
        "datasets-cli against a release datasets-server on SQLite; {} rows, chunks of {}",
        args.rows, args.chunk_size
    );
    let figures = run(
        &cli,
        &server,
        &[
            "import",
            "cli-jsonl",
            &jsonl_text,
            "--chunk-size",
            &chunk,
            "--quiet",
        ],
    );
    report("import JSONL", args.rows, size(&jsonl), &figures);
    if let Some((rss, peak)) = server.rss_mib() {
        println!("{:<28} server RSS {rss:.1} MiB, peak {peak:.1} MiB", "");
    }

    if !args.no_csv {
        let csv = dir.path().join("cases.csv");
        let csv_text = csv.display().to_string();
        let figures = run(&cli, &server, &["export", "cli-jsonl", "-o", &csv_text]);
        report("export CSV", args.rows, size(&csv), &figures);
        let figures = run(
            &cli,
            &server,
            &[
                "import",
                "cli-csv",
                &csv_text,
                "--chunk-size",
                &chunk,
                "--quiet",
            ],
        );
        report("import CSV (schema-typed)", args.rows, size(&csv), &figures);
        let again = dir.path().join("again.jsonl");
        let figures = run(
            &cli,
            &server,
            &["export", "cli-csv", "-o", &again.display().to_string()],
        );
        report("export JSONL", args.rows, size(&again), &figures);
    }
}
