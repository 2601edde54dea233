//! Every command of the `datasets` binary against the real server: what
//! it prints, what it changes, and its exit codes (0 success, 1 failure,
//! 2 usage).

mod support;

use serde_json::{Value, json};
use support::Shell;

fn qa_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"question": {"type": "string"}},
        "required": ["question"]
    })
}

#[test]
fn create_ls_show_and_cases() {
    let shell = Shell::new();
    let schema = shell.file("input.json", qa_schema().to_string());
    let run = shell
        .run(&[
            "create",
            "qa-golden-set",
            "--input-schema",
            &support::arg(&schema),
            "--description",
            "Golden questions",
        ])
        .expect(0);
    assert!(
        run.stdout.starts_with("created dataset qa-golden-set ("),
        "{}",
        run.stdout
    );
    let detail = shell.client().get_dataset("qa-golden-set").send().unwrap();
    assert_eq!(detail.input_schema, Some(qa_schema()));
    assert_eq!(detail.description.as_deref(), Some("Golden questions"));

    // A taken name, and a schema file that is not JSON, fail with 1.
    let run = shell.run(&["create", "qa-golden-set"]).expect(1);
    assert!(run.stderr.contains("409"), "{}", run.stderr);
    let broken = shell.file("broken.json", "{\"type\": ");
    let run = shell
        .run(&["create", "other", "--input-schema", &support::arg(&broken)])
        .expect(1);
    assert!(
        run.stderr.contains("broken.json: not JSON (line 1"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    shell.file(
        "cases.jsonl",
        "{\"name\": \"capital\", \"inputs\": {\"question\": \"Capital of France?\"}, \"expected_output\": \"Paris\", \"tags\": [\"geography\"]}\n\
         {\"name\": \"sum\", \"inputs\": {\"question\": \"2+2?\"}, \"expected_output\": \"4\", \"tags\": [\"math\"]}\n\
         {\"inputs\": {\"question\": \"Largest ocean?\"}, \"tags\": [\"geography\"]}\n",
    );
    shell
        .run(&["import", "qa-golden-set", "cases.jsonl"])
        .expect(0);

    let run = shell.run(&["ls"]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("CASES"),
        "{}",
        run.stdout
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..3], ["qa-golden-set", "3", "2"], "{}", run.stdout);
    let listed: Value =
        serde_json::from_str(&shell.run(&["ls", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(listed[0]["name"], "qa-golden-set");
    assert_eq!(listed[0]["case_count"], 3);

    let run = shell.run(&["show", "qa-golden-set"]).expect(0);
    assert!(run.stdout.contains("cases:       3"), "{}", run.stdout);
    assert!(
        run.stdout.contains("description: Golden questions"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\"question\""),
        "the schema is shown: {}",
        run.stdout
    );
    assert!(run.stdout.contains("output schema: none"), "{}", run.stdout);
    let shown: Value = serde_json::from_str(
        &shell
            .run(&["show", "qa-golden-set", "--json"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(shown["input_schema"], qa_schema());

    let run = shell.run(&["cases", "qa-golden-set"]).expect(0);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    assert!(
        run.stdout.contains("capital") && run.stdout.contains("Paris"),
        "{}",
        run.stdout
    );
    let run = shell
        .run(&["cases", "qa-golden-set", "--tag", "geography", "--jsonl"])
        .expect(0);
    let names: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["inputs"]["question"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("Capital of France?"), json!("Largest ocean?")]
    );
    let run = shell
        .run(&["cases", "qa-golden-set", "--limit", "2", "--json"])
        .expect(0);
    let array: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(array.len(), 2);
    assert_eq!(array[1]["name"], "sum");
    let run = shell
        .run(&["cases", "qa-golden-set", "--tag", "none", "--json"])
        .expect(0);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!([])
    );
    // The cases as they were at version 1: none yet.
    let run = shell
        .run(&["cases", "qa-golden-set", "--version", "1", "--jsonl"])
        .expect(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn versions_tag_and_diff() {
    let shell = Shell::new();
    shell.create("qa", Value::Null, Value::Null);
    shell.file(
        "a.jsonl",
        "{\"name\": \"a\", \"inputs\": 1}\n{\"name\": \"b\", \"inputs\": 2}\n",
    );
    shell.run(&["import", "qa", "a.jsonl"]).expect(0);
    shell.file(
        "b.jsonl",
        "{\"name\": \"b\", \"inputs\": 3}\n{\"name\": \"c\", \"inputs\": 4}\n",
    );
    shell
        .run(&["import", "qa", "b.jsonl", "--on-conflict", "update"])
        .expect(0);

    let run = shell.run(&["versions", "qa"]).expect(0);
    let lines: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0][0], "VERSION");
    // Newest first: version 3 added c and changed b; 2 added a and b.
    assert_eq!(lines[1][0], "3");
    assert_eq!(&lines[1][3..7], ["1", "1", "0", "3"], "{}", run.stdout);
    assert_eq!(&lines[2][3..7], ["2", "0", "0", "2"], "{}", run.stdout);
    let json: Vec<Value> = serde_json::from_str(
        &shell
            .run(&["versions", "qa", "--json", "--limit", "1"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["version"], 3);

    let run = shell.run(&["tag", "qa", "2", "first-import"]).expect(0);
    assert!(run.stdout.contains("first-import"), "{}", run.stdout);
    let run = shell.run(&["diff", "qa", "first-import", "3"]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with("~ ") && lines[0].ends_with(" b (inputs)"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("+ ") && lines[1].ends_with(" c"),
        "{}",
        run.stdout
    );
    assert_eq!(lines[2], "first-import -> 3: 1 added, 1 changed, 0 removed");
    let json: Vec<Value> = serde_json::from_str(
        &shell
            .run(&["diff", "qa", "2", "3", "--json"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(json.len(), 2);
    assert_eq!(json[0]["change"], "changed");

    let run = shell.run(&["diff", "qa", "2", "99"]).expect(1);
    assert_eq!(
        run.stderr.trim(),
        "error: version 99 of dataset `qa` not found (Version 99 not found)"
    );
    let run = shell.run(&["diff", "qa", "nope", "2"]).expect(1);
    assert_eq!(
        run.stderr.trim(),
        "error: version tagged \"nope\" of dataset `qa` not found (Version tagged \"nope\" not found)"
    );
}

#[test]
fn rm_and_rm_cases_ask_unless_yes() {
    let shell = Shell::new();
    shell.create("qa", Value::Null, Value::Null);
    shell.file(
        "cases.jsonl",
        "{\"inputs\": 1, \"tags\": [\"draft\"]}\n{\"inputs\": 2, \"tags\": [\"draft\", \"x\"]}\n{\"inputs\": 3}\n{\"inputs\": 4, \"tags\": [\"old\"]}\n",
    );
    shell.run(&["import", "qa", "cases.jsonl"]).expect(0);

    // Stdin is not a terminal: without --yes, nothing is deleted.
    let run = shell.run(&["rm-cases", "qa", "--tag", "draft"]).expect(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(shell.cases("qa").len(), 4);
    let run = shell.run(&["rm", "qa"]).expect(2);
    assert!(
        run.stderr.contains("refusing to delete dataset \"qa\""),
        "{}",
        run.stderr
    );
    assert_eq!(shell.cases("qa").len(), 4);

    let run = shell
        .run(&["rm-cases", "qa", "--tag", "draft", "--tag", "old", "--yes"])
        .expect(0);
    assert_eq!(run.stdout.trim(), "deleted 3 case(s) from qa");
    let left = shell.cases("qa");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].inputs, json!(3));

    let id = left[0].id.to_string();
    shell.run(&["rm-cases", "qa", "--id", &id, "-y"]).expect(0);
    assert!(shell.cases("qa").is_empty());
    // Neither ids nor tags: a usage error; both: too.
    shell.run(&["rm-cases", "qa", "--yes"]).expect(2);
    shell
        .run(&["rm-cases", "qa", "--id", &id, "--tag", "x", "--yes"])
        .expect(2);
    shell
        .run(&["rm-cases", "qa", "--id", "not-a-uuid", "--yes"])
        .expect(2);

    shell.run(&["rm", "qa", "--yes"]).expect(0);
    let run = shell.run(&["show", "qa"]).expect(1);
    assert_eq!(
        run.stderr.trim(),
        "error: dataset `qa` not found (Dataset not found)"
    );
    shell.run(&["rm", "qa", "--yes"]).expect(1);
}

#[test]
fn push_upserts_a_pydantic_evals_file_by_case_name() {
    let shell = Shell::new();
    let file = |expected: &str| {
        format!(
            "# yaml-language-server: $schema=golden_schema.json\n\
             name: golden\n\
             cases:\n\
             - name: capital\n  inputs:\n    question: Capital of France?\n  expected_output: {expected}\n  evaluators:\n  - EqualsExpected\n\
             - name: sum\n  inputs:\n    question: 2+2?\n  expected_output: '4'\n\
             evaluators:\n- Contains: a\n"
        )
    };
    shell.file("golden.yaml", file("Paris"));
    let run = shell.run(&["push", "golden.yaml"]).expect(0);
    assert_eq!(
        run.stdout.trim(),
        "pushed 2 case(s) to golden, which now has 2 case(s)"
    );
    shell.file("golden.yaml", file("Paris, France"));
    shell.run(&["push", "golden.yaml"]).expect(0);
    let cases = shell.cases("golden");
    assert_eq!(cases.len(), 2, "pushing again updates the named cases");
    assert_eq!(cases[0].expected_output, Some(json!("Paris, France")));
    assert_eq!(
        cases[0].evaluators.as_ref().unwrap()[0].name,
        "EqualsExpected"
    );
    let dataset = shell.client().get_dataset("golden").send().unwrap();
    assert_eq!(dataset.evaluators.unwrap()[0].name, "Contains");

    // Another name, and a file that is not pydantic-evals'.
    shell
        .run(&["push", "golden.yaml", "--name", "golden-copy"])
        .expect(0);
    assert_eq!(shell.cases("golden-copy").len(), 2);
    shell.file("bad.yaml", "cases:\n- inputs: 1\n  expected: 2\n");
    let run = shell.run(&["push", "bad.yaml"]).expect(1);
    assert!(
        run.stderr.contains("cases[0]"),
        "the path of the bad key: {}",
        run.stderr
    );
    shell.run(&["push", "golden.txt"]).expect(2);
}

#[test]
fn usage_errors_exit_2_and_failures_1() {
    let shell = Shell::new();
    let help = shell.run(&["--help"]).expect(0).stdout;
    assert!(
        help.contains("import") && help.contains("Exit codes"),
        "{help}"
    );
    for command in [
        "ls",
        "show",
        "create",
        "cases",
        "import",
        "export",
        "push",
        "rm",
        "rm-cases",
        "versions",
        "diff",
        "tag",
        "completions",
    ] {
        let run = shell.run(&[command, "--help"]).expect(0);
        assert!(
            run.stdout.contains("Usage: datasets"),
            "{command}: {}",
            run.stdout
        );
    }
    shell.run(&["frobnicate"]).expect(2);
    shell.run(&["ls", "--bogus"]).expect(2);
    shell.run(&["import", "qa"]).expect(2);
    shell.run(&["cases", "qa", "--json", "--jsonl"]).expect(2);

    // No key, no server: usage errors, said in one line.
    let run = support::run(shell.command().arg("ls").env_remove("DATASETS_API_KEY"));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("DATASETS_API_KEY"), "{}", run.stderr);
    let run = support::run(shell.command().arg("ls").env_remove("DATASETS_BASE_URL"));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--base-url"), "{}", run.stderr);
    // A wrong key and an unreachable server: failures.
    let run = support::run(shell.command().args(["ls", "--api-key", "dsk_wrong"]));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    let run = support::run(
        shell
            .command()
            .args(["ls", "--base-url", "http://127.0.0.1:9"]),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: cannot reach the server"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Error {"),
        "no debug dumps: {}",
        run.stderr
    );
}

#[test]
fn completions_for_each_shell() {
    let shell = Shell::new();
    for (name, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef datasets"),
        ("fish", "complete -c datasets"),
    ] {
        let run = shell.run(&["completions", name]).expect(0);
        assert!(
            run.stdout.contains(marker),
            "{name}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        assert!(
            run.stdout.contains("rm-cases"),
            "{name} completes the commands"
        );
    }
    shell.run(&["completions", "tcsh"]).expect(2);
}
