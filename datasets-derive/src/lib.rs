//! Derive macros of the [`datasets`](https://docs.rs/datasets) crate.
//!
//! Use them through `datasets` (`use datasets::DatasetSchema;`), which
//! re-exports them next to the trait of the same name.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod suggest;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

#[doc = include_str!("../attributes.md")]
#[proc_macro_derive(DatasetSchema, attributes(dataset))]
pub fn derive_dataset_schema(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
