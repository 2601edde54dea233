//! The client of the v1 datasets API: [`DatasetsClient`].

pub(crate) mod answer;
mod mode;
mod operations;
pub(crate) mod ops;
mod pages;
mod retry;
pub(crate) mod split;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderMap, HeaderValue};

pub use mode::{Async, Blocking, BlockingClient, Mode};
pub use ops::{
    AddCase, AddCases, CompareExperiments, CreateCase, CreateDataset, DeleteCase, DeleteCases,
    DeleteDataset, DeleteExperiment, Diff, ExportDataset, GetCase, GetDataset, GetExperiment,
    GetVersion, ImportCases, ListCases, ListDatasets, ListExperiments, ListVersions, PushDataset,
    RecordExperiment, TagVersion, UpdateCase, UpdateDataset, VersionRef,
};
pub(crate) use ops::{UploadOptions, upload_options};
pub use pages::{CaseIter, CaseStream, DEFAULT_PAGE_SIZE};
pub use retry::RetryPolicy;
pub use transport::BoxFuture;
pub(crate) use transport::{BodySink, Call, SendProgress, decode};

use crate::error::{Error, Result};

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

/// A base URL as requests are built on it: without a trailing `/` and
/// without a final `/v1` (every path starts with `/v1/`, so a URL copied
/// with it works); one without a scheme is refused, saying to add it.
fn normalize_base_url(url: &str) -> Result<String> {
    let trimmed = url.trim();
    if !trimmed.contains("://") {
        return Err(Error::InvalidArgument(format!(
            "base URL {url:?} has no scheme: add http:// or https:// (for example \
             \"http://{trimmed}\")"
        )));
    }
    let trimmed = trimmed.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    Ok(trimmed.trim_end_matches('/').to_owned())
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
        let base_url = normalize_base_url(&base_url)?;
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
                base_url,
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

/// Implements the two ways to finish a request builder, the client's and
/// the typed handles' alike: `IntoFuture` in async mode, `send()` in
/// blocking mode. Each builder defines `async fn run(self) -> Result<T>`
/// once; its mode is its last type parameter, after any named in `<..>`
/// (e.g. `finish!(AddCase<D: DatasetSchema> => StoredCaseOf<D>)`).
macro_rules! finish {
    ($builder:ident $(<$($param:ident: $bound:path),+>)? => $output:ty) => {
        impl$(<$($param: $bound),+>)? ::core::future::IntoFuture
            for $builder<$($($param,)+)? $crate::client::Async>
        {
            type Output = $crate::Result<$output>;
            type IntoFuture = $crate::client::BoxFuture<$crate::Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.run())
            }
        }

        impl$(<$($param: $bound),+>)? $builder<$($($param,)+)? $crate::client::Blocking> {
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

    /// This client, refusing every request with `why` before sending it.
    pub(crate) fn refusing(&self, why: String) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            refusal: Some(why.into()),
            mode: self.mode.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_may_end_in_v1_and_must_have_a_scheme() {
        let base = |url: &str| {
            DatasetsClient::builder()
                .api_key("k")
                .base_url(url)
                .build()
                .map(|client| client.base_url().to_owned())
        };
        assert_eq!(
            base("http://127.0.0.1:8000/v1").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            base("https://h.example/api/v1/").unwrap(),
            "https://h.example/api"
        );
        assert_eq!(
            base("http://h.example/v10").unwrap(),
            "http://h.example/v10"
        );
        let err = base("localhost:8000").unwrap_err().to_string();
        assert!(
            err.contains("add http:// or https://") && err.contains("\"http://localhost:8000\""),
            "{err}"
        );
    }

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

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(segment("qa-golden_set.v1~"), "qa-golden_set.v1~");
        assert!(dataset_segment("a/b").is_err());
        assert!(dataset_segment("../etc").is_err());
    }
}
