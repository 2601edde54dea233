//! The OpenAI-compatible chat-completions endpoint an [`LLMJudge`](super::LLMJudge)
//! calls: one HTTP client, a bound on concurrent calls shared by every
//! judge using the endpoint, retries with backoff on 429 and 5xx (waiting
//! as `Retry-After` says), a timeout per call, and the tokens used.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::backoff::Backoff;
use crate::error::{Error, Result};

/// OpenAI's API, when `OPENAI_BASE_URL` is unset.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// An OpenAI-compatible chat-completions endpoint (OpenAI, or a local
/// server such as Ollama or vLLM). Cheap to clone: clones share the HTTP
/// client, the bound on concurrent calls and the usage counters.
#[derive(Clone)]
pub struct JudgeEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    permits: tokio::sync::Semaphore,
    max_concurrency: usize,
    max_retries: u32,
    timeout: Duration,
    backoff: Backoff,
    requests: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
}

impl std::fmt::Debug for JudgeEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JudgeEndpoint")
            .field("base_url", &self.inner.base_url)
            .field(
                "api_key",
                &self.inner.api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("max_concurrency", &self.inner.max_concurrency)
            .field("max_retries", &self.inner.max_retries)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

/// Tokens and requests an endpoint has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JudgeUsage {
    /// Requests answered (retries included).
    pub requests: u64,
    /// Prompt tokens, as the endpoint counted them.
    pub input_tokens: u64,
    /// Completion tokens, as the endpoint counted them.
    pub output_tokens: u64,
}

/// Options of a [`JudgeEndpoint`].
#[derive(Debug, Clone)]
pub struct JudgeEndpointBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    max_concurrency: usize,
    max_retries: u32,
    timeout: Duration,
    backoff: Backoff,
}

impl JudgeEndpoint {
    /// Options: base URL, key, concurrency, retries, timeout.
    pub fn builder() -> JudgeEndpointBuilder {
        JudgeEndpointBuilder {
            base_url: None,
            api_key: None,
            max_concurrency: 8,
            max_retries: 3,
            timeout: Duration::from_secs(120),
            backoff: Backoff {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(20),
            },
        }
    }

