//! The client of the v1 datasets API: [`DatasetsClient`].

pub(crate) mod answer;
mod mode;
mod operations;
pub(crate) mod ops;
mod pages;
mod retry;
pub(crate) mod split;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use mode::{Async, Blocking, BlockingClient, Mode};
pub use ops::{
    AddCase, AddCases, CreateCase, CreateDataset, DeleteCase, DeleteCases, DeleteDataset,
    ExportDataset, GetCase, GetDataset, ImportCases, ListCases, ListDatasets, PushDataset,
    UpdateCase, UpdateDataset,
};
pub(crate) use ops::{UploadOptions, upload_options};
pub use pages::{CaseIter, CaseStream, DEFAULT_PAGE_SIZE};
pub use retry::RetryPolicy;

use crate::error::{Error, Result, excerpt};

/// Hosted Logfire, US region.
pub const LOGFIRE_US_URL: &str = "https://logfire-us.pydantic.dev";
/// Hosted Logfire, EU region.
pub const LOGFIRE_EU_URL: &str = "https://logfire-eu.pydantic.dev";
/// The default request timeout, as the Python SDK's.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default largest body `add_cases` and `import_cases` send in one
/// request: well under the server's default limit of 32 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The base URL a Logfire key implies: `pylf_v1_<region>_...` picks the
/// region (`us`, `eu`; an unknown region falls back to `us`, as the Python
/// SDK does). Any other key implies nothing.
///
/// ```
/// use datasets_core::client::{infer_base_url, LOGFIRE_EU_URL};
///
/// assert_eq!(infer_base_url("pylf_v1_eu_abc"), Some(LOGFIRE_EU_URL));
/// assert_eq!(infer_base_url("dsk_0123"), None);
/// ```
pub fn infer_base_url(api_key: &str) -> Option<&'static str> {
    let rest = api_key.strip_prefix("pylf_v1_")?;
    let (region, token) = rest.split_once('_')?;
    if region.is_empty() || token.is_empty() {
        return None;
    }
    Some(match region {
        "eu" => LOGFIRE_EU_URL,
        _ => LOGFIRE_US_URL,
    })
}

/// Whether `url` is Logfire's hosted API.
/// Which server a client talks to: the routes and additions it may use.
///
/// Logfire's hosted API is used only as its released Python SDK (logfire
/// 5.4) uses it: cases are added through `POST .../import/` (never
/// `.../cases/` or `.../cases/bulk/`, which the SDK never calls), lists come
/// whole, and none of `datasets-server`'s additions is sent (`limit` and
/// `cursor`, `Idempotency-Key`, `If-Match`, bulk deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerKind {
    /// Pydantic Logfire's hosted datasets API.
    Logfire,
    /// `datasets-server`: the protocol and its additions.
    Datasets,
}

impl ServerKind {
    /// The kind a base URL implies: Logfire for `pydantic.dev` hosts,
    /// `datasets-server` for anything else.
    pub fn of_base_url(url: &str) -> Self {
        match reqwest::Url::parse(url) {
            Ok(parsed) if is_logfire_host(&parsed) => ServerKind::Logfire,
            _ => ServerKind::Datasets,
        }
    }
}

fn is_logfire_host(url: &reqwest::Url) -> bool {
    url.host_str()
        .is_some_and(|host| host == "pydantic.dev" || host.ends_with(".pydantic.dev"))
}

/// A client of the v1 datasets API, for Logfire's hosted API and for
/// `datasets-server` alike.
///
/// Cheap to clone: clones share one connection pool. Every operation returns
/// a request builder; set its options, then `.await` it.
///
/// ```no_run
/// # async fn run() -> datasets_core::Result<()> {
/// use datasets_core::DatasetsClient;
///
/// let client = DatasetsClient::builder()
///     .api_key("dsk_...")
///     .base_url("http://127.0.0.1:8000")
///     .build()?;
/// for dataset in client.list_datasets().await? {
///     println!("{}: {} cases", dataset.name, dataset.case_count);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DatasetsClient<M: Mode = Async> {
    inner: Arc<Inner>,
    /// Why every request of this client is refused before it is sent (a
    /// typed handle whose dataset name two Rust types declare).
    refusal: Option<Arc<str>>,
    /// How its requests are finished.
    mode: M,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    kind: ServerKind,
    /// Whether typed handles check cases before sending them.
    validate_cases: bool,
    auth: HeaderValue,
    retry: RetryPolicy,
    /// Whether failed POSTs are retried (with their Idempotency-Key).
    retry_posts: bool,
    max_request_bytes: usize,
}

