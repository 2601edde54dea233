use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "")]
struct EmptyName {
    inputs: String,
}

fn main() {}
