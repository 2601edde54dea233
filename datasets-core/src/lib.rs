//! Runtime of the [`datasets`](https://docs.rs/datasets) crate.
//!
//! This crate holds what the client and the server of the v1 datasets API
//! share: the wire models ([`wire`]), the three-state [`Patch`] used by update
//! bodies, and the naming rules ([`names`]). The HTTP client lives behind the
//! `client` feature (on by default), so the server builds without reqwest.

pub mod names;
mod patch;
pub mod wire;

pub use names::{DATASET_NAME_MAX_LEN, validate_dataset_name};
pub use patch::Patch;