impl<M: Mode> std::fmt::Debug for DatasetsClient<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetsClient")
            .field("base_url", &self.inner.base_url)
            .field("server_kind", &self.inner.kind)
            .field("api_key", &"<redacted>")
            // The policy as in force: `retry_posts` resolved, shown once.
            .field(
                "retry",
                &RetryPolicy {
                    retry_posts: Some(self.inner.retry_posts),
                    ..self.inner.retry.clone()
                },
            )
            .field("max_request_bytes", &self.inner.max_request_bytes)
            .finish()
    }
}

/// Options of a [`DatasetsClient`]; see [`DatasetsClient::builder`]. The
/// same options build the blocking client (`ClientBuilder<Blocking>`).
pub struct ClientBuilder<M: Mode = Async> {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    http: Option<reqwest::Client>,
    user_agent: Option<String>,
    max_request_bytes: Option<usize>,
    server_kind: Option<ServerKind>,
    validate_cases: Option<bool>,
    mode: std::marker::PhantomData<fn() -> M>,
}

impl<M: Mode> Default for ClientBuilder<M> {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            timeout: None,
            retry: None,
            http: None,
            user_agent: None,
            max_request_bytes: None,
            server_kind: None,
            validate_cases: None,
            mode: std::marker::PhantomData,
        }
    }
}

impl<M: Mode> std::fmt::Debug for ClientBuilder<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("server_kind", &self.server_kind)
            .finish_non_exhaustive()
    }
}

impl<M: Mode> ClientBuilder<M> {
    /// The API key (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL, e.g. `http://127.0.0.1:8000`. Wins over the one a key
    /// implies; required for keys that imply none.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The timeout of each attempt (default 30 s). Ignored with [`http_client`](Self::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How requests are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// A `reqwest::Client` of your own (proxies, certificates, pools). The
    /// timeout and user agent options then do not apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The `User-Agent` header (default `datasets-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// The largest body `add_cases` and `import_cases` send in one request
    /// (default 8 MiB); larger uploads are split into chunks.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = Some(bytes.max(1));
        self
    }

    /// Which server this is (default: from the base URL's host, see
    /// [`ServerKind::of_base_url`]). Set it to test the Logfire behaviour
    /// against a local server, or to talk to Logfire behind another host.
    pub fn server_kind(mut self, kind: ServerKind) -> Self {
        self.server_kind = Some(kind);
        self
    }

    /// Whether typed handles check each case against the dataset's
    /// generated JSON Schemas (and the server's limits on names and tags)
    /// before sending it (default: yes, with the `client-validation`
    /// feature). A case that fails is the same [`Error::Api`] 422 a server
    /// gives, with the same [`Error::issues`], and nothing is sent.
    pub fn validate_cases(mut self, validate: bool) -> Self {
        self.validate_cases = Some(validate);
        self
    }

    /// Builds the client. Fails without a key, with a key that is not a
    /// valid header value, or when no base URL is given and the key implies
    /// none (a self-hosted key is never sent to Logfire's servers by guess).
    pub fn build(self) -> Result<M::Client> {
        let api_key = self
            .api_key
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| Error::InvalidArgument("an API key is required".to_owned()))?;
        let base_url = match self.base_url {
            Some(url) => url,
            None => infer_base_url(&api_key)
                .ok_or_else(|| {
                    Error::InvalidArgument(
                        "cannot infer the base URL from this API key (only Logfire's \
                         pylf_v1_<region>_ keys imply one); set it with \
                         DatasetsClient::builder().base_url(..) or DATASETS_BASE_URL"
                            .to_owned(),
                    )
                })?
                .to_owned(),
        };
        let parsed = reqwest::Url::parse(&base_url).map_err(|err| {
            Error::InvalidArgument(format!("base URL {base_url:?} is not a URL: {err}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::InvalidArgument(format!(
                "base URL {base_url:?} must be http or https"
            )));
        }
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", api_key.trim())).map_err(|_| {
                Error::InvalidArgument(
                    "the API key contains characters not allowed in a header".to_owned(),
                )
            })?;
        auth.set_sensitive(true);
        let http = match self.http {
            Some(http) => http,
            None => {
                let agent = self
                    .user_agent
                    .unwrap_or_else(|| format!("datasets-rs/{}", env!("CARGO_PKG_VERSION")));
                let mut headers = HeaderMap::new();
                headers.insert(
                    reqwest::header::USER_AGENT,
                    HeaderValue::from_str(&agent).map_err(|_| {
                        Error::InvalidArgument(format!(
                            "user agent {agent:?} is not a valid header value"
                        ))
                    })?,
                );
                reqwest::Client::builder()
                    .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
                    .default_headers(headers)
                    .build()
                    .map_err(|err| {
                        Error::InvalidArgument(format!("cannot build the HTTP client: {err}"))
                    })?
            }
        };
        let kind = self.server_kind.unwrap_or(if is_logfire_host(&parsed) {
            ServerKind::Logfire
        } else {
            ServerKind::Datasets
        });
        let retry = self.retry.unwrap_or_default();
        // Logfire's API does not document Idempotency-Key, so a POST retried
        // there could be applied twice; datasets-server deduplicates it.
        let retry_posts = retry.retry_posts.unwrap_or(kind == ServerKind::Datasets);
        Ok(M::client(DatasetsClient {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_owned(),
                kind,
                validate_cases: self.validate_cases.unwrap_or(true),
                auth,
                retry,
                retry_posts,
                max_request_bytes: self.max_request_bytes.unwrap_or(DEFAULT_MAX_REQUEST_BYTES),
            }),
            refusal: None,
            mode: M::start()?,
        }))
    }
}

