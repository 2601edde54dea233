//! `datasets import` and `datasets export` against the real server: CSV as
//! spreadsheets write it, column mappings into nested objects typed by the
//! schema, invalid rows with and without `--skip-invalid`, conflicts, and
//! export → import round trips in every format.

mod support;

use serde_json::{Value, json};
use support::Shell;

fn typed_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "question": {"type": "string"},
            "context": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string"},
                    "level": {"type": "integer"},
                    "weight": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    "verified": {"type": "boolean"},
                    "sources": {"type": "array", "items": {"type": "string"}}
                }
            }
        },
        "required": ["question"]
    })
}

#[test]
fn csv_with_quotes_newlines_a_bom_and_a_nested_mapping() {
    let shell = Shell::new();
    shell.create("qa", typed_schema(), json!({"type": "string"}));
    // A spreadsheet's export: a BOM, quoted fields with commas, quotes and
    // a line break, CRLF line ends, an empty cell, and an unmapped column.
    shell.file(
        "sheet.csv",
        "\u{feff}id,question,context.topic,context.level,context.weight,context.verified,answer,category,tags,notes\r\n\
         q1,\"What is \"\"2+2\"\", in words?\",math,1,0.5,true,four,easy,\"arith, basics\",x\r\n\
         q2,\"Name the ocean\nbetween Africa and Australia\",geo,,,FALSE,Indian,hard,geo,\r\n\
         q3,Capital of France?,geo,2,3,false,Paris,,,\r\n",
    );
    let run = shell
        .run(&[
            "import",
            "qa",
            "sheet.csv",
            "--inputs",
            "question,context.topic,context.level,context.weight,context.verified",
            "--expected",
            "answer",
            "--metadata",
            "category",
            "--tags-column",
            "tags",
            "--name-column",
            "id",
        ])
        .expect(0);
    assert!(
        run.stdout.starts_with("imported 3 case(s) into qa"),
        "{}",
        run.stdout
    );
    let cases = shell.cases("qa");
    assert_eq!(cases.len(), 3);
    // Columns that are not named stay out; the header's own names are keys.
    assert_eq!(cases[0].name.as_deref(), Some("q1"));
    assert_eq!(
        cases[0].inputs,
        json!({"question": "What is \"2+2\", in words?", "context": {"topic": "math", "level": 1, "weight": 0.5, "verified": true}})
    );
    assert_eq!(cases[0].tags, ["arith", "basics"]);
    assert_eq!(cases[0].expected_output, Some(json!("four")));
    assert_eq!(cases[0].metadata, Some(json!({"category": "easy"})));
    assert_eq!(
        cases[1].inputs,
        json!({"question": "Name the ocean\nbetween Africa and Australia", "context": {"topic": "geo", "verified": false}})
    );
    assert_eq!(cases[2].metadata, None, "an empty cell is absent");
    assert!(cases[2].tags.is_empty());
    let _ = run;
}

