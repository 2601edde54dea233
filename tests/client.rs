//! The async client against the real server, in-process on 127.0.0.1:
//! every operation of the SDK guide, and each error the protocol defines.

mod support;

use datasets::wire::{EvaluatorSpec, NewCase, NewDataset, OnConflict};
use datasets::{DatasetsClient, Error};
use datasets_server::EmbeddedServer;
use datasets_server::auth::Scopes;
use serde_json::json;
use support::client;

fn question_schema() -> serde_json::Value {
    json!({
        "title": "QuestionInput", "type": "object",
        "properties": {"question": {"type": "string"}, "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}},
        "required": ["question"]
    })
}

fn answer_schema() -> serde_json::Value {
    json!({
        "title": "AnswerOutput", "type": "object",
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["answer", "confidence"]
    })
}

fn case(name: &str, question: &str) -> NewCase {
    NewCase {
        name: Some(name.to_owned()),
        expected_output: Some(json!({"answer": "a", "confidence": 0.5})),
        ..NewCase::new(json!({"question": question}))
    }
}

async fn qa(client: &DatasetsClient) {
    client
        .create_dataset("qa-golden-set")
        .description("Golden test cases for the Q&A system")
        .input_schema(question_schema())
        .output_schema(answer_schema())
        .guidance("Realistic questions with verified answers.")
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .await
        .unwrap();
}

#[tokio::test]
async fn datasets_are_created_listed_got_updated_and_deleted() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let created = client
        .create_dataset("qa-golden-set")
        .description("Golden test cases")
        .input_schema(question_schema())
        .output_schema(answer_schema())
        .metadata_schema(json!({"type": "object"}))
        .guidance("be realistic")
        .ai_managed_guidance(true)
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .report_evaluators([EvaluatorSpec::with_arguments(
            "ConfusionMatrix",
            json!({"title": "x"}),
        )])
        .await
        .unwrap();
    assert_eq!(created.name, "qa-golden-set");
    assert_eq!(created.input_schema, Some(question_schema()));
    assert!(created.ai_managed_guidance);
    assert_eq!(
        created.report_evaluators.as_ref().unwrap()[0].name,
        "ConfusionMatrix"
    );

    let by_id = client.get_dataset(created.id.to_string()).await.unwrap();
    let by_name = client.get_dataset("qa-golden-set").await.unwrap();
    assert_eq!(by_id, created);
    assert_eq!(by_name, created);

    let listed = client.list_datasets().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);

    let updated = client
        .update_dataset("qa-golden-set")
        .description("Updated description")
        .clear_guidance()
        .clear_metadata_schema()
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("Updated description"));
    assert_eq!(updated.guidance, None);
    assert_eq!(updated.metadata_schema, None);
    assert_eq!(
        updated.input_schema,
        Some(question_schema()),
        "left as it was"
    );
    let renamed = client
        .update_dataset(created.id.to_string())
        .name("qa-v2")
        .await
        .unwrap();
    assert_eq!(renamed.name, "qa-v2");

    client.delete_dataset("qa-v2").await.unwrap();
    let err = client.get_dataset("qa-v2").await.unwrap_err();
    assert!(
        matches!(err, Error::DatasetNotFound { ref detail, .. } if detail == "Dataset not found"),
        "{err:?}"
    );
    // The message names what was asked for.
    assert_eq!(
        err.to_string(),
        "dataset `qa-v2` not found (Dataset not found)"
    );
    let err = client.delete_dataset("qa-v2").await.unwrap_err();
    assert!(matches!(err, Error::DatasetNotFound { .. }));
}

