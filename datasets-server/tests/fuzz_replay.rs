//! Replays the server's fuzz targets' seed corpora and every input a
//! fuzzer ever crashed on (`fuzz/corpus/<target>`,
//! `fuzz/regressions/<target>`). The fuzzer itself runs with
//! `cargo fuzz` (see the README).

use std::path::Path;

/// Runs `target` on every input of its corpus and regressions.
fn replay(name: &str, target: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(name)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                panic!("{} fails {name}", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs for {name}");
}

#[test]
fn request_body_inputs_decode_and_validate_without_panicking() {
    replay("request_body", datasets_server::fuzzing::request_body);
}

#[test]
fn otlp_body_inputs_decode_within_limits_without_panicking() {
    replay("otlp_body", datasets_server::fuzzing::otlp_body);
}
