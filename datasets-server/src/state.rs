//! What every handler shares: the store and the server's settings.

use std::sync::Arc;
use std::time::Duration;

use crate::keys::{self, Scopes};
use crate::store::{self, NewApiKey, Store, StoreError};

/// The default request body limit: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The default time for a request's line and headers to arrive: 10 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time a request body may send nothing: 20 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// The default time an idle keep-alive connection is kept open: 60 s.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default time an answer may wait for its client to read: 30 s.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of connections served at once: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Settings of a running server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes; larger bodies get a 413
    /// (at once, when the `Content-Length` announces one).
    pub body_limit: usize,
    /// Time for a request's line and headers to arrive, from its first byte
    /// (from the accept, for a connection's first request); a connection
    /// past it is answered 408 and closed.
    pub header_timeout: Duration,
    /// Longest wait for the next part of a request body; past it, 408.
    pub body_timeout: Duration,
    /// An idle keep-alive connection is closed after this long.
    pub keep_alive_timeout: Duration,
    /// A connection whose client reads nothing of its answer for this long
    /// is closed (the answer, and what it reads from, dropped).
    pub write_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Versions kept of each dataset: the latest this many, plus every
    /// tagged one; `None` keeps all.
    pub keep_versions: Option<u64>,
    /// Whether the web UI is served under `/ui/` (with `/` sending there).
    pub ui: bool,
    /// When the UI's cookies are marked `Secure` (sent over HTTPS only).
    pub secure_cookies: SecureCookies,
    /// Failed keys and sign-ins allowed per client address in each
    /// [`ServerConfig::failed_key_window`]; past them, 429.
    pub failed_key_limit: u32,
    /// The window failed keys are counted in.
    pub failed_key_window: Duration,
    /// Whether the client's address is the first of `X-Forwarded-For` (the
    /// server is behind a proxy that sets it), not the connection's peer.
    pub trust_forwarded_for: bool,
}

/// The default failed keys allowed per address in a window: 20.
pub const DEFAULT_FAILED_KEY_LIMIT: u32 = 20;
/// The default window failed keys are counted in: 60 s.
pub const DEFAULT_FAILED_KEY_WINDOW: Duration = Duration::from_secs(60);

/// When the UI's session cookies get the `Secure` attribute. The server
/// speaks plain HTTP; HTTPS is a proxy's, which says so in
/// `X-Forwarded-Proto`, a header a client could also send: trust it only
/// behind a proxy that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// Never (the default: the server is reached over plain HTTP).
    #[default]
    Never,
    /// When the request's `X-Forwarded-Proto` is `https`.
    WhenForwardedHttps,
    /// Always (the server is only reached over HTTPS).
    Always,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            keep_versions: None,
            ui: true,
            secure_cookies: SecureCookies::Never,
            failed_key_limit: DEFAULT_FAILED_KEY_LIMIT,
            failed_key_window: DEFAULT_FAILED_KEY_WINDOW,
            trust_forwarded_for: false,
        }
    }
}

impl ServerConfig {
    /// When the UI's cookies are marked `Secure`.
    pub fn secure_cookies(mut self, when: SecureCookies) -> Self {
        self.secure_cookies = when;
        self
    }

    /// Failed keys and sign-ins allowed per client address in `window`.
    pub fn failed_keys(mut self, limit: u32, window: Duration) -> Self {
        self.failed_key_limit = limit;
        self.failed_key_window = window;
        self
    }

    /// Whether the client's address is read from `X-Forwarded-For`.
    pub fn trust_forwarded_for(mut self, trust: bool) -> Self {
        self.trust_forwarded_for = trust;
        self
    }

    /// How long an answer may wait for its client to read.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The largest accepted request body, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Time for a request's line and headers to arrive.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Longest wait for the next part of a request body.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long an idle keep-alive connection is kept open.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.keep_alive_timeout = timeout;
        self
    }

    /// How many connections are served at once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Keeps the latest `versions` versions of each dataset (and every
    /// tagged one); `None` keeps all.
    pub fn keep_versions(mut self, versions: Option<u64>) -> Self {
        self.keep_versions = versions;
        self
    }

    /// Serves the web UI under `/ui/` (`true`, the default) or not.
    pub fn ui(mut self, on: bool) -> Self {
        self.ui = on;
        self
    }
}

/// What every handler shares: the store and the configuration. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub config: Arc<ServerConfig>,
    /// Failed keys per client address.
    pub(crate) throttle: Arc<crate::throttle::Throttle>,
    /// Whether connections are scarce (shorter timeouts then).
    pub(crate) pressure: Arc<crate::pressure::Pressure>,
}

impl AppState {
    /// A state over `store` with `config`.
    pub fn new(store: impl Store, config: ServerConfig) -> Self {
        Self::with_store(Arc::new(store), config)
    }

    /// A state over a shared store (e.g. from [`store::open`]) with `config`.
    pub fn with_store(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        store.set_keep_versions(config.keep_versions);
        let throttle = crate::throttle::Throttle::new(
            config.failed_key_limit,
            config.failed_key_window,
            config.trust_forwarded_for,
        );
        Self {
            store,
            config: Arc::new(config),
            throttle: Arc::new(throttle),
            pressure: Arc::default(),
        }
    }

    /// Creates a key for `project` (creating the project if absent) and
    /// returns the key; only its hash is stored.
    pub async fn create_key(
        &self,
        project: &str,
        scopes: Scopes,
        name: Option<String>,
    ) -> Result<(store::ApiKeyRecord, String), StoreError> {
        let project = self.store.ensure_project(project).await?;
        let key = keys::generate_key();
        let record = self
            .store
            .insert_key(NewApiKey {
                project_id: project.id,
                name,
                prefix: keys::display_prefix(&key),
                key_hash: keys::hash_key(&key),
                scopes,
            })
            .await?;
        Ok((record, key))
    }

    /// Makes sure the server can be used at start-up.
    ///
    /// With `bootstrap_key`, that key exists (read and write, project
    /// `default`) afterwards. Without it, a database with no keys at all gets
    /// project `default` and one read+write key, which is returned so the
    /// caller can print it once.
    pub async fn bootstrap(
        &self,
        bootstrap_key: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(key) = bootstrap_key {
            let hash = keys::hash_key(key);
            if self.store.find_key(&hash).await?.is_none() {
                let project = self.store.ensure_project("default").await?;
                let inserted = self
                    .store
                    .insert_key(NewApiKey {
                        project_id: project.id,
                        name: Some("bootstrap".to_owned()),
                        prefix: keys::display_prefix(key),
                        key_hash: hash,
                        scopes: Scopes::READ_WRITE,
                    })
                    .await;
                match inserted {
                    // Another server starting beside this one stored it first.
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(err) => return Err(err),
                }
            }
            return Ok(None);
        }
        let project = self.store.ensure_project("default").await?;
        let key = keys::generate_key();
        let first = self
            .store
            .insert_first_key(NewApiKey {
                project_id: project.id,
                name: Some("initial".to_owned()),
                prefix: keys::display_prefix(&key),
                key_hash: keys::hash_key(&key),
                scopes: Scopes::READ_WRITE,
            })
            .await?;
        Ok(first.map(|_| key))
    }
}
