//! Replays the request-body fuzz target's seed corpus and every input a
//! fuzzer ever crashed on (`fuzz/corpus/request_body`,
//! `fuzz/regressions/request_body`). The fuzzer itself runs with
//! `cargo fuzz` (see the README).

use std::path::Path;

#[test]
fn request_body_inputs_decode_and_validate_without_panicking() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join("request_body")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| datasets_server::fuzzing::request_body(&data)).is_err() {
                panic!("{} fails request_body", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0);
}
