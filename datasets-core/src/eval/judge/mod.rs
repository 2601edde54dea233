//! `LLMJudge`: pydantic-evals' evaluator that asks a model whether an
//! output meets a rubric, with its name, arguments, prompt and result
//! shape, calling any OpenAI-compatible chat-completions endpoint.

mod endpoint;
mod prompt;

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

pub use endpoint::{JudgeEndpoint, JudgeEndpointBuilder, JudgeUsage, OPENAI_BASE_URL};

use super::evaluator::{
    EvaluationValue, Evaluator, EvaluatorContext, EvaluatorFuture, EvaluatorOutput, spec_kwargs,
};
use crate::wire::EvaluatorSpec;

/// The model a judge without one uses: pydantic-evals' default judge model.
pub const DEFAULT_JUDGE_MODEL: &str = "openai:gpt-5.2";

/// How one of the judge's results is reported (pydantic-evals' `OutputConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputConfig {
    /// Its name (default `LLMJudge`, or `LLMJudge_score` / `LLMJudge_pass`
    /// when both results are reported).
    pub evaluation_name: Option<String>,
    /// Whether the judge's reason goes with it.
    pub include_reason: bool,
}

/// Judges whether an output meets a rubric by asking a model, as
/// pydantic-evals' `LLMJudge`: by default one assertion named `LLMJudge`
/// with the judge's reason; `score` adds (or, with `assertion` off,
/// replaces it with) the judge's score.
///
/// It calls its [`JudgeEndpoint`], or by default the one the environment
/// names (`OPENAI_BASE_URL`, `OPENAI_API_KEY`); without one, the evaluator
/// fails with a reason saying so. Model names are pydantic-evals':
/// `openai:gpt-4o`, `openai-chat:gpt-4o` or a bare `gpt-4o`.
///
/// ```no_run
/// use datasets_core::eval::{JudgeEndpoint, LLMJudge};
///
/// # fn main() -> datasets_core::Result<()> {
/// let local = JudgeEndpoint::builder()
///     .base_url("http://127.0.0.1:11434/v1")
///     .max_concurrency(4)
///     .build()?;
/// let judge = LLMJudge::new("The answer is polite and correct")
///     .model("openai:llama3.1")
///     .include_input(true)
///     .endpoint(local);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LLMJudge {
    /// What the output must satisfy.
    pub rubric: String,
    /// The model, as pydantic-evals names it (default [`DEFAULT_JUDGE_MODEL`]).
    pub model: Option<String>,
    /// Whether the judge sees the case's inputs.
    pub include_input: bool,
    /// Whether the judge sees the case's expected output.
    pub include_expected_output: bool,
    /// Model settings: `temperature`, `max_tokens`, `top_p`, `seed`, ...
    pub model_settings: Map<String, Value>,
    /// The score result, if reported.
    pub score: Option<OutputConfig>,
    /// The assertion result, if reported (default: with the reason).
    pub assertion: Option<OutputConfig>,
    endpoint: Option<JudgeEndpoint>,
}

impl LLMJudge {
    /// A judge of `rubric` with pydantic-evals' defaults.
    pub fn new(rubric: impl Into<String>) -> Self {
        Self {
            rubric: rubric.into(),
            model: None,
            include_input: false,
            include_expected_output: false,
            model_settings: Map::new(),
            score: None,
            assertion: Some(OutputConfig {
                evaluation_name: None,
                include_reason: true,
            }),
            endpoint: None,
        }
    }

    /// The model (`openai:gpt-4o`, `openai-chat:gpt-4o`, `gpt-4o`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Shows the judge the case's inputs.
    pub fn include_input(mut self, include: bool) -> Self {
        self.include_input = include;
        self
    }

    /// Shows the judge the case's expected output.
    pub fn include_expected_output(mut self, include: bool) -> Self {
        self.include_expected_output = include;
        self
    }

