//! Reading the judge's verdict as pydantic-ai reads `GradingOutput`: the
//! `final_result` tool call's arguments (or, from a model that answered in
//! text, the JSON in it), validated with pydantic's lax rules (`"true"`
//! and `1` are booleans, `"0.5"` a number; `reason`, `pass` and `score`
//! required). An invalid verdict gives the messages pydantic-ai sends back
//! for one more try: the model's answer, then its validation errors.

use serde_json::{Map, Value, json};

/// The judge's verdict.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Grading {
    pub(super) reason: Option<String>,
    pub(super) pass: bool,
    pub(super) score: f64,
}

/// A verdict that did not validate.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Invalid {
    /// What was wrong, for the evaluator's failure.
    pub(super) summary: String,
    /// The messages to append for another try (none when there is no answer to correct).
    pub(super) followup: Vec<Value>,
}

/// The verdict in a chat completion.
pub(super) fn read(answer: &Value) -> Result<Grading, Invalid> {
    let message = &answer["choices"][0]["message"];
    let call = message["tool_calls"].as_array().and_then(|calls| {
        calls
            .iter()
            .find(|c| c["function"]["name"] == "final_result")
            .or(calls.first())
    });
    if let Some(call) = call {
        let raw = call["function"]["arguments"].as_str().unwrap_or("");
        let id = call["id"].clone();
        let name = call["function"]["name"].clone();
        let (errors, echoed) = match serde_json::from_str::<Value>(raw) {
            Ok(parsed) => match validate(&parsed) {
                Ok(grading) => return Ok(grading),
                Err(errors) => (errors, parsed.to_string()),
            },
            Err(err) => (
                vec![json_invalid(&err, raw)],
                json!({"INVALID_JSON": raw}).to_string(),
            ),
        };
        let followup = vec![
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": name, "arguments": echoed}}
            ]}),
            json!({"role": "tool", "tool_call_id": id, "content": json!({"error": errors}).to_string()}),
        ];
        return Err(Invalid {
            summary: summary(&errors),
            followup,
        });
    }
    let Some(text) = message["content"].as_str() else {
        return Err(Invalid {
            summary: format!(
                "the judge's answer holds no verdict: {}",
                excerpt(&answer.to_string())
            ),
            followup: Vec::new(),
        });
    };
    let errors = match serde_json::from_str::<Value>(json_in(text)) {
        Ok(parsed) => match validate(&parsed) {
            Ok(grading) => return Ok(grading),
            Err(errors) => errors,
        },
        Err(err) => vec![json_invalid(&err, text)],
    };
    let feedback = format!(
        "Your previous response failed the application's validation (this is automated \
         feedback, not a message from the user):\n<validation_errors>\n{}\n</validation_errors>",
        Value::Array(errors.clone())
    );
    Err(Invalid {
        summary: summary(&errors),
        followup: vec![
            json!({"role": "assistant", "content": text}),
            json!({"role": "user", "content": feedback}),
        ],
    })
}

/// The JSON object in a text answer: inside a code fence, or from its first
/// `{` to its last `}`; else the text as it is.
fn json_in(text: &str) -> &str {
    let trimmed = text.trim();
    let fenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    match (fenced.find('{'), fenced.rfind('}')) {
        (Some(start), Some(end)) if start < end => &fenced[start..=end],
        _ => fenced,
    }
}

fn json_invalid(err: &serde_json::Error, input: &str) -> Value {
    json!({"type": "json_invalid", "loc": [], "msg": format!("Invalid JSON: {err}"), "input": input})
}

fn error(kind: &str, field: &str, msg: &str, input: &Value) -> Value {
    json!({"type": kind, "loc": [field], "msg": msg, "input": input})
}

