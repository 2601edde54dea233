//! Runtime of the [`datasets`](https://docs.rs/datasets) crate.
//!
//! This crate holds what the client and the server of the v1 datasets API
//! share: the wire models ([`wire`]), the three-state [`Patch`] used by update
//! bodies, the naming rules ([`names`]), the [`Error`] type, and typed
//! [`Case`]s and local [`eval::Dataset`]s. With the `client` feature (on by
//! default) it also holds the async [`DatasetsClient`] and the [`blocking`]
//! one, the [`DatasetSchema`] trait behind `#[derive(DatasetSchema)]`, typed
//! [`DatasetHandle`]s and the [`registry`]; the server builds without it, and
//! so without reqwest and schemars.

#[cfg(any(feature = "client", feature = "eval"))]
mod backoff;
#[cfg(feature = "client")]
pub mod blocking;
mod case;
#[cfg(feature = "client")]
pub mod client;
mod error;
pub mod eval;
#[cfg(feature = "client")]
pub mod handle;
pub mod json_guard;
pub mod names;
mod patch;
#[cfg(any(feature = "client", feature = "eval"))]
mod progress;
#[cfg(feature = "rules")]
pub mod rules;
#[cfg(any(feature = "client", feature = "eval"))]
mod runtime;
#[cfg(feature = "client")]
pub mod schema;
pub mod strict;
pub mod wire;

pub use case::{Case, StoredCase};
#[cfg(feature = "client")]
pub use client::{ClientBuilder, DatasetsClient, RetryPolicy, ServerKind, VersionRef};
pub use error::{Error, Result};
#[cfg(feature = "client")]
pub use handle::DatasetHandle;
pub use names::{DATASET_NAME_MAX_LEN, validate_dataset_name};
pub use patch::Patch;
#[cfg(feature = "client")]
pub use schema::{
    DatasetDefinition, DatasetSchema, EnsureAction, Ensured, Registry, SyncReport, registry,
    schema_of,
};

/// What `#[derive(DatasetSchema)]` expands to names, through the `datasets`
/// crate. Not a public API.
#[cfg(feature = "client")]
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use serde_json;

    pub use crate::schema::{DatasetDefinition, DatasetSchema, Registration, schema_of};

    /// Implemented by the derive to read the declaration's fields, which
    /// exist only to name types: without a read, every declaration would
    /// warn that its fields are never read.
    pub trait DeclaredFields {
        /// Touches every field.
        fn declared_fields(&self);
    }
}