#[tokio::test]
async fn conflicts_are_409_and_invalid_schemas_422() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    qa(&client).await;
    let err = client.create_dataset("qa-golden-set").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 409, .. }), "{err:?}");
    assert_eq!(err.status(), Some(409));
    let err = client
        .create_dataset("bad-schema")
        .input_schema(json!({"type": "nonsense"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(
        err.issues()[0].loc,
        ["body".into(), "input_schema".into()] as [datasets::wire::LocSegment; 2]
    );
}

#[tokio::test]
async fn cases_are_added_listed_got_updated_and_deleted() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    qa(&client).await;

    let one = client
        .add_case(
            "qa-golden-set",
            NewCase {
                tags: Some(vec!["geography".into()]),
                ..case("capital", "Capital of France?")
            },
        )
        .tags(["easy", "geography"])
        .await
        .unwrap();
    assert_eq!(one.tags, ["geography", "easy"]);
    assert_eq!(one.version, 1);

    let many = client
        .add_cases(
            "qa-golden-set",
            vec![case("math", "15 * 23?"), case("science", "Symbol of gold?")],
        )
        .tags(["batch-import"])
        .await
        .unwrap();
    assert_eq!(
        many.iter()
            .map(|c| c.name.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["math", "science"]
    );
    assert!(many.iter().all(|c| c.tags == ["batch-import"]));

    let raw = client
        .create_case(
            "qa-golden-set",
            json!({"question": "What colour is the sky?"}),
        )
        .name("sky-color")
        .expected_output(json!({"answer": "Blue", "confidence": 0.95}))
        .metadata(json!({"category": "science"}))
        .evaluators([EvaluatorSpec::with_arguments(
            "Contains",
            json!({"value": "Blue"}),
        )])
        .source_trace_id("0af7651916cd43dd8448eb211c80319c")
        .source_span_id("b7ad6b7169203331")
        .tags(["science"])
        .await
        .unwrap();
    assert_eq!(
        raw.source_trace_id.as_deref(),
        Some("0af7651916cd43dd8448eb211c80319c")
    );
    assert_eq!(raw.source_span_id.as_deref(), Some("b7ad6b7169203331"));

    let all = client.list_cases("qa-golden-set").await.unwrap();
    assert_eq!(all.len(), 4);
    let tagged = client
        .list_cases("qa-golden-set")
        .tags(["geography", "science"])
        .await
        .unwrap();
    assert_eq!(
        tagged
            .iter()
            .map(|c| c.name.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["capital", "sky-color"]
    );

    let got = client.get_case("qa-golden-set", one.id).await.unwrap();
    assert_eq!(got, one);

    let updated = client
        .update_case("qa-golden-set", one.id)
        .metadata(json!({"category": "geography", "difficulty": "easy", "reviewed": true}))
        .tags(["verified", "geography"])
        .clear_expected_output()
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.tags, ["verified", "geography"]);
    assert_eq!(updated.expected_output, None);
    assert_eq!(updated.inputs, one.inputs);
    let renamed = client
        .update_case("qa-golden-set", one.id)
        .clear_name()
        .clear_tags()
        .await
        .unwrap();
    assert_eq!(
        (renamed.name, renamed.tags.len(), renamed.version),
        (None, 0, 3)
    );

    client.delete_case("qa-golden-set", one.id).await.unwrap();
    let err = client.get_case("qa-golden-set", one.id).await.unwrap_err();
    assert!(
        matches!(err, Error::CaseNotFound { ref detail, .. } if detail == "Case not found"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "case {} not found in dataset `qa-golden-set` (Case not found)",
            one.id
        )
    );
    let err = client
        .delete_case("qa-golden-set", one.id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CaseNotFound { .. }));
    let err = client
        .get_case("no-such-dataset", one.id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DatasetNotFound { .. }), "{err:?}");
    let err = client.list_cases("no-such-dataset").await.unwrap_err();
    assert!(matches!(err, Error::DatasetNotFound { .. }));
    assert_eq!(
        client
            .get_dataset("qa-golden-set")
            .await
            .unwrap()
            .case_count,
        3
    );
}

