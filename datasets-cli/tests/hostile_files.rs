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
