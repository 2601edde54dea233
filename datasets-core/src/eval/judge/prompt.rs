//! The judge's prompt and structured-output request, as pydantic-evals'
//! `LLMJudge` (2.62, `evaluators/llm_as_a_judge.py`) sends them through
//! pydantic-ai's OpenAI chat model: one of four system prompts (by which
//! of input and expected output it is shown), a user prompt of tagged
//! sections, and a `final_result` tool the model is required to call.

use serde_json::{Map, Value, json};

/// The instruction every system prompt ends with.
const REASON_INSTRUCTION: &str = "\nThe \"reason\" field must be a concise 1-2 sentence justification. Do not include your reasoning process, self-corrections, or re-checking in the reason. State only the final justification.";

const OUTPUT_ONLY: &str = r#"
You are grading output according to a user-specified rubric. If the statement in the rubric is true, then the output passes the test. You respond with a JSON object with this structure: {reason: string, pass: boolean, score: number}

Examples:

<Output>Hello world</Output>
<Rubric>Content contains a greeting</Rubric>
{"reason": "the content contains the word 'Hello'", "pass": true, "score": 1.0}

<Output>Avast ye swabs, repel the invaders!</Output>
<Rubric>Does not speak like a pirate</Rubric>
{"reason": "'avast ye' is a common pirate term", "pass": false, "score": 0.0}
"#;

const INPUT_OUTPUT: &str = r#"
You are grading output according to a user-specified rubric. If the statement in the rubric is true for the provided input and output, then the output passes the test. You respond with a JSON object with this structure: {reason: string, pass: boolean, score: number}

Examples:

<Input>Hello world</Input>
<Output>Hello</Output>
<Rubric>Content contains a greeting word which is present in the input</Rubric>
{"reason": "the content contains the word 'Hello'", "pass": true, "score": 1.0}

<Input>Pirate</Input>
<Output>Avast ye swabs, repel the invaders!</Output>
<Rubric>Does not speak in the style described by the input</Rubric>
{"reason": "'avast ye' is a common pirate term", "pass": false, "score": 0.0}
"#;

const INPUT_OUTPUT_EXPECTED: &str = r#"
You are grading output according to a user-specified rubric. If the statement in the rubric is true for the provided input, expected output, and output, then the output passes the test. You respond with a JSON object with this structure: {reason: string, pass: boolean, score: number}

Examples:

<Input>What color is the sky?</Input>
<Output>Cerulean</Output>
<ExpectedOutput>Blue</ExpectedOutput>
<Rubric>The output is consistent with the expected output but doesn't have to match exactly</Rubric>
{"reason": "'Cerulean' is a shade of blue", "pass": true, "score": 1.0}

<Input>How many legs does a spider have?</Input>
<Output>Six</Output>
<ExpectedOutput>8</ExpectedOutput>
<Rubric>The output is factually consistent with the expected output</Rubric>
{"reason": "Spiders have 8 legs", "pass": false, "score": 0.0}
"#;

const OUTPUT_EXPECTED: &str = r#"
You are grading output according to a user-specified rubric. If the statement in the rubric is true for the provided expected output and output, then the output passes the test. You respond with a JSON object with this structure: {reason: string, pass: boolean, score: number}

Examples:

<Output>Cerulean</Output>
<ExpectedOutput>Blue</ExpectedOutput>
<Rubric>The output should be a shade of the expected output color</Rubric>
{"reason": "'Cerulean' is a shade of blue", "pass": true, "score": 1.0}

<Output>Six</Output>
<ExpectedOutput>8</ExpectedOutput>
<Rubric>The output should be a number written in words which matches the number written in digits in the expected output</Rubric>
{"reason": "The output is 'Six' which is a different number than 8", "pass": false, "score": 0.0}
"#;

/// The system prompt of a judge shown the input and/or the expected output.
pub(super) fn system_prompt(include_input: bool, include_expected_output: bool) -> String {
    let base = match (include_input, include_expected_output) {
        (false, false) => OUTPUT_ONLY,
        (true, false) => INPUT_OUTPUT,
        (true, true) => INPUT_OUTPUT_EXPECTED,
        (false, true) => OUTPUT_EXPECTED,
    };
    format!("{base}{REASON_INSTRUCTION}")
}

