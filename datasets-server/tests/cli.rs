//! The `datasets-server` command line: first start, bootstrap keys, and the
//! key lifecycle (create, list without secrets, revoke), against the binary.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::{ServerProcess, temp_db};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_datasets-server"))
}

fn run(args: &[&str], db: &std::path::Path) -> (bool, String, String) {
    let output = bin().args(args).arg("--db").arg(db).output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

async fn status_with(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v1/datasets/"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Starts the binary without a bootstrap key and returns what it printed
/// before listening, and the process.
fn start_plain(db: &std::path::Path) -> (Vec<String>, std::process::Child, String) {
    let mut child = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .env_remove("DATASETS_BOOTSTRAP_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(url) = line.strip_prefix("datasets-server listening on ") {
            break url.to_owned();
        }
        printed.push(line);
    };
    (printed, child, base)
}

#[tokio::test]
async fn first_start_prints_one_key_once() {
    let (_dir, db) = temp_db();
    let (printed, mut child, base) = start_plain(&db);
    let key = printed.last().expect("a key is printed").clone();
    assert!(key.starts_with("dsk_"), "{printed:?}");
    assert_eq!(status_with(&base, &key).await, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    let (printed, mut child, base) = start_plain(&db);
    assert!(printed.is_empty(), "no second key: {printed:?}");
    assert_eq!(
        status_with(&base, &key).await,
        200,
        "the first key still works"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_bootstrap_key_is_created_once_and_nothing_is_printed() {
    let (_dir, db) = temp_db();
    for _ in 0..2 {
        let server = ServerProcess::start(&db);
        assert_eq!(status_with(&server.base_url, support::KEY).await, 200);
        server.kill();
    }
    let (ok, listed, _) = run(&["keys", "list"], &db);
    assert!(ok);
    assert_eq!(listed.lines().count(), 2, "a header and one key: {listed}");
    assert!(listed.contains("bootstrap") && listed.contains("default"));
}

/// Server options written before a subcommand used to be dropped in
/// silence (`--db team.db keys create` wrote to `./datasets.db`); they are
/// refused now, naming the option, and no database is touched.
#[test]
fn options_before_a_subcommand_are_refused_not_ignored() {
    let (_dir, db) = temp_db();
    let cwd = tempfile::tempdir().unwrap();
    for subcommand in [&["keys", "create"][..], &["keys", "list"]] {
        let output = bin()
            .current_dir(cwd.path())
            .arg("--db")
            .arg(&db)
            .args(subcommand)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{subcommand:?}: {stderr}");
        assert!(stderr.contains("--db"), "{subcommand:?}: {stderr}");
        assert!(!db.exists(), "{subcommand:?} created {}", db.display());
        assert_eq!(
            std::fs::read_dir(cwd.path()).unwrap().count(),
            0,
            "{subcommand:?} wrote a database in the working directory"
        );
    }
    // The same option after the subcommand, and from the environment, work.
    let (ok, _, stderr) = run(&["keys", "list"], &db);
    assert!(ok, "{stderr}");
    let output = bin()
        .current_dir(cwd.path())
        .env("DATASETS_DB", &db)
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
}

#[tokio::test]
async fn keys_are_created_listed_without_secrets_and_revoked() {
    let (_dir, db) = temp_db();
    let (ok, key, _) = run(
        &[
            "keys",
            "create",
            "--project",
            "team-a",
            "--scopes",
            "read",
            "--name",
            "ci",
        ],
        &db,
    );
    assert!(ok);
    let key = key.trim().to_owned();
    assert!(key.starts_with("dsk_") && key.len() == 68, "{key}");

    let (ok, listed, _) = run(&["keys", "list"], &db);
    assert!(ok);
    assert!(!listed.contains(&key), "secrets are never listed");
    assert!(
        !listed.contains(&key[4..12]),
        "no part of a secret is listed: {listed}"
    );
    assert!(
        listed.contains("team-a")
            && listed.contains("project:read_datasets")
            && listed.contains("active")
    );
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let server = ServerProcess::start(&db);
    assert_eq!(status_with(&server.base_url, &key).await, 200);
    let created = reqwest::Client::new()
        .post(format!("{}/v1/datasets/", server.base_url))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 403, "read-only");

    let (ok, _, said) = run(&["keys", "revoke", &id], &db);
    assert!(ok, "{said}");
    assert_eq!(
        status_with(&server.base_url, &key).await,
        401,
        "effective on the next request"
    );
    let (_, listed, _) = run(&["keys", "list"], &db);
    assert!(listed.contains("revoked"));

    let (ok, _, said) = run(
        &["keys", "revoke", "00000000-0000-0000-0000-000000000000"],
        &db,
    );
    assert!(!ok && said.contains("no key with id"), "{said}");
    let (ok, _, said) = run(&["keys", "create", "--scopes", "admin"], &db);
    assert!(!ok && said.contains("unknown scope \"admin\""), "{said}");
}

#[test]
fn the_embedded_server_serves_until_dropped() {
    let server = datasets_server::EmbeddedServer::start().unwrap();
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(status_with(&server.base_url(), server.api_key()).await, 200);
        let other = server
            .create_key("other", datasets_server::auth::Scopes::READ_ONLY)
            .unwrap();
        assert_eq!(status_with(&server.base_url(), &other).await, 200);
    });
    // On PostgreSQL (the suite's second leg) its data is a schema instead.
    let on_sqlite = !server.is_postgres();
    let db = server.db_path().to_owned();
    assert_eq!(db.exists(), on_sqlite);
    // A keep-alive connection held open across the drop: the server closes
    // it when it stops. (Connecting anew after the drop would race any
    // other process that binds the freed port.)
    let mut held = std::net::TcpStream::connect(addr).unwrap();
    held.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut held, b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n").unwrap();
    let mut answer = [0u8; 12];
    std::io::Read::read_exact(&mut held, &mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    drop(server);
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut held, &mut rest)
        .expect("the server closed the connection when it stopped");
    assert!(!db.exists(), "its database is removed");
}

#[tokio::test]
async fn logs_to_a_file_carry_no_colour_codes() {
    let (_dir, db) = temp_db();
    let log = db.with_extension("log");
    let mut child = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env_remove("DATASETS_BOOTSTRAP_KEY")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (key, base) = loop {
        let line = lines.next().unwrap().unwrap();
        if line.starts_with("dsk_") {
            let next = lines.next().unwrap().unwrap();
            let base = next
                .strip_prefix("datasets-server listening on ")
                .unwrap()
                .to_owned();
            break (line, base);
        }
    };
    assert_eq!(status_with(&base, &key).await, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("request"),
        "the request was logged: {written}"
    );
    assert!(!written.contains('\u{1b}'), "no ANSI escapes: {written:?}");
}

/// Children killed when dropped, so a failing test leaves no server behind.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn servers_starting_together_on_an_empty_database_create_one_first_key() {
    let (_dir, db) = temp_db();
    // Three servers at once on one new database, no bootstrap key: exactly
    // one of them creates (and prints) the first key.
    let mut children = Children(
        (0..3)
            .map(|_| {
                bin()
                    .args(["serve", "--addr", "127.0.0.1:0", "--db"])
                    .arg(&db)
                    .env_remove("DATASETS_BOOTSTRAP_KEY")
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    for child in &mut children.0 {
        let stdout = child.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut printed_key = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                printed_key |= line.starts_with("dsk_");
                if line.starts_with("datasets-server listening on ") {
                    let _ = tx.send(Some(printed_key));
                    return;
                }
            }
            let _ = tx.send(None);
        });
    }
    let mut printed_keys = 0;
    for _ in 0..3 {
        let started = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("every server starts within a minute");
        let printed = started.expect("every server starts and listens");
        printed_keys += usize::from(printed);
    }
    drop(children);
    assert_eq!(printed_keys, 1);
    let (ok, listed, _) = run(&["keys", "list"], &db);
    assert!(ok);
    assert_eq!(listed.lines().count(), 2, "a header and one key: {listed}");
}

