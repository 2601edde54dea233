//! Hostile input: every request below gets a clear 4xx that says what was
//! wrong and where, and nothing of it is stored. Through the router, as
//! `router.rs`.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::TestApp;
use datasets_server::ServerConfig;
use datasets_server::json_guard::MAX_DEPTH;
use datasets_server::validation::{
    MAX_CASE_NAME_CHARS, MAX_PATTERN_CHARS, MAX_SCHEMA_BYTES, MAX_TAG_CHARS, MAX_TAGS,
};
use serde_json::{Value, json};

const BULK: &str = "/v1/datasets/qa/cases/bulk/";

async fn app_with_dataset() -> TestApp {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa", "input_schema": {"type": "object"}}))
        .await;
    app
}

/// Sends raw bytes to the bulk route.
async fn post_raw(app: &TestApp, body: impl Into<Vec<u8>>) -> (StatusCode, Value) {
    let key = app.key.clone();
    app.call_with(
        Method::POST,
        BULK,
        Some(&key),
        Some(Body::from(body.into())),
    )
    .await
}

fn loc(body: &Value) -> Vec<Value> {
    body["detail"][0]["loc"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_store_nothing() {
    let app = TestApp::with_config(ServerConfig::default().body_limit(4096)).await;
    app.create_dataset(json!({"name": "qa"})).await;
    let cases: Vec<Value> = (0..500)
        .map(|i| json!({"inputs": {"n": i}, "name": format!("case-{i}")}))
        .collect();
    let (status, body) = app.post(BULK, json!({ "cases": cases })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["detail"].as_str().unwrap().contains("4096"), "{body}");
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn invalid_utf8_is_400_and_stores_nothing() {
    let app = app_with_dataset().await;
    let mut body = br#"{"cases": [{"inputs": {"q": ""#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, b'x']);
    body.extend_from_slice(br#""}}]}"#);
    let (status, answer) = post_raw(&app, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["detail"][0]["type"], "json_invalid_utf8");
    assert_eq!(
        loc(&answer),
        [
            json!("body"),
            json!("cases"),
            json!(0),
            json!("inputs"),
            json!("q")
        ]
    );
    assert!(
        answer["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{answer}"
    );
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn json_nested_past_the_depth_limit_is_400_and_stores_nothing() {
    let app = app_with_dataset().await;
    // The case is at depth 3 (object, list, object); the inputs nest past the limit.
    let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    let (status, answer) = post_raw(
        &app,
        format!(r#"{{"cases": [{{"inputs": {{"d": {deep}}}}}]}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["detail"][0]["type"], "json_too_deep");
    assert_eq!(
        loc(&answer)[..5],
        [
            json!("body"),
            json!("cases"),
            json!(0),
            json!("inputs"),
            json!("d")
        ]
    );
    // Nesting within the limit is data like any other.
    let fits = format!(
        "{}1{}",
        "[".repeat(MAX_DEPTH - 5),
        "]".repeat(MAX_DEPTH - 5)
    );
    let (status, answer) = post_raw(
        &app,
        format!(r#"{{"cases": [{{"inputs": {{"d": {fits}}}}}]}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(app.case_count("qa").await, 1);
}

#[tokio::test]
async fn huge_numbers_are_400_not_rounded_and_store_nothing() {
    let app = app_with_dataset().await;
    let (status, answer) = post_raw(
        &app,
        r#"{"cases": [{"inputs": {"id": 123456789012345678901234567890}}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["detail"][0]["type"], "json_integer_too_large");
    assert_eq!(
        loc(&answer),
        [
            json!("body"),
            json!("cases"),
            json!(0),
            json!("inputs"),
            json!("id")
        ]
    );
    let (status, answer) = post_raw(&app, r#"{"cases": [{"inputs": {"x": 1e400}}]}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("out of range of a 64-bit float"),
        "{answer}"
    );
    assert_eq!(app.case_count("qa").await, 0);
    // The largest 64-bit integers go through unchanged.
    let (status, answer) = post_raw(
        &app,
        r#"{"cases": [{"inputs": {"big": 18446744073709551615, "small": -9223372036854775808}}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer[0]["inputs"]["big"], json!(u64::MAX));
}

#[tokio::test]
async fn duplicate_json_keys_are_400_and_store_nothing() {
    let app = app_with_dataset().await;
    for body in [
        r#"{"cases": [{"inputs": {"q": 1}, "inputs": {"q": 2}}]}"#,
        r#"{"cases": [{"inputs": {"q": 1, "q": 2}}]}"#,
        r#"{"cases": [], "cases": [{"inputs": {}}]}"#,
    ] {
        let (status, answer) = post_raw(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["detail"][0]["type"], "json_duplicate_key", "{body}");
    }
    let (_, answer) = post_raw(&app, r#"{"cases": [{"inputs": {"q": 1, "q": 2}}]}"#).await;
    assert_eq!(
        loc(&answer),
        [
            json!("body"),
            json!("cases"),
            json!(0),
            json!("inputs"),
            json!("q")
        ]
    );
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn hostile_schemas_are_422_never_fetched_and_store_nothing() {
    let app = TestApp::new().await;
    let long_pattern = "a".repeat(MAX_PATTERN_CHARS + 1);
    let huge: serde_json::Map<String, Value> = (0..MAX_SCHEMA_BYTES / 20)
        .map(|i| (format!("property_{i:08}"), json!({})))
        .collect();
    let hostile = [
        (
            "remote $ref",
            json!({"$ref": "http://127.0.0.1:9/schema.json"}),
            "is not present",
        ),
        (
            "missing $ref",
            json!({"$ref": "#/$defs/Nowhere"}),
            "Nowhere",
        ),
        (
            "enormous pattern",
            json!({"type": "string", "pattern": long_pattern}),
            "/pattern is 4097 characters",
        ),
        (
            "enormous patternProperties key",
            json!({"type": "object", "patternProperties": {long_pattern.clone(): {}}}),
            "/patternProperties is 4097 characters",
        ),
        (
            "regex too large to compile",
            json!({"type": "string", "pattern": "(a{1000}){1000}"}),
            "too large to compile",
        ),
        (
            "huge schema",
            json!({"type": "object", "properties": huge}),
            "the limit is 1048576",
        ),
        (
            "not a schema",
            json!({"type": "nonsense"}),
            "not a valid JSON Schema",
        ),
    ];
    for (what, schema, says) in hostile {
        let (status, body) = app
            .post(
                "/v1/datasets/",
                json!({"name": "hostile", "input_schema": schema}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(loc(&body), [json!("body"), json!("input_schema")], "{what}");
        let msg = body["detail"][0]["msg"].as_str().unwrap();
        assert!(msg.contains(says), "{what}: {msg}");
    }
    let (_, datasets) = app.get("/v1/datasets/").await;
    assert_eq!(datasets, json!([]), "nothing was created");

    // Cycles and self-references are legal JSON Schema, and terminate.
    for schema in [
        json!({"$ref": "#"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"type": "object", "properties": {"child": {"$ref": "#"}}}),
    ] {
        let name = format!(
            "cyclic-{}",
            app.get("/v1/datasets/").await.1.as_array().unwrap().len()
        );
        let (status, body) = app
            .post(
                "/v1/datasets/",
                json!({"name": name, "input_schema": schema}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = app
            .post(
                &format!("/v1/datasets/{name}/cases/"),
                json!({"inputs": {"child": {"child": {}}}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A pattern only a backtracking engine runs (exponential on some texts)
    // is refused when it is set; `bounded_work.rs` has the rest of the class.
    let (status, body) = app
        .post(
            "/v1/datasets/",
            json!({"name": "redos", "input_schema": {"type": "string", "pattern": "^(a|a)*\\1$"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("backreferences"),
        "{body}"
    );
}

#[tokio::test]
async fn tags_beyond_the_limits_are_422_and_store_nothing() {
    let app = app_with_dataset().await;
    let too_many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    let cases = [
        (
            json!({"inputs": {}, "tags": too_many}),
            vec![json!("tags")],
            "65 tags; the limit is 64",
        ),
        (
            json!({"inputs": {}, "tags": ["ok", "x".repeat(MAX_TAG_CHARS + 1)]}),
            vec![json!("tags"), json!(1)],
            "129 characters",
        ),
        (
            json!({"inputs": {}, "tags": [""]}),
            vec![json!("tags"), json!(0)],
            "cannot be empty",
        ),
    ];
    for (case, at, says) in cases {
        let (status, body) = app
            .post(BULK, json!({"cases": [{"inputs": {}}, case]}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let mut expected = vec![json!("body"), json!("cases"), json!(1)];
        expected.extend(at);
        assert_eq!(loc(&body), expected);
        assert!(
            body["detail"][0]["msg"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn names_with_nul_bytes_bidi_marks_or_path_characters_are_refused() {
    let app = app_with_dataset().await;
    // Case names and tags: no control characters, no text-reordering marks.
    for (field, value, says) in [
        ("name", json!("nul\u{0}byte"), "control character (U+0000)"),
        (
            "name",
            json!("evil\u{202e}gnp.exe"),
            "bidirectional text control (U+202E)",
        ),
        ("name", json!("rlm\u{200f}"), "(U+200F)"),
        (
            "name",
            json!("x".repeat(MAX_CASE_NAME_CHARS + 1)),
            "256 characters",
        ),
        ("source_trace_id", json!("bell\u{7}"), "control character"),
    ] {
        let (status, body) = app
            .post(
                "/v1/datasets/qa/cases/",
                json!({"inputs": {}, field: value}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(loc(&body), [json!("body"), json!(field)]);
        assert!(
            body["detail"][0]["msg"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let (status, body) = app
        .post(
            "/v1/datasets/qa/cases/",
            json!({"inputs": {}, "tags": ["a\u{2066}b"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(app.case_count("qa").await, 0);
    // Updates are held to the same rules.
    let (_, case) = app
        .post(
            "/v1/datasets/qa/cases/",
            json!({"inputs": {}, "name": "fine"}),
        )
        .await;
    let path = format!("/v1/datasets/qa/cases/{}/", case["id"].as_str().unwrap());
    let (status, body) = app
        .call(Method::PATCH, &path, Some(json!({"name": "a\u{0}b"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(app.get(&path).await.1["name"], "fine");
    // Any text is fine inside inputs: it is data, not a name.
    let (status, _) = app
        .post(
            "/v1/datasets/qa/cases/",
            json!({"inputs": {"q": "nul\u{0} and \u{202e}"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Dataset names with path characters, NUL bytes or marks never match the name rule.
    for name in [
        "../etc",
        "a/b",
        "a\\b",
        "nul\u{0}",
        "rtl\u{202e}",
        "%2e%2e",
        ".hidden",
        "sp ace",
    ] {
        let (status, body) = app.post("/v1/datasets/", json!({"name": name})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(loc(&body), [json!("body"), json!("name")]);
    }
    // And in a path they name nothing.
    for path in [
        "/v1/datasets/..%2Fqa/",
        "/v1/datasets/qa%00/",
        "/v1/datasets/%2e%2e/",
    ] {
        let (status, _) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, datasets) = app.get("/v1/datasets/").await;
    assert_eq!(datasets.as_array().unwrap().len(), 1);
}
