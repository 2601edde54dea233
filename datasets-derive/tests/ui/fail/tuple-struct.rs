use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
struct TupleStruct(String);

fn main() {}
