//! Dataset files shared with pydantic-evals, checked against the real
//! Python library (`interop/pydantic_evals_files.py`, run with the
//! interpreter `DATASETS_INTEROP_PYTHON` names; `scripts/test.sh` makes one
//! with `logfire[datasets]` from PyPI). Without it these tests say they were
//! skipped, except under CI, where that is a failure.
//!
//! - A file Rust writes loads typed in Python, value for value.
//! - A file pydantic-evals writes (evaluators in short forms) loads typed
//!   in Rust and evaluates.
//! - The built-in evaluators give the same results, reasons included, as
//!   pydantic-evals' on the same file.

#[path = "support/interop.rs"]
mod interop;

use datasets::Case;
use datasets::eval::{Dataset, EvaluationReport, FileOptions, Format};
use datasets::wire::EvaluatorSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct QuestionInput {
    question: String,
    context: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct AnswerOutput {
    answer: String,
    confidence: f64,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct CaseMetadata {
    category: String,
    difficulty: String,
    #[serde(default)]
    reviewed: bool,
}

type QaDataset = Dataset<QuestionInput, AnswerOutput, CaseMetadata>;

fn question(text: &str, context: Option<&str>) -> QuestionInput {
    QuestionInput {
        question: text.into(),
        context: context.map(Into::into),
    }
}

fn answer(text: &str, confidence: f64) -> AnswerOutput {
    AnswerOutput {
        answer: text.into(),
        confidence,
    }
}

fn metadata(category: &str, difficulty: &str, reviewed: bool) -> CaseMetadata {
    CaseMetadata {
        category: category.into(),
        difficulty: difficulty.into(),
        reviewed,
    }
}

/// Strings YAML 1.1 readers (PyYAML) would take for something else unless
/// quoted, and other text that tests the writer.
const TRICKY: &[&str] = &[
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "null",
    "~",
    "",
    "1e3",
    "0x1F",
    "0o17",
    "1_000",
    "+12",
    ".inf",
    "-.NaN",
    "2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "12:30:00",
    "- dash",
    "# hash",
    "key: value",
    "'single'",
    "\"double\"",
    "multi\nline\n",
    "  leading space",
    "trailing space ",
    "tab\tinside",
    "héllo ✓ 日本語",
    "emoji 🦀",
    "back\\slash",
    "@at",
    "`tick",
    "!bang",
    "%percent",
    "&anchor",
    "*alias",
    "|pipe",
    ">fold",
    "{brace}",
    "[bracket]",
    "?question",
    "\u{feff}bom",
];

fn rust_dataset() -> QaDataset {
    let mut cases = vec![
        Case::new(question("What is the capital of France?", None))
            .name("capital-question")
            .expected_output(answer("Paris", 0.99))
            .metadata(metadata("geography", "easy", false))
            .evaluator(EvaluatorSpec::with_arguments(
                "Contains",
                json!({"value": "Paris"}),
            )),
        Case::new(question("What is 15 * 23?", Some("arithmetic")))
            .name("math-question")
            .expected_output(answer("345", 1.0))
            .metadata(metadata("math", "easy", true)),
        Case::new(question("No name, no expectation", None)),
        Case::new(question("Tiny and huge numbers", None))
            .name("numbers")
            .expected_output(answer("small", 1e-7)),
        Case::new(question("Zero", None))
            .name("zero")
            .expected_output(answer("none", 0.0)),
    ];
    for (i, text) in TRICKY.iter().enumerate() {
        cases.push(
            Case::new(question(text, Some(text)))
                .name(format!("tricky-{i} {text}"))
                .expected_output(answer(text, 0.5))
                .metadata(metadata(text, text, i % 2 == 0)),
        );
    }
    let mut dataset = Dataset::new("rust-qa", cases);
    dataset.evaluators = vec![
        EvaluatorSpec::new("EqualsExpected"),
        EvaluatorSpec::with_arguments("MaxDuration", json!([2.5])),
        EvaluatorSpec::with_arguments("IsInstance", json!(["AnswerOutput"])),
        EvaluatorSpec::with_arguments(
            "Contains",
            json!({"value": "x", "case_sensitive": false, "as_strings": true}),
        ),
        // A single positional argument that is an object: the long form.
        EvaluatorSpec::with_arguments("Equals", json!([{"answer": "Paris", "confidence": 0.99}])),
    ];
    dataset
}

#[test]
fn a_file_written_by_rust_loads_typed_in_pydantic_evals() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dataset = rust_dataset();
    let expected = dir.path().join("expected.json");
    std::fs::write(
        &expected,
        serde_json::to_string(&dataset.to_export().unwrap()).unwrap(),
    )
    .unwrap();
    for file in ["rust_qa.yaml", "rust_qa.json"] {
        let path = dir.path().join(file);
        dataset.to_file(&path).unwrap();
        interop::run(
            &python,
            "pydantic_evals_files.py",
            &[&"load-rust", &path, &expected],
        );
        // And back: Rust reads what it wrote, value for value.
        assert_eq!(QaDataset::from_file(&path).unwrap(), dataset, "{file}");
    }
    // The companion schema is written once, referenced as pydantic-evals
    // references it, and the files validate against it.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("rust_qa_schema.json")).unwrap(),
    )
    .unwrap();
    let yaml = std::fs::read_to_string(dir.path().join("rust_qa.yaml")).unwrap();
    assert!(
        yaml.starts_with("# yaml-language-server: $schema=rust_qa_schema.json\n"),
        "{yaml}"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in ["rust_qa.yaml", "rust_qa.json"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let value: Value = json_of_either(&text, file);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

/// A YAML or JSON file as a JSON value (YAML through the library's own reader).
fn json_of_either(text: &str, file: &str) -> Value {
    if file.ends_with(".json") {
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["$schema"], "rust_qa_schema.json");
        value
    } else {
        let dataset = QaDataset::from_text(text, Format::Yaml).unwrap();
        serde_json::from_str(&dataset.to_text(Format::Json, None).unwrap()).unwrap()
    }
}

/// The deterministic system under test of the Python-written file.
async fn answer_question(input: QuestionInput) -> AnswerOutput {
    match input.question.as_str() {
        "What is the capital of France?" => answer("Paris", 0.99),
        "What is 15 * 23?" => answer("345", 1.0),
        _ => answer("I don't know", 0.0),
    }
}

#[tokio::test]
async fn a_file_written_by_pydantic_evals_loads_and_evaluates_in_rust() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    interop::run(&python, "pydantic_evals_files.py", &[&"write", &dir.path()]);
    let yaml = QaDataset::from_file(dir.path().join("python_qa.yaml")).unwrap();
    let json = QaDataset::from_file(dir.path().join("python_qa.json")).unwrap();
    assert_eq!(yaml, json);
    assert_eq!(yaml.name.as_deref(), Some("python-qa"));
    assert_eq!(yaml.cases.len(), 3);
    assert_eq!(
        yaml.cases[1].inputs,
        question("What is 15 * 23?", Some("arithmetic"))
    );
    assert_eq!(yaml.cases[1].metadata, Some(metadata("math", "easy", true)));
    assert_eq!(yaml.cases[2].name, None);
    assert_eq!(yaml.cases[2].expected_output, None);
    assert_eq!(
        yaml.cases[0].evaluators,
        [EvaluatorSpec::with_arguments("Contains", json!(["Paris"]))]
    );
    assert_eq!(
        yaml.evaluators,
        [
            EvaluatorSpec::new("EqualsExpected"),
            EvaluatorSpec::with_arguments("IsInstance", json!(["AnswerOutput"])),
            EvaluatorSpec::with_arguments("MaxDuration", json!([2.5])),
            EvaluatorSpec::with_arguments(
                "Contains",
                json!({"value": {"answer": "Paris"}, "evaluation_name": "is_paris"})
            ),
        ]
    );

    let report = yaml.evaluate(answer_question).progress(false).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let capital = report.case("capital-question").unwrap();
    let passed =
        |case: &datasets::eval::ReportCase<_, _, _>, name: &str| case.assertions[name].value;
    assert!(passed(capital, "EqualsExpected"));
    assert!(passed(capital, "IsInstance"), "{:?}", capital.assertions);
    assert!(passed(capital, "MaxDuration"));
    assert!(passed(capital, "is_paris"));
    // `Contains('Paris')` on an object output looks for a key, in Python too.
    assert!(!passed(capital, "Contains"));
    let math = report.case("math-question").unwrap();
    assert!(passed(math, "EqualsExpected"));
    assert_eq!(
        math.assertions["is_paris"].reason.as_deref(),
        Some("Output has different value for key 'answer': '345' != 'Paris'")
    );
    let unnamed = report.case("Case 3").unwrap();
    assert!(
        !unnamed.assertions.contains_key("EqualsExpected"),
        "no expected output, no result"
    );
    assert_eq!(report.averages().cases, 3);
}

/// Outputs and evaluators whose results must match pydantic-evals' exactly.
fn parity_dataset() -> Dataset<Value, Value, Value> {
    let case = |name: &str, output: Value, expected: Option<Value>, evaluators: Vec<Value>| {
        let mut case = Case::new(json!({ "output": output })).name(name);
        case.expected_output = expected;
        case.evaluators = evaluators
            .iter()
            .map(|v| datasets::eval::spec_from_value(v).unwrap())
            .collect();
        case
    };
    let long = "lorem ipsum ".repeat(30);
    let cases = vec![
        case(
            "string",
            json!("Hello World"),
            Some(json!("Hello World")),
            vec![
                json!({"Contains": "World"}),
                json!({"Contains": {"value": "world", "case_sensitive": false, "evaluation_name": "ci"}}),
                json!({"Contains": "world"}),
                json!({"Contains": 1}),
                json!({"IsInstance": "str"}),
                json!({"IsInstance": "list"}),
            ],
        ),
        case(
            "long string",
            json!(long),
            Some(json!("short")),
            vec![json!({"Contains": "nope"})],
        ),
        case(
            "list",
            json!([1, 2.0, "a", null, true]),
            None,
            vec![
                json!({"Contains": 2}),
                json!({"Contains": "b"}),
                json!({"Contains": null}),
                json!({"Contains": {"value": 1}}),
                json!({"Contains": {"value": "'a'", "as_strings": true}}),
                json!({"Contains": {"value": "ALPHA", "as_strings": true, "case_sensitive": false}}),
                json!({"IsInstance": "list"}),
            ],
        ),
        case(
            "object",
            json!({"a": 1, "b": [1, 2]}),
            Some(json!({"b": [1.0, 2], "a": 1.0})),
            vec![
                json!({"Contains": "a"}),
                json!({"Contains": "z"}),
                json!({"Contains": {"value": {"a": 1.0}}}),
                json!({"Contains": {"value": {"b": [1, 3]}}}),
                json!({"Contains": {"value": {"c": 1}}}),
                json!({"name": "Equals", "arguments": [{"a": 1, "b": [1, 2.0]}]}),
                json!({"IsInstance": "dict"}),
                json!({"IsInstance": "object"}),
            ],
        ),
        case(
            "int",
            json!(5),
            Some(json!(5.0)),
            vec![
                json!({"Contains": 5}),
                json!({"Contains": {"value": "5", "as_strings": true}}),
                json!({"IsInstance": "int"}),
                json!({"IsInstance": "float"}),
                json!({"Equals": 5.0}),
                json!({"Equals": 6}),
            ],
        ),
        case(
            "bool",
            json!(true),
            Some(json!(1)),
            vec![
                json!({"IsInstance": "int"}),
                json!({"IsInstance": "bool"}),
                json!({"IsInstance": "str"}),
                json!({"Equals": 1}),
                json!({"Contains": "x"}),
            ],
        ),
        case(
            "none",
            Value::Null,
            None,
            vec![
                json!({"IsInstance": "NoneType"}),
                json!({"Contains": "x"}),
                json!({"Equals": null}),
            ],
        ),
        case(
            "float",
            json!(0.5),
            Some(json!(0.25)),
            vec![
                json!({"IsInstance": "float"}),
                json!({"IsInstance": "int"}),
                json!({"Equals": {"value": 0.5, "evaluation_name": "half"}}),
            ],
        ),
        // A key past YAML's 1024-character limit for `key: value`.
        case(
            "long key",
            json!({ "k".repeat(1500): 1 }),
            None,
            vec![json!({ "Contains": "k".repeat(1500) })],
        ),
        case(
            "repr",
            json!({"k": "it's"}),
            None,
            vec![
                json!({"Contains": {"value": "{'k': \"it's\"}", "as_strings": true}}),
                json!({"Contains": {"value": "nope", "as_strings": true}}),
            ],
        ),
    ];
    let mut dataset = Dataset::new("parity", cases);
    dataset.evaluators = vec![
        EvaluatorSpec::new("EqualsExpected"),
        EvaluatorSpec::with_arguments("MaxDuration", json!([10])),
    ];
    dataset
}

/// A report's results in the shape the Python side writes.
fn results_of(report: &EvaluationReport<Value, Value, Value>) -> Value {
    let pairs = |results: Vec<(&String, Value, &Option<String>)>| -> Value {
        Value::Object(
            results
                .into_iter()
                .map(|(name, value, reason)| (name.clone(), json!([value, reason])))
                .collect::<Map<_, _>>(),
        )
    };
    let mut out = Map::new();
    for case in &report.cases {
        let mut failures: Vec<&str> = case
            .evaluator_failures
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        failures.sort();
        out.insert(
            case.name.clone(),
            json!({
                "assertions": pairs(case.assertions.iter().map(|(k, r)| (k, json!(r.value), &r.reason)).collect()),
                "scores": pairs(case.scores.iter().map(|(k, r)| (k, json!(r.value), &r.reason)).collect()),
                "labels": pairs(case.labels.iter().map(|(k, r)| (k, json!(r.value), &r.reason)).collect()),
                "evaluator_failures": failures,
            }),
        );
    }
    Value::Object(out)
}

#[tokio::test]
async fn builtin_evaluators_give_pydantic_evals_results_and_reasons() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parity.yaml");
    let dataset = parity_dataset();
    dataset
        .to_file_with(
            &file,
            FileOptions {
                schema_path: None,
                ..FileOptions::default()
            },
        )
        .unwrap();
    let python_results = dir.path().join("python_results.json");
    interop::run(
        &python,
        "pydantic_evals_files.py",
        &[&"evaluate", &file, &python_results],
    );
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(&python_results).unwrap()).unwrap();

    let loaded = Dataset::<Value, Value, Value>::from_file(&file).unwrap();
    let report = loaded
        .evaluate(|inputs: Value| async move { inputs["output"].clone() })
        .progress(false)
        .await;
    assert!(report.failures.is_empty());
    let ours = results_of(&report);
    let (Value::Object(ours), Value::Object(theirs)) = (ours, theirs) else {
        unreachable!()
    };
    let sorted = |map: &serde_json::Map<String, Value>| {
        let mut keys: Vec<String> = map.keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(sorted(&ours), sorted(&theirs));
    for (name, result) in &ours {
        assert_eq!(
            result, &theirs[name],
            "case {name:?}: Rust's results, then pydantic-evals'"
        );
    }
    // The comparison covered every kind of outcome.
    let all: Vec<&Value> = ours
        .values()
        .flat_map(|r| r["assertions"].as_object().unwrap().values())
        .collect();
    assert!(all.iter().any(|pair| pair[0] == true) && all.iter().any(|pair| pair[0] == false));
    assert!(
        all.iter().any(|pair| pair[1].is_string()),
        "some failures carry reasons"
    );
}
