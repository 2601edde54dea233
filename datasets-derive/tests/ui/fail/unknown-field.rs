use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct UnknownField {
    inputs: String,
    description: String,
}

fn main() {}
