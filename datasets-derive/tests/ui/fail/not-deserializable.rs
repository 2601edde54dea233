use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct NoDeserialize {
    answer: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Qa {
    inputs: String,
    expected_output: NoDeserialize,
}

fn main() {}
