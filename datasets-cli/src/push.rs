//! `datasets push FILE`: publishes a pydantic-evals dataset file as the
//! Python SDK's `push_dataset` does: creates the dataset or updates it
//! (its evaluators replaced), then upserts the cases by name.

use datasets_core::blocking::DatasetsClient;
use datasets_core::eval::{Dataset, Format};
use datasets_core::wire::NewDataset;
use serde_json::Value;

use crate::cli::PushArgs;
use crate::fail::{Failure, Outcome, describe};

pub(crate) fn run(client: &DatasetsClient, args: &PushArgs) -> Outcome {
    let format = Format::from_path(&args.file).map_err(|err| Failure::usage(describe(&err)))?;
    if format == Format::Json {
        // Numbers are never rounded: one a 64-bit value cannot hold is
        // refused at its path, as the server would refuse it.
        let text = std::fs::read(&args.file).map_err(|err| {
            Failure::failed(format!("cannot read {}: {err}", args.file.display()))
        })?;
        if let Err(problem) = datasets_core::json_guard::check_numbers(&text) {
            let path: Vec<String> = problem.path.iter().map(ToString::to_string).collect();
            return Err(Failure::failed(format!(
                "{}: {}: {}",
                args.file.display(),
                path.join("."),
                problem.message
            )));
        }
    }
    let file = Dataset::<Value, Value, Value>::from_file(&args.file)?;
    let Some(name) = args.name.clone().or_else(|| file.name.clone()) else {
        return Err(Failure::usage("the file names no dataset: pass --name"));
    };
    let unnamed = file.cases.iter().filter(|case| case.name.is_none()).count();
    let [input_schema, output_schema, metadata_schema] = args.schemas.read()?;
    let dataset = NewDataset {
        name: name.clone(),
        description: args.description.clone(),
        input_schema,
        output_schema,
        metadata_schema,
        evaluators: Some(file.evaluators.clone()),
        report_evaluators: Some(file.report_evaluators.clone()),
        ..NewDataset::default()
    };
    let cases = file.to_new_cases()?;
    let pushed = client
        .push_dataset(dataset, cases)
        .send()
        .map_err(|err| Failure::from(err).context(format!("cannot push {name:?}")))?;
    println!(
        "pushed {} case(s) to {}, which now has {} case(s)",
        file.cases.len(),
        pushed.name,
        pushed.case_count
    );
    if unnamed > 0 {
        eprintln!(
            "note: {unnamed} case(s) have no name, so each push adds them again; name them to \
             update them in place"
        );
    }
    Ok(())
}
