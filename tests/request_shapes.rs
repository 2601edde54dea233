//! What our client sends, operation by operation, against what API.md (the
//! contract of Logfire's hosted API) specifies: method, path, query and body
//! keys. A recording proxy sits between the client and the real server.

mod support;

use std::collections::BTreeSet;

use datasets::wire::{EvaluatorSpec, NewCase, NewDataset, OnConflict};
use datasets::{DatasetsClient, Error, ServerKind};
use datasets_server::EmbeddedServer;
use serde_json::{Value, json};
use support::{Proxy, Recorded};

/// The body keys API.md allows for a dataset create or update.
const DATASET_KEYS: &[&str] = &[
    "name",
    "description",
    "input_schema",
    "output_schema",
    "metadata_schema",
    "guidance",
    "ai_managed_guidance",
    "evaluators",
    "report_evaluators",
];
/// The body keys API.md allows for a case.
const CASE_KEYS: &[&str] = &[
    "inputs",
    "name",
    "expected_output",
    "metadata",
    "evaluators",
    "source_trace_id",
    "source_span_id",
    "tags",
];

struct Expect {
    method: &'static str,
    path: String,
    query: Vec<(&'static str, &'static str)>,
    /// Exactly these body keys (`None`: no body).
    body_keys: Option<Vec<&'static str>>,
    /// Every key must be one of these.
    allowed: &'static [&'static str],
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn check(operation: &str, got: &Recorded, expect: &Expect) {
    assert_eq!(got.method, expect.method, "{operation}: method");
    assert_eq!(got.path, expect.path, "{operation}: path");
    let query: Vec<(String, String)> = expect
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got.query, query, "{operation}: query");
    match (&expect.body_keys, &got.body) {
        (None, None) => {}
        (Some(wanted), Some(body)) => {
            let body_keys = keys(body);
            let wanted: BTreeSet<String> = wanted.iter().map(|k| k.to_string()).collect();
            assert_eq!(body_keys, wanted, "{operation}: body keys");
            for key in &body_keys {
                assert!(
                    expect.allowed.contains(&key.as_str()),
                    "{operation}: {key} is not in API.md"
                );
            }
        }
        (wanted, body) => panic!("{operation}: expected body keys {wanted:?}, got {body:?}"),
    }
}

