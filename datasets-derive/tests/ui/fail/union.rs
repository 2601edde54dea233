use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
union NotAStruct {
    inputs: u32,
}

fn main() {}