    /// The endpoint OpenAI's own SDKs would use: `OPENAI_BASE_URL`
    /// (including `/v1`; default OpenAI's API) and `OPENAI_API_KEY`. Without
    /// either, no endpoint is configured: an error saying so.
    pub fn from_env() -> Result<Self> {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty());
        let api_key = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty());
        if base_url.is_none() && api_key.is_none() {
            return Err(Error::InvalidArgument(
                "no model endpoint is configured for LLMJudge: set OPENAI_API_KEY (and \
                 OPENAI_BASE_URL, including /v1, for another OpenAI-compatible server such as \
                 Ollama or vLLM), or give the registry a JudgeEndpoint"
                    .into(),
            ));
        }
        let mut builder = Self::builder();
        builder.base_url = base_url;
        builder.api_key = api_key;
        builder.build()
    }

    /// What it has used so far.
    pub fn usage(&self) -> JudgeUsage {
        JudgeUsage {
            requests: self.inner.requests.load(Ordering::Relaxed),
            input_tokens: self.inner.input_tokens.load(Ordering::Relaxed),
            output_tokens: self.inner.output_tokens.load(Ordering::Relaxed),
        }
    }

    /// Its base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Sends one chat completion and returns the answer's JSON, retrying
    /// 429s, 5xxs, timeouts and lost connections.
    pub(super) async fn complete(&self, body: &Value) -> std::result::Result<Value, String> {
        let inner = &self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| "the judge endpoint was closed".to_owned())?;
        let url = format!("{}/chat/completions", inner.base_url.trim_end_matches('/'));
        let mut attempt = 0u32;
        loop {
            let mut request = inner.http.post(&url).json(body);
            if let Some(key) = &inner.api_key {
                request = request.bearer_auth(key);
            }
            let (retry_after, problem) = match request.send().await {
                Ok(response) => {
                    inner.requests.fetch_add(1, Ordering::Relaxed);
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map(|s| Duration::from_secs_f64(s.min(60.0)));
                    let text = match response.text().await {
                        Ok(text) => text,
                        Err(err) => {
                            return Err(format!("the judge's answer could not be read: {err}"));
                        }
                    };
                    if status.is_success() {
                        let answer: Value = serde_json::from_str(&text).map_err(|err| {
                            format!("the judge's endpoint answered something not JSON: {err}")
                        })?;
                        self.count_usage(&answer);
                        return Ok(answer);
                    }
                    let problem = format!(
                        "the judge's endpoint answered {}: {}",
                        status.as_u16(),
                        error_message(&text)
                    );
                    if status.as_u16() != 429 && !status.is_server_error() {
                        return Err(problem);
                    }
                    (retry_after, problem)
                }
                Err(err) if err.is_timeout() => (
                    None,
                    format!(
                        "the judge's endpoint did not answer within {:.1}s",
                        inner.timeout.as_secs_f64()
                    ),
                ),
                Err(err) if err.is_connect() => (
                    None,
                    format!("cannot reach the judge's endpoint at {url}: {err}"),
                ),
                Err(err) => return Err(format!("the request to the judge failed: {err}")),
            };
            if attempt >= inner.max_retries {
                let tries = attempt + 1;
                return Err(format!("{problem} (after {tries} attempt(s))"));
            }
            tokio::time::sleep(retry_after.unwrap_or_else(|| inner.backoff.delay(attempt))).await;
            attempt += 1;
        }
    }

    fn count_usage(&self, answer: &Value) {
        let usage = &answer["usage"];
        let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
        self.inner
            .input_tokens
            .fetch_add(count("prompt_tokens"), Ordering::Relaxed);
        self.inner
            .output_tokens
            .fetch_add(count("completion_tokens"), Ordering::Relaxed);
    }
}

/// The `error.message` of an OpenAI error body, else the body cut short.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

impl JudgeEndpointBuilder {
    /// The base URL, including `/v1` (e.g. `http://127.0.0.1:11434/v1` for Ollama).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key, sent as a bearer token (none for a local server without one).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// At most this many calls at once, across every judge using the
    /// endpoint (default 8).
    pub fn max_concurrency(mut self, calls: usize) -> Self {
        self.max_concurrency = calls.max(1);
        self
    }

    /// Retries of a call answered 429 or 5xx, timed out or unconnected
    /// (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The longest one call may take (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The first wait between retries when the endpoint sends no
    /// `Retry-After` (default 0.5 s, doubling, with jitter, up to 20 s).
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.backoff.initial = wait;
        self.backoff.max = self.backoff.max.max(wait);
        self
    }

    /// The endpoint.
    pub fn build(self) -> Result<JudgeEndpoint> {
        let base_url = self.base_url.unwrap_or_else(|| OPENAI_BASE_URL.to_owned());
        let parsed = reqwest::Url::parse(&base_url).map_err(|err| {
            Error::InvalidArgument(format!("judge base URL {base_url:?} is not a URL: {err}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::InvalidArgument(format!(
                "judge base URL {base_url:?} must be http or https"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(format!("datasets-rs/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| {
                Error::InvalidArgument(format!("cannot build the HTTP client: {err}"))
            })?;
        Ok(JudgeEndpoint {
            inner: Arc::new(Inner {
                base_url,
                api_key: self.api_key.filter(|k| !k.trim().is_empty()),
                http,
                permits: tokio::sync::Semaphore::new(self.max_concurrency),
                max_concurrency: self.max_concurrency,
                max_retries: self.max_retries,
                timeout: self.timeout,
                backoff: self.backoff,
                requests: AtomicU64::new(0),
                input_tokens: AtomicU64::new(0),
                output_tokens: AtomicU64::new(0),
            }),
        })
    }
}
