use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
enum NotAStruct {
    Inputs(String),
}

fn main() {}
