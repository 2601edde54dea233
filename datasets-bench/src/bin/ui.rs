//! The web UI on a large dataset, against a release server in its own
//! process, on SQLite or (with `--db`) PostgreSQL:
//!
//! ```sh
//! cargo run --release -p datasets-bench --bin ui
//! cargo run --release -p datasets-bench --bin ui -- --db postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! `--cases` cases (1,000,000) are imported, a session is signed in, and
//! these pages are timed end to end over HTTP (the median of `--runs`):
//! the datasets list, a dataset's first page of cases, a page deep in the
//! list (by the cursor of the page before it), the cases of a tag, a search
//! by the start of a name that matches few cases, and one case. Nothing
//! here asserts a time: machines vary.

use std::time::{Duration, Instant};

use clap::Parser;
use datasets_bench::{
    KEY, PostgresDatabase, ServerChild, case, case_bodies, dataset_body, ms, server_binary,
};

/// Benchmarks of the web UI's pages.
#[derive(Debug, Parser)]
struct Args {
    /// Cases in the dataset.
    #[arg(long, default_value_t = 1_000_000)]
    cases: usize,
    /// Timed repeats of each page; the median is reported.
    #[arg(long, default_value_t = 9)]
    runs: usize,
    /// A PostgreSQL URL to benchmark on instead of SQLite; a fresh database
    /// is made next to the one named, and dropped afterwards.
    #[arg(long)]
    db: Option<String>,
}

fn main() {
    let args = Args::parse();
    let binary = server_binary();
    let runtime = datasets_bench::runtime();
    runtime.block_on(run(&binary, &args));
}

async fn run(binary: &std::path::Path, args: &Args) {
    let database = match &args.db {
        Some(url) => Some(PostgresDatabase::create(url).await),
        None => None,
    };
    let server = ServerChild::start_on(binary, database.as_ref().map(|db| db.url.as_str()));
    let base = server.base_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let created = http
        .post(format!("{base}/v1/datasets/"))
        .bearer_auth(KEY)
        .json(&dataset_body("big"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    eprintln!("importing {} cases...", args.cases);
    let started = Instant::now();
    for body in case_bodies((0..args.cases).map(case), 8 * 1024 * 1024) {
        let response = http
            .post(format!("{base}/v1/datasets/big/import/"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    eprintln!("imported in {:.1} s", started.elapsed().as_secs_f64());

    // Sign in as a browser does.
    let form = http.get(format!("{base}/ui/sign-in")).send().await.unwrap();
    let pre = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pre = pre.split(';').next().unwrap().to_owned();
    let token = pre.split_once('=').unwrap().1.to_owned();
    let signed_in = http
        .post(format!("{base}/ui/sign-in"))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&key={KEY}"))
        .send()
        .await
        .unwrap();
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("ds_session="))
        .expect("a session");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let get = |path: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.unwrap()
        }
    };
    // A page deep in the list: follow the cursors to page 10,000 once (by
    // the API's cursor, which the UI's is), then time that page.
    let dataset = get("/ui/datasets/big/".to_owned()).await;
    let first_case = dataset
        .split("/cases/")
        .filter_map(|rest| rest.split('/').next())
        .find(|id| uuid::Uuid::try_parse(id).is_ok())
        .expect("a case link")
        .to_owned();
    let deep = deep_cursor(&http, &base, args.cases).await;
    let pages = [
        ("datasets", "/ui/".to_owned()),
        ("a dataset, first page", "/ui/datasets/big/".to_owned()),
        (
            "a page near the end",
            format!("/ui/datasets/big/?cursor={deep}"),
        ),
        ("cases of a tag", "/ui/datasets/big/?tag=group-7".to_owned()),
        (
            "name search (11 matches)",
            format!("/ui/datasets/big/?name=case-{}", args.cases / 10 - 1),
        ),
        ("one case", format!("/ui/datasets/big/cases/{first_case}/")),
    ];
    println!("\n| store | cases | page | median | bytes |\n|---|---|---|---|---|");
    for (name, path) in pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.runs {
            let started = Instant::now();
            bytes = get(path.clone()).await.len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {} | {} | {name} | {} ms | {bytes} |",
            if args.db.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            args.cases,
            ms(times[times.len() / 2]),
        );
    }
    drop(server);
    if let Some(database) = database {
        database.drop_now().await;
    }
}

/// The cursor of the last page of 50 cases, found by paging the API with
/// large pages (whose cursors are the same positions).
async fn deep_cursor(http: &reqwest::Client, base: &str, cases: usize) -> String {
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    while seen + 10_000 < cases.saturating_sub(50) {
        let mut url = format!("{base}/v1/datasets/big/cases/?limit=10000");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = http.get(url).bearer_auth(KEY).send().await.unwrap();
        cursor = response
            .headers()
            .get("next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        let _ = response.bytes().await.unwrap();
        seen += 10_000;
        if cursor.is_none() {
            break;
        }
    }
    cursor.unwrap_or_default()
}
