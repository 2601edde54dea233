//! Quickstart: start the embedded server, create a dataset with schemas, add
//! cases, see an invalid case refused, list by tag, update a case, and export
//! in pydantic-evals' format. Run with `cargo run --example quickstart`.
//!
//! Against Logfire's hosted API, only the client construction changes:
//! `DatasetsClient::new("pylf_v1_us_...")` infers the base URL from the key.

use datasets::wire::{EvaluatorSpec, NewCase};
use datasets::{DatasetsClient, Error};
use datasets_server::EmbeddedServer;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = EmbeddedServer::start()?;
    println!("datasets-server running at {}\n", server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()?;

    let dataset = client
        .create_dataset("qa-golden-set")
        .description("Golden test cases for the Q&A system")
        .input_schema(json!({
            "title": "QuestionInput", "type": "object",
            "properties": {"question": {"type": "string"}, "context": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}},
            "required": ["question"]
        }))
        .output_schema(json!({
            "title": "AnswerOutput", "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["answer", "confidence"]
        }))
        .guidance("Each case should represent a realistic user question with a verified answer.")
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .await?;
    println!("created dataset {} ({})", dataset.name, dataset.id);

    let capital = client
        .add_case(
            "qa-golden-set",
            NewCase {
                name: Some("capital-question".into()),
                expected_output: Some(json!({"answer": "Paris", "confidence": 0.99})),
                ..NewCase::new(json!({"question": "What is the capital of France?"}))
            },
        )
        .tags(["geography", "easy"])
        .await?;
    let batch = client
        .add_cases(
            "qa-golden-set",
            vec![
                NewCase {
                    name: Some("math-question".into()),
                    expected_output: Some(json!({"answer": "345", "confidence": 1.0})),
                    ..NewCase::new(json!({"question": "What is 15 * 23?"}))
                },
                NewCase {
                    name: Some("science-question".into()),
                    expected_output: Some(json!({"answer": "Au", "confidence": 0.98})),
                    ..NewCase::new(json!({"question": "What is the chemical symbol for gold?"}))
                },
            ],
        )
        .tags(["batch-import"])
        .await?;
    println!("added {} cases", 1 + batch.len());

    match client
        .create_case("qa-golden-set", json!({"question": 42}))
        .await
    {
        Err(err @ Error::Api { status: 422, .. }) => {
            println!("an invalid case is refused, nothing stored:");
            for issue in err.issues() {
                println!("  {issue}");
            }
        }
        other => return Err(format!("expected a 422, got {other:?}").into()),
    }

    for case in client
        .list_cases("qa-golden-set")
        .tags(["geography"])
        .await?
    {
        println!(
            "tagged geography: {:?} -> {}",
            case.name.unwrap_or_default(),
            case.inputs
        );
    }

    let reviewed = client
        .update_case("qa-golden-set", capital.id)
        .metadata(json!({"category": "geography", "difficulty": "easy", "reviewed": true}))
        .tags(["verified", "geography"])
        .await?;
    println!(
        "updated {:?} to version {}",
        reviewed.name.unwrap_or_default(),
        reviewed.version
    );

    let info = client.get_dataset("qa-golden-set").await?;
    println!("{} holds {} cases\n", info.name, info.case_count);

    let export = client.export_dataset("qa-golden-set").await?;
    println!(
        "exported in pydantic-evals format (Dataset.from_dict loads it):\n{}",
        serde_json::to_string_pretty(&export)?
    );
    Ok(())
}