impl DatasetsClient {
    /// A client with this key and default options; the base URL is inferred
    /// from the key (see [`infer_base_url`]).
    ///
    /// ```no_run
    /// # fn main() -> datasets_core::Result<()> {
    /// let client = datasets_core::DatasetsClient::new("pylf_v1_eu_...")?;
    /// # Ok(()) }
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        Self::builder().api_key(api_key).build()
    }

    /// Options: base URL, timeout, retries, a custom `reqwest::Client`, user agent.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the key from
    /// `DATASETS_API_KEY` or else `LOGFIRE_API_KEY`, the base URL from
    /// `DATASETS_BASE_URL` if set.
    pub fn from_env() -> Result<Self> {
        from_env_with(Self::builder())
    }

    /// Whether typed handles check cases before sending them.
    #[cfg_attr(not(feature = "client-validation"), allow(dead_code))]
    pub(crate) fn validates_cases(&self) -> bool {
        self.inner.validate_cases
    }

    /// Whether the server is `datasets-server`, with the protocol's additions.
    pub(crate) fn is_datasets_server(&self) -> bool {
        self.inner.kind == ServerKind::Datasets
    }

    /// This client, refusing every request with `why` before sending it.
    pub(crate) fn refusing(&self, why: String) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            refusal: Some(why.into()),
            mode: Async,
        }
    }

    pub(crate) fn max_request_bytes(&self) -> usize {
        self.inner.max_request_bytes
    }

    /// Sends a request, retrying as the policy allows, and returns the body
    /// of a success answer.
    pub(crate) async fn execute(&self, call: &Call) -> Result<bytes::Bytes> {
        self.execute_with_headers(call).await.map(|(body, _)| body)
    }

    /// As [`execute`](Self::execute), with the answer's headers.
    pub(crate) async fn execute_with_headers(
        &self,
        call: &Call,
    ) -> Result<(bytes::Bytes, HeaderMap)> {
        let mut state = RetryState::default();
        loop {
            let failure = match self.attempt(call).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            match self.after_failure(call, &mut state, failure) {
                Step::Gone => return Ok((bytes::Bytes::new(), HeaderMap::new())),
                Step::Fail(err) => return Err(err),
                Step::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Sends a request and feeds a success answer's body to `sink` as it
    /// arrives, starting the sink over on each retry.
    pub(crate) async fn execute_streaming(
        &self,
        call: &Call,
        sink: &mut dyn BodySink,
    ) -> Result<()> {
        let mut state = RetryState::default();
        loop {
            let failure = match self.attempt_streaming(call, sink).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            match self.after_failure(call, &mut state, failure) {
                Step::Gone => return Ok(()),
                Step::Fail(err) => return Err(err),
                Step::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// What to do after a failed attempt: retry (after a wait) only what is
    /// safe to repeat (see [`RetryPolicy`]), or stop.
    fn after_failure(&self, call: &Call, state: &mut RetryState, failure: Failure) -> Step {
        let policy = &self.inner.retry;
        // A DELETE whose earlier answer was lost finds nothing left to
        // delete: that earlier attempt did it, so this is success.
        if state.maybe_applied
            && call.method == Method::DELETE
            && matches!(
                failure.error,
                Error::DatasetNotFound { .. } | Error::CaseNotFound { .. }
            )
        {
            return Step::Gone;
        }
        if matches!(failure.error, Error::Transport { connect: false, .. }) {
            state.maybe_applied = true;
        }
        // A POST is safe to repeat when nothing was sent, or when the
        // server deduplicates it by its Idempotency-Key.
        let safe = match &failure.error {
            Error::Transport { connect: true, .. } => true,
            _ => {
                call.method != Method::POST
                    || (call.idempotency_key.is_some() && self.inner.retry_posts)
            }
        };
        if state.retries >= policy.max_retries || !safe || !failure.error.is_retryable() {
            return Step::Fail(failure.error);
        }
        let wait = match failure.retry_after {
            Some(wait) if wait > policy.max_retry_after => return Step::Fail(failure.error),
            Some(wait) => wait,
            None => policy.backoff(state.retries),
        };
        state.retries += 1;
        Step::Retry(wait)
    }

    /// The request of a call, ready to send.
    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.inner.base_url, call.path);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .header(AUTHORIZATION, self.inner.auth.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(key) = &call.idempotency_key
            && self.is_datasets_server()
        {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(version) = call.if_version {
            request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_LENGTH, body.len());
            request = match &call.progress {
                Some(progress) => request.body(progress.body(body.clone())),
                None => request.body(body.clone()),
            };
        }
        request
    }

    /// Sends once; an error answer becomes a [`Failure`] with any `Retry-After`.
    async fn send(&self, call: &Call) -> std::result::Result<reqwest::Response, Failure> {
        if let Some(why) = &self.refusal {
            return Err(Failure::from(Error::InvalidArgument(why.to_string())));
        }
        if call.if_version.is_some() && !self.is_datasets_server() {
            return Err(Failure::from(Error::InvalidArgument(
                "if_version (If-Match) is an addition of datasets-server; Logfire's API would \
                 ignore it and write unconditionally, so nothing was sent"
                    .to_owned(),
            )));
        }
        let response = self
            .request(call)
            .send()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(retry::parse_retry_after);
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        Err(Failure {
            error: error_from_answer(status, &body, call),
            retry_after,
        })
    }

    async fn attempt(
        &self,
        call: &Call,
    ) -> std::result::Result<(bytes::Bytes, HeaderMap), Failure> {
        let response = self.send(call).await?;
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::from(transport(err)))?;
        Ok((body, headers))
    }

    async fn attempt_streaming(
        &self,
        call: &Call,
        sink: &mut dyn BodySink,
    ) -> std::result::Result<(), Failure> {
        let mut response = self.send(call).await?;
        sink.reset();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| Failure::from(transport(err)))?
        {
            sink.feed(&chunk)?;
        }
        Ok(())
    }

    /// Sends a request and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call, what: &str) -> Result<T> {
        let body = self.execute(&call).await?;
        decode(what, &body)
    }
}

/// Where a request's retries stand.
#[derive(Default)]
struct RetryState {
    retries: u32,
    /// Whether an earlier attempt reached the server but its answer was lost.
    maybe_applied: bool,
}

/// What follows a failed attempt.
enum Step {
    /// A DELETE found done by an earlier attempt.
    Gone,
    /// Try again after this wait.
    Retry(Duration),
    /// Give up with this error.
    Fail(Error),
}

/// Receives a success answer's body as it arrives.
pub(crate) trait BodySink: Send {
    /// Forgets what was fed: the request is being retried.
    fn reset(&mut self);
    /// The next bytes of the body; an error stops reading (and is not retried).
    fn feed(&mut self, bytes: &[u8]) -> Result<()>;
}

/// A failed attempt, with the wait the server asked for.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// Decodes a JSON body, naming the path that failed.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(crate::strict::Strict(&mut *deserializer))
        .map_err(|err| Error::decode(what, err, body))?;
    deserializer.end().map_err(|err| Error::Decode {
        what: what.to_owned(),
        case_id: None,
        path: None,
        message: crate::error::strip_position(&err.to_string()),
        excerpt: crate::error::excerpt(body),
    })?;
    Ok(value)
}

