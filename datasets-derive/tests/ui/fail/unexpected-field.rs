use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct UnexpectedField {
    inputs: String,
    output: String,
}

fn main() {}
