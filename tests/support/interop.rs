//! The interop Python (a virtualenv with `logfire` and `pydantic-evals`,
//! made by `scripts/test.sh`) and the scripts in `interop/` it runs.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The interop Python, or `None` (with a note) when it is not configured.
/// Under `CI` a missing interpreter fails the test instead of skipping it.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("DATASETS_INTEROP_PYTHON") {
        Some(python) => Some(PathBuf::from(python)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the pydantic-evals interop checks: set DATASETS_INTEROP_PYTHON \
                 (scripts/test.sh does)"
            );
            eprintln!("skipped: DATASETS_INTEROP_PYTHON is not set; run scripts/test.sh");
            None
        }
    }
}

/// Runs `interop/<script>` with `args`, echoing its output; panics with
/// its stdout and stderr when it fails.
pub fn run(python: &Path, script: &str, args: &[&dyn AsRef<OsStr>]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(script);
    let mut command = Command::new(python);
    command.arg(script);
    for arg in args {
        command.arg(arg);
    }
    let output = command.output().expect("the interop Python starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "pydantic-evals check failed:\n{stdout}\n{stderr}"
    );
}
