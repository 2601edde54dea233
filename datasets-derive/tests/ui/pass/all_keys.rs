use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(DatasetSchema)]
#[dataset(
    name = "qa.v2_final-set",
    description = "Golden test cases",
    guidance = "Realistic questions only.",
    ai_managed_guidance = true,
    crate = "datasets",
)]
struct AllKeys {
    inputs: Question,
    expected_output: String,
    metadata: u32,
}

/// Attributes may also be split over several `#[dataset]` lines.
#[derive(DatasetSchema)]
#[dataset(name = "split")]
#[dataset(ai_managed_guidance)]
struct Split {
    inputs: Question,
}

fn main() {
    let definition = AllKeys::definition();
    assert_eq!(definition.name, "qa.v2_final-set");
    assert_eq!(definition.description.as_deref(), Some("Golden test cases"));
    assert_eq!(definition.guidance.as_deref(), Some("Realistic questions only."));
    assert_eq!(definition.ai_managed_guidance, Some(true));
    assert!(definition.metadata_schema.is_some());
    assert_eq!(Split::definition().ai_managed_guidance, Some(true));
}