fn transport(err: reqwest::Error) -> Error {
    // reqwest's message names the URL, which never holds the key.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport {
        timeout: err.is_timeout(),
        connect: err.is_connect(),
        message,
        source: Some(Box::new(err)),
    }
}

/// Maps an error answer as the Python SDK does: a 404 is a missing case when
/// the route is a case's and the detail mentions "case", else a missing
/// dataset; anything else is [`Error::Api`] with the parsed detail.
fn error_from_answer(status: StatusCode, body: &[u8], call: &Call) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let detail = match parsed {
        Some(Value::Object(mut object)) if object.contains_key("detail") => {
            object.remove("detail").unwrap_or(Value::Null)
        }
        Some(other) => other,
        None => Value::String(if body.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            excerpt(body)
        }),
    };
    if status == StatusCode::PRECONDITION_FAILED {
        let current_version = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|body| body.get("current_version")?.as_u64());
        return Error::PreconditionFailed {
            detail: match &detail {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            },
            current_version,
        };
    }
    if status == StatusCode::NOT_FOUND {
        let text = match &detail {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let (dataset, case) = path_names(&call.path);
        if call.case_endpoint && text.to_lowercase().contains("case") {
            return Error::CaseNotFound {
                detail: text,
                dataset,
                case,
            };
        }
        return Error::DatasetNotFound {
            detail: text,
            dataset,
        };
    }
    Error::Api {
        status: status.as_u16(),
        detail,
    }
}

