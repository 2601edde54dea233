use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(description = "no name")]
struct NoName {
    inputs: String,
}

fn main() {}
