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

async fn typed(client: DatasetsClient) -> datasets::Result<()> {
    let qa = client.dataset::<Qa>();
    let stored = qa
        .add_case(
            Case::new(QuestionInput { question: "q".into() })
                .expected_output(AnswerOutput { answer: "a".into() })
                .metadata(CaseMetadata { category: "c".into() }),
        )
        .tags(["t"])
        .await?;
    let _: &QuestionInput = &stored.inputs;
    let _: Option<AnswerOutput> = stored.expected_output;
    Ok(())
}

fn main() {
    let _ = typed;
}
