//! Files an attacker writes, through `datasets import` and `push`: each is
//! refused promptly with an error naming the file's line, and nothing is
//! stored. (The harness's `Dataset::from_file` reads YAML with the same
//! bounds; see `datasets-core`'s YAML loader tests.)

mod support;

use std::time::{Duration, Instant};

use support::Shell;

/// A 400-byte "billion laughs" pydantic-evals file: nine levels of lists
/// each holding the last nine times, about 387 million values expanded.
fn laughs() -> String {
    let mut text = String::from("cases:\n- name: a\n  inputs: &a0 [lol]\n");
    for level in 1..=9 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("- name: l{level}\n  inputs: &a{level} [{refs}]\n"));
    }
    text
}

#[test]
fn a_billion_laughs_yaml_file_is_refused_at_its_line() {
    let shell = Shell::new();
    shell.run(&["create", "laughs"]).expect(0);
    let text = laughs();
    assert!(text.len() < 700, "{}", text.len());
    shell.file("laughs.yaml", &text);
    for args in [
        &["import", "laughs", "laughs.yaml"][..],
        &["push", "laughs.yaml", "--name", "laughs"][..],
    ] {
        let started = Instant::now();
        let run = shell.run(args).expect(1);
        assert!(
            run.stderr.contains("laughs.yaml")
                && run.stderr.contains("more than 1000000 values")
                && run.stderr.contains("line "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?}");
    }
    assert!(shell.cases("laughs").is_empty());
}

#[test]
fn a_yaml_file_nested_100000_deep_is_refused_not_a_stack_overflow() {
    let shell = Shell::new();
    shell.run(&["create", "deep"]).expect(0);
    let text = format!(
        "cases:\n- name: a\n  inputs:\n  {}x\n",
        "- ".repeat(100_000)
    );
    shell.file("deep.yaml", &text);
    let run = shell.run(&["import", "deep", "deep.yaml"]).expect(1);
    assert!(
        run.stderr.contains("deep.yaml: ")
            && run.stderr.contains("nest deeper than 128 levels")
            && run.stderr.contains("line 4"),
        "{}",
        run.stderr
    );
    assert!(shell.cases("deep").is_empty());
}

/// A row larger than a request may carry is a refused row with its line,
/// never sent (the server would answer 413 for its whole chunk), and with
/// --skip-invalid it goes to the rejects file while the rest lands.
#[test]
fn a_row_over_the_body_limit_is_refused_before_sending() {
    let shell = Shell::new();
    shell.run(&["create", "big"]).expect(0);
    // Over the default 32 MiB limit.
    let huge = "x".repeat(33 * 1024 * 1024);
    let text =
        format!("{{\"inputs\": \"a\"}}\n{{\"inputs\": \"{huge}\"}}\n{{\"inputs\": \"c\"}}\n");
    shell.file("big.jsonl", &text);
    let run = shell.run(&["import", "big", "big.jsonl"]).expect(1);
    assert!(
        run.stderr
            .contains("line 2: the row is 34,603,022 bytes, over the 33,554,432 a request carries"),
        "{}",
        run.stderr
    );
    // The chunk before it landed (the large row starts a chunk of its own);
    // nothing from it on.
    assert_eq!(shell.cases("big").len(), 1);
    shell.run(&["create", "skipping"]).expect(0);
    let run = shell
        .run(&["import", "skipping", "big.jsonl", "--skip-invalid"])
        .expect(0);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    let inputs: Vec<_> = shell
        .cases("skipping")
        .into_iter()
        .map(|c| c.inputs)
        .collect();
    assert_eq!(inputs, [serde_json::json!("a"), serde_json::json!("c")]);
    let rejects = std::fs::read_to_string(shell.path("skipping.rejects.jsonl")).unwrap();
    assert_eq!(rejects.len(), huge.len() + 15, "the refused row, as it was");
    // The limit is a flag, for servers with another body limit; CSV too.
    shell.file(
        "rows.csv",
        "inputs.q\nshort\n".to_owned() + &"y".repeat(2000) + "\n",
    );
    shell.run(&["create", "csv"]).expect(0);
    let run = shell
        .run(&["import", "csv", "rows.csv", "--max-row-bytes", "1000"])
        .expect(1);
    assert!(
        run.stderr
            .contains("line 3: the row is 2,019 bytes, over the 1,000"),
        "{}",
        run.stderr
    );
}
