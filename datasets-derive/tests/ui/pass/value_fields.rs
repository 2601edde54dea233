use datasets::DatasetSchema;

/// `serde_json::Value` accepts any JSON: no schema is sent for it.
#[derive(DatasetSchema)]
#[dataset(name = "anything")]
struct Anything {
    inputs: serde_json::Value,
    expected_output: serde_json::Value,
    metadata: serde_json::Value,
}

fn main() {
    let definition = Anything::definition();
    assert!(definition.input_schema.is_none());
    assert!(definition.output_schema.is_none());
    assert!(definition.metadata_schema.is_none());
}
