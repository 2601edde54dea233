use datasets::{DatasetSchema, DatasetsClient};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
struct QuestionInput {
    question: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct AnswerOutput {
    answer: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct CaseMetadata {
    category: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Qa {
    inputs: QuestionInput,
    expected_output: AnswerOutput,
    metadata: CaseMetadata,
}

async fn update(client: DatasetsClient, id: uuid::Uuid) -> datasets::Result<()> {
    client.dataset::<Qa>().update_case(id).metadata(AnswerOutput { answer: "a".into() }).await?;
    Ok(())
}

fn main() {}
