//! Replays the CSV round-trip fuzz target's seed corpus and every input a
//! fuzzer ever failed on (`fuzz/corpus/csv_round_trip`,
//! `fuzz/regressions/csv_round_trip`). The fuzzer itself runs with
//! `cargo fuzz` (see the README).

use std::path::Path;

#[test]
fn csv_inputs_read_back_as_they_were_exported() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join("csv_round_trip")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| datasets_cli::fuzzing::csv_round_trip(&data)).is_err() {
                panic!("{} fails csv_round_trip", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 5, "the seed corpus is there");
}
