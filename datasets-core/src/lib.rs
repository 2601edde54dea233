//! Runtime of the [`datasets`](https://docs.rs/datasets) crate.
//!
//! This crate holds what the client and the server of the v1 datasets API
//! share: the wire models ([`wire`]), the three-state [`Patch`] used by update
//! bodies, the naming rules ([`names`]) and the [`Error`] type. With the
//! `client` feature (on by default) it also holds the async
//! [`DatasetsClient`] and the [`blocking`] one; the server builds without it,
//! and so without reqwest.

#[cfg(feature = "client")]
pub mod blocking;
#[cfg(feature = "client")]
pub mod client;
mod error;
pub mod names;
mod patch;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{ClientBuilder, DatasetsClient, RetryPolicy};
pub use error::{Error, Result};
pub use names::{DATASET_NAME_MAX_LEN, validate_dataset_name};
pub use patch::Patch;
