//! Support for the command line's tests: the real server in-process on
//! 127.0.0.1, the built `datasets` binary run against it as a user runs it
//! (environment for the key and URL, stdin not a terminal), and a blocking
//! client to see what landed.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use datasets_core::blocking::DatasetsClient;
use datasets_server::EmbeddedServer;

/// A server, a scratch folder, and the binary pointed at both.
pub struct Shell {
    pub server: EmbeddedServer,
    pub dir: tempfile::TempDir,
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, showing the output, unless the run exited with `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Shell {
    pub fn new() -> Self {
        Self {
            server: EmbeddedServer::start().expect("the server starts"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The binary, with the server's key and URL in its environment, run in
    /// the scratch folder.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_datasets"));
        command
            .current_dir(self.dir.path())
            .env("DATASETS_API_KEY", self.server.api_key())
            .env("DATASETS_BASE_URL", self.server.base_url())
            .env_remove("LOGFIRE_API_KEY")
            .stdin(Stdio::null());
        command
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command().args(args))
    }

    /// A file in the scratch folder, written with `text`.
    pub fn file(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A file of the scratch folder, read.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_else(|err| panic!("{name}: {err}"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A client of the server, to see what landed.
    pub fn client(&self) -> DatasetsClient {
        DatasetsClient::builder()
            .api_key(self.server.api_key())
            .base_url(self.server.base_url())
            .build()
            .unwrap()
    }

    /// The dataset's cases as `datasets cases --jsonl` would list them.
    pub fn cases(&self, dataset: &str) -> Vec<datasets_core::wire::CaseDetail> {
        self.client().list_cases(dataset).send().unwrap()
    }

    /// Creates a dataset with these schemas (JSON values, or null).
    pub fn create(&self, name: &str, input: serde_json::Value, output: serde_json::Value) {
        let mut args = vec!["create".to_owned(), name.to_owned()];
        for (flag, schema) in [("--input-schema", input), ("--output-schema", output)] {
            if !schema.is_null() {
                let file = self.file(&format!("{name}{flag}.json"), schema.to_string());
                args.push(flag.to_owned());
                args.push(file.display().to_string());
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args).expect(0);
    }
}

/// Runs a prepared command to its end.
pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// The text of a path, for arguments.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The interop Python (a virtualenv with `pydantic-evals`, made by
/// `scripts/test.sh`), or `None` with a note. Under `CI` its absence fails
/// the test instead of skipping it.
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

/// Runs the repository's `interop/pydantic_evals_files.py` with `args`;
/// panics with its output when it fails.
pub fn pydantic_evals(python: &Path, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/pydantic_evals_files.py");
    let output = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("the interop Python starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "pydantic-evals check failed:\n{stdout}\n{stderr}"
    );
}
