//! An import killed mid-way (as Ctrl-C or a lost terminal would) leaves
//! whole chunks only: every chunk is one request and one transaction, so
//! the dataset holds the file's first rows, a multiple of the chunk size,
//! in order, and nothing half-written.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Shell;

const ROWS: usize = 60_000;
const CHUNK: usize = 200;

#[test]
fn a_killed_import_leaves_whole_chunks_only() {
    let shell = Shell::new();
    shell.create("big", Value::Null, Value::Null);
    let text: String = (0..ROWS)
        .map(|i| {
            json!({"name": format!("row-{i}"), "inputs": {"n": i, "text": "x".repeat(40)}})
                .to_string()
                + "\n"
        })
        .collect();
    shell.file("big.jsonl", text);
    let mut child = shell
        .command()
        .args([
            "import",
            "big",
            "big.jsonl",
            "--chunk-size",
            &CHUNK.to_string(),
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = shell.client();
    let count = || client.get_dataset("big").send().unwrap().case_count as usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    while count() == 0 {
        assert!(Instant::now() < deadline, "no chunk landed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A request in flight when the client died is committed whole or not at all.
    let mut landed = count();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = count();
        if now == landed {
            break;
        }
        landed = now;
    }
    assert!(
        landed < ROWS,
        "the import was killed before it ended ({landed} rows landed)"
    );
    assert_eq!(
        landed % CHUNK,
        0,
        "{landed} rows: not whole chunks of {CHUNK}"
    );
    let names: Vec<String> = shell
        .cases("big")
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    let expected: Vec<String> = (0..landed).map(|i| format!("row-{i}")).collect();
    assert!(
        names == expected,
        "the file's first {landed} rows, in order"
    );

    // Importing again with upserts finishes the job, whatever landed.
    let run = shell
        .run(&[
            "import",
            "big",
            "big.jsonl",
            "--on-conflict",
            "update",
            "--quiet",
        ])
        .expect(0);
    assert!(
        run.stdout.starts_with("imported 60,000 case(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(count(), ROWS);
}
