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

// No `expected_output` field: the output is any JSON value.
#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Qa {
    inputs: QuestionInput,
}

async fn add(client: DatasetsClient) -> datasets::Result<()> {
    let case: Case<QuestionInput, AnswerOutput, _> =
        Case::new(QuestionInput { question: "q".into() }).expected_output(AnswerOutput { answer: "a".into() });
    client.dataset::<Qa>().add_case(case).await?;
    Ok(())
}

fn main() {}
