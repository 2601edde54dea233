use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = 42)]
struct WrongValueType {
    inputs: String,
}

fn main() {}
