//! The unmodified Logfire Python SDK (`logfire[datasets]` 5.x) against a
//! freshly started `datasets-server` binary: `interop/logfire_sdk.py` drives
//! `LogfireAPIClient` through create, add, list, get, update, push, typed
//! `get_dataset` into a `pydantic_evals.Dataset`, and delete.
//!
//! It needs a Python with the SDK: `DATASETS_INTEROP_PYTHON` names it
//! (`scripts/test.sh` makes one in `target/interop-venv`). Without it the
//! test says it was skipped, except under CI, where that is a failure.

mod support;

use std::process::Command;

use support::{KEY, ServerProcess, TestStore};

#[test]
fn logfire_python_sdk_works_against_the_server() {
    let Some(python) = std::env::var_os("DATASETS_INTEROP_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Python interop checks: set DATASETS_INTEROP_PYTHON (scripts/test.sh does)"
        );
        eprintln!(
            "skipped: DATASETS_INTEROP_PYTHON is not set; run scripts/test.sh for the interop checks"
        );
        return;
    };
    // A SQLite file, or a fresh PostgreSQL schema on the suite's second leg.
    let store = TestStore::new();
    let server = ServerProcess::start(&store.db);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/logfire_sdk.py");
    let output = Command::new(python)
        .arg(script)
        .env("DATASETS_BASE_URL", &server.base_url)
        .env("DATASETS_API_KEY", KEY)
        .output()
        .expect("the interop Python starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the Logfire SDK interop checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
