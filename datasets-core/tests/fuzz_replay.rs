//! Replays the fuzz targets' seed corpus and every input a fuzzer ever
//! crashed on (`fuzz/corpus/` and `fuzz/regressions/`), so that what was
//! found stays fixed in the ordinary test run. The fuzzers themselves run
//! with `cargo fuzz` (see the README).

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!("{} fails {target}", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs for {target}");
}

#[test]
fn evaluator_spec_inputs_read_and_round_trip() {
    replay(
        "evaluator_spec",
        datasets_core::eval::fuzzing::evaluator_spec,
    );
}

#[test]
fn dataset_file_inputs_load_and_round_trip() {
    replay("dataset_file", datasets_core::eval::fuzzing::dataset_file);
}
