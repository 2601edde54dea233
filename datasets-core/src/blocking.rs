//! The blocking client: the same operations as [`DatasetsClient`](crate::DatasetsClient),
//! for synchronous code.
//!
//! It runs the async client on an internal runtime, so a plain `fn main`
//! needs no runtime of its own. Request builders are the same types as the
//! async client's, finished with `.send()` instead of `.await`.
//!
//! ```no_run
//! fn main() -> datasets_core::Result<()> {
//!     let client = datasets_core::blocking::DatasetsClient::builder()
//!         .api_key("dsk_...")
//!         .base_url("http://127.0.0.1:8000")
//!         .build()?;
//!     for case in client.list_cases("qa-golden-set").tags(["geography"]).send()? {
//!         println!("{:?}: {}", case.name, case.inputs);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Calling `.send()` on a thread that is inside a tokio runtime returns
//! [`Error::Blocking`] instead of panicking or
//! deadlocking: use the async client there. That includes
//! `tokio::task::spawn_blocking` threads, since tokio offers no way to tell
//! them from runtime worker threads; a plain `std::thread` is fine.

use std::sync::Arc;
use std::time::Duration;

use crate::client::{ClientBuilder, Mode, RetryPolicy};
use crate::error::{Error, Result};

/// Request builders of the blocking client: finish them with `.send()`.
#[derive(Clone)]
pub struct Blocking {
    runtime: Arc<OwnedRuntime>,
}

/// The internal runtime, shut down without blocking when the last client
/// goes: dropping a runtime normally waits, and panics inside async code.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Blocking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blocking")
    }
}

impl Mode for Blocking {}

impl Blocking {
    fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("datasets-blocking")
            .enable_all()
            .build()
            .map_err(|err| {
                Error::Blocking(format!("cannot start the blocking client's runtime: {err}"))
            })?;
        Ok(Self {
            runtime: Arc::new(OwnedRuntime(Some(runtime))),
        })
    }

    /// Runs a request to completion on the internal runtime.
    pub(crate) fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Blocking(
                "the blocking client was called on a thread inside an async runtime (a runtime \
                 worker or a spawn_blocking thread), where it could block the runtime; use the \
                 async DatasetsClient and .await there, or call it from a plain std::thread"
                    .to_owned(),
            ));
        }
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(future),
            None => Err(Error::Blocking(
                "the blocking client's runtime has shut down".to_owned(),
            )),
        }
    }
}

/// The blocking client of the v1 datasets API. Cheap to clone.
#[derive(Clone)]
pub struct DatasetsClient {
    inner: crate::DatasetsClient,
    mode: Blocking,
}

impl std::fmt::Debug for DatasetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::DatasetsClient")
            .field(&self.inner)
            .finish()
    }
}

/// Options of a blocking [`DatasetsClient`]: the same as the async
/// client's [`ClientBuilder`].
#[derive(Debug, Default)]
pub struct BlockingClientBuilder {
    inner: ClientBuilder,
}

impl BlockingClientBuilder {
    /// The API key (required).
    pub fn api_key(self, key: impl Into<String>) -> Self {
        Self {
            inner: self.inner.api_key(key),
        }
    }

    /// The base URL; wins over the one a key implies.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        Self {
            inner: self.inner.base_url(url),
        }
    }

    /// The timeout of each attempt (default 30 s).
    pub fn timeout(self, timeout: Duration) -> Self {
        Self {
            inner: self.inner.timeout(timeout),
        }
    }

    /// How requests are retried.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        Self {
            inner: self.inner.retry(policy),
        }
    }

    /// The `User-Agent` header.
    pub fn user_agent(self, agent: impl Into<String>) -> Self {
        Self {
            inner: self.inner.user_agent(agent),
        }
    }

    /// The largest body `add_cases` and `import_cases` send in one request.
    pub fn max_request_bytes(self, bytes: usize) -> Self {
        Self {
            inner: self.inner.max_request_bytes(bytes),
        }
    }

    /// Which server this is; see [`ClientBuilder::server_kind`].
    pub fn server_kind(self, kind: crate::ServerKind) -> Self {
        Self {
            inner: self.inner.server_kind(kind),
        }
    }

    /// Whether typed handles check cases before sending; see
    /// [`ClientBuilder::validate_cases`].
    pub fn validate_cases(self, validate: bool) -> Self {
        Self {
            inner: self.inner.validate_cases(validate),
        }
    }

    /// Builds the client and its runtime.
    pub fn build(self) -> Result<DatasetsClient> {
        Ok(DatasetsClient {
            inner: self.inner.build()?,
            mode: Blocking::new()?,
        })
    }
}

impl DatasetsClient {
    /// A client with this key; the base URL is inferred from the key.
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        Self::builder().api_key(api_key).build()
    }

    /// Options, as for the async client.
    pub fn builder() -> BlockingClientBuilder {
        BlockingClientBuilder::default()
    }

    /// A client configured from the environment, as
    /// [`crate::DatasetsClient::from_env`].
    pub fn from_env() -> Result<Self> {
        Ok(Self {
            inner: crate::DatasetsClient::from_env()?,
            mode: Blocking::new()?,
        })
    }

    /// The async client this one drives.
    pub fn as_async(&self) -> &crate::DatasetsClient {
        &self.inner
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    pub(crate) fn mode(&self) -> &Blocking {
        &self.mode
    }

    /// Runs a future of the async client to completion.
    pub(crate) fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.mode.block_on(future)
    }

    crate::client::ops::operations!(
        Blocking,
        |client: &Self| client.inner.clone(),
        |client: &Self| client.mode.clone()
    );
}