/// The dataset and case a request's path names (`/v1/datasets/{dataset}/
/// cases/{case}/`), decoded, for errors that say what was not found.
fn path_names(path: &str) -> (Option<String>, Option<String>) {
    let decode = |segment: &str| {
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut segments = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty());
    if segments.next() != Some("v1") || segments.next() != Some("datasets") {
        return (None, None);
    }
    let dataset = segments.next().map(decode);
    let case = match (segments.next(), segments.next()) {
        (Some("cases"), Some(id)) if id != "bulk" && id != "delete" => Some(decode(id)),
        _ => None,
    };
    (dataset, case)
}

/// `builder` with the key from `DATASETS_API_KEY` (or `LOGFIRE_API_KEY`)
/// and the base URL from `DATASETS_BASE_URL` if set, built.
pub(crate) fn from_env_with<M: Mode>(builder: ClientBuilder<M>) -> Result<M::Client> {
    let key = std::env::var("DATASETS_API_KEY")
        .or_else(|_| std::env::var("LOGFIRE_API_KEY"))
        .map_err(|_| {
            Error::InvalidArgument("set DATASETS_API_KEY or LOGFIRE_API_KEY".to_owned())
        })?;
    let mut builder = builder.api_key(key);
    if let Ok(url) = std::env::var("DATASETS_BASE_URL") {
        builder = builder.base_url(url);
    }
    builder.build()
}

/// Path segments keep only unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path segment, percent-encoded.
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Checks a dataset reference (an id or a name) before it goes into a path:
/// both match the name rule, so anything else can never be found.
pub(crate) fn dataset_segment(reference: &str) -> Result<String> {
    if crate::names::is_uuid_like(reference) {
        return Ok(segment(reference));
    }
    crate::validate_dataset_name(reference).map_err(|reason| {
        Error::InvalidArgument(format!(
            "{reference:?} is neither a dataset id nor a valid name: {reason}"
        ))
    })?;
    Ok(segment(reference))
}

/// A request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<bytes::Bytes>,
    /// 404s on case routes may mean a missing case.
    pub(crate) case_endpoint: bool,
    /// A POST's `Idempotency-Key`: fresh per call, the same on its retries.
    pub(crate) idempotency_key: Option<String>,
    /// `If-Match` with this case version.
    pub(crate) if_version: Option<u64>,
    /// Counts the cases of the body as its bytes are sent.
    pub(crate) progress: Option<SendProgress>,
}

