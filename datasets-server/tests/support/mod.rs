//! The `datasets-server` binary as a child process, for tests that need a
//! real process: killing it, restarting it, or pointing another program at it.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The key every spawned server is bootstrapped with.
pub const KEY: &str = "dsk_process_test_key";

pub struct ServerProcess {
    child: Child,
    pub base_url: String,
}

impl ServerProcess {
    /// Starts the binary on an ephemeral port of 127.0.0.1 over `db`, and
    /// waits until it listens.
    pub fn start(db: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_datasets-server"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("DATASETS_BOOTSTRAP_KEY", KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the datasets-server binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            let line = lines
                .next()
                .expect("the server prints its address before anything else")
                .unwrap();
            if let Some(url) = line.strip_prefix("datasets-server listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, base_url }
    }

    /// Starts the binary as [`start`](Self::start) does, logging at `trace`
    /// into the returned buffer (stdout and stderr both).
    pub fn start_logged(db: &Path) -> (Self, std::sync::Arc<std::sync::Mutex<String>>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_datasets-server"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("DATASETS_BOOTSTRAP_KEY", KEY)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the datasets-server binary starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = stderr_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base_url = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(url) = line.strip_prefix("datasets-server listening on ") {
                break url.trim().to_owned();
            }
        };
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = stdout_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        (Self { child, base_url }, log)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for a database, removed at the end of the test.
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("datasets.db");
    (dir, path)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Where a spawned server keeps its data: a SQLite file, or, on the suite's
/// PostgreSQL leg (`DATASETS_EMBEDDED_POSTGRES_URL` set), a fresh schema of
/// that database, dropped with this value.
pub struct TestStore {
    /// What to pass as `--db`.
    pub db: PathBuf,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestStore {
    pub fn new() -> Self {
        let (dir, path) = temp_db();
        match std::env::var("DATASETS_EMBEDDED_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let schema = format!("process_{:016x}", fastrand::u64(..));
                postgres_statement(&url, &format!("CREATE SCHEMA {schema}"));
                let separator = if url.contains('?') { '&' } else { '?' };
                Self {
                    db: PathBuf::from(format!("{url}{separator}options=-csearch_path%3D{schema}")),
                    _dir: dir,
                    postgres: Some((url, schema)),
                }
            }
            _ => Self {
                db: path,
                _dir: dir,
                postgres: None,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.postgres {
            postgres_statement(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Runs `sql` on the database at `url`, from any context.
fn postgres_statement(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("PostgreSQL at DATASETS_EMBEDDED_POSTGRES_URL answers");
                let driver = tokio::spawn(connection);
                client.batch_execute(&sql).await.unwrap();
                drop(client);
                let _ = driver.await;
            });
    })
    .join()
    .unwrap();
}
