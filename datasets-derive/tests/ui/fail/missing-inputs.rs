use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct MissingInputs {
    expected_output: String,
}

fn main() {}