#[tokio::test]
async fn schema_violations_reach_the_caller_with_their_paths() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    qa(&client).await;
    let err = client
        .add_cases(
            "qa-golden-set",
            vec![case("ok", "fine"), NewCase::new(json!({"question": 42}))],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    let issues = err.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(
        issues[0].to_string(),
        "body.cases.1.inputs.question: 42 is not of type \"string\" (type)"
    );
    assert!(
        err.to_string().contains("body.cases.1.inputs.question"),
        "{err}"
    );
    let err = client
        .create_case("qa-golden-set", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.issues()[0].kind, "required");
    assert_eq!(
        client
            .get_dataset("qa-golden-set")
            .await
            .unwrap()
            .case_count,
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn import_export_and_push() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    qa(&client).await;
    let first = client
        .import_cases("qa-golden-set", vec![case("a", "1"), case("b", "2")])
        .await
        .unwrap();
    let err = client
        .import_cases("qa-golden-set", vec![case("a", "changed")])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "the default is on_conflict=error");
    let upserted = client
        .import_cases("qa-golden-set", vec![case("a", "changed"), case("c", "3")])
        .on_conflict(OnConflict::Update)
        .await
        .unwrap();
    assert_eq!(upserted[0].id, first[0].id);
    assert_eq!(upserted[0].version, 2);

    let export = client.export_dataset("qa-golden-set").await.unwrap();
    assert_eq!(export.name.as_deref(), Some("qa-golden-set"));
    assert_eq!(export.cases.len(), 3);
    assert_eq!(export.cases[0].inputs, json!({"question": "changed"}));
    assert_eq!(export.evaluators, [EvaluatorSpec::new("EqualsExpected")]);

    // Push to a new dataset creates it; a second push updates and upserts.
    let local = NewDataset {
        name: "pushed".into(),
        description: Some("first".into()),
        input_schema: Some(question_schema()),
        evaluators: Some(vec![EvaluatorSpec::new("EqualsExpected")]),
        ..NewDataset::default()
    };
    let pushed = client
        .push_dataset(local.clone(), vec![case("x", "1"), case("y", "2")])
        .await
        .unwrap();
    assert_eq!(
        (pushed.case_count, pushed.description.as_deref()),
        (2, Some("first"))
    );
    let again = NewDataset {
        description: None,
        evaluators: None,
        ..local
    };
    let pushed = client
        .push_dataset(again, vec![case("x", "changed"), case("z", "3")])
        .await
        .unwrap();
    assert_eq!(pushed.case_count, 3, "x updated in place, z added");
    assert_eq!(
        pushed.description.as_deref(),
        Some("first"),
        "an absent description is left"
    );
    assert_eq!(
        pushed.evaluators,
        Some(vec![]),
        "evaluators are replaced, as in the Python SDK"
    );
    let x = client
        .list_cases("pushed")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name.as_deref() == Some("x"))
        .unwrap();
    assert_eq!((x.inputs, x.version), (json!({"question": "changed"}), 2));
}

#[tokio::test]
async fn another_projects_key_sees_404_and_a_read_only_key_403() {
    let server = EmbeddedServer::start().unwrap();
    let owner = client(&server);
    let dataset = owner.create_dataset("private").await.unwrap();
    let other = DatasetsClient::builder()
        .api_key(server.create_key("beta", Scopes::READ_WRITE).unwrap())
        .base_url(server.base_url())
        .build()
        .unwrap();
    for reference in ["private".to_owned(), dataset.id.to_string()] {
        let err = other.get_dataset(reference).await.unwrap_err();
        assert!(matches!(err, Error::DatasetNotFound { .. }), "{err:?}");
    }
    let reader = DatasetsClient::builder()
        .api_key(server.create_key("default", Scopes::READ_ONLY).unwrap())
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert_eq!(reader.list_datasets().await.unwrap().len(), 1);
    let err = reader.delete_dataset("private").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let wrong = DatasetsClient::builder()
        .api_key("dsk_wrong")
        .base_url(server.base_url())
        .build()
        .unwrap();
    assert_eq!(wrong.list_datasets().await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn names_that_can_never_be_valid_are_refused_before_any_request() {
    // Nothing listens on this client's URL: refusing without a request is the
    // only way these can fail with InvalidArgument.
    let client = DatasetsClient::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    for name in ["a/b", "../etc", "has space", "?x", "", "é"] {
        let err = client.get_dataset(name).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{name:?}: {err:?}"
        );
        let err = client.create_dataset(name).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{name:?}: {err:?}"
        );
    }
    let err = client
        .update_dataset("ok")
        .name("not ok")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[tokio::test]
async fn tags_and_names_with_reserved_characters_round_trip() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    client.create_dataset("v1.2_final-set").await.unwrap();
    let tags = ["a&b=c", "with space", "slash/and?query#frag", "ünïcode"];
    client
        .create_case("v1.2_final-set", json!(1))
        .name("n/with?odd#chars")
        .tags(tags)
        .await
        .unwrap();
    for tag in tags {
        let found = client
            .list_cases("v1.2_final-set")
            .tags([tag])
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{tag:?}");
        assert_eq!(found[0].name.as_deref(), Some("n/with?odd#chars"));
    }
}

