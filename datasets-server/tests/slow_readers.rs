//! An answer nobody reads holds nothing others need: clients that ask for a
//! large listing and never read it leave `/health`, reads and another
//! project's writes answered promptly, and the write timeout closes their
//! connections. Against the real server on a real socket, on SQLite, or on
//! PostgreSQL on the suite's PostgreSQL leg. (The hardening issue's figure:
//! six such clients on a 200k-case listing froze SQLite and drove
//! PostgreSQL to 503.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use datasets_server::auth::Scopes;
use datasets_server::{EmbeddedServer, ServerConfig};
use serde_json::{Value, json};

/// Sends a listing request and never reads the answer.
fn stall(server: &EmbeddedServer, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\r\n",
        server.api_key()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_a_listing_hold_nothing_and_are_closed() {
    let server =
        EmbeddedServer::with_config(ServerConfig::default().write_timeout(Duration::from_secs(2)))
            .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = server.base_url();
    let key = server.api_key().to_owned();
    let post = |path: &str, body: Value, key: &str| {
        http.post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    assert_eq!(
        post("/v1/datasets/", json!({"name": "big"}), &key)
            .await
            .unwrap()
            .status(),
        201
    );
    // 12,000 cases of about 2 KB: a 24 MB answer, far past socket buffers.
    let text = "def solve(xs):\r\n\treturn sorted(xs)  \n".repeat(50);
    for chunk in 0..6 {
        let cases: Vec<Value> = (0..2_000)
            .map(|i| json!({"inputs": {"prompt": text, "n": chunk * 2_000 + i}}))
            .collect();
        let answer = post(
            "/v1/datasets/big/cases/bulk/",
            json!({ "cases": cases }),
            &key,
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 201);
    }
    let other_key = server.create_key("other", Scopes::READ_WRITE).unwrap();
    assert_eq!(
        post("/v1/datasets/", json!({"name": "calm"}), &other_key)
            .await
            .unwrap()
            .status(),
        201
    );

    // More stalled listings than the store has read connections.
    let stalled: Vec<TcpStream> = (0..12)
        .map(|i| {
            let path = if i % 2 == 0 {
                "/v1/datasets/big/cases/"
            } else {
                "/v1/datasets/big/export/"
            };
            stall(&server, path)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut slowest = Duration::ZERO;
    for i in 0..10 {
        let started = Instant::now();
        let health = http.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let read = http
            .get(format!("{base}/v1/datasets/big/cases/?limit=10"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        let write = post(
            "/v1/datasets/calm/cases/",
            json!({"inputs": {"i": i}}),
            &other_key,
        )
        .await
        .unwrap();
        assert_eq!(write.status(), 201);
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("slowest /health + read + write beside 12 stalled listings: {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");

    // The write timeout closes the stalled connections: what is left to
    // read ends, short of the whole answer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for mut stream in stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut received = Vec::new();
        let ended = match stream.read_to_end(&mut received) {
            Ok(_) => true,
            Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(ended, "the server closed the connection");
        assert!(
            received.len() < 20_000_000,
            "{} bytes: the answer was not all written",
            received.len()
        );
    }
    // A reader that reads gets the whole listing, every case once.
    let all: Vec<Value> = http
        .get(format!("{base}/v1/datasets/big/cases/"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 12_000);
    let mut seen: Vec<u64> = all
        .iter()
        .map(|c| c["inputs"]["n"].as_u64().unwrap())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 12_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_read_while_cases_are_written_is_one_version() {
    let server = EmbeddedServer::start().unwrap();
    let http = reqwest::Client::new();
    let base = server.base_url();
    let key = server.api_key().to_owned();
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    send(
        reqwest::Method::POST,
        "/v1/datasets/",
        Some(json!({"name": "qa"})),
    )
    .await
    .unwrap();
    let cases: Vec<Value> = (0..5_000).map(|n| json!({"inputs": {"n": n}})).collect();
    send(
        reqwest::Method::POST,
        "/v1/datasets/qa/cases/bulk/",
        Some(json!({ "cases": cases })),
    )
    .await
    .unwrap();
    // A listing of 5 pages, read slowly while a writer adds, updates and
    // deletes cases: it is the version it names, whatever happened since.
    let listing = send(reqwest::Method::GET, "/v1/datasets/qa/cases/", None)
        .await
        .unwrap();
    let version: u64 = listing.headers()["dataset-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let writer = {
        let (http, base, key) = (http.clone(), base.clone(), key.clone());
        tokio::spawn(async move {
            for n in 0..20 {
                let more: Vec<Value> = (0..50)
                    .map(|i| json!({"inputs": {"late": n * 50 + i}}))
                    .collect();
                let answer = http
                    .post(format!("{base}/v1/datasets/qa/cases/bulk/"))
                    .bearer_auth(&key)
                    .json(&json!({ "cases": more }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 201);
            }
        })
    };
    let mut body = Vec::new();
    let mut listing = listing;
    while let Some(chunk) = listing.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    writer.await.unwrap();
    let streamed: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let (_, at_version) = {
        let answer = send(
            reqwest::Method::GET,
            &format!("/v1/datasets/qa/cases/?version={version}"),
            None,
        )
        .await
        .unwrap();
        (answer.status(), answer.json::<Vec<Value>>().await.unwrap())
    };
    assert_eq!(streamed.len(), 5_000);
    assert_eq!(streamed, at_version);
}
