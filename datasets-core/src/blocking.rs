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

pub use crate::client::Blocking;
use crate::client::ClientBuilder;
use crate::error::Result;

/// The blocking client of the v1 datasets API. Cheap to clone.
pub use crate::client::BlockingClient as DatasetsClient;

/// Options of a blocking [`DatasetsClient`]: the async client's
/// [`ClientBuilder`], in blocking mode.
pub type BlockingClientBuilder = ClientBuilder<Blocking>;

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
        crate::client::from_env_with(Self::builder())
    }

    /// Runs a future of the async client to completion.
    pub(crate) fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.mode().block_on(future)
    }
}