#[test]
fn an_unreachable_postgres_is_one_clear_line_without_the_password() {
    let url = "postgres://app:s3cret@127.0.0.1:1/evals";
    for args in [
        vec!["serve", "--addr", "127.0.0.1:0", "--db", url],
        vec!["keys", "list", "--db", url],
        vec!["keys", "create", "--db", url],
    ] {
        let output = bin()
            .args(&args)
            .env_remove("DATASETS_BOOTSTRAP_KEY")
            .output()
            .unwrap();
        let said = String::from_utf8(output.stderr).unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert_eq!(said.trim().lines().count(), 1, "{said}");
        assert!(
            said.starts_with("error: cannot connect to PostgreSQL"),
            "{said}"
        );
        assert!(
            said.contains("postgres://app:***@127.0.0.1:1/evals"),
            "{said}"
        );
        assert!(
            !said.contains("s3cret") && !said.contains("panicked"),
            "{said}"
        );
    }
}

/// A server whose address is taken says so, and leaves nothing behind: no
/// database file, no key printed (a key printed for a database that was
/// never served would be a secret for nothing).
#[test]
fn a_server_that_cannot_listen_creates_no_database_and_prints_no_key() {
    let (_dir, db) = temp_db();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, stdout, stderr) = run(&["serve", "--addr", &addr], &db);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(!stdout.contains("dsk_"), "a key was printed: {stdout}");
    assert!(!db.exists(), "a database was created at {}", db.display());
}

/// `keys create --help` names the scopes as `keys list` prints them.
#[test]
fn keys_create_help_names_the_scopes_as_the_list_shows_them() {
    let output = bin().args(["keys", "create", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.contains("project:read_datasets") && help.contains("project:write_datasets"),
        "{help}"
    );
}
