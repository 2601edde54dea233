//! Fuzz target: see `datasets_server::fuzzing::request_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| datasets_server::fuzzing::request_body(data));
