use datasets::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "minimal")]
struct Minimal {
    inputs: String,
}

fn main() {
    assert_eq!(Minimal::NAME, "minimal");
    let definition = Minimal::definition();
    assert!(definition.output_schema.is_none() && definition.metadata_schema.is_none());
}
