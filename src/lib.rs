//! Typed, managed evaluation datasets for AI systems.
//!
//! `datasets` is the one crate a user depends on. It re-exports the runtime
//! ([`datasets_core`]): the async [`DatasetsClient`] and the [`blocking`] one,
//! which speak the v1 datasets API of Pydantic Logfire's hosted service and
//! of the self-hostable `datasets-server` alike, the [`wire`] models both
//! share, and the one [`Error`] type.
//!
//! ```no_run
//! use datasets::DatasetsClient;
//! use datasets::wire::NewCase;
//! use serde_json::json;
//!
//! # async fn run() -> datasets::Result<()> {
//! let client = DatasetsClient::new("pylf_v1_us_...")?; // base URL from the key's region
//! client
//!     .create_dataset("qa-golden-set")
//!     .input_schema(json!({"type": "object", "required": ["question"]}))
//!     .await?;
//! client
//!     .add_case("qa-golden-set", NewCase::new(json!({"question": "What is 2+2?"})))
//!     .tags(["math"])
//!     .await?;
//! # Ok(()) }
//! ```

pub use datasets_core::*;
/// Declares a dataset; see the attribute reference on the macro.
pub use datasets_derive::DatasetSchema;

#[doc(hidden)]
pub use datasets_core::__private;
/// Any JSON value: the type of an `expected_output` or `metadata` a
/// declaration leaves out, and of untyped cases.
pub use serde_json::Value;

/// The whole server in-process on 127.0.0.1, with a fresh SQLite database
/// that is removed when it is dropped: for tests of your own eval code.
/// With the `embedded-server` feature.
///
/// ```no_run
/// # async fn run() -> datasets::Result<()> {
/// let server = datasets::EmbeddedServer::start()?;
/// let client = datasets::DatasetsClient::builder()
///     .api_key(server.api_key())
///     .base_url(server.base_url())
///     .build()?;
/// client.create_dataset("scratch").await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "embedded-server")]
pub use datasets_server::EmbeddedServer;
/// The settings of an [`EmbeddedServer`] (body limit, timeouts,
/// connection cap), for [`EmbeddedServer::with_config`].
#[cfg(feature = "embedded-server")]
pub use datasets_server::ServerConfig;

// The README's examples compile as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