#[tokio::test]
async fn large_uploads_go_in_chunks_and_a_failed_chunk_says_what_was_written() {
    let server = EmbeddedServer::start().unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .max_request_bytes(4 * 1024)
        .build()
        .unwrap();
    qa(&client).await;
    let cases: Vec<NewCase> = (0..200)
        .map(|i| case(&format!("c{i}"), &"q".repeat(50)))
        .collect();
    let added = client
        .add_cases("qa-golden-set", cases.clone())
        .await
        .unwrap();
    assert_eq!(added.len(), 200);
    assert_eq!(
        added
            .iter()
            .map(|c| c.name.clone().unwrap())
            .collect::<Vec<_>>(),
        (0..200).map(|i| format!("c{i}")).collect::<Vec<_>>(),
        "in order across chunks"
    );

    // Case 150 is invalid: the chunks before its chunk are written.
    let mut next: Vec<NewCase> = (200..400).map(|i| case(&format!("c{i}"), "q")).collect();
    next[150].inputs = json!({"question": false});
    let err = client.add_cases("qa-golden-set", next).await.unwrap_err();
    let Error::Chunk {
        chunk,
        chunks,
        first_case,
        len,
        written,
        ref source,
    } = err
    else {
        panic!("expected a chunk error, got {err:?}");
    };
    assert!(chunk > 0 && chunk < chunks);
    assert!(first_case <= 150 && 150 < first_case + len);
    assert_eq!(written, first_case);
    assert_eq!(source.status(), Some(422));
    let loc = &err.issues()[0].loc;
    assert_eq!(
        loc[2],
        datasets::wire::LocSegment::Index(150),
        "the index is in the caller's list: {loc:?}"
    );
    assert_eq!(
        client
            .get_dataset("qa-golden-set")
            .await
            .unwrap()
            .case_count as usize,
        200 + written
    );

    // Upserting by name makes the retry safe.
    let mut retry: Vec<NewCase> = (200..400).map(|i| case(&format!("c{i}"), "q")).collect();
    retry[150].inputs = json!({"question": "fixed"});
    client
        .import_cases("qa-golden-set", retry)
        .on_conflict(OnConflict::Update)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_dataset("qa-golden-set")
            .await
            .unwrap()
            .case_count,
        400
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let client = DatasetsClient::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .retry(datasets::RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.list_datasets().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { connect: true, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn conditional_updates_and_deletes_apply_only_at_the_named_version() {
    let server = EmbeddedServer::start().unwrap();
    let client = support::client(&server);
    client.create_dataset("qa").await.unwrap();
    let case = client
        .add_case("qa", NewCase::new(json!({"q": 1})))
        .await
        .unwrap();
    let updated = client
        .update_case("qa", case.id)
        .tags(["first"])
        .if_version(case.version)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    // A writer that read version 1 does not overwrite version 2.
    let err = client
        .update_case("qa", case.id)
        .tags(["stale"])
        .if_version(1)
        .await
        .unwrap_err();
    match &err {
        Error::PreconditionFailed {
            current_version, ..
        } => assert_eq!(*current_version, Some(2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(412));
    assert!(!err.is_retryable());
    let err = client
        .delete_case("qa", case.id)
        .if_version(1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed { .. }), "{err:?}");
    assert_eq!(
        client.get_case("qa", case.id).await.unwrap().tags,
        ["first"]
    );
    client
        .delete_case("qa", case.id)
        .if_version(2)
        .await
        .unwrap();
    assert_eq!(client.get_dataset("qa").await.unwrap().case_count, 0);
}

#[tokio::test]
async fn uploads_send_chunks_side_by_side_when_asked_and_count_what_was_written() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = support::Proxy::start(&server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .max_request_bytes(4 * 1024)
        .build()
        .unwrap();
    qa(&client).await;
    proxy.take_log();
    let names = |range: std::ops::Range<usize>| range.map(|i| format!("c{i}")).collect::<Vec<_>>();
    let cases: Vec<NewCase> = names(0..300)
        .iter()
        .map(|name| case(name, &"q".repeat(50)))
        .collect();
    // The first three chunks wait at the proxy, so chunks sent together
    // are seen together.
    proxy.inject(std::iter::repeat_n(
        support::Fault::Delay(std::time::Duration::from_millis(150)),
        3,
    ));
    let added = client
        .add_cases("qa-golden-set", cases)
        .concurrency(3)
        .progress(true)
        .await
        .unwrap();
    let log = proxy.take_log();
    assert!(log.len() >= 6, "{} chunks", log.len());
    assert_eq!(proxy.peak_in_flight(), 3, "three chunks at once, no more");
    // Answers come back in the caller's order, whatever order chunks landed in.
    assert_eq!(
        added
            .iter()
            .map(|c| c.name.clone().unwrap())
            .collect::<Vec<_>>(),
        names(0..300)
    );
    let mut stored: Vec<String> = client
        .list_cases("qa-golden-set")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name.unwrap())
        .collect();
    stored.sort();
    let mut expected = names(0..300);
    expected.sort();
    assert_eq!(stored, expected, "every case exactly once");

    // A bad case stops the upload; the error counts what did land.
    let mut next: Vec<NewCase> = names(300..600).iter().map(|n| case(n, "q")).collect();
    next[150].inputs = json!({"question": false});
    let err = client
        .add_cases("qa-golden-set", next)
        .concurrency(3)
        .await
        .unwrap_err();
    let Error::Chunk {
        first_case,
        len,
        written,
        ..
    } = err
    else {
        panic!("expected a chunk error, got {err:?}");
    };
    assert!(first_case <= 150 && 150 < first_case + len);
    assert!(written >= first_case, "the chunks before it all landed");
    assert_eq!(
        client
            .get_dataset("qa-golden-set")
            .await
            .unwrap()
            .case_count as usize,
        300 + written
    );
}

#[tokio::test]
async fn a_case_stream_follows_the_cursor_a_page_at_a_time() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = support::Proxy::start(&server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .build()
        .unwrap();
    client.create_dataset("big").await.unwrap();
    let cases: Vec<NewCase> = (0..2_500)
        .map(|n| NewCase {
            tags: Some(vec![if n % 5 == 0 { "fifth" } else { "rest" }.into()]),
            ..NewCase::new(json!({ "n": n }))
        })
        .collect();
    client.add_cases("big", cases).await.unwrap();
    proxy.take_log();

    let mut stream = client.list_cases("big").page_size(1_000).stream();
    let mut seen = Vec::new();
    while let Some(case) = stream.next().await {
        seen.push(case.unwrap().inputs["n"].as_u64().unwrap());
    }
    assert_eq!(seen.len(), 2_500);
    assert!(
        seen.iter().enumerate().all(|(i, n)| *n == i as u64),
        "in order"
    );
    let log = proxy.take_log();
    assert_eq!(log.len(), 3, "three pages");
    assert!(
        log.iter()
            .all(|r| r.query.contains(&("limit".into(), "1000".into())))
    );
    assert!(!log[0].query.iter().any(|(k, _)| k == "cursor"));
    assert!(log[1].query.iter().any(|(k, _)| k == "cursor"));

    // Tags filter pages too; try_collect gathers the rest.
    let fifths = client
        .list_cases("big")
        .tags(["fifth"])
        .page_size(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fifths.len(), 500);
    // A bad reference is the stream's first and only item.
    let mut bad = client.list_cases("no/such").stream();
    assert!(matches!(
        bad.next().await,
        Some(Err(Error::InvalidArgument(_)))
    ));
    assert!(bad.next().await.is_none());
}

#[tokio::test]
async fn an_export_larger_than_the_body_limit_arrives_whole() {
    let server =
        EmbeddedServer::with_config(datasets_server::ServerConfig::default().body_limit(64 * 1024))
            .unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .max_request_bytes(32 * 1024)
        .build()
        .unwrap();
    client.create_dataset("big").await.unwrap();
    let cases: Vec<NewCase> = (0..3_000)
        .map(|n| NewCase {
            name: Some(format!("case-{n}")),
            ..NewCase::new(json!({"question": format!("question number {n} ").repeat(3)}))
        })
        .collect();
    client.add_cases("big", cases).await.unwrap();
    let export = client.export_dataset("big").await.unwrap();
    assert_eq!(export.cases.len(), 3_000);
    let bytes = serde_json::to_vec(&export).unwrap().len();
    assert!(
        bytes > 4 * 64 * 1024,
        "the export ({bytes} bytes) is well over the limit"
    );
    assert_eq!(export.cases[2_999].name.as_deref(), Some("case-2999"));
    let listed = client.list_cases("big").await.unwrap();
    assert_eq!(listed.len(), 3_000);
}