/// The progress of a body of cases as it is sent: each case counts once its
/// last byte has gone out, once however often the body is sent (retries).
#[derive(Clone)]
pub(crate) struct SendProgress {
    bar: Arc<crate::progress::Progress>,
    case_ends: Arc<[usize]>,
    /// Cases of this body counted so far, over every attempt.
    counted: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for SendProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendProgress")
            .field("cases", &self.case_ends.len())
            .finish_non_exhaustive()
    }
}

impl SendProgress {
    pub(crate) fn new(bar: Arc<crate::progress::Progress>, case_ends: Vec<usize>) -> Self {
        Self {
            bar,
            case_ends: case_ends.into(),
            counted: Arc::default(),
        }
    }

    /// `body` as a stream of pieces of about 64 KiB, counting the cases
    /// whose text has been handed to the connection.
    fn body(&self, body: bytes::Bytes) -> reqwest::Body {
        const PIECE: usize = 64 * 1024;
        let progress = self.clone();
        let pieces = (0..body.len().div_ceil(PIECE).max(1)).map(move |i| {
            let end = ((i + 1) * PIECE).min(body.len());
            let piece = body.slice(i * PIECE..end);
            let sent = progress
                .case_ends
                .partition_point(|case_end| *case_end <= end);
            let before = progress
                .counted
                .fetch_max(sent, std::sync::atomic::Ordering::Relaxed);
            if sent > before {
                progress.bar.advance_by(sent - before);
            }
            Ok::<_, std::io::Error>(piece)
        });
        reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
    }
}

impl Call {
    pub(crate) fn new(method: Method, path: String) -> Self {
        let idempotency_key = (method == Method::POST).then(|| uuid::Uuid::new_v4().to_string());
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            case_endpoint: false,
            idempotency_key,
            if_version: None,
            progress: None,
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|err| {
            Error::InvalidArgument(format!("cannot encode the request body: {err}"))
        })?;
        self.body = Some(bytes.into());
        Ok(self)
    }

    pub(crate) fn case_endpoint(mut self) -> Self {
        self.case_endpoint = true;
        self
    }
}

/// A boxed, sendable future: what awaiting a request builder gives.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Implements the two ways to finish a request builder: `IntoFuture` in
/// async mode, `send()` in blocking mode. Each builder defines
/// `async fn run(self) -> Result<T>` once.
macro_rules! finish {
    ($builder:ident => $output:ty) => {
        impl ::core::future::IntoFuture for $builder<$crate::client::Async> {
            type Output = $crate::Result<$output>;
            type IntoFuture = $crate::client::BoxFuture<$crate::Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.run())
            }
        }

        impl $builder<$crate::client::Blocking> {
            /// Sends the request and waits for the answer.
            pub fn send(self) -> $crate::Result<$output> {
                let mode = self.mode.clone();
                mode.block_on(self.run())
            }
        }
    };
}
pub(crate) use finish;

impl<M: Mode> DatasetsClient<M> {
    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Which server this client talks to; see [`ServerKind`].
    pub fn server_kind(&self) -> ServerKind {
        self.inner.kind
    }

    /// The async client this one is (a blocking client drives one).
    pub fn as_async(&self) -> DatasetsClient<Async> {
        DatasetsClient {
            inner: Arc::clone(&self.inner),
            refusal: self.refusal.clone(),
            mode: Async,
        }
    }

