use std::collections::BTreeMap;

use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Turn {
    role: Role,
    text: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Assistant,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind")]
enum Verdict {
    Answer { text: String },
    Refusal { reason: Option<String> },
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Conversation {
    turns: Vec<Turn>,
    labels: BTreeMap<String, f64>,
}

#[derive(DatasetSchema)]
#[dataset(name = "conversations")]
struct Conversations {
    inputs: Conversation,
    expected_output: Verdict,
    metadata: Option<Vec<Role>>,
}

fn main() {
    let schema = Conversations::definition().input_schema.unwrap();
    assert!(schema["$defs"]["Turn"].is_object());
    assert!(schema["$defs"]["Role"].is_object());
}
