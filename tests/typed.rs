//! Datasets declared with `#[derive(DatasetSchema)]`, through typed handles
//! against the real server: the seed guide's whole flow (async and
//! blocking), the registry, and schema constraints the server enforces.

use datasets::{Case, DatasetSchema, DatasetsClient, EnsureAction, Error};
use datasets_server::EmbeddedServer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct QuestionInput {
    question: String,
    context: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct AnswerOutput {
    answer: String,
    /// Rust allows any f64; the schema (and so the server) only [0, 1].
    #[schemars(range(min = 0.0, max = 1.0))]
    confidence: f64,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct CaseMetadata {
    category: String,
    difficulty: String,
    #[serde(default)]
    reviewed: bool,
}

#[derive(DatasetSchema)]
#[dataset(
    name = "qa-golden-set",
    description = "Golden test cases for the Q&A system",
    guidance = "Each case should represent a realistic user question with a verified answer."
)]
struct QaGoldenSet {
    inputs: QuestionInput,
    expected_output: AnswerOutput,
    metadata: CaseMetadata,
}

/// Inputs only: outputs and metadata are unvalidated JSON.
#[derive(DatasetSchema)]
#[dataset(name = "prompts")]
struct Prompts {
    inputs: String,
}

fn question(text: &str) -> QuestionInput {
    QuestionInput {
        question: text.into(),
        context: None,
    }
}

fn answer(text: &str, confidence: f64) -> AnswerOutput {
    AnswerOutput {
        answer: text.into(),
        confidence,
    }
}

fn meta(category: &str, difficulty: &str) -> CaseMetadata {
    CaseMetadata {
        category: category.into(),
        difficulty: difficulty.into(),
        reviewed: false,
    }
}

fn client(server: &EmbeddedServer) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_seed_flow_through_a_typed_handle() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let qa = client.dataset::<QaGoldenSet>();

    let ensured = qa.ensure().await.unwrap();
    assert_eq!(ensured.action, EnsureAction::Created);
    assert_eq!(
        ensured.dataset.description.as_deref(),
        Some("Golden test cases for the Q&A system")
    );
    let input_schema = ensured.dataset.input_schema.clone().unwrap();
    assert_eq!(input_schema["title"], "QuestionInput");
    assert_eq!(input_schema["required"], json!(["question"]));
    assert_eq!(
        qa.ensure().await.unwrap().action,
        EnsureAction::Unchanged,
        "idempotent"
    );

    let capital = qa
        .add_case(
            Case::new(question("What is the capital of France?"))
                .name("capital-question")
                .expected_output(answer("Paris", 0.99))
                .metadata(meta("geography", "easy")),
        )
        .tags(["geography", "easy"])
        .await
        .unwrap();
    assert_eq!(capital.inputs.question, "What is the capital of France?");
    assert_eq!(capital.tags, ["geography", "easy"]);

    let batch = qa
        .add_cases(vec![
            Case::new(question("What is 15 * 23?"))
                .name("math-question")
                .expected_output(answer("345", 1.0))
                .metadata(meta("math", "easy")),
            Case::new(question("What is the chemical symbol for gold?"))
                .name("science-question")
                .expected_output(answer("Au", 0.98))
                .metadata(meta("science", "medium")),
        ])
        .tags(["batch-import"])
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);

    let sky = qa
        .add_case(Case::new(question("What color is the sky?")).name("sky-color"))
        .source_trace_id("0af7651916cd43dd8448eb211c80319c")
        .source_span_id("b7ad6b7169203331")
        .tags(["science"])
        .await
        .unwrap();
    assert_eq!(sky.source_span_id.as_deref(), Some("b7ad6b7169203331"));
    assert_eq!(sky.expected_output, None);

    let geography = qa.list_cases().tags(["geography"]).await.unwrap();
    assert_eq!(geography.len(), 1);
    assert_eq!(geography[0].expected_output, Some(answer("Paris", 0.99)));
    assert_eq!(qa.list_cases().await.unwrap().len(), 4);

    let got = qa.get_case(capital.id).await.unwrap();
    assert_eq!(got, capital);

    let updated = qa
        .update_case(capital.id)
        .metadata(CaseMetadata {
            reviewed: true,
            ..meta("geography", "easy")
        })
        .tags(["verified", "geography"])
        .await
        .unwrap();
    assert!(updated.metadata.unwrap().reviewed);
    assert_eq!(updated.tags, ["verified", "geography"]);
    assert_eq!(updated.version, 2);

    qa.delete_case(sky.id).await.unwrap();
    assert!(matches!(
        qa.get_case(sky.id).await.unwrap_err(),
        Error::CaseNotFound { .. }
    ));
    assert_eq!(qa.info().await.unwrap().case_count, 3);

    let local = qa.export().await.unwrap();
    assert_eq!(local.name.as_deref(), Some("qa-golden-set"));
    assert_eq!(local.cases.len(), 3);
    assert_eq!(local.cases[1].expected_output, Some(answer("345", 1.0)));

    qa.delete().await.unwrap();
    assert!(matches!(
        qa.info().await.unwrap_err(),
        Error::DatasetNotFound { .. }
    ));
}

