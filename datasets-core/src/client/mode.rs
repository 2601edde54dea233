//! How a request is finished: awaited ([`Async`]) or sent from synchronous
//! code on an internal runtime ([`Blocking`]). The mode is a type parameter
//! of the client, its builders and its typed handles, below all of them, so
//! that each operation is written once for both.

use std::sync::Arc;

use super::DatasetsClient;
use crate::error::{Error, Result};

/// How request builders are finished: `.await` ([`Async`]) or `.send()`
/// ([`Blocking`]). Sealed: the crate's two modes are the only ones.
pub trait Mode: Clone + Send + Sync + 'static + sealed::Sealed {
    /// The client type a builder in this mode builds.
    type Client;

    /// Starts what the mode needs (the blocking runtime).
    #[doc(hidden)]
    fn start() -> Result<Self>;

    /// The client in this mode.
    #[doc(hidden)]
    fn client(client: DatasetsClient<Self>) -> Self::Client;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Async {}
    impl Sealed for super::Blocking {}
}

/// Request builders of the async client: `.await` them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Async;

impl Mode for Async {
    type Client = DatasetsClient<Async>;

    fn start() -> Result<Self> {
        Ok(Async)
    }

    fn client(client: DatasetsClient<Self>) -> Self::Client {
        client
    }
}

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

impl Mode for Blocking {
    type Client = BlockingClient;

    fn start() -> Result<Self> {
        Self::new()
    }

    fn client(client: DatasetsClient<Self>) -> Self::Client {
        BlockingClient(client)
    }
}

/// The blocking client of the v1 datasets API, `datasets::blocking::DatasetsClient`:
/// the client in blocking mode, with the same operations (through `Deref`)
/// finished with `.send()`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlockingClient(DatasetsClient<Blocking>);

impl std::ops::Deref for BlockingClient {
    type Target = DatasetsClient<Blocking>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

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
        crate::runtime::refuse_inside_runtime(
            "the blocking client",
            "use the async DatasetsClient and .await there, or call it from a plain std::thread",
        )?;
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(future),
            None => Err(Error::Blocking(
                "the blocking client's runtime has shut down".to_owned(),
            )),
        }
    }
}
