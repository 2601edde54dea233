//! `LLMJudge`: pydantic-evals' evaluator that asks a model whether an
//! output meets a rubric, with its name, arguments, prompt and result
//! shape, calling any OpenAI-compatible chat-completions endpoint.

mod endpoint;
mod prompt;
mod verdict;

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

/// Asks for a verdict; an invalid one is sent back with its validation
/// errors once, as pydantic-ai does (its default of one output retry).
/// The verdict and what it cost: requests, input and output tokens.
async fn ask(
    endpoint: &JudgeEndpoint,
    mut body: Value,
) -> std::result::Result<(verdict::Grading, (f64, f64, f64)), String> {
    let mut usage = (0.0, 0.0, 0.0);
    for attempt in 0..2 {
        let answer = endpoint.complete(&body).await?;
        let used = |key: &str| answer["usage"][key].as_u64().unwrap_or(0) as f64;
        usage.0 += 1.0;
        usage.1 += used("prompt_tokens");
        usage.2 += used("completion_tokens");
        match verdict::read(&answer) {
            Ok(grading) => return Ok((grading, usage)),
            Err(invalid) if attempt == 0 && !invalid.followup.is_empty() => {
                if let Some(messages) = body["messages"].as_array_mut() {
                    messages.extend(invalid.followup);
                }
            }
            Err(invalid) => {
                return Err(format!(
                    "the judge's verdict is not valid{}: {}",
                    if attempt == 0 { "" } else { " after a retry" },
                    invalid.summary
                ));
            }
        }
    }
    unreachable!("the loop returns")
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
            let (grading, usage) = ask(&endpoint, body).await?;
            let both = self.score.is_some() && self.assertion.is_some();
            // What judging cost, on the case (summed over its judges).
            let mut out = EvaluatorOutput::none()
                .metric("judge_requests", usage.0)
                .metric("judge_input_tokens", usage.1)
                .metric("judge_output_tokens", usage.2);
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
