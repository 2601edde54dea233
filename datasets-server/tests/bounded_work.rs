//! A schema cannot make a check cost more than a bound, against the real
//! server on a real socket (SQLite, or PostgreSQL on the suite's PostgreSQL
//! leg): what cannot be checked in bounded time is refused when the schema
//! is set (backtracking regular expressions, more subschemas applied to one
//! value than a bound), and what a schema multiplies across a
//! value's levels stops at the request's step budget with a 422, while
//! `/health` and another project's writes are answered promptly.
//!
//! The figures are scaled from the attacks in the hardening issue: a
//! lookbehind around a nested quantifier took 33 s on a 50,000-character
//! string; 29 levels of `$defs` each applying the next one twice took 6.7 s
//! on the value `1`.

use std::time::{Duration, Instant};

use datasets_server::EmbeddedServer;
use datasets_server::auth::Scopes;
use serde_json::{Map, Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &EmbeddedServer, key: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}").parse().unwrap(),
        );
        Self {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: server.base_url(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn case_count(&self, dataset: &str) -> u64 {
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                &format!("/v1/datasets/{dataset}/"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["case_count"].as_u64().unwrap()
    }
}

/// `$defs` each applying the next one twice to the same value, `depth` deep.
fn doubling(depth: usize) -> Value {
    let mut defs = Map::new();
    for i in 0..depth {
        let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
        defs.insert(format!("d{i}"), json!({"allOf": [next, next]}));
    }
    defs.insert(format!("d{depth}"), json!({"type": "integer"}));
    json!({"$defs": defs, "$ref": "#/$defs/d0"})
}

/// A schema that tries `alternatives` ranges on every item of an array:
/// `alternatives` applications per item, which the schema's size bounds but
/// the value's length multiplies.
fn wide_alternatives(alternatives: usize) -> Value {
    let any_of: Vec<Value> = (0..alternatives)
        .map(|i| json!({"type": "integer", "minimum": i, "maximum": i}))
        .collect();
    json!({"type": "array", "items": {"anyOf": any_of}})
}

fn message(body: &Value) -> String {
    body["detail"][0]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_checked_in_bounded_time_is_refused_when_the_schema_is_set() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server, server.api_key());
    let refused = [
        (
            json!({"type": "string", "pattern": "(?<=(a+)+)b"}),
            "/pattern",
            "lookaround",
        ),
        (
            json!({"type": "object", "patternProperties": {"^(?!x)": {"type": "string"}}}),
            "/patternProperties",
            "lookaround",
        ),
        (
            json!({"type": "object", "propertyNames": {"pattern": "^(a)\\1$"}}),
            "/propertyNames/pattern",
            "backreferences",
        ),
        (doubling(29), "/$defs/d", "the limit is"),
    ];
    for (i, (schema, at, why)) in refused.iter().enumerate() {
        let started = Instant::now();
        let (status, body) = api
            .post(
                "/v1/datasets/",
                &json!({"name": format!("costly-{i}"), "input_schema": schema}),
            )
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(status, 422, "{schema}: {body}");
        let said = message(&body);
        assert!(said.contains(at) && said.contains(why), "{said}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "input_schema"]),
            "{body}"
        );
    }
    // The same rules when a schema is changed.
    let (status, _) = api.post("/v1/datasets/", &json!({"name": "plain"})).await;
    assert_eq!(status, 201);
    let (status, body) = api
        .send(
            reqwest::Method::PATCH,
            "/v1/datasets/plain/",
            Some(&json!({"input_schema": {"type": "string", "pattern": "(?<=a)b"}})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(message(&body).contains("lookaround"), "{body}");
    // What a linear engine runs is accepted, nested quantifiers included,
    // and checks a long text at once.
    let (status, body) = api
        .post(
            "/v1/datasets/",
            &json!({"name": "linear", "input_schema": {"type": "string", "pattern": "^(a+)+$"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let started = Instant::now();
    let long = format!("{}b", "a".repeat(50_000));
    let (status, body) = api
        .post("/v1/datasets/linear/cases/", &json!({"inputs": long}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costly_checks_stop_at_the_request_s_step_budget() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server, server.api_key());
    // Under the bound: some 2^16 subschemas applied to one value in place.
    let (status, body) = api
        .post(
            "/v1/datasets/",
            &json!({"name": "doubling", "input_schema": doubling(14)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            "/v1/datasets/",
            &json!({"name": "wide", "input_schema": wide_alternatives(2_000)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // One value of either is checked as usual.
    for (dataset, inputs) in [("doubling", json!(7)), ("wide", json!([1_999, 0, 5]))] {
        let (status, body) = api
            .post(
                &format!("/v1/datasets/{dataset}/cases/"),
                &json!({ "inputs": inputs }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    // Another project writes throughout.
    let other_key = server.create_key("other", Scopes::READ_WRITE).unwrap();
    let other = Api::new(&server, &other_key);
    let (status, _) = other.post("/v1/datasets/", &json!({"name": "calm"})).await;
    assert_eq!(status, 201);

    // Unbounded, 20,000 cases of `1` cost 20,000 x 2^16 steps, and 50,000
    // items that each try 2,000 ranges 10^8 (matching the last, or none so
    // that every item's failure is collected): seconds of a core each.
    let many_small: Vec<Value> = (0..20_000).map(|_| json!({"inputs": 1})).collect();
    // What each is answered: out of steps; or, where collecting every
    // failure would cost too much, the first failure alone.
    let attacks = [
        (
            "doubling",
            json!({ "cases": many_small }),
            "validation_budget",
        ),
        (
            "wide",
            json!({"cases": [{"inputs": vec![1_999; 50_000]}]}),
            "validation_budget",
        ),
        (
            "wide",
            json!({"cases": [{"inputs": vec![5_000; 50_000]}]}),
            "anyOf",
        ),
    ];
    let attackers: Vec<_> = attacks
        .into_iter()
        .map(|(dataset, body, expected)| {
            let url = format!("{}/v1/datasets/{dataset}/cases/bulk/", api.base);
            let http = api.http.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let until = Instant::now() + Duration::from_secs(3);
                while Instant::now() < until {
                    let started = Instant::now();
                    let answer = http.post(&url).json(&body).send().await.unwrap();
                    let status = answer.status().as_u16();
                    let body: Value = answer.json().await.unwrap();
                    answers.push((status, body, started.elapsed()));
                }
                (answers, expected)
            })
        })
        .collect();
    let mut slowest_other = Duration::ZERO;
    let mut written = 0;
    while !attackers.iter().all(|attacker| attacker.is_finished()) {
        let started = Instant::now();
        let (status, _) = other
            .post(
                "/v1/datasets/calm/cases/",
                &json!({"inputs": {"i": written}}),
            )
            .await;
        assert_eq!(status, 201);
        let (status, _) = other.send(reqwest::Method::GET, "/health", None).await;
        assert_eq!(status, 200);
        slowest_other = slowest_other.max(started.elapsed());
        written += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut slowest_attack = Duration::ZERO;
    for attacker in attackers {
        let (answers, expected) = attacker.await.unwrap();
        assert!(!answers.is_empty());
        for (status, body, took) in answers {
            assert_eq!(status, 422, "{body}");
            let issue = &body["detail"][0];
            assert_eq!(issue["type"], expected, "{body}");
            if expected == "validation_budget" {
                assert!(message(&body).contains("steps"), "{body}");
            }
            let loc = issue["loc"].as_array().unwrap();
            assert_eq!(loc[..2], [json!("body"), json!("cases")], "{body}");
            assert!(body["detail"].as_array().unwrap().len() <= 2, "{body}");
            assert!(took < Duration::from_secs(3), "{took:?}");
            slowest_attack = slowest_attack.max(took);
        }
    }
    eprintln!("slowest refused attack: {slowest_attack:?}");
    eprintln!("another project's write and /health: slowest {slowest_other:?} of {written}");
    assert!(
        slowest_other < Duration::from_secs(2),
        "another project waited {slowest_other:?}"
    );
    assert!(written > 0);
    assert_eq!(
        api.case_count("doubling").await,
        1,
        "nothing of the attacks is stored"
    );
    assert_eq!(
        api.case_count("wide").await,
        1,
        "nothing of the attacks is stored"
    );
    assert_eq!(other.case_count("calm").await, written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_schemas_of_real_types_check_deep_values() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server, server.api_key());
    // Pydantic's `JsonValue` and a tree of nodes with children.
    let json_value = json!({
        "$defs": {"JsonValue": {"anyOf": [
            {"type": "array", "items": {"$ref": "#/$defs/JsonValue"}},
            {"type": "object", "additionalProperties": {"$ref": "#/$defs/JsonValue"}},
            {"type": "string"}, {"type": "integer"}, {"type": "number"},
            {"type": "boolean"}, {"type": "null"}
        ]}},
        "$ref": "#/$defs/JsonValue"
    });
    let (status, body) = api
        .post(
            "/v1/datasets/",
            &json!({"name": "json", "input_schema": json_value}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let deep = (0..50).fold(json!({"leaf": ["a\tb", 1.5, null, true]}), |inner, i| {
        if i % 2 == 0 {
            json!([inner, "x"])
        } else {
            json!({ "k": inner, "n": i })
        }
    });
    let wide: Vec<Value> = (0..20_000)
        .map(|i| json!({"id": i, "text": "def f():\r\n    return 1\n"}))
        .collect();
    for inputs in [deep, Value::Array(wide)] {
        let (status, body) = api
            .post("/v1/datasets/json/cases/", &json!({ "inputs": inputs }))
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_stops_when_its_client_hangs_up() {
    use std::io::Write;

    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server, server.api_key());
    // Some 2^17 steps per value of text: within the budget of 16 steps a
    // byte, so 3,000 values of 10 KB are checked whole unless stopped,
    // which takes seconds here.
    let mut schema = doubling(14);
    schema["$defs"]["d14"] = json!({"type": "string"});
    let (status, body) = api
        .post(
            "/v1/datasets/",
            &json!({"name": "slow", "input_schema": schema}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let text = "x".repeat(10 * 1024);
    let cases: Vec<Value> = (0..3_000).map(|_| json!({ "inputs": text })).collect();
    let body = serde_json::to_vec(&json!({ "cases": cases })).unwrap();
    let other_key = server.create_key("other", Scopes::READ_WRITE).unwrap();
    let other = Api::new(&server, &other_key);
    let (status, _) = other.post("/v1/datasets/", &json!({"name": "calm"})).await;
    assert_eq!(status, 201);

    // Sent whole, then the client hangs up while it is checked.
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    let head = format!(
        "POST /v1/datasets/slow/cases/bulk/ HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        server.api_key(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    drop(stream);
    // The check stops: another project's write is not kept waiting for it.
    let started = Instant::now();
    let (status, _) = other
        .post(
            "/v1/datasets/calm/cases/",
            &json!({"inputs": {"after": "hang-up"}}),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(status, 201);
    eprintln!("another project's write after the hang-up waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(
        api.case_count("slow").await,
        0,
        "the abandoned write wrote nothing"
    );

    // The same request, waited for, is checked whole and written.
    let started = Instant::now();
    let answer = api
        .http
        .post(format!("{}/v1/datasets/slow/cases/bulk/", api.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    eprintln!("the whole check took {:?}", started.elapsed());
    assert_eq!(api.case_count("slow").await, 3_000);
}