    /// Sets one model setting (e.g. `temperature`, `max_tokens`).
    pub fn model_setting(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.model_settings.insert(key.into(), value.into());
        self
    }

    /// Reports the score (`None`: not).
    pub fn score(mut self, config: Option<OutputConfig>) -> Self {
        self.score = config;
        self
    }

    /// Reports the assertion (`None`: not).
    pub fn assertion(mut self, config: Option<OutputConfig>) -> Self {
        self.assertion = config;
        self
    }

    /// Calls this endpoint instead of the environment's.
    pub fn endpoint(mut self, endpoint: JudgeEndpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// A judge from a spec's arguments (pydantic-evals' names; the rubric
    /// may be the single positional argument).
    pub fn from_spec(
        spec: &EvaluatorSpec,
        endpoint: Option<JudgeEndpoint>,
    ) -> std::result::Result<Self, String> {
        let mut kwargs = spec_kwargs(spec, "rubric")?;
        let rubric = match kwargs.remove("rubric") {
            Some(Value::String(rubric)) => rubric,
            Some(other) => return Err(format!("rubric must be text, not {other}")),
            None => return Err("missing argument `rubric`".into()),
        };
        let mut judge = LLMJudge::new(rubric);
        judge.endpoint = endpoint;
        for (key, value) in kwargs {
            match (key.as_str(), value) {
                ("model", Value::Null) => {}
                ("model", Value::String(model)) => judge.model = Some(model),
                ("include_input", Value::Bool(b)) => judge.include_input = b,
                ("include_expected_output", Value::Bool(b)) => judge.include_expected_output = b,
                ("model_settings", Value::Null) => {}
                ("model_settings", Value::Object(settings)) => judge.model_settings = settings,
                ("score", value) => judge.score = output_config("score", value)?,
                ("assertion", value) => judge.assertion = output_config("assertion", value)?,
                (key, value) => return Err(format!("unexpected argument {key} = {value}")),
            }
        }
        Ok(judge)
    }

    /// The endpoint to call: its own, else the environment's.
    fn resolve_endpoint(&self) -> std::result::Result<JudgeEndpoint, String> {
        if let Some(endpoint) = &self.endpoint {
            return Ok(endpoint.clone());
        }
        static DEFAULT: OnceLock<JudgeEndpoint> = OnceLock::new();
        if let Some(endpoint) = DEFAULT.get() {
            return Ok(endpoint.clone());
        }
        let endpoint = JudgeEndpoint::from_env().map_err(|err| match err {
            crate::Error::InvalidArgument(message) => message,
            other => other.to_string(),
        })?;
        Ok(DEFAULT.get_or_init(|| endpoint).clone())
    }
}

/// `false`, or `{evaluation_name?, include_reason?}`.
fn output_config(key: &str, value: Value) -> std::result::Result<Option<OutputConfig>, String> {
    match value {
        Value::Bool(false) => Ok(None),
        Value::Object(config) => {
            let mut out = OutputConfig::default();
            for (k, v) in config {
                match (k.as_str(), v) {
                    ("evaluation_name", Value::String(name)) => out.evaluation_name = Some(name),
                    ("include_reason", Value::Bool(b)) => out.include_reason = b,
                    (k, v) => return Err(format!("{key}: unexpected key {k} = {v}")),
                }
            }
            Ok(Some(out))
        }
        other => Err(format!(
            "{key} must be false or {{evaluation_name, include_reason}}, not {other}"
        )),
    }
}

/// The model name to send, from pydantic-evals' `provider:model`.
fn model_name(model: Option<&str>) -> std::result::Result<String, String> {
    let model = model.unwrap_or(DEFAULT_JUDGE_MODEL);
    match model.split_once(':') {
        None => Ok(model.to_owned()),
        Some(("openai" | "openai-chat" | "openai-responses" | "ollama", name))
            if !name.is_empty() =>
        {
            Ok(name.to_owned())
        }
        Some((provider, _)) => Err(format!(
            "LLMJudge calls OpenAI-compatible chat-completions endpoints; the model {model:?} \
             names the provider {provider:?}: use openai:<model> with OPENAI_BASE_URL pointing at \
             an OpenAI-compatible API"
        )),
    }
}

/// The judge's verdict.
#[derive(Debug, Clone, PartialEq)]
struct Grading {
    reason: Option<String>,
    pass: bool,
    score: f64,
}

/// The verdict in a chat completion: the `final_result` tool call's
/// arguments or, from a model that answered in text, a JSON object in it
/// (code fences allowed). `pass` may be a boolean or `"true"`/`"false"`;
/// a missing score is 1 for a pass and 0 for a fail.
fn grading_of(answer: &Value) -> std::result::Result<Grading, String> {
    let message = &answer["choices"][0]["message"];
    let text = message["tool_calls"]
        .as_array()
        .and_then(|calls| {
            calls
                .iter()
                .find(|c| c["function"]["name"] == "final_result")
                .or(calls.first())
        })
        .and_then(|call| call["function"]["arguments"].as_str())
        .or_else(|| message["content"].as_str())
        .ok_or_else(|| {
            format!(
                "the judge's answer holds no verdict: {}",
                excerpt(&answer.to_string())
            )
        })?;
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let start = body.find('{');
    let end = body.rfind('}');
    let object: Value = match (start, end) {
        (Some(start), Some(end)) if start < end => serde_json::from_str(&body[start..=end]).ok(),
        _ => None,
    }
    .filter(Value::is_object)
    .ok_or_else(|| {
        format!(
            "the judge's verdict is not a JSON object: {}",
            excerpt(text)
        )
    })?;
    let pass = match object.get("pass").or_else(|| object.get("pass_")) {
        Some(Value::Bool(pass)) => *pass,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => true,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => false,
        other => {
            return Err(format!(
                "the judge's verdict has no boolean \"pass\" (got {}): {}",
                other.map_or_else(|| "nothing".to_owned(), Value::to_string),
                excerpt(text)
            ));
        }
    };
    let score = match object.get("score") {
        None | Some(Value::Null) => f64::from(u8::from(pass)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(f64::NAN),
        Some(other) => return Err(format!("the judge's score is not a number: {other}")),
    };
    if !score.is_finite() {
        return Err(format!(
            "the judge's score is not a number: {}",
            excerpt(text)
        ));
    }
    let reason = object
        .get("reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Grading {
        reason,
        pass,
        score,
    })
}

fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

impl<I, O, M> Evaluator<I, O, M> for LLMJudge
where
    I: Serialize + Sync,
    O: Serialize + Sync,
    M: Sync,
{
    fn name(&self) -> Cow<'_, str> {
        "LLMJudge".into()
    }

