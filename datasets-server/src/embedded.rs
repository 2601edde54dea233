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
/// [`EmbeddedServer::on_postgres`] starts one on a fresh schema of an
/// existing PostgreSQL database instead, dropped with the server. When the
/// environment variable `DATASETS_EMBEDDED_POSTGRES_URL` holds a PostgreSQL
/// URL, [`start`](Self::start) and [`with_config`](Self::with_config) do the
/// same on it, so that one test suite runs against either store.
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
    /// The PostgreSQL URL and schema the server uses, dropped with it.
    postgres: Option<(String, String)>,
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

    /// Starts a server with `config` (on PostgreSQL when
    /// `DATASETS_EMBEDDED_POSTGRES_URL` says so; see the type's documentation).
    pub fn with_config(config: ServerConfig) -> std::io::Result<Self> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Self::on_postgres(url.trim(), config),
            _ => Self::launch(config, None),
        }
    }

    /// Starts a server with `config` on a fresh schema of the existing
    /// PostgreSQL database at `url`; the schema is dropped when the server is.
    pub fn on_postgres(url: &str, config: ServerConfig) -> std::io::Result<Self> {
        if !crate::store::is_postgres_url(url) {
            return Err(std::io::Error::other(format!(
                "{url:?} is not a postgres:// URL"
            )));
        }
        let schema = format!("embedded_{}", random_hex()?);
        on_helper_runtime(postgres_statement(url, format!("CREATE SCHEMA {schema}")))?;
        let separator = if url.contains('?') { '&' } else { '?' };
        let store_url = format!("{url}{separator}options=-csearch_path%3D{schema}");
        let mut server = Self::launch(config, Some(store_url));
        if let Ok(server) = &mut server {
            server.postgres = Some((url.to_owned(), schema));
        } else {
            let _ = on_helper_runtime(postgres_statement(
                url,
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            ));
        }
        server
    }

    fn launch(config: ServerConfig, postgres_url: Option<String>) -> std::io::Result<Self> {
        let dir = TempDir::new()?;
        let db_path = dir.path().join("datasets.db");
        let store: std::sync::Arc<dyn crate::store::Store> = match &postgres_url {
            Some(url) => std::sync::Arc::new(
                on_helper_runtime(async { crate::store::PostgresStore::connect(url).await })
                    .map_err(std::io::Error::other)?,
            ),
            None => {
                std::sync::Arc::new(SqliteStore::open(&db_path).map_err(std::io::Error::other)?)
            }
        };
        let state = AppState::with_store(store, config);
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
            postgres: None,
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

    /// The SQLite file (none is used on PostgreSQL).
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Whether the server keeps its data on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
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
        if let Some((url, schema)) = self.postgres.take() {
            let _ = on_helper_runtime(postgres_statement(
                &url,
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            ));
        }
    }
}

/// The variable that moves embedded servers onto PostgreSQL.
const POSTGRES_URL_VAR: &str = "DATASETS_EMBEDDED_POSTGRES_URL";

/// Runs `future` to completion on a runtime of its own, on a helper thread,
/// so that it works from sync code and inside another runtime alike.
fn on_helper_runtime<T: Send, E: std::fmt::Display + Send>(
    future: impl std::future::Future<Output = Result<T, E>> + Send,
) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(future)
                    .map_err(|err| std::io::Error::other(err.to_string()))
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("helper thread panicked")))
    })
}

/// One statement on the database at `url`, on a connection of its own.
async fn postgres_statement(url: &str, sql: String) -> Result<(), String> {
    let shown = crate::store::redact_url(url);
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|err| format!("cannot connect to {shown}: {err}"))?;
    let driver = tokio::spawn(connection);
    let result = client
        .batch_execute(&sql)
        .await
        .map_err(|err| format!("{sql} on {shown}: {err}"));
    drop(client);
    let _ = driver.await;
    result
}

/// Random hex, for names no other server uses.
fn random_hex() -> std::io::Result<String> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(std::io::Error::other)?;
    Ok(suffix.iter().map(|b| format!("{b:02x}")).collect())
}

/// A directory removed on drop; small enough not to need a dependency.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let name = random_hex()?;
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
