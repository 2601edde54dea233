//! Fuzz target: see `datasets_cli::fuzzing::csv_round_trip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| datasets_cli::fuzzing::csv_round_trip(data));
