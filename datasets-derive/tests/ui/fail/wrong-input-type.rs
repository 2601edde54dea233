use datasets::{Case, DatasetSchema, DatasetsClient};
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

async fn add(client: DatasetsClient) -> datasets::Result<()> {
    // An output where the input belongs.
    client.dataset::<Qa>().add_case(Case::new(AnswerOutput { answer: "a".into() })).await?;
    Ok(())
}

fn main() {}