#[test]
fn mapping_columns_types_cells_by_the_schema() {
    let shell = Shell::new();
    shell.create("qa", typed_schema(), json!({"type": "integer"}));
    shell.file(
        "sheet.csv",
        "question,context.topic,context.level,context.weight,context.verified,context.sources,answer\n\
         Why?,sky,3,0.25,true,\"[\"\"a\"\", \"\"b\"\"]\",42\n\
         How?,sea,,,,,7\n",
    );
    shell
        .run(&[
            "import",
            "qa",
            "sheet.csv",
            "--inputs",
            "question,context.topic,context.level,context.weight,context.verified,context.sources",
            "--expected",
            "answer",
        ])
        .expect(0);
    let cases = shell.cases("qa");
    assert_eq!(
        cases[0].inputs,
        json!({"question": "Why?", "context": {"topic": "sky", "level": 3, "weight": 0.25, "verified": true, "sources": ["a", "b"]}})
    );
    // The output schema says integer: one column is the whole value.
    assert_eq!(cases[0].expected_output, Some(json!(42)));
    assert_eq!(
        cases[1].inputs,
        json!({"question": "How?", "context": {"topic": "sea"}})
    );

    // A mapping that names a missing column, or two columns for a
    // non-object part, is a usage error naming the problem; nothing lands.
    let run = shell
        .run(&["import", "qa", "sheet.csv", "--inputs", "question,topic"])
        .expect(2);
    assert!(run.stderr.contains("\"topic\""), "{}", run.stderr);
    let run = shell
        .run(&[
            "import",
            "qa",
            "sheet.csv",
            "--inputs",
            "question",
            "--expected",
            "answer,question",
        ])
        .expect(2);
    assert!(run.stderr.contains("exactly one column"), "{}", run.stderr);
    assert_eq!(shell.cases("qa").len(), 2);
    // Without mapping flags, an unknown column is named.
    let run = shell.run(&["import", "qa", "sheet.csv"]).expect(2);
    assert!(
        run.stderr.contains("column 1 \"question\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_row_the_schema_refuses_stops_the_import_at_its_chunk() {
    let shell = Shell::new();
    shell.create("qa", typed_schema(), Value::Null);
    let mut lines: Vec<String> = (0..10)
        .map(|i| {
            json!({"name": format!("row-{i}"), "inputs": {"question": format!("Q{i}")}}).to_string()
        })
        .collect();
    lines[6] = json!({"name": "row-6", "inputs": {"question": 6}}).to_string();
    shell.file("cases.jsonl", lines.join("\n") + "\n");
    let run = shell
        .run(&["import", "qa", "cases.jsonl", "--chunk-size", "3"])
        .expect(1);
    let stderr: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(stderr.len(), 2, "{}", run.stderr);
    assert_eq!(
        stderr[0],
        "error: line 7: inputs.question: 6 is not of type \"string\""
    );
    assert_eq!(
        stderr[1],
        "6 row(s) were imported, up to line 6; the chunk of line 7 to line 9 was not, nor anything after it"
    );
    let names: Vec<String> = shell
        .cases("qa")
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        ["row-0", "row-1", "row-2", "row-3", "row-4", "row-5"]
    );
}

#[test]
fn skip_invalid_writes_refused_rows_beside_the_file_and_goes_on() {
    let shell = Shell::new();
    shell.create("qa", typed_schema(), Value::Null);
    let mut lines: Vec<String> = (0..10)
        .map(|i| {
            json!({"name": format!("row-{i}"), "inputs": {"question": format!("Q{i}")}}).to_string()
        })
        .collect();
    lines[4] = "{\"name\": \"row-4\", \"inputs\": {\"question\": 4}}".to_owned();
    lines[5] = "{\"name\": \"row-5\", \"input\": {}}".to_owned();
    lines[8] = "{not json".to_owned();
    std::fs::create_dir(shell.path("data")).unwrap();
    shell.file("data/cases.jsonl", lines.join("\n") + "\n");
    let run = shell
        .run(&[
            "import",
            "qa",
            "data/cases.jsonl",
            "--chunk-size",
            "4",
            "--skip-invalid",
        ])
        .expect(0);
    assert!(
        run.stdout.starts_with("imported 7 case(s) into qa"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("line 5: refused: inputs.question: 4 is not of type \"string\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 6: refused: unknown field \"input\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 9: refused: not JSON"),
        "{}",
        run.stderr
    );
    // Beside the input, named after the dataset.
    assert!(
        run.stderr
            .contains("3 refused row(s) written to data/qa.rejects.jsonl"),
        "{}",
        run.stderr
    );
    // The rows as they were, in file order.
    assert_eq!(
        shell.read("data/qa.rejects.jsonl"),
        format!("{}\n{}\n{}\n", lines[4], lines[5], lines[8])
    );
    let names: Vec<String> = shell
        .cases("qa")
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        [
            "row-0", "row-1", "row-2", "row-3", "row-6", "row-7", "row-9"
        ]
    );

    // A later run that refuses nothing leaves no stale rejects behind.
    shell.file("data/fixed.jsonl", "{\"inputs\": {\"question\": \"Q4\"}}\n");
    shell
        .run(&["import", "qa", "data/fixed.jsonl", "--skip-invalid"])
        .expect(0);
    assert!(!shell.path("data/qa.rejects.jsonl").exists());
}

#[test]
fn skip_invalid_keeps_csv_and_json_rejects_in_their_format() {
    let shell = Shell::new();
    shell.create("qa", typed_schema(), Value::Null);
    shell.file(
        "s.csv",
        "inputs.question,inputs.context.level\nok,1\n\"multi\nline\",not-a-number\n",
    );
    shell
        .run(&["import", "qa", "s.csv", "--skip-invalid"])
        .expect(0);
    assert_eq!(
        shell.read("qa.rejects.csv"),
        "inputs.question,inputs.context.level\n\"multi\nline\",not-a-number\n"
    );
    shell.file("a.json", r#"[{"inputs": {"question": "fine"}}, {"inputs": {"question": false}}, {"inputs": {"question": "also"}}]"#);
    let run = shell
        .run(&["import", "qa", "a.json", "--skip-invalid"])
        .expect(0);
    assert!(
        run.stderr.contains("element [1]: refused"),
        "{}",
        run.stderr
    );
    let rejects: Value = serde_json::from_str(&shell.read("qa.rejects.json")).unwrap();
    assert_eq!(rejects, json!([{"inputs": {"question": false}}]));
    assert_eq!(shell.cases("qa").len(), 3);
    // A pydantic-evals file's refused cases make a pydantic-evals file.
    shell.file(
        "golden.yaml",
        "cases:\n- name: good\n  inputs:\n    question: fine\n- name: bad\n  inputs:\n    question: 3\n  expected_output: x\n",
    );
    let run = shell
        .run(&["import", "qa", "golden.yaml", "--skip-invalid"])
        .expect(0);
    assert!(
        run.stderr.contains("cases[1]: refused: inputs.question"),
        "{}",
        run.stderr
    );
    let rejects = shell.read("qa.rejects.yaml");
    assert!(
        rejects.contains("- name: bad\n  inputs:\n    question: 3\n"),
        "{rejects}"
    );
    assert_eq!(shell.cases("qa").len(), 4);
}

#[test]
fn taken_names_fail_unless_updated() {
    let shell = Shell::new();
    shell.create("qa", Value::Null, Value::Null);
    shell.file(
        "a.jsonl",
        "{\"name\": \"a\", \"inputs\": 1}\n{\"name\": \"b\", \"inputs\": 2}\n",
    );
    shell
        .run(&["import", "qa", "a.jsonl", "--tag", "batch-1"])
        .expect(0);
    let run = shell.run(&["import", "qa", "a.jsonl"]).expect(1);
    assert!(
        run.stderr.contains("--on-conflict update"),
        "{}",
        run.stderr
    );
    shell.file(
        "a.jsonl",
        "{\"name\": \"a\", \"inputs\": 10}\n{\"name\": \"c\", \"inputs\": 3}\n",
    );
    shell
        .run(&["import", "qa", "a.jsonl", "--on-conflict", "update"])
        .expect(0);
    let cases: Vec<(Option<String>, Value, Vec<String>)> = shell
        .cases("qa")
        .into_iter()
        .map(|c| (c.name, c.inputs, c.tags))
        .collect();
    assert_eq!(
        cases,
        [
            // Upserted: the tags it had stay, as the line gives none.
            (Some("a".into()), json!(10), vec!["batch-1".into()]),
            (Some("b".into()), json!(2), vec!["batch-1".into()]),
            (Some("c".into()), json!(3), vec![]),
        ]
    );
    // A missing dataset and a missing file: failures, nothing else.
    shell.run(&["import", "nope", "a.jsonl"]).expect(1);
    shell.file("empty.csv", "");
    let run = shell.run(&["import", "qa", "empty.csv"]).expect(1);
    assert_eq!(
        run.stderr,
        "error: empty.csv: the CSV file is empty: it needs a header row\n"
    );
    let run = shell.run(&["import", "qa", "missing.jsonl"]).expect(1);
    assert!(
        run.stderr.contains("cannot open missing.jsonl"),
        "{}",
        run.stderr
    );
    // Stdin, with its format said.
    let mut command = shell.command();
    command.args(["import", "qa", "-", "--format", "jsonl"]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"inputs\": 99}\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(shell.cases("qa").last().unwrap().inputs, json!(99));
}

/// Cases worth round-tripping: names, tags, nested and typed values,
/// arrays, text with commas, quotes and line breaks.
fn rich_cases() -> String {
    [
        json!({"name": "capital", "inputs": {"question": "Capital of France?", "context": {"topic": "geo", "level": 1, "weight": 0.5, "verified": true, "sources": ["atlas", "wiki"]}}, "expected_output": "Paris", "metadata": {"difficulty": "easy", "reviewed": "yes"}, "tags": ["geography", "capitals"]}),
        json!({"name": "quote", "inputs": {"question": "Say \"hi\", twice\nthen stop"}, "expected_output": "hi, hi", "tags": ["text"]}),
        json!({"inputs": {"question": "Unnamed"}, "metadata": {"difficulty": "hard"}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n")
        + "\n"
}

#[test]
fn export_then_import_round_trips_in_every_format() {
    let shell = Shell::new();
    let output = json!({"type": "string"});
    let metadata = json!({"type": "object", "properties": {"difficulty": {"type": "string"}, "reviewed": {"type": "string"}}});
    shell.create("source", typed_schema(), output.clone());
    let meta = shell.file("meta.json", metadata.to_string());
    shell.file("rich.jsonl", rich_cases());
    shell.run(&["import", "source", "rich.jsonl"]).expect(0);
    let source = shell.cases("source");
    let key = |c: &datasets_core::wire::CaseDetail| {
        (
            c.name.clone(),
            c.inputs.clone(),
            c.expected_output.clone(),
            c.metadata.clone(),
        )
    };
    for extension in ["yaml", "json", "jsonl", "csv"] {
        let target = format!("copy-{extension}");
        shell.create(&target, typed_schema(), output.clone());
        shell
            .client()
            .update_dataset(&target)
            .metadata_schema(metadata.clone())
            .send()
            .unwrap();
        let first = format!("first.{extension}");
        let run = shell.run(&["export", "source", "-o", &first]).expect(0);
        assert_eq!(
            run.stdout.trim(),
            format!("exported 3 case(s) of source to {first}")
        );
        shell.run(&["import", &target, &first]).expect(0);
        let copied = shell.cases(&target);
        assert_eq!(
            copied.iter().map(key).collect::<Vec<_>>(),
            source.iter().map(key).collect::<Vec<_>>(),
            "{extension}"
        );
        if extension == "jsonl" || extension == "csv" {
            // These formats carry tags too.
            let tags: Vec<_> = copied.iter().map(|c| c.tags.clone()).collect();
            assert_eq!(
                tags,
                source.iter().map(|c| c.tags.clone()).collect::<Vec<_>>(),
                "{extension}"
            );
        }
        let second = format!("second.{extension}");
        shell.run(&["export", &target, "-o", &second]).expect(0);
        assert_eq!(
            shell
                .read(&first)
                .replace("name: source\n", &format!("name: {target}\n"))
                .replace("\"name\": \"source\"", &format!("\"name\": \"{target}\"")),
            shell.read(&second),
            "{extension}: the exports are the same"
        );
    }
    let _ = meta;
    assert_eq!(
        shell.read("first.csv").lines().next().unwrap(),
        "name,tags,inputs.question,inputs.context.topic,inputs.context.level,inputs.context.weight,\
         inputs.context.verified,inputs.context.sources,expected_output,metadata.difficulty,metadata.reviewed"
    );
    // pydantic-evals' own shape, and an older version by number.
    let yaml = shell.read("first.yaml");
    assert!(
        yaml.starts_with("name: source\ncases:\n- name: capital\n"),
        "{yaml}"
    );
    shell
        .run(&["export", "source", "-o", "v1.jsonl", "--version", "1"])
        .expect(0);
    assert_eq!(shell.read("v1.jsonl"), "");
    shell
        .run(&["export", "source", "-o", "with.yaml", "--with-schema"])
        .expect(0);
    assert!(
        shell
            .read("with.yaml")
            .starts_with("# yaml-language-server: $schema=with_schema.json\n")
    );
    assert!(shell.path("with_schema.json").exists());
    let run = shell
        .run(&["export", "source", "-o", "-", "--format", "jsonl"])
        .expect(0);
    assert_eq!(run.stdout, shell.read("first.jsonl"));
    shell.run(&["export", "source", "-o", "out.txt"]).expect(2);
    let run = shell
        .run(&["export", "source", "-o", "missing/out.csv"])
        .expect(1);
    assert_eq!(
        run.stderr.trim(),
        "error: cannot write missing/out.csv: no folder missing"
    );
}

/// HumanEval's shape, as its JSONL ships: flat keys, multi-line code.
const HUMANEVAL: &str = include_str!("../../tests/fixtures/humaneval_shaped.jsonl");

const HUMANEVAL_FLAGS: [&str; 8] = [
    "--inputs",
    "prompt,entry_point",
    "--expected",
    "canonical_solution,test",
    "--metadata",
    "task_id",
    "--name-column",
    "task_id",
];

#[test]
fn flat_jsonl_and_json_arrays_take_the_mapping_flags_and_round_trip_every_format() {
    let shell = Shell::new();
    let rows: Vec<Value> = HUMANEVAL
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    shell.file("humaneval.jsonl", HUMANEVAL);
    shell.file("humaneval.json", Value::Array(rows.clone()).to_string());
    for (dataset, file) in [
        ("he-jsonl", "humaneval.jsonl"),
        ("he-json", "humaneval.json"),
    ] {
        shell.run(&["create", dataset]).expect(0);
        let mut args = vec!["import", dataset, file];
        args.extend(HUMANEVAL_FLAGS);
        shell.run(&args).expect(0);
        let cases = shell.cases(dataset);
        assert_eq!(cases.len(), rows.len());
        for (case, row) in cases.iter().zip(&rows) {
            assert_eq!(case.name.as_deref(), row["task_id"].as_str());
            assert_eq!(
                case.inputs,
                json!({"prompt": row["prompt"], "entry_point": row["entry_point"]})
            );
            assert_eq!(
                case.expected_output,
                Some(json!({"canonical_solution": row["canonical_solution"], "test": row["test"]}))
            );
            assert_eq!(case.metadata, Some(json!({"task_id": row["task_id"]})));
        }
    }
    // Every export format reads back the same cases, code and CR LF included.
    let source = shell.cases("he-jsonl");
    let key = |c: &datasets_core::wire::CaseDetail| {
        (
            c.name.clone(),
            c.inputs.clone(),
            c.expected_output.clone(),
            c.metadata.clone(),
        )
    };
    for extension in ["yaml", "json", "jsonl", "csv"] {
        let target = format!("he-{extension}-copy");
        shell.run(&["create", &target]).expect(0);
        let file = format!("he.{extension}");
        shell.run(&["export", "he-jsonl", "-o", &file]).expect(0);
        shell.run(&["import", &target, &file]).expect(0);
        assert_eq!(
            shell.cases(&target).iter().map(key).collect::<Vec<_>>(),
            source.iter().map(key).collect::<Vec<_>>(),
            "{extension}"
        );
    }
    // The same file again with --on-conflict update changes nothing: no version.
    let versions = |dataset: &str| shell.client().list_versions(dataset).send().unwrap().len();
    let before = versions("he-jsonl");
    let mut args = vec![
        "import",
        "he-jsonl",
        "humaneval.jsonl",
        "--on-conflict",
        "update",
    ];
    args.extend(HUMANEVAL_FLAGS);
    shell.run(&args).expect(0);
    assert_eq!(
        versions("he-jsonl"),
        before,
        "an unchanged re-import made a version"
    );
    assert!(shell.cases("he-jsonl").iter().all(|case| case.version == 1));
}

#[test]
fn mapping_flags_that_cannot_apply_are_usage_errors() {
    let shell = Shell::new();
    shell.run(&["create", "d"]).expect(0);
    shell.file("evals.yaml", "cases:\n- name: a\n  inputs: 1\n");
    shell.file("evals.json", r#"{"cases": [{"name": "a", "inputs": 1}]}"#);
    for file in ["evals.yaml", "evals.json"] {
        let run = shell.run(&["import", "d", file, "--inputs", "x"]).expect(2);
        assert!(
            run.stderr
                .contains("the mapping flags apply to CSV, JSONL and JSON arrays"),
            "{}",
            run.stderr
        );
    }
    shell.file("rows.jsonl", "{\"a\": 1}\n");
    let run = shell
        .run(&["import", "d", "rows.jsonl", "--name-column", "a"])
        .expect(2);
    assert!(run.stderr.contains("needs --inputs"), "{}", run.stderr);
    assert!(shell.cases("d").is_empty());
}

#[test]
fn a_name_repeated_in_one_file_refuses_the_later_row_naming_both_lines() {
    let shell = Shell::new();
    shell.run(&["create", "d"]).expect(0);
    shell.file(
        "dup.jsonl",
        "{\"name\": \"a\", \"inputs\": 1}\n{\"name\": \"b\", \"inputs\": 2}\n\n{\"name\": \"a\", \"inputs\": 3}\n",
    );
    for conflict in ["error", "update"] {
        let run = shell
            .run(&["import", "d", "dup.jsonl", "--on-conflict", conflict])
            .expect(1);
        assert!(
            run.stderr
                .contains("line 4: name: the name \"a\" is already the name of line 1"),
            "{}",
            run.stderr
        );
        assert!(shell.cases("d").is_empty(), "nothing of the chunk landed");
    }
    // With --skip-invalid the later row goes to the rejects file, as it was.
    let run = shell
        .run(&[
            "import",
            "d",
            "dup.jsonl",
            "--skip-invalid",
            "--chunk-size",
            "1",
        ])
        .expect(0);
    assert!(
        run.stderr.contains("line 4: refused: name:"),
        "{}",
        run.stderr
    );
    assert_eq!(
        shell.read("d.rejects.jsonl"),
        "{\"name\": \"a\", \"inputs\": 3}\n"
    );
    let cases = shell.cases("d");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].inputs, json!(1));
    // A name the dataset already has is a refused row with its line too.
    shell.file(
        "again.jsonl",
        "{\"name\": \"c\", \"inputs\": 5}\n{\"name\": \"b\", \"inputs\": 9}\n",
    );
    let run = shell.run(&["import", "d", "again.jsonl"]).expect(1);
    assert!(
        run.stderr
            .contains("line 2: name: a case named \"b\" already exists"),
        "{}",
        run.stderr
    );
    let run = shell
        .run(&["import", "d", "again.jsonl", "--skip-invalid"])
        .expect(0);
    assert!(run.stderr.contains("line 2: refused"), "{}", run.stderr);
    assert_eq!(shell.cases("d").len(), 3);
}

/// An exported file is created as any new file is: 0666 less the umask.
#[cfg(unix)]
#[test]
fn exported_files_get_the_users_umask() {
    use std::os::unix::fs::PermissionsExt;

    let shell = Shell::new();
    shell.run(&["create", "d"]).expect(0);
    shell.file("one.jsonl", "{\"inputs\": 1}\n");
    shell.run(&["import", "d", "one.jsonl"]).expect(0);
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let file = format!("out-{umask}.jsonl");
        let command = shell.command();
        let program = command.get_program().to_owned();
        let mut wrapped = std::process::Command::new("sh");
        wrapped
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" export d -o {file}"))
            .arg(program)
            .current_dir(command.get_current_dir().unwrap());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        support::run(&mut wrapped).expect(0);
        let found = std::fs::metadata(shell.path(&file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(found, mode, "umask {umask}");
    }
}
