use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa", crate = "not_a_crate")]
struct BadCrate {
    inputs: String,
}

fn main() {}
