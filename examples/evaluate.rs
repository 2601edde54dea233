//! Evaluate: export a managed dataset, run a system over its cases, score
//! it with built-in and custom evaluators, and compare two versions.
//! Run with `cargo run --example evaluate`; no set-up needed.
//!
//! It fills the seed's `qa-golden-set` on the embedded server, exports it
//! as a typed local dataset, writes it as a pydantic-evals YAML file (which
//! Python's `Dataset.from_file` loads), evaluates two versions of a small
//! deterministic "model", records both runs on the server as experiments,
//! and prints both reports and the server's comparison of the second with
//! the first.

mod common;

use std::borrow::Cow;
use std::time::Duration;

use common::{AnswerOutput, CaseMetadata, QaGoldenSet, QuestionInput, answer, metadata, question};
use datasets::EmbeddedServer;
use datasets::eval::{
    EvaluationReport, Evaluator, EvaluatorContext, EvaluatorFuture, EvaluatorOutput, MaxDuration,
    RenderOptions, set_metric,
};
use datasets::wire::EvaluatorSpec;
use datasets::{Case, DatasetsClient};
use serde_json::json;

/// The first version of the system under test: it knows two answers.
async fn answer_v1(input: QuestionInput) -> AnswerOutput {
    set_metric("prompt_chars", input.question.len() as f64);
    match input.question.as_str() {
        "What is the capital of France?" => answer("Paris", 0.99),
        "What is 15 * 23?" => answer("335", 0.6),
        _ => answer("I don't know", 0.1),
    }
}

/// The second version: it fixed its arithmetic and learned chemistry.
async fn answer_v2(input: QuestionInput) -> AnswerOutput {
    set_metric("prompt_chars", input.question.len() as f64);
    match input.question.as_str() {
        "What is the capital of France?" => answer("Paris", 0.99),
        "What is 15 * 23?" => answer("345", 1.0),
        "What is the chemical symbol for gold?" => answer("Au", 0.98),
        _ => answer("I don't know", 0.1),
    }
}

/// A custom evaluator: is the model's confidence calibrated? A score (how
/// far the confidence is from being right) and a label per case.
struct Calibration;

impl Evaluator<QuestionInput, AnswerOutput, CaseMetadata> for Calibration {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("calibration")
    }

    fn evaluate<'a>(
        &'a self,
        ctx: &'a EvaluatorContext<QuestionInput, AnswerOutput, CaseMetadata>,
    ) -> EvaluatorFuture<'a> {
        Box::pin(async move {
            let Some(expected) = &ctx.expected_output else {
                return Ok(EvaluatorOutput::none());
            };
            let right = if ctx.output.answer == expected.answer {
                1.0
            } else {
                0.0
            };
            let error = (ctx.output.confidence - right).abs();
            let label = if error < 0.2 {
                "calibrated"
            } else {
                "overconfident"
            };
            Ok(EvaluatorOutput::score(1.0 - error).and("confidence", label.into()))
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = EmbeddedServer::start()?;
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()?;

    // A managed dataset, with an evaluator every case runs.
    let qa = client.dataset::<QaGoldenSet>();
    qa.ensure().await?;
    qa.add_cases(vec![
        Case::new(question("What is the capital of France?"))
            .name("capital-question")
            .expected_output(answer("Paris", 0.99))
            .metadata(metadata("geography", "easy")),
        Case::new(question("What is 15 * 23?"))
            .name("math-question")
            .expected_output(answer("345", 1.0))
            .metadata(metadata("math", "easy")),
        Case::new(question("What is the chemical symbol for gold?"))
            .name("science-question")
            .expected_output(answer("Au", 0.98))
            .metadata(metadata("science", "medium"))
            // A case-level evaluator, in pydantic-evals' spec form.
            .evaluator(EvaluatorSpec::with_arguments(
                "Contains",
                json!({"value": {"answer": "Au"}}),
            )),
    ])
    .await?;
    client
        .update_dataset("qa-golden-set")
        .evaluators([EvaluatorSpec::new("EqualsExpected")])
        .await?;

    // Export it as a typed local dataset, and share it as a pydantic-evals file.
    let local = qa.export().await?;
    let dir = tempfile_dir()?;
    let file = dir.join("qa_golden_set.yaml");
    local.to_file(&file)?;
    println!(
        "exported {} cases to {} (and its schema beside it)\n",
        local.cases.len(),
        file.display()
    );

    // Evaluate two versions: the dataset's EqualsExpected and the case's
    // Contains come from the specs; MaxDuration and Calibration are added
    // here. `record_to` stores the run on the server as an experiment.
    let (baseline, first) = local
        .evaluate(answer_v1)
        .name("answer-v1")
        .metadata(json!({"model": "answer-v1"}))
        .evaluator(MaxDuration::new(Duration::from_secs(1)))
        .evaluator(Calibration)
        .max_concurrency(4)
        .record_to(&qa)
        .await?;
    baseline.print();
    let current = local
        .evaluate(answer_v2)
        .name("answer-v2")
        .metadata(json!({"model": "answer-v2"}))
        .evaluator(MaxDuration::new(Duration::from_secs(1)))
        .evaluator(Calibration)
        .max_concurrency(4)
        .await;
    // Or record a report once it is in hand.
    let second = qa.record(&current).await?;
    println!();
    // With the outputs too (`with_values()` adds inputs and expected outputs).
    current.print_with(&RenderOptions {
        include_output: true,
        ..RenderOptions::default()
    });

    // Every run on the dataset is remembered; the server compares any two.
    println!();
    for experiment in qa.list_experiments().await? {
        println!(
            "experiment {} `{}` on {} v{}: assertions {:.0}%",
            experiment.id,
            experiment.name,
            experiment.dataset_name.as_deref().unwrap_or("?"),
            experiment.dataset_version.unwrap_or(0),
            experiment.assertion_pass_rate.unwrap_or(0.0) * 100.0
        );
    }
    println!();
    client
        .compare_experiments(first.id, second.id)
        .await?
        .print();
    // A stored run is a baseline in Rust too.
    let stored: EvaluationReport<QuestionInput, AnswerOutput, CaseMetadata> =
        EvaluationReport::from_experiment(&client.get_experiment(first.id).await?)?;
    assert_eq!(stored.cases.len(), baseline.cases.len());

    // Reports are JSON too, for a baseline kept between runs.
    let saved = dir.join("answer-v2.json");
    std::fs::write(&saved, current.to_json()?)?;
    println!("\nsaved the report to {}", saved.display());
    Ok(())
}

/// A fresh folder for the example's files.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("datasets-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
