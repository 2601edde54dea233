use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa", descripton = "typo")]
struct UnknownKey {
    inputs: String,
}

fn main() {}
