//! The server in-process, for tests and examples.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::keys::Scopes;
use crate::state::{AppState, ServerConfig};
use crate::store::SqliteStore;

/// A running server on 127.0.0.1 with an ephemeral port and a fresh SQLite
/// file in a temporary directory, and a read+write key of project `default`.
///
/// It runs on its own thread with its own tokio runtime, so it works the same
/// from `#[test]`, `#[tokio::test]` and a plain `fn main`. Dropping it stops
/// the server and removes the database.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let server = datasets_server::EmbeddedServer::start()?;
/// let url = format!("{}/v1/datasets/", server.base_url());
/// // ... send requests with `Authorization: Bearer {server.api_key()}`
/// # Ok(()) }
/// ```
pub struct EmbeddedServer {
    addr: SocketAddr,
    api_key: String,
    state: AppState,
    runtime: tokio::runtime::Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    db_path: PathBuf,
    _dir: TempDir,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("addr", &self.addr)
            .field("api_key", &"<redacted>")
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedServer {
    /// Starts a server with the default configuration.
    pub fn start() -> std::io::Result<Self> {
        Self::with_config(ServerConfig::default())
    }

    /// Starts a server with `config`.
    pub fn with_config(config: ServerConfig) -> std::io::Result<Self> {
        let dir = TempDir::new()?;
        let db_path = dir.path().join("datasets.db");
        let store = SqliteStore::open(&db_path).map_err(std::io::Error::other)?;
        let state = AppState::new(store, config);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("datasets-server".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let setup = async {
                        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                        let addr = listener.local_addr()?;
                        let (_, key) = thread_state
                            .create_key("default", Scopes::READ_WRITE, Some("embedded".to_owned()))
                            .await
                            .map_err(std::io::Error::other)?;
                        Ok::<_, std::io::Error>((listener, addr, key))
                    };
                    match setup.await {
                        Ok((listener, addr, key)) => {
                            let _ =
                                ready_tx.send(Ok((addr, key, tokio::runtime::Handle::current())));
                            let shutdown = async {
                                let _ = shutdown_rx.await;
                            };
                            if let Err(err) = crate::serve(listener, thread_state, shutdown).await {
                                tracing::error!(error = %err, "embedded server failed");
                            }
                        }
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                        }
                    }
                });
            })?;
        let (addr, api_key, runtime) = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("embedded server thread died while starting"))??;
        Ok(Self {
            addr,
            api_key,
            state,
            runtime,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            db_path,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A read+write key of project `default`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The SQLite file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Creates another key, e.g. of another project or read-only.
    pub fn create_key(&self, project: &str, scopes: Scopes) -> std::io::Result<String> {
        self.run(|state| {
            let project = project.to_owned();
            async move {
                state
                    .create_key(&project, scopes, None)
                    .await
                    .map(|(_, key)| key)
                    .map_err(std::io::Error::other)
            }
        })
    }

    /// The server's state, to reach the store directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs a future on the server's runtime from any context (sync or async)
    /// and waits for it.
    fn run<T, F, Fut>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(AppState) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let future = f(self.state.clone());
        let runtime = self.runtime.clone();
        // A helper thread, so this works inside another runtime too.
        std::thread::scope(|scope| {
            scope
                .spawn(move || runtime.block_on(future))
                .join()
                .expect("embedded server task panicked")
        })
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A directory removed on drop; small enough not to need a dependency.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(std::io::Error::other)?;
        let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("datasets-server-{name}"));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