#[test]
fn the_seed_flow_through_a_blocking_typed_handle() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let qa = client.dataset::<QaGoldenSet>();
    assert_eq!(qa.ensure().send().unwrap().action, EnsureAction::Created);
    let stored = qa
        .add_case(
            Case::new(question("q1"))
                .name("q1")
                .expected_output(answer("a", 0.5))
                .metadata(meta("c", "easy")),
        )
        .tags(["t"])
        .send()
        .unwrap();
    qa.add_cases(vec![Case::new(question("q2"))])
        .tags(["bulk"])
        .send()
        .unwrap();
    assert_eq!(qa.list_cases().tags(["t"]).send().unwrap().len(), 1);
    assert_eq!(
        qa.get_case(stored.id).send().unwrap().inputs,
        question("q1")
    );
    let updated = qa
        .update_case(stored.id)
        .clear_expected_output()
        .tags(["u"])
        .send()
        .unwrap();
    assert_eq!(
        (updated.expected_output, updated.tags),
        (None, vec!["u".to_owned()])
    );
    qa.delete_case(stored.id).send().unwrap();
    assert_eq!(qa.export().send().unwrap().cases.len(), 1);
    qa.delete().send().unwrap();
}

#[tokio::test]
async fn the_server_enforces_what_the_schema_says_and_rust_cannot() {
    let server = EmbeddedServer::start().unwrap();
    let qa = client(&server).dataset::<QaGoldenSet>();
    qa.ensure().await.unwrap();
    let err = qa
        .add_case(Case::new(question("q")).expected_output(answer("a", 1.5)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err:?}");
    let issue = &err.issues()[0];
    assert_eq!(
        issue.to_string().split(':').next().unwrap(),
        "body.expected_output.confidence"
    );
    assert_eq!(issue.kind, "maximum");
    assert_eq!(qa.info().await.unwrap().case_count, 0);
}

#[tokio::test]
async fn a_stored_case_that_no_longer_fits_names_its_id_and_path() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    // Written untyped, before the Rust declaration existed: no schemas.
    client.create_dataset("qa-golden-set").await.unwrap();
    let raw = client
        .create_case("qa-golden-set", json!({"question": "q"}))
        .expected_output(json!({"answer": "a", "confidence": "very"}))
        .await
        .unwrap();
    let err = client
        .dataset::<QaGoldenSet>()
        .list_cases()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&raw.id.to_string()), "{text}");
    assert!(text.contains("`expected_output.confidence`"), "{text}");
    // And ensure refuses to put a schema on it that its case breaks.
    let err = client.dataset::<QaGoldenSet>().ensure().await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err:?}");
    assert!(err.to_string().contains(&raw.id.to_string()), "{err}");
}

#[tokio::test]
async fn omitted_fields_and_any_json_send_no_schema() {
    let server = EmbeddedServer::start().unwrap();
    let prompts = client(&server).dataset::<Prompts>();
    let created = prompts.ensure().await.unwrap().dataset;
    // As Pydantic's TypeAdapter(str).json_schema(): no title.
    assert_eq!(created.input_schema, Some(json!({"type": "string"})));
    assert_eq!(
        (created.output_schema, created.metadata_schema),
        (None, None)
    );
    let stored = prompts
        .add_case(
            Case::new("Say hi".to_owned())
                .expected_output(json!({"free": ["form"]}))
                .metadata(json!(7)),
        )
        .await
        .unwrap();
    assert_eq!(stored.metadata, Some(json!(7)));
    let err = client(&server)
        .create_case("prompts", json!(42))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "the input schema still applies");
}