#[tokio::test]
async fn every_operation_sends_what_api_md_specifies() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .build()
        .unwrap();

    let ds = client
        .create_dataset("qa")
        .description("d")
        .input_schema(json!({"type": "object"}))
        .guidance("g")
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .await
        .unwrap();
    client.list_datasets().await.unwrap();
    client.get_dataset(ds.id.to_string()).await.unwrap();
    client
        .update_dataset("qa")
        .description("x")
        .clear_guidance()
        .await
        .unwrap();
    let added = client
        .add_case(
            "qa",
            NewCase {
                name: Some("a".into()),
                ..NewCase::new(json!({"q": 1}))
            },
        )
        .tags(["t"])
        .await
        .unwrap();
    client
        .add_cases("qa", vec![NewCase::new(json!({"q": 2}))])
        .await
        .unwrap();
    client
        .create_case("qa", json!({"q": 3}))
        .source_trace_id("trace")
        .source_span_id("span")
        .await
        .unwrap();
    client.list_cases("qa").tags(["t", "u"]).await.unwrap();
    client.get_case("qa", added.id).await.unwrap();
    client
        .update_case("qa", added.id)
        .clear_metadata()
        .tags(["v"])
        .await
        .unwrap();
    client
        .import_cases("qa", vec![NewCase::new(json!({"q": 4}))])
        .on_conflict(OnConflict::Update)
        .await
        .unwrap();
    client.export_dataset("qa").await.unwrap();
    client.delete_case("qa", added.id).await.unwrap();
    client.delete_cases("qa").tags(["gone"]).await.unwrap();
    client.delete_dataset("qa").await.unwrap();
    client
        .push_dataset(
            NewDataset {
                name: "p".into(),
                ..NewDataset::default()
            },
            vec![NewCase::new(json!(1))],
        )
        .await
        .unwrap();

    let case = added.id.to_string();
    let none = Vec::new;
    let expectations = [
        (
            "create_dataset",
            Expect {
                method: "POST",
                path: "/v1/datasets/".into(),
                query: none(),
                body_keys: Some(vec![
                    "name",
                    "description",
                    "input_schema",
                    "guidance",
                    "evaluators",
                ]),
                allowed: DATASET_KEYS,
            },
        ),
        (
            "list_datasets",
            Expect {
                method: "GET",
                path: "/v1/datasets/".into(),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "get_dataset",
            Expect {
                method: "GET",
                path: format!("/v1/datasets/{}/", ds.id),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "update_dataset",
            Expect {
                method: "PATCH",
                path: "/v1/datasets/qa/".into(),
                query: none(),
                body_keys: Some(vec!["description", "guidance"]),
                allowed: DATASET_KEYS,
            },
        ),
        (
            "add_case",
            Expect {
                method: "POST",
                path: "/v1/datasets/qa/cases/".into(),
                query: none(),
                body_keys: Some(vec!["inputs", "name", "tags"]),
                allowed: CASE_KEYS,
            },
        ),
        (
            "add_cases",
            Expect {
                method: "POST",
                path: "/v1/datasets/qa/cases/bulk/".into(),
                query: none(),
                body_keys: Some(vec!["cases"]),
                allowed: &["cases"],
            },
        ),
        (
            "create_case",
            Expect {
                method: "POST",
                path: "/v1/datasets/qa/cases/".into(),
                query: none(),
                body_keys: Some(vec!["inputs", "source_trace_id", "source_span_id"]),
                allowed: CASE_KEYS,
            },
        ),
        (
            "list_cases",
            Expect {
                method: "GET",
                path: "/v1/datasets/qa/cases/".into(),
                query: vec![("tags", "t"), ("tags", "u")],
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "get_case",
            Expect {
                method: "GET",
                path: format!("/v1/datasets/qa/cases/{case}/"),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "update_case",
            Expect {
                method: "PATCH",
                path: format!("/v1/datasets/qa/cases/{case}/"),
                query: none(),
                body_keys: Some(vec!["metadata", "tags"]),
                allowed: CASE_KEYS,
            },
        ),
        (
            "import_cases",
            Expect {
                method: "POST",
                path: "/v1/datasets/qa/import/".into(),
                query: vec![("on_conflict", "update")],
                body_keys: Some(vec!["cases"]),
                allowed: &["cases"],
            },
        ),
        (
            "export_dataset",
            Expect {
                method: "GET",
                path: "/v1/datasets/qa/export/".into(),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "delete_case",
            Expect {
                method: "DELETE",
                path: format!("/v1/datasets/qa/cases/{case}/"),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "delete_cases",
            Expect {
                method: "POST",
                path: "/v1/datasets/qa/cases/delete/".into(),
                query: none(),
                body_keys: Some(vec!["tags"]),
                allowed: &["ids", "tags"],
            },
        ),
        (
            "delete_dataset",
            Expect {
                method: "DELETE",
                path: "/v1/datasets/qa/".into(),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
        (
            "push_dataset: create",
            Expect {
                method: "POST",
                path: "/v1/datasets/".into(),
                query: none(),
                body_keys: Some(vec!["name"]),
                allowed: DATASET_KEYS,
            },
        ),
        (
            "push_dataset: upsert",
            Expect {
                method: "POST",
                path: "/v1/datasets/p/import/".into(),
                query: vec![("on_conflict", "update")],
                body_keys: Some(vec!["cases"]),
                allowed: &["cases"],
            },
        ),
        (
            "push_dataset: read back",
            Expect {
                method: "GET",
                path: "/v1/datasets/p/".into(),
                query: none(),
                body_keys: None,
                allowed: &[],
            },
        ),
    ];
    let log = proxy.take_log();
    assert_eq!(
        log.len(),
        expectations.len(),
        "one request per operation (three for push): {log:#?}"
    );
    for ((operation, expect), got) in expectations.iter().zip(&log) {
        check(operation, got, expect);
    }
    // The cases inside bulk and import bodies use only API.md's case keys.
    for got in &log {
        if let Some(cases) = got
            .body
            .as_ref()
            .and_then(|b| b.get("cases"))
            .and_then(Value::as_array)
        {
            for case in cases {
                for key in keys(case) {
                    assert!(
                        CASE_KEYS.contains(&key.as_str()),
                        "{}: case key {key}",
                        got.path
                    );
                }
                assert!(case.get("inputs").is_some());
            }
        }
    }
    // Each POST carries its own Idempotency-Key (an addition Logfire
    // ignores); other methods none.
    let keys_sent: Vec<&String> = log
        .iter()
        .filter_map(|r| r.idempotency_key.as_ref())
        .collect();
    for got in &log {
        assert_eq!(
            got.idempotency_key.is_some(),
            got.method == "POST",
            "{} {}",
            got.method,
            got.path
        );
    }
    let distinct: std::collections::BTreeSet<&&String> = keys_sent.iter().collect();
    assert_eq!(distinct.len(), keys_sent.len(), "a fresh key per POST");
    // Three-state updates: a cleared field is sent as null, a kept one not at all.
    assert_eq!(log[3].body.as_ref().unwrap()["guidance"], Value::Null);
    assert_eq!(log[9].body.as_ref().unwrap()["metadata"], Value::Null);
}

#[tokio::test]
async fn push_to_an_existing_dataset_updates_it_with_patch_after_a_409() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .build()
        .unwrap();
    client.create_dataset("p").await.unwrap();
    proxy.take_log();
    let local = NewDataset {
        name: "p".into(),
        description: Some("d".into()),
        ..NewDataset::default()
    };
    client.push_dataset(local, vec![]).await.unwrap();
    let log = proxy.take_log();
    let steps: Vec<(String, String)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        steps,
        [
            ("POST".into(), "/v1/datasets/".into()),
            ("PATCH".into(), "/v1/datasets/p/".into()),
            ("GET".into(), "/v1/datasets/p/".into()),
        ]
    );
    assert_eq!(
        keys(log[1].body.as_ref().unwrap()),
        ["description", "evaluators", "report_evaluators"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

/// What the client sends to Logfire's hosted API (`ServerKind::Logfire`,
/// exercised here against our server through the recording proxy): only
/// what logfire 5.4's SDK sends. Cases are added through `import/` with
/// `on_conflict=error`; lists come whole, filtered by tag in the client;
/// no `limit`, `cursor`, `Idempotency-Key` or `If-Match` is sent; bulk
/// deletion and `if_version` are refused before sending.
#[tokio::test]
async fn against_logfire_only_what_its_sdk_uses_is_sent() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .server_kind(ServerKind::Logfire)
        .build()
        .unwrap();
    assert_eq!(client.server_kind(), ServerKind::Logfire);
    client.create_dataset("qa").await.unwrap();
    let one = client
        .add_case("qa", NewCase::new(json!({"q": "one"})))
        .tags(["a"])
        .await
        .unwrap();
    assert_eq!((one.tags.clone(), one.version), (vec!["a".to_owned()], 1));
    let created = client
        .create_case("qa", json!({"q": "two"}))
        .name("two")
        .source_trace_id("0af7651916cd43dd8448eb211c80319c")
        .source_span_id("b7ad6b7169203331")
        .await
        .unwrap();
    assert_eq!(
        created.source_span_id.as_deref(),
        Some("b7ad6b7169203331"),
        "trace links travel in the import body, as the SDK's CaseData has them"
    );
    let many = client
        .add_cases(
            "qa",
            vec![
                NewCase::new(json!({"q": "three"})),
                NewCase::new(json!({"q": "four"})),
            ],
        )
        .tags(["b"])
        .await
        .unwrap();
    assert_eq!(many.len(), 2);
    // A taken name is a 409 and nothing is written, as with the direct route.
    let taken = client
        .create_case("qa", json!({"q": "again"}))
        .name("two")
        .await
        .unwrap_err();
    assert_eq!(taken.status(), Some(409));
    let tagged = client.list_cases("qa").tags(["b"]).await.unwrap();
    assert_eq!(tagged.len(), 2);
    let streamed: Vec<_> = client
        .list_cases("qa")
        .tags(["a"])
        .page_size(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 1);
    client
        .update_case("qa", one.id)
        .name("renamed")
        .await
        .unwrap();
    let log = proxy.take_log();
    type Step<'a> = (&'a str, &'a str, Vec<(String, String)>);
    let steps: Vec<Step<'_>> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.clone()))
        .collect();
    let error = || vec![("on_conflict".to_owned(), "error".to_owned())];
    assert_eq!(
        steps,
        [
            ("POST", "/v1/datasets/", vec![]),
            ("POST", "/v1/datasets/qa/import/", error()),
            ("POST", "/v1/datasets/qa/import/", error()),
            ("POST", "/v1/datasets/qa/import/", error()),
            ("POST", "/v1/datasets/qa/import/", error()),
            ("GET", "/v1/datasets/qa/cases/", vec![]),
            ("GET", "/v1/datasets/qa/cases/", vec![]),
            (
                "PATCH",
                &format!("/v1/datasets/qa/cases/{}/", one.id),
                vec![]
            ),
        ]
    );
    assert!(
        log.iter().all(|r| r.idempotency_key.is_none()),
        "no Idempotency-Key to Logfire"
    );
    assert_eq!(
        log[1].body.as_ref().unwrap()["cases"][0]["tags"],
        json!(["a"])
    );
    // Additions Logfire would ignore are refused before anything is sent.
    let err = client
        .update_case("qa", one.id)
        .name("x")
        .if_version(2)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let err = client.delete_cases("qa").tags(["a"]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(proxy.take_log().is_empty(), "nothing was sent");
    // The kind follows the base URL's host unless set.
    let hosted = DatasetsClient::new("pylf_v1_eu_x").unwrap();
    assert_eq!(hosted.server_kind(), ServerKind::Logfire);
    let local = DatasetsClient::builder()
        .api_key("k")
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert_eq!(local.server_kind(), ServerKind::Datasets);
}
