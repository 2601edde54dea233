#![deny(warnings)]
#![forbid(unsafe_code)]

// User types that shadow names the expansion could otherwise capture.
#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Case;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod serde_json {}

#[derive(datasets::DatasetSchema)]
#[dataset(name = "hygienic", description = "d", guidance = "g")]
struct Hygienic {
    inputs: ::std::string::String,
    metadata: u8,
}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(::datasets::DatasetSchema)]
    #[dataset(name = "no-prelude")]
    pub struct NoPrelude {
        inputs: ::std::string::String,
    }
}

fn main() {
    use datasets::DatasetSchema as _;
    let _ = Hygienic::definition();
    let _ = no_prelude::NoPrelude::definition();
}
