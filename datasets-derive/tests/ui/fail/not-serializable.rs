use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct NoSerialize {
    question: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Qa {
    inputs: NoSerialize,
}

fn main() {}