    fn evaluate<'a>(&'a self, ctx: &'a EvaluatorContext<I, O, M>) -> EvaluatorFuture<'a> {
        Box::pin(async move {
            let endpoint = self.resolve_endpoint()?;
            let model = model_name(self.model.as_deref())?;
            let json = |value: &dyn erased::Json| value.json();
            let inputs = if self.include_input {
                Some(json(&ctx.inputs)?)
            } else {
                None
            };
            let expected = match (&ctx.expected_output, self.include_expected_output) {
                (Some(expected), true) => Some(json(expected)?),
                _ => None,
            };
            let output = json(&ctx.output)?;
            let system = prompt::system_prompt(self.include_input, self.include_expected_output);
            let user =
                prompt::user_prompt(&output, &self.rubric, inputs.as_ref(), expected.as_ref());
            let body = prompt::request_body(&model, &system, &user, &self.model_settings);
            let answer = endpoint.complete(&body).await?;
            let grading = grading_of(&answer)?;
            let used = |key: &str| answer["usage"][key].as_u64().unwrap_or(0) as f64;
            let both = self.score.is_some() && self.assertion.is_some();
            // What judging cost, on the case (summed over its judges).
            let mut out = EvaluatorOutput::none()
                .metric("judge_requests", 1.0)
                .metric("judge_input_tokens", used("prompt_tokens"))
                .metric("judge_output_tokens", used("completion_tokens"));
            for (config, suffix, value) in [
                (&self.score, "score", EvaluationValue::Score(grading.score)),
                (
                    &self.assertion,
                    "pass",
                    EvaluationValue::Assertion(grading.pass),
                ),
            ] {
                let Some(config) = config else { continue };
                let name = config.evaluation_name.clone().unwrap_or_else(|| {
                    if both {
                        format!("LLMJudge_{suffix}")
                    } else {
                        "LLMJudge".to_owned()
                    }
                });
                out = out.and(name, value);
                if config.include_reason
                    && let Some(reason) = &grading.reason
                {
                    out = out.reason(reason.clone());
                }
            }
            Ok(out)
        })
    }
}

