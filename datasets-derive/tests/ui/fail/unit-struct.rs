use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct UnitStruct;

fn main() {}
