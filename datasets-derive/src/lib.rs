//! Derive macros of the [`datasets`](https://docs.rs/datasets) crate.
//!
//! `#[derive(DatasetSchema)]` and its `#[dataset(...)]` attribute arrive with
//! the derive work; this crate is the workspace's place for them.
