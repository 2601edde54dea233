//! Quickstart: the Logfire SDK guide's flow, typed, on the embedded server.
//! Run with `cargo run --example quickstart`; no set-up needed.
//!
//! It declares the seed's dataset with `#[derive(DatasetSchema)]`
//! (examples/common), then creates it, adds cases, lists by tag, gets,
//! updates, deletes, exports, tags the exported version and diffs it with
//! the one after the adds, evaluates and syncs the registry, printing
//! each step.
//! Against Logfire's hosted API only the client construction changes
//! (see the `remote` example).

mod common;

use common::{AnswerOutput, QaGoldenSet, QuestionInput, answer, metadata, question};
use datasets::EmbeddedServer;
use datasets::eval::EqualsExpected;
use datasets::{Case, DatasetsClient};

/// The system under test: a lookup standing in for a model.
async fn answer_question(input: QuestionInput) -> AnswerOutput {
    match input.question.as_str() {
        "What is the capital of France?" => answer("Paris", 0.99),
        "What is 15 * 23?" => answer("345", 1.0),
        _ => answer("I don't know", 0.1),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = EmbeddedServer::start()?;
    println!("embedded datasets-server at {}", server.base_url());
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()?;

    // Creating a dataset with typed schemas.
    let qa = client.dataset::<QaGoldenSet>();
    let ensured = qa.ensure().await?;
    println!(
        "\n{:?} dataset {} ({})",
        ensured.action, ensured.dataset.name, ensured.dataset.id
    );
    println!(
        "input schema, generated from QuestionInput:\n{}",
        serde_json::to_string_pretty(&ensured.dataset.input_schema)?
    );

    // Adding cases: one, then a batch.
    let capital = qa
        .add_case(
            Case::new(question("What is the capital of France?"))
                .name("capital-question")
                .expected_output(answer("Paris", 0.99))
                .metadata(metadata("geography", "easy")),
        )
        .tags(["geography", "easy"])
        .await?;
    let batch = qa
        .add_cases(vec![
            Case::new(question("What is 15 * 23?"))
                .name("math-question")
                .expected_output(answer("345", 1.0))
                .metadata(metadata("math", "easy")),
            Case::new(question("What is the chemical symbol for gold?"))
                .name("science-question")
                .expected_output(answer("Au", 0.98))
                .metadata(metadata("science", "medium")),
        ])
        .tags(["batch-import"])
        .await?;
    // A case linked to the production trace it came from.
    let sky = qa
        .add_case(
            Case::new(question("What color is the sky?"))
                .name("sky-color")
                .expected_output(answer("Blue", 0.95))
                .metadata(metadata("science", "easy")),
        )
        .tags(["science", "easy"])
        .source_trace_id("0af7651916cd43dd8448eb211c80319c")
        .source_span_id("b7ad6b7169203331")
        .await?;
    println!("\nadded {} cases", 2 + batch.len());
    // Every write to the cases makes the dataset's next version.
    let added_at = qa.info().await?.version.unwrap_or(1);

    // The Rust types allow a confidence of 1.5; the schema does not.
    let refused = qa
        .add_case(Case::new(question("Too sure?")).expected_output(answer("Yes", 1.5)))
        .await
        .expect_err("the server validates against the schema");
    println!("refused, nothing stored: {}", refused.issues()[0]);

    // Listing cases, all and by tag.
    for case in qa.list_cases().await? {
        println!(
            "  {:<18} {:<40} tags {:?}",
            case.name.unwrap_or_default(),
            case.inputs.question,
            case.tags
        );
    }
    let geography = qa.list_cases().tags(["geography"]).await?;
    println!("tagged geography: {}", geography.len());

    // Getting and updating a case.
    let got = qa.get_case(capital.id).await?;
    println!(
        "\ngot {:?}: expected {:?}",
        got.name.unwrap_or_default(),
        got.expected_output.map(|o| o.answer)
    );
    let updated = qa
        .update_case(capital.id)
        .metadata(common::CaseMetadata {
            reviewed: true,
            ..metadata("geography", "easy")
        })
        .tags(["verified", "geography"])
        .await?;
    println!(
        "updated to version {} with tags {:?}",
        updated.version, updated.tags
    );

    // Deleting a case.
    qa.delete_case(sky.id).await?;
    println!(
        "deleted sky-color; {} cases left",
        qa.info().await?.case_count
    );

    // Exporting to a local typed dataset (pydantic-evals' shape).
    let local = qa.export().await?;
    println!(
        "\nexported {} typed cases; the first asks {:?}",
        local.cases.len(),
        local.cases[0].inputs.question
    );

    // The export says which version it holds; what changed since the adds:
    let exported_at = local.version.unwrap_or(added_at);
    qa.tag_version(exported_at, "quickstart-run").await?;
    for change in qa.diff(added_at, exported_at).await? {
        println!(
            "since version {added_at}: {:?} {} {:?}",
            change.change,
            change.name.unwrap_or_default(),
            change.fields
        );
    }

    // Evaluating a system over the exported cases (more in the `evaluate` example).
    let report = local
        .evaluate(answer_question)
        .evaluator(EqualsExpected::default())
        .await;
    println!();
    report.print();

    // Every declared dataset in this binary, brought up to date at once.
    let report = datasets::registry().sync(&client).await?;
    println!(
        "registry sync: created {:?}, updated {:?}, unchanged {:?}",
        report.created, report.updated, report.unchanged
    );

    // Deleting the dataset.
    qa.delete().await?;
    println!(
        "deleted the dataset; {} left",
        client.list_datasets().await?.len()
    );
    Ok(())
}
