//! Typed, managed evaluation datasets for AI systems.
//!
//! `datasets` is the one crate a user depends on. It re-exports the runtime
//! ([`datasets_core`]): the wire models of the v1 datasets API, shared with
//! Pydantic Logfire's hosted API and the self-hostable `datasets-server`.
//!
//! ```
//! use datasets::{Patch, wire::DatasetUpdate};
//!
//! // Clear the description, leave everything else as it is.
//! let update = DatasetUpdate { description: Patch::Clear, ..Default::default() };
//! assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"description":null}"#);
//! ```

pub use datasets_core::*;
