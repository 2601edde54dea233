use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa", name = "again")]
struct DuplicateKey {
    inputs: String,
}

fn main() {}