/// A value as the prompt shows it: text as it is, anything else as
/// compact JSON (pydantic's `to_json`).
fn stringify(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `<Tag>`, the value (a list's items one per line), `</Tag>`.
fn section(value: &Value, tag: &str, lines: &mut Vec<String>) {
    lines.push(format!("<{tag}>"));
    match value {
        Value::Array(items) => lines.extend(items.iter().map(stringify)),
        other => lines.push(stringify(other)),
    }
    lines.push(format!("</{tag}>"));
}

/// The user prompt: Input (when given and not null), Output,
/// ExpectedOutput (when not null), Rubric, one line each, joined by `\n`.
pub(super) fn user_prompt(
    output: &Value,
    rubric: &str,
    inputs: Option<&Value>,
    expected_output: Option<&Value>,
) -> String {
    let mut lines = Vec::new();
    if let Some(inputs) = inputs.filter(|v| !v.is_null()) {
        section(inputs, "Input", &mut lines);
    }
    section(output, "Output", &mut lines);
    if let Some(expected) = expected_output.filter(|v| !v.is_null()) {
        section(expected, "ExpectedOutput", &mut lines);
    }
    section(&Value::String(rubric.to_owned()), "Rubric", &mut lines);
    lines.join("\n")
}

/// The chat-completions request body: the two messages, the
/// `final_result` tool (strict, its parameters the grading output's
/// schema) required, and the model settings as the OpenAI chat model maps
/// them (`max_tokens` is sent as `max_completion_tokens`).
pub(super) fn request_body(
    model: &str,
    system: &str,
    user: &str,
    settings: &Map<String, Value>,
) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "messages".into(),
        json!([
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]),
    );
    body.insert("stream".into(), json!(false));
    for (key, value) in settings {
        match key.as_str() {
            "max_tokens" => {
                body.insert("max_completion_tokens".into(), value.clone());
            }
            "stop_sequences" => {
                body.insert("stop".into(), value.clone());
            }
            "temperature"
            | "top_p"
            | "seed"
            | "presence_penalty"
            | "frequency_penalty"
            | "logit_bias"
            | "parallel_tool_calls"
            | "logprobs"
            | "top_logprobs"
            | "user"
            | "service_tier"
            | "reasoning_effort" => {
                body.insert(key.clone(), value.clone());
            }
            "extra_body" => {
                if let Some(extra) = value.as_object() {
                    for (k, v) in extra {
                        body.insert(k.clone(), v.clone());
                    }
                }
            }
            // Not part of the body (timeout, extra_headers) or not known.
            _ => {}
        }
    }
    body.insert("tool_choice".into(), json!("required"));
    body.insert(
        "tools".into(),
        json!([{
            "type": "function",
            "function": {
                "name": "final_result",
                "description": "The output of a grading operation.",
                "parameters": {
                    "properties": {
                        "reason": {
                            "description": "A concise 1-2 sentence justification for the verdict.",
                            "type": "string"
                        },
                        "pass": {"type": "boolean"},
                        "score": {"type": "number"}
                    },
                    "required": ["reason", "pass", "score"],
                    "type": "object",
                    "additionalProperties": false
                },
                "strict": true
            }
        }]),
    );
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_prompt_is_pydantic_evals_sections() {
        let prompt = user_prompt(
            &json!({"answer": "4"}),
            "The answer is correct",
            Some(&json!({"q": "What is 2+2?"})),
            Some(&json!("4")),
        );
        assert_eq!(
            prompt,
            "<Input>\n{\"q\":\"What is 2+2?\"}\n</Input>\n<Output>\n{\"answer\":\"4\"}\n</Output>\n<ExpectedOutput>\n4\n</ExpectedOutput>\n<Rubric>\nThe answer is correct\n</Rubric>"
        );
        let list = user_prompt(&json!(["a", 1]), "r", None, Some(&Value::Null));
        assert_eq!(list, "<Output>\na\n1\n</Output>\n<Rubric>\nr\n</Rubric>");
        assert!(system_prompt(false, true).starts_with("\nYou are grading output according to a user-specified rubric. If the statement in the rubric is true for the provided expected output and output,"));
        assert!(system_prompt(false, false).ends_with("State only the final justification."));
    }
}
