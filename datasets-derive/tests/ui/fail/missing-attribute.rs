use datasets::DatasetSchema;

#[derive(DatasetSchema)]
struct NoAttribute {
    inputs: String,
}

fn main() {}
