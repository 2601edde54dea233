//! Three `datasets-server` processes on one PostgreSQL database, clients
//! spread over them: every guarantee holds across replicas, by the
//! database. Needs `DATASETS_TEST_POSTGRES_URL` (the test script sets it when
//! PostgreSQL answers); skipped with a notice without it, never under CI.

mod support;

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Value, json};
use support::{KEY, ServerProcess, client};

/// A fresh database on the test server, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("DATASETS_TEST_POSTGRES_URL") else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "DATASETS_TEST_POSTGRES_URL must be set under CI"
            );
            eprintln!("SKIPPED: DATASETS_TEST_POSTGRES_URL is unset, so no PostgreSQL to test on");
            return None;
        };
        let name = format!("replicas_{:016x}", fastrand::u64(..));
        execute(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    fn path(&self) -> &Path {
        Path::new(&self.url)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (url, sql) = (
            self.admin_url.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(execute(&url, &sql));
        })
        .join()
        .unwrap();
    }
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[authority_end..]
        .find('?')
        .map_or("", |at| &rest[authority_end + at..]);
    format!(
        "{}{}/{name}{query}",
        &url[..scheme_end],
        &rest[..authority_end]
    )
}

async fn execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL at DATASETS_TEST_POSTGRES_URL: {err}"));
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = driver.await;
}

async fn send(
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    headers: &[(&str, String)],
) -> (u16, Value) {
    let mut request = client().request(method, url).bearer_auth(KEY);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    send(
        reqwest::Method::POST,
        format!("{base}{path}"),
        Some(body),
        &[],
    )
    .await
}

