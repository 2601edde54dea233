use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "bad name", guidance = 1, colour = "blue", guidance = "twice")]
struct EveryError {
    input: String,
}

fn main() {}
