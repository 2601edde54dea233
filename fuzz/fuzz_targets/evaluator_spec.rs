//! Fuzz target: see `datasets_core::eval::fuzzing::evaluator_spec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| datasets_core::eval::fuzzing::evaluator_spec(data));