/// `GradingOutput` validated with pydantic's lax rules, or its errors.
fn validate(value: &Value) -> Result<Grading, Vec<Value>> {
    let Some(object) = value.as_object() else {
        return Err(vec![json!({"type": "model_type", "loc": [],
            "msg": "Input should be a valid dictionary or instance of GradingOutput", "input": value})]);
    };
    let mut errors = Vec::new();
    let missing = |field: &str, object: &Map<String, Value>| json!({"type": "missing", "loc": [field], "msg": "Field required", "input": object});
    let reason = match object.get("reason") {
        None => {
            errors.push(missing("reason", object));
            None
        }
        Some(Value::String(reason)) => Some(reason.clone()),
        Some(other) => {
            errors.push(error(
                "string_type",
                "reason",
                "Input should be a valid string",
                other,
            ));
            None
        }
    };
    let pass = match object.get("pass").or_else(|| object.get("pass_")) {
        None => {
            errors.push(missing("pass", object));
            None
        }
        Some(value) => {
            let parsed = lax_bool(value);
            if parsed.is_none() {
                errors.push(match value {
                    Value::String(_) => error(
                        "bool_parsing",
                        "pass",
                        "Input should be a valid boolean, unable to interpret input",
                        value,
                    ),
                    _ => error(
                        "bool_type",
                        "pass",
                        "Input should be a valid boolean",
                        value,
                    ),
                });
            }
            parsed
        }
    };
    let score = match object.get("score") {
        None => {
            errors.push(missing("score", object));
            None
        }
        Some(value) => {
            let parsed = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                Value::Bool(b) => Some(f64::from(u8::from(*b))),
                _ => None,
            }
            .filter(|x| x.is_finite());
            if parsed.is_none() {
                errors.push(match value {
                    Value::String(_) => error(
                        "float_parsing",
                        "score",
                        "Input should be a valid number, unable to parse string as a number",
                        value,
                    ),
                    _ => error(
                        "float_type",
                        "score",
                        "Input should be a valid number",
                        value,
                    ),
                });
            }
            parsed
        }
    };
    match (pass, score, errors.is_empty()) {
        (Some(pass), Some(score), true) => Ok(Grading {
            reason,
            pass,
            score,
        }),
        _ => Err(errors),
    }
}

/// pydantic's lax boolean.
fn lax_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The errors on one line: `pass: Input should be a valid boolean (input: "maybe")`.
fn summary(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|e| {
            let loc: Vec<String> = e["loc"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                .collect();
            let at = if loc.is_empty() {
                String::new()
            } else {
                format!("{}: ", loc.join("."))
            };
            format!(
                "{at}{} (input: {})",
                e["msg"].as_str().unwrap_or(""),
                excerpt(&e["input"].to_string())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_arguments(arguments: &str) -> Value {
        json!({"choices": [{"message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "final_result", "arguments": arguments}}]}}]})
    }

    #[test]
    fn verdicts_validate_with_pydantic_s_lax_rules() {
        let grading = read(&with_arguments(
            r#"{"reason": "ok", "pass": "yes", "score": "0.5"}"#,
        ))
        .unwrap();
        assert_eq!(
            grading,
            Grading {
                reason: Some("ok".into()),
                pass: true,
                score: 0.5
            }
        );
        let text = json!({"choices": [{"message": {"content": "```json\n{\"reason\": \"r\", \"pass\": false, \"score\": 0}\n```"}}]});
        assert_eq!(
            read(&text).unwrap(),
            Grading {
                reason: Some("r".into()),
                pass: false,
                score: 0.0
            }
        );
    }

    #[test]
    fn an_invalid_verdict_gives_pydantic_ai_s_followup() {
        let invalid = read(&with_arguments(r#"{"reason": "fine", "score": 0.75}"#)).unwrap_err();
        assert_eq!(
            invalid.followup[0]["tool_calls"][0]["function"]["arguments"],
            r#"{"reason":"fine","score":0.75}"#
        );
        assert_eq!(
            invalid.followup[1],
            json!({"role": "tool", "tool_call_id": "c1",
                   "content": r#"{"error":[{"type":"missing","loc":["pass"],"msg":"Field required","input":{"reason":"fine","score":0.75}}]}"#})
        );
        assert_eq!(
            invalid.summary,
            r#"pass: Field required (input: {"reason":"fine","score":0.75})"#
        );
        let invalid = read(&with_arguments("I think yes")).unwrap_err();
        assert_eq!(
            invalid.followup[0]["tool_calls"][0]["function"]["arguments"],
            r#"{"INVALID_JSON":"I think yes"}"#
        );
        let invalid = read(&with_arguments(
            r#"{"reason": "x", "pass": "maybe", "score": 1}"#,
        ))
        .unwrap_err();
        assert!(
            invalid
                .summary
                .starts_with("pass: Input should be a valid boolean, unable to interpret input")
        );
        let text = json!({"choices": [{"message": {"content": "It passes."}}]});
        let invalid = read(&text).unwrap_err();
        assert!(invalid.followup[1]["content"].as_str().unwrap().starts_with(
            "Your previous response failed the application's validation (this is automated feedback, not a message from the user):\n<validation_errors>\n[{\"type\":\"json_invalid\""
        ));
        assert!(
            read(&json!({"choices": []}))
                .unwrap_err()
                .followup
                .is_empty()
        );
    }
}
