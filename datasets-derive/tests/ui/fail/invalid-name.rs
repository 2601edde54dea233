use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa golden/set")]
struct InvalidName {
    inputs: String,
}

fn main() {}
