use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa", ai_managed_guidance = "yes")]
struct WrongBoolType {
    inputs: String,
}

fn main() {}
