use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct Generic<T> {
    inputs: T,
}

fn main() {}
