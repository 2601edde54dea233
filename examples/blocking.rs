//! The typed flow with the blocking client, from a plain `fn main`.
//! Run with `cargo run --example blocking`.

mod common;

use common::{QaGoldenSet, answer, metadata, question};
use datasets::Case;
use datasets::EmbeddedServer;
use datasets::blocking::DatasetsClient;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = EmbeddedServer::start()?;
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()?;
    let qa = client.dataset::<QaGoldenSet>();
    qa.ensure().send()?;
    let stored = qa
        .add_case(
            Case::new(question("What is the capital of France?"))
                .name("capital-question")
                .expected_output(answer("Paris", 0.99))
                .metadata(metadata("geography", "easy")),
        )
        .tags(["geography"])
        .send()?;
    println!(
        "added {:?} (version {})",
        stored.name.unwrap_or_default(),
        stored.version
    );
    for case in qa.list_cases().tags(["geography"]).send()? {
        println!(
            "  {} -> {:?}",
            case.inputs.question,
            case.expected_output.map(|o| o.answer)
        );
    }
    let export = client.export_dataset("qa-golden-set").send()?;
    println!(
        "exported {} case(s) in pydantic-evals format",
        export.cases.len()
    );
    Ok(())
}