    /// How this client's requests are finished.
    pub(crate) fn mode(&self) -> &M {
        &self.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_follow_the_key_unless_given() {
        assert_eq!(infer_base_url("pylf_v1_us_x"), Some(LOGFIRE_US_URL));
        assert_eq!(infer_base_url("pylf_v1_eu_x"), Some(LOGFIRE_EU_URL));
        assert_eq!(
            infer_base_url("pylf_v1_mars_x"),
            Some(LOGFIRE_US_URL),
            "unknown regions fall back to us"
        );
        assert_eq!(infer_base_url("pylf_v1_eu"), None);
        let client = DatasetsClient::new("pylf_v1_eu_token").unwrap();
        assert_eq!(client.base_url(), LOGFIRE_EU_URL);
        let client = DatasetsClient::builder()
            .api_key("pylf_v1_eu_token")
            .base_url("http://127.0.0.1:8000/")
            .build()
            .unwrap();
        assert_eq!(
            client.base_url(),
            "http://127.0.0.1:8000",
            "an explicit URL wins"
        );
        let err = DatasetsClient::new("dsk_local").unwrap_err();
        assert!(
            err.to_string().contains("cannot infer the base URL"),
            "{err}"
        );
        assert!(DatasetsClient::new("").is_err());
        assert!(
            DatasetsClient::builder()
                .api_key("k")
                .base_url("ftp://x")
                .build()
                .is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let client = DatasetsClient::new("pylf_v1_us_secret-token").unwrap();
        assert!(!format!("{client:?}").contains("secret-token"));
        let builder = DatasetsClient::builder().api_key("pylf_v1_us_secret-token");
        assert!(!format!("{builder:?}").contains("secret-token"));
    }

    #[test]
    fn posts_are_retried_by_default_except_against_logfire() {
        let logfire = DatasetsClient::new("pylf_v1_eu_token").unwrap();
        let shown = format!("{logfire:?}");
        assert!(shown.contains("retry_posts: Some(false)"), "{shown}");
        assert_eq!(shown.matches("retry_posts").count(), 1, "{shown}");
        let own = DatasetsClient::builder()
            .api_key("dsk_x")
            .base_url("http://127.0.0.1:8000")
            .build()
            .unwrap();
        assert!(format!("{own:?}").contains("retry_posts: Some(true)"));
        let forced = DatasetsClient::builder()
            .api_key("pylf_v1_us_token")
            .retry(RetryPolicy::default().retry_posts(true))
            .build()
            .unwrap();
        assert!(format!("{forced:?}").contains("retry_posts: Some(true)"));
    }

    #[tokio::test]
    async fn upload_progress_counts_cases_as_their_bytes_are_sent_once() {
        use futures_util::StreamExt;

        let bar = Arc::new(crate::progress::Progress::new(
            Some(false),
            3,
            "Uploading cases".into(),
        ));
        // Three cases in one 200 KiB body: the first two end in the first
        // 64 KiB piece, the third at the end.
        let body = bytes::Bytes::from(vec![b' '; 200 * 1024]);
        let progress = SendProgress::new(Arc::clone(&bar), vec![10, 60_000, 200 * 1024 - 2]);
        async fn read_all(
            body: reqwest::Body,
            bar: &crate::progress::Progress,
        ) -> Vec<(usize, usize)> {
            let mut stream = http_body_util::BodyDataStream::new(body);
            let mut seen = Vec::new();
            while let Some(piece) = stream.next().await {
                seen.push((piece.unwrap().len(), bar.done()));
            }
            seen
        }
        let seen = read_all(progress.body(body.clone()), &bar).await;
        assert_eq!(seen.first(), Some(&(64 * 1024, 2)));
        assert_eq!(seen.last().map(|(_, done)| *done), Some(3));
        // A retry sends the body again; its cases are not counted twice.
        read_all(progress.body(body), &bar).await;
        assert_eq!(bar.done(), 3);
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(segment("qa-golden_set.v1~"), "qa-golden_set.v1~");
        assert!(dataset_segment("a/b").is_err());
        assert!(dataset_segment("../etc").is_err());
    }

    #[test]
    fn not_found_answers_are_told_apart_like_the_python_sdk() {
        let case_id = uuid::Uuid::nil();
        let on_case = Call::new(
            Method::GET,
            format!("/v1/datasets/qa%20set/cases/{case_id}/"),
        )
        .case_endpoint();
        let case = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Case not found"}"#,
            &on_case,
        );
        assert!(
            matches!(&case, Error::CaseNotFound { dataset: Some(d), case: Some(c), .. }
                if d == "qa set" && *c == case_id.to_string()),
            "{case:?}"
        );
        let dataset = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Dataset not found"}"#,
            &on_case,
        );
        assert!(matches!(dataset, Error::DatasetNotFound { .. }));
        let on_dataset = Call::new(Method::GET, "/v1/datasets/qa/".to_owned());
        let on_dataset_route = error_from_answer(
            StatusCode::NOT_FOUND,
            br#"{"detail":"Case not found"}"#,
            &on_dataset,
        );
        assert!(matches!(on_dataset_route, Error::DatasetNotFound { .. }));
        let html = error_from_answer(
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            &on_dataset,
        );
        assert!(
            matches!(&html, Error::Api { status: 502, detail } if detail == "<html>bad gateway</html>")
        );
    }
}
