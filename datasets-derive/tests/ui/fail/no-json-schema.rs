use datasets::DatasetSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct NoSchema {
    category: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Qa {
    inputs: String,
    metadata: NoSchema,
}

fn main() {}
