//! Fuzz target: see `datasets_server::fuzzing::otlp_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| datasets_server::fuzzing::otlp_body(data));