#[tokio::test]
async fn the_registry_creates_what_is_missing_and_updates_what_changed() {
    let registry = datasets::registry();
    assert_eq!(registry.names(), ["prompts", "qa-golden-set"]);
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);

    let report = registry.sync(&client).await.unwrap();
    assert_eq!(report.created, ["prompts", "qa-golden-set"]);
    assert!(report.updated.is_empty() && report.unchanged.is_empty());

    // The server's copy drifts from the Rust declaration (as after a change
    // of the Rust type): its schema and description differ, its guidance was
    // cleared by hand.
    client
        .update_dataset("qa-golden-set")
        .input_schema(json!({"type": "object"}))
        .description("edited in the UI")
        .clear_guidance()
        .await
        .unwrap();
    let report = registry.sync(&client).await.unwrap();
    assert_eq!(report.updated, ["qa-golden-set"]);
    assert_eq!(report.unchanged, ["prompts"]);
    let synced = client.get_dataset("qa-golden-set").await.unwrap();
    assert_eq!(synced.input_schema, QaGoldenSet::definition().input_schema);
    assert_eq!(
        synced.description.as_deref(),
        Some("Golden test cases for the Q&A system")
    );
    assert!(synced.guidance.is_some());
    assert_eq!(
        registry.sync(&client).await.unwrap().unchanged,
        ["prompts", "qa-golden-set"]
    );

    // Declared fields win; undeclared ones are left as they are.
    client
        .update_dataset("prompts")
        .description("kept")
        .await
        .unwrap();
    registry.sync(&client).await.unwrap();
    assert_eq!(
        client
            .get_dataset("prompts")
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn push_publishes_a_local_typed_dataset() {
    let server = EmbeddedServer::start().unwrap();
    let qa = client(&server).dataset::<QaGoldenSet>();
    let mut local = datasets::eval::Dataset::new(
        "qa-golden-set",
        vec![
            Case::new(question("a"))
                .name("a")
                .expected_output(answer("1", 0.1)),
            Case::new(question("b")).name("b"),
        ],
    );
    local
        .evaluators
        .push(datasets::wire::EvaluatorSpec::new("EqualsExpected"));
    let pushed = qa.push(&local).await.unwrap();
    assert_eq!(pushed.case_count, 2);
    assert_eq!(pushed.input_schema, QaGoldenSet::definition().input_schema);
    local.cases[0].expected_output = Some(answer("2", 0.2));
    let pushed = qa.push(&local).await.unwrap();
    assert_eq!(pushed.case_count, 2, "upserted by name");
    // The export is the local dataset, at the version the pushes made.
    local.version = pushed.version;
    // Created with its evaluators (1), cases (2); the same evaluators again
    // are no version, the cases again are (3).
    assert_eq!(pushed.version, Some(3));
    assert_eq!(qa.export().await.unwrap(), local);
}

#[tokio::test]
async fn a_typed_update_can_require_the_version_it_read() {
    let server = EmbeddedServer::start().unwrap();
    let qa = client(&server).dataset::<QaGoldenSet>();
    qa.ensure().await.unwrap();
    let stored = qa.add_case(Case::new(question("q"))).await.unwrap();
    let first = qa
        .update_case(stored.id)
        .metadata(meta("a", "easy"))
        .if_version(stored.version)
        .await
        .unwrap();
    let err = qa
        .update_case(stored.id)
        .metadata(meta("b", "hard"))
        .if_version(stored.version)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::PreconditionFailed { current_version: Some(v), .. } if v == first.version),
        "{err:?}"
    );
    assert_eq!(
        qa.get_case(stored.id).await.unwrap().metadata,
        Some(meta("a", "easy"))
    );
}

#[tokio::test]
async fn a_typed_stream_decodes_each_case_and_names_one_that_does_not_fit() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let qa = client.dataset::<QaGoldenSet>();
    qa.ensure().await.unwrap();
    let cases = (0..30)
        .map(|n| Case::new(question(&format!("q{n}"))).expected_output(answer("a", 0.5)))
        .collect();
    qa.add_cases(cases).await.unwrap();
    let mut stream = qa.list_cases().page_size(7).stream();
    let mut questions = Vec::new();
    while let Some(case) = stream.next().await {
        questions.push(case.unwrap().inputs.question);
    }
    assert_eq!(questions.len(), 30);
    assert_eq!(questions[29], "q29");

    // Loosen the schema behind the Rust types' back, store a case they can't read.
    client
        .update_dataset("qa-golden-set")
        .clear_output_schema()
        .await
        .unwrap();
    let odd = client
        .add_case(
            "qa-golden-set",
            datasets::wire::NewCase {
                expected_output: Some(json!({"answer": 1})),
                ..datasets::wire::NewCase::new(json!({"question": "odd", "context": null}))
            },
        )
        .await
        .unwrap();
    let results: Vec<_> = {
        let mut stream = qa.list_cases().page_size(7).stream();
        let mut all = Vec::new();
        while let Some(case) = stream.next().await {
            all.push(case);
        }
        all
    };
    let err = results.last().unwrap().as_ref().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&odd.id.to_string()) && text.contains("expected_output.answer"),
        "{text}"
    );
}

#[tokio::test]
async fn a_typed_export_decodes_as_it_reads_and_names_a_case_that_does_not_fit() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let qa = client.dataset::<QaGoldenSet>();
    qa.ensure().await.unwrap();
    let cases = (0..500)
        .map(|n| {
            Case::new(question(&format!("q{n}")))
                .name(format!("c{n}"))
                .expected_output(answer("a", 0.5))
        })
        .collect();
    qa.add_cases(cases).await.unwrap();
    let local = qa.export().await.unwrap();
    assert_eq!(local.cases.len(), 500);
    assert_eq!(local.cases[499].inputs.question, "q499");
    assert_eq!(local.cases[0].expected_output, Some(answer("a", 0.5)));

    client
        .update_dataset("qa-golden-set")
        .clear_output_schema()
        .await
        .unwrap();
    client
        .add_case(
            "qa-golden-set",
            datasets::wire::NewCase {
                name: Some("odd".into()),
                expected_output: Some(json!({"answer": "a", "confidence": "sure"})),
                ..datasets::wire::NewCase::new(json!({"question": "odd", "context": null}))
            },
        )
        .await
        .unwrap();
    let text = qa.export().await.unwrap_err().to_string();
    assert!(text.contains("exported case 500 (\"odd\")"), "{text}");
    assert!(
        text.contains("cases[500].expected_output.confidence"),
        "{text}"
    );
}
