//! The seed guide's dataset, declared once for the examples.

#![allow(dead_code)]

use datasets::DatasetSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A user's question.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub(crate) struct QuestionInput {
    pub(crate) question: String,
    pub(crate) context: Option<String>,
}

/// A verified answer.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub(crate) struct AnswerOutput {
    pub(crate) answer: String,
    /// How sure the answer is; the schema allows only 0 to 1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub(crate) confidence: f64,
}

/// What kind of case this is.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub(crate) struct CaseMetadata {
    pub(crate) category: String,
    pub(crate) difficulty: String,
    #[serde(default)]
    pub(crate) reviewed: bool,
}

/// Golden test cases for the Q&A system.
#[derive(DatasetSchema)]
#[dataset(
    name = "qa-golden-set",
    description = "Golden test cases for the Q&A system",
    guidance = "Each case should represent a realistic user question with a verified answer."
)]
pub(crate) struct QaGoldenSet {
    inputs: QuestionInput,
    expected_output: AnswerOutput,
    metadata: CaseMetadata,
}

pub(crate) fn question(text: &str) -> QuestionInput {
    QuestionInput {
        question: text.into(),
        context: None,
    }
}

pub(crate) fn answer(text: &str, confidence: f64) -> AnswerOutput {
    AnswerOutput {
        answer: text.into(),
        confidence,
    }
}

pub(crate) fn metadata(category: &str, difficulty: &str) -> CaseMetadata {
    CaseMetadata {
        category: category.into(),
        difficulty: difficulty.into(),
        reviewed: false,
    }
}