async fn all_cases(base: &str) -> Vec<Value> {
    let (status, cases) = send(
        reqwest::Method::GET,
        format!("{base}/v1/datasets/qa/cases/"),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{cases}");
    cases.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_on_one_database_keep_every_guarantee() {
    let Some(db) = Database::create().await else {
        return;
    };
    // Started together: they migrate once and bootstrap the key once.
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let path = db.path().to_owned();
            std::thread::spawn(move || ServerProcess::start(&path))
        })
        .collect();
    let mut replicas: Vec<ServerProcess> = starts.into_iter().map(|s| s.join().unwrap()).collect();
    let bases: Vec<String> = replicas.iter().map(|r| r.base_url.clone()).collect();
    let schema =
        json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
    let (status, body) = post(
        &bases[0],
        "/v1/datasets/",
        json!({"name": "qa", "input_schema": schema}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // The same name created on all three at once: one wins.
    let creates = bases.iter().map(|base| {
        let base = base.clone();
        tokio::spawn(async move {
            post(&base, "/v1/datasets/", json!({"name": "twice"}))
                .await
                .0
        })
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409]);

    // Concurrent upserts of the same names on every replica: no duplicates.
    let upserts = (0..12).map(|round| {
        let base = bases[round % 3].clone();
        tokio::spawn(async move {
            let cases: Vec<Value> = (0..50)
                .map(
                    |i| json!({"name": format!("u{i}"), "inputs": {"q": format!("round {round}")}}),
                )
                .collect();
            post(
                &base,
                "/v1/datasets/qa/import/?on_conflict=update",
                json!({"cases": cases}),
            )
            .await
        })
    });
    for result in futures_util::future::join_all(upserts).await {
        let (status, body) = result.unwrap();
        assert!(status == 200 || status == 201, "{status}: {body}");
    }
    let cases = all_cases(&bases[1]).await;
    let names: HashSet<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!((cases.len(), names.len()), (50, 50));

    // One Idempotency-Key at two replicas at once: applied once.
    let body = json!({"cases": (0..20).map(|i| json!({"inputs": {"q": format!("idem {i}")}})).collect::<Vec<_>>()});
    let sends = [0, 1, 2].map(|i| {
        let (base, body) = (bases[i].clone(), body.clone());
        tokio::spawn(async move {
            send(
                reqwest::Method::POST,
                format!("{base}/v1/datasets/qa/cases/bulk/"),
                Some(body),
                &[("idempotency-key", "same-key-everywhere".to_owned())],
            )
            .await
        })
    });
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
        assert_eq!(body, &answers[0].1, "every replica answers the one write");
    }
    assert_eq!(all_cases(&bases[2]).await.len(), 70);

    // Conditional updates racing on every replica: exactly one applies.
    let target = all_cases(&bases[0]).await[0].clone();
    let (id, version) = (
        target["id"].as_str().unwrap().to_owned(),
        target["version"].as_i64().unwrap(),
    );
    let updates = (0..6).map(|i| {
        let url = format!("{}/v1/datasets/qa/cases/{id}/", bases[i % 3]);
        tokio::spawn(async move {
            send(
                reqwest::Method::PATCH,
                url,
                Some(json!({"inputs": {"q": format!("writer {i}")}})),
                &[("if-match", format!("\"{version}\""))],
            )
            .await
            .0
        })
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(updates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412]);

    // A schema change racing bulk inserts on the other replicas: whatever
    // order they land in, no stored case breaks the final schema.
    let strict = json!({"type": "object", "properties": {"q": {"type": "string", "maxLength": 8}}, "required": ["q"]});
    let mut writes = Vec::new();
    for round in 0..6 {
        let base = bases[1 + round % 2].clone();
        writes.push(tokio::spawn(async move {
            let cases: Vec<Value> = (0..100)
                .map(|i| json!({"inputs": {"q": if i % 2 == 0 { "short".to_owned() } else { format!("far too long {round}") }}}))
                .collect();
            post(&base, "/v1/datasets/qa/cases/bulk/", json!({"cases": cases})).await.0
        }));
    }
    let change = {
        let base = bases[0].clone();
        tokio::spawn(async move {
            send(
                reqwest::Method::PATCH,
                format!("{base}/v1/datasets/qa/"),
                Some(json!({"input_schema": strict})),
                &[],
            )
            .await
            .0
        })
    };
    for write in writes {
        let status = write.await.unwrap();
        assert!(
            status == 201 || status == 422,
            "a bulk insert answered {status}"
        );
    }
    let change = change.await.unwrap();
    assert!(
        change == 200 || change == 422,
        "the schema change answered {change}"
    );
    let (_, dataset) = send(
        reqwest::Method::GET,
        format!("{}/v1/datasets/qa/", bases[2]),
        None,
        &[],
    )
    .await;
    let max = dataset["input_schema"]["properties"]["q"]["maxLength"].as_u64();
    for case in all_cases(&bases[2]).await {
        let q = case["inputs"]["q"].as_str().unwrap();
        if let Some(max) = max {
            assert!(
                q.chars().count() as u64 <= max,
                "{q:?} stored beside maxLength {max}"
            );
        }
    }

    // A replica SIGKILLed during a bulk import: what was acknowledged stays,
    // the other replicas answer on, and nothing half-written shows.
    let before = all_cases(&bases[1]).await.len();
    let killed = replicas.remove(0);
    let doomed_base = bases[0].clone();
    let doomed = tokio::spawn(async move {
        let cases: Vec<Value> = (0..20_000)
            .map(|i| json!({"inputs": {"q": format!("k{i}")}}))
            .collect();
        client()
            .post(format!("{doomed_base}/v1/datasets/qa/cases/bulk/"))
            .bearer_auth(KEY)
            .json(&json!({"cases": cases}))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let acknowledged = {
        let base = bases[1].clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for i in 0..20 {
                let (status, _) = post(
                    &base,
                    "/v1/datasets/qa/cases/",
                    json!({"inputs": {"q": format!("a{i}")}}),
                )
                .await;
                assert_eq!(status, 201);
                acknowledged += 1;
            }
            acknowledged
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    killed.kill();
    let doomed = doomed.await.unwrap();
    let acknowledged = acknowledged.await.unwrap();
    let after = all_cases(&bases[2]).await.len();
    // Acknowledged, the import is all there; cut off, it is all there
    // (it committed just before the kill) or not at all: never a part.
    let doomed = doomed.ok();
    assert!(
        doomed.is_none() || doomed == Some(201),
        "the import answered {doomed:?}"
    );
    let expected: &[usize] = match doomed {
        Some(_) => &[before + acknowledged + 20_000],
        None => &[before + acknowledged, before + acknowledged + 20_000],
    };
    assert!(
        expected.contains(&after),
        "{before} before, {acknowledged} acknowledged, import {doomed:?}: {after} stored"
    );
    let (status, _) = send(
        reqwest::Method::GET,
        format!("{}/health", bases[1]),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    // Every connection of the replicas cut by the database (as a restart
    // of PostgreSQL would): they reconnect by themselves, and nothing
    // acknowledged is lost.
    let stored = all_cases(&bases[2]).await.len();
    execute(
        &db.admin_url,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            db.name
        ),
    )
    .await;
    for base in &bases[1..] {
        let mut answered = Vec::new();
        for _ in 0..20 {
            let (status, _) = send(reqwest::Method::GET, format!("{base}/health"), None, &[]).await;
            answered.push(status);
            if status == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(answered.last(), Some(&200), "{answered:?}");
        assert!(
            answered.iter().all(|s| *s == 200 || *s == 503),
            "{answered:?}"
        );
        assert_eq!(all_cases(base).await.len(), stored);
    }
    drop(replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_database_create_one_first_key() {
    use std::io::{BufRead, BufReader};
    let Some(db) = Database::create().await else {
        return;
    };
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_datasets-server"))
                    .args(["serve", "--addr", "127.0.0.1:0", "--db", &url])
                    .env_remove("DATASETS_BOOTSTRAP_KEY")
                    .env("RUST_LOG", "warn")
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut printed = Vec::new();
                for line in BufReader::new(child.stdout.take().unwrap()).lines() {
                    let line = line.unwrap();
                    if line.starts_with("datasets-server listening on ") {
                        break;
                    }
                    printed.push(line);
                }
                let _ = child.kill();
                let _ = child.wait();
                printed
            })
        })
        .collect();
    let printed: Vec<Vec<String>> = starts.into_iter().map(|s| s.join().unwrap()).collect();
    let keys: Vec<&String> = printed
        .iter()
        .flatten()
        .filter(|line| line.starts_with("dsk_"))
        .collect();
    assert_eq!(keys.len(), 1, "{printed:?}");
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_datasets-server"))
        .args(["keys", "list", "--db", &db.url])
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        listed.lines().filter(|l| l.contains("active")).count(),
        1,
        "{listed}"
    );
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_named_and_never_created() {
    let Some(db) = Database::create().await else {
        return;
    };
    let missing = with_database(&db.url, &format!("{}_missing", db.name));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_datasets-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db", &missing])
        .output()
        .unwrap();
    let said = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(
        said.contains("does not exist") && said.contains("_missing"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "{said}");
}

#[tokio::test]
async fn tls_is_used_and_verified_when_the_url_requires_it() {
    let Some(db) = Database::create().await else {
        return;
    };
    // The server's certificate, as PostgreSQL serves it (Debian's default
    // is a self-signed one for `localhost`).
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let cert: String = client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    if ssl != "on" || std::fs::metadata(&cert).is_err() {
        eprintln!(
            "SKIPPED: this PostgreSQL serves no TLS (ssl = {ssl}) or its certificate {cert} is not readable here"
        );
        return;
    }
    let url = db.url.replacen("127.0.0.1", "localhost", 1);
    let separator = if url.contains('?') { '&' } else { '?' };
    // Not trusted: refused, in one line, before serving anything.
    let untrusted = format!("{url}{separator}sslmode=require");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_datasets-server"))
        .args(["keys", "list", "--db", &untrusted])
        .output()
        .unwrap();
    let said = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("invalid peer certificate"), "{said}");
    // Trusted through sslrootcert: served over TLS.
    let trusted = format!(
        "{url}{separator}sslmode=verify-full&sslrootcert={}&application_name=tls-check",
        cert
    );
    let server = ServerProcess::start(Path::new(&trusted));
    let (status, _) = send(
        reqwest::Method::GET,
        format!("{}/v1/datasets/", server.base_url),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let encrypted: Vec<bool> = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid
             WHERE a.application_name = 'tls-check'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        !encrypted.is_empty() && encrypted.iter().all(|ssl| *ssl),
        "{encrypted:?}"
    );
}

/// An OTLP/JSON span.
fn otlp_span(
    ids: (&str, &str, &str),
    name: &str,
    start: u64,
    attributes: &[(&str, Value)],
) -> Value {
    let (trace, span, parent) = ids;
    let attributes: Vec<Value> = attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => json!({"stringValue": text}),
                Value::Bool(flag) => json!({"boolValue": flag}),
                Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
                Value::Number(n) => json!({"doubleValue": n}),
                other => json!({"stringValue": other.to_string()}),
            };
            json!({"key": key, "value": value})
        })
        .collect();
    json!({
        "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 2_000_000).to_string(),
        "attributes": attributes,
    })
}

fn otlp_body(spans: Vec<Value>) -> Value {
    json!({"resourceSpans": [{"scopeSpans": [{"scope": {"name": "pydantic-evals"}, "spans": spans}]}]})
}

/// A successful `case: {case_name}` span as pydantic-evals' Logfire sends it.
fn case_span(trace: &str, span: &str, parent: &str, name: &str, start: u64) -> Value {
    let assertions = json!({"EqualsExpected": {"name": "EqualsExpected", "value": name != "b",
        "reason": null, "source": {"name": "EqualsExpected", "arguments": null},
        "evaluator_version": null}});
    otlp_span(
        (trace, span, parent),
        "case: {case_name}",
        start,
        &[
            ("task_name", json!("answer")),
            ("case_name", json!(name)),
            ("inputs", json!(json!({"q": name}).to_string())),
            ("metadata", json!("null")),
            ("expected_output", json!(name.to_uppercase())),
            ("logfire.msg_template", json!("case: {case_name}")),
            ("logfire.span_type", json!("span")),
            ("output", json!(name.to_uppercase())),
            ("task_duration", json!(0.5)),
            ("metrics", json!("{}")),
            ("attributes", json!("{}")),
            ("assertions", json!(assertions.to_string())),
            ("scores", json!("{}")),
            ("labels", json!("{}")),
            (
                "logfire.json_schema",
                json!(
                    json!({"type": "object", "properties": {
                    "task_name": {}, "case_name": {}, "inputs": {"type": "object"},
                    "metadata": {"type": "null"}, "expected_output": {}, "output": {},
                    "task_duration": {}, "metrics": {"type": "object"},
                    "attributes": {"type": "object"}, "assertions": {"type": "object"},
                    "scores": {"type": "object"}, "labels": {"type": "object"}}})
                    .to_string()
                ),
            ),
        ],
    )
}

/// One run's spans, split over requests sent to two replicas in the order
/// an exporter sends them (the run's span last), with a retried batch and
/// the spans Logfire sends that are no experiment: stored once, whole, and
/// read the same from either replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runs_spans_over_two_replicas_make_one_experiment() {
    let Some(db) = Database::create().await else {
        return;
    };
    let replicas: Vec<ServerProcess> = (0..2).map(|_| ServerProcess::start(db.path())).collect();
    let bases: Vec<String> = replicas.iter().map(|r| r.base_url.clone()).collect();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let run = "b7ad6b7169203331";
    let t0 = 1_764_000_000_000_000_000u64;
    let failed = {
        let mut span = otlp_span(
            (trace, "00000000000000c3", run),
            "case: {case_name}",
            t0 + 3,
            &[
                ("task_name", json!("answer")),
                ("case_name", json!("c")),
                ("inputs", json!("{\"q\": \"c\"}")),
                ("logfire.msg_template", json!("case: {case_name}")),
            ],
        );
        span["status"] = json!({"code": 2, "message": "ValueError: boom"});
        span["events"] = json!([{"name": "exception", "timeUnixNano": (t0 + 4).to_string(),
            "attributes": [
                {"key": "exception.type", "value": {"stringValue": "ValueError"}},
                {"key": "exception.message", "value": {"stringValue": "boom"}}]}]);
        span
    };
    let pending = {
        let mut span = case_span(trace, "00000000000000d4", run, "pending", t0 + 5);
        span["attributes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "logfire.span_type", "value": {"stringValue": "pending_span"}}));
        span
    };
    let task_span = otlp_span(
        (trace, "00000000000000e5", "00000000000000a1"),
        "execute {task}",
        t0 + 1,
        &[("task", json!("answer"))],
    );
    let first = otlp_body(vec![
        case_span(trace, "00000000000000a1", run, "a", t0 + 1),
        task_span,
        pending,
    ]);
    let second = otlp_body(vec![
        case_span(trace, "00000000000000b2", run, "b", t0 + 2),
        failed,
    ]);
    let run_span = otlp_span(
        (trace, run, ""),
        "evaluate {name}",
        t0,
        &[
            ("name", json!("answer")),
            ("task_name", json!("answer")),
            ("dataset_name", json!("qa")),
            ("n_cases", json!(3)),
            ("gen_ai.operation.name", json!("experiment")),
            ("assertion_pass_rate", json!(0.5)),
            (
                "logfire.experiment.metadata",
                json!(
                    json!({"n_cases": 3, "averages": {"name": "Averages", "assertions": 0.5}})
                        .to_string()
                ),
            ),
        ],
    );
    let last = otlp_body(vec![run_span]);
    let ingest = |base: &str, body: &Value| {
        let url = format!("{base}/v1/traces");
        let body = body.to_string();
        async move {
            let response = client()
                .post(url)
                .header("authorization", KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().await.unwrap(), "{}");
        }
    };
    // Case batches to both replicas at once, one of them retried on the
    // other; the run's span last, to the second replica.
    tokio::join!(
        ingest(&bases[0], &first),
        ingest(&bases[1], &second),
        ingest(&bases[1], &first)
    );
    let (status, listed) = send(
        reqwest::Method::GET,
        format!("{}/v1/experiments/", bases[0]),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, listed.clone()),
        (200, json!([])),
        "no run before its span"
    );
    ingest(&bases[1], &last).await;

    for base in &bases {
        let (status, listed) = send(
            reqwest::Method::GET,
            format!("{base}/v1/experiments/"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let experiment = &listed[0];
        assert_eq!(experiment["source"], "spans");
        assert_eq!(experiment["trace_id"], trace);
        assert_eq!(experiment["n_cases"], 3);
        let (status, detail) = send(
            reqwest::Method::GET,
            format!(
                "{base}/v1/experiments/{}/",
                experiment["id"].as_str().unwrap()
            ),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                detail["case_count"].clone(),
                detail["failure_count"].clone()
            ),
            (json!(2), json!(1))
        );
        let names: Vec<&str> = detail["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["a", "b"],
            "in start order, each once, no pending copy"
        );
        assert_eq!(detail["cases"][0]["inputs"], json!({"q": "a"}));
        assert_eq!(detail["cases"][0]["metadata"], Value::Null);
        assert_eq!(detail["cases"][0]["output"], "A");
        assert_eq!(
            detail["cases"][1]["assertions"]["EqualsExpected"]["value"],
            false
        );
        assert_eq!(detail["failures"][0]["name"], "c");
        assert_eq!(detail["failures"][0]["error_message"], "ValueError: boom");
    }
    drop(replicas);
}
