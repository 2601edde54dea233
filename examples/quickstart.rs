//! Quickstart: start the embedded server, declare a dataset with schemas, add
//! cases, see a schema violation rejected, list by tag, and export in
//! pydantic-evals' format. Run with `cargo run --example quickstart`.
//!
//! This version speaks the v1 API over plain HTTP; the `datasets` client
//! wraps exactly these requests.

use datasets::wire::{CaseDetail, DatasetDetail, ExportedDataset};
use datasets_server::EmbeddedServer;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = EmbeddedServer::start()?;
    println!("datasets-server running at {}", server.base_url());
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base_url());
    let key = server.api_key().to_owned();

    let dataset: DatasetDetail = http
        .post(url("/v1/datasets/"))
        .bearer_auth(&key)
        .json(&json!({
            "name": "qa-golden-set",
            "description": "Golden test cases for the Q&A system",
            "input_schema": {
                "title": "QuestionInput", "type": "object",
                "properties": {"question": {"type": "string"}, "context": {"type": ["string", "null"]}},
                "required": ["question"]
            },
            "output_schema": {
                "title": "AnswerOutput", "type": "object",
                "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
                "required": ["answer", "confidence"]
            },
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("created dataset {} ({})", dataset.name, dataset.id);

    let cases: Vec<CaseDetail> = http
        .post(url("/v1/datasets/qa-golden-set/cases/bulk/"))
        .bearer_auth(&key)
        .json(&json!({"cases": [
            {"name": "capital-question", "inputs": {"question": "What is the capital of France?"},
             "expected_output": {"answer": "Paris", "confidence": 0.99}, "tags": ["geography", "easy"]},
            {"name": "math-question", "inputs": {"question": "What is 15 * 23?"},
             "expected_output": {"answer": "345", "confidence": 1.0}, "tags": ["math"]},
        ]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("added {} cases", cases.len());

    let rejected = http
        .post(url("/v1/datasets/qa-golden-set/cases/"))
        .bearer_auth(&key)
        .json(&json!({"inputs": {"question": 42}}))
        .send()
        .await?;
    let detail: Value = rejected.json().await?;
    println!("an invalid case is refused: {}", detail["detail"][0]);

    let geography: Vec<CaseDetail> = http
        .get(url("/v1/datasets/qa-golden-set/cases/?tags=geography"))
        .bearer_auth(&key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for case in &geography {
        println!("tagged geography: {:?} -> {}", case.name, case.inputs);
    }

    let export: ExportedDataset = http
        .get(url("/v1/datasets/qa-golden-set/export/"))
        .bearer_auth(&key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!(
        "exported {} cases in pydantic-evals format:\n{}",
        export.cases.len(),
        serde_json::to_string_pretty(&export)?
    );
    Ok(())
}