/// Serializing a borrowed value of any of the context's types to JSON.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> Result<serde_json::Value, String>;
    }

    impl<T: serde::Serialize + ?Sized> Json for T {
        fn json(&self) -> Result<serde_json::Value, String> {
            serde_json::to_value(self)
                .map_err(|err| format!("cannot show the judge a value: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer_with(arguments: &str) -> Value {
        json!({"choices": [{"message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "final_result", "arguments": arguments}}]}}]})
    }

    #[test]
    fn verdicts_are_read_leniently() {
        let grading = grading_of(&answer_with(
            r#"{"reason": "ok", "pass": true, "score": 0.5}"#,
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
        let text =
            json!({"choices": [{"message": {"content": "```json\n{\"pass\": \"false\"}\n```"}}]});
        assert_eq!(
            grading_of(&text).unwrap(),
            Grading {
                reason: None,
                pass: false,
                score: 0.0
            }
        );
        let err = grading_of(&answer_with("I think it passes")).unwrap_err();
        assert!(
            err.starts_with("the judge's verdict is not a JSON object: I think"),
            "{err}"
        );
        let err = grading_of(&answer_with(r#"{"reason": "x", "score": 1}"#)).unwrap_err();
        assert!(err.contains("no boolean \"pass\""), "{err}");
        assert!(grading_of(&json!({"choices": []})).is_err());
    }

    #[test]
    fn model_names_are_pydantic_evals() {
        assert_eq!(model_name(Some("openai:gpt-4o")).unwrap(), "gpt-4o");
        assert_eq!(
            model_name(Some("openai-chat:gpt-4o-mini")).unwrap(),
            "gpt-4o-mini"
        );
        assert_eq!(model_name(Some("llama3.1")).unwrap(), "llama3.1");
        assert_eq!(model_name(None).unwrap(), "gpt-5.2");
        assert!(
            model_name(Some("anthropic:claude"))
                .unwrap_err()
                .contains("\"anthropic\"")
        );
    }

    #[test]
    fn specs_read_pydantic_evals_arguments() {
        let spec = EvaluatorSpec::with_arguments(
            "LLMJudge",
            json!({"rubric": "polite", "score": {"include_reason": true}, "assertion": false, "include_input": true}),
        );
        let judge = LLMJudge::from_spec(&spec, None).unwrap();
        assert_eq!(judge.rubric, "polite");
        assert!(judge.include_input && judge.assertion.is_none());
        assert_eq!(
            judge.score,
            Some(OutputConfig {
                evaluation_name: None,
                include_reason: true
            })
        );
        let short = EvaluatorSpec::with_arguments("LLMJudge", json!(["be kind"]));
        assert_eq!(LLMJudge::from_spec(&short, None).unwrap().rubric, "be kind");
        let bad =
            EvaluatorSpec::with_arguments("LLMJudge", json!({"rubric": "x", "temperature": 1}));
        assert!(
            LLMJudge::from_spec(&bad, None)
                .unwrap_err()
                .contains("temperature")
        );
    }
}
