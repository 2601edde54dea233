//! Files shared with pydantic-evals keep every value, and the built-in
//! evaluators give its results and reasons: checked against the real
//! pydantic-evals (and PyYAML) installed by `scripts/test.sh`, through
//! `interop/fidelity.py`.
//!
//! - Datasets written by pydantic-evals' own `to_file` (typed with pydantic
//!   models holding `Decimal`, `datetime` and big ints; untyped with tricky
//!   strings, big ints, floats and ordered keys) load in Rust exactly as
//!   pydantic-evals reads them back (`model_dump(mode='json')`, key order
//!   included);
//! - written back by Rust, they reload in Python equal to the originals;
//! - hand-written YAML (YAML 1.1 scalars, anchors, merge keys) loads as
//!   PyYAML's `safe_load` reads it;
//! - the built-ins give pydantic-evals' results and reasons, case by case,
//!   on BaseModel outputs (Rust structs) and on untyped ones.

use std::path::Path;
#[path = "support/interop.rs"]
mod interop;

use datasets::eval::{
    Contains, Dataset, Equals, EqualsExpected, EvaluationReport, Format, IsInstance, PyValue,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The Rust types of the typed datasets, as the Python models declare them:
/// `Decimal` and `datetime` travel as the text pydantic writes for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct FInput {
    text: String,
    amount: String,
    when: String,
    big: i128,
    extra: PyValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
struct FOutput {
    answer: String,
    confidence: f64,
    count: i128,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct FMeta {
    label: String,
    #[serde(default)]
    flag: bool,
}

type Typed = Dataset<FInput, FOutput, FMeta>;
type Untyped = Dataset<PyValue, PyValue, PyValue>;

/// Rust's view of a dataset, in the shape `fidelity.py` dumps Python's:
/// models as dicts, through JSON text (so a non-finite float is `null`).
fn view<I: Serialize, O: Serialize, M: Serialize>(dataset: &Dataset<I, O, M>) -> PyValue {
    let py = |value: &dyn erased_to_py::ToPy| value.to_py();
    let cases = dataset
        .cases
        .iter()
        .map(|case| {
            PyValue::Dict(vec![
                (
                    "name".into(),
                    case.name.clone().map_or(PyValue::None, PyValue::Str),
                ),
                ("inputs".into(), py(&case.inputs)),
                ("metadata".into(), py(&case.metadata)),
                ("expected_output".into(), py(&case.expected_output)),
            ])
        })
        .collect();
    let value = PyValue::Dict(vec![
        (
            "name".into(),
            dataset.name.clone().map_or(PyValue::None, PyValue::Str),
        ),
        ("cases".into(), PyValue::List(cases)),
    ]);
    PyValue::from_json_str(&value.to_json_string()).unwrap()
}

mod erased_to_py {
    use datasets::eval::PyValue;

    pub(crate) trait ToPy {
        fn to_py(&self) -> PyValue;
    }

    impl<T: serde::Serialize> ToPy for T {
        fn to_py(&self) -> PyValue {
            datasets::eval::py::to_py(self).unwrap().dump()
        }
    }
}

fn expected(path: &Path) -> PyValue {
    PyValue::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts two views are equal, naming the first case that differs.
fn assert_same(ours: &PyValue, theirs: &PyValue, what: &str) {
    if ours == theirs {
        return;
    }
    if let (PyValue::Dict(a), PyValue::Dict(b)) = (ours, theirs)
        && let (Some((_, PyValue::List(x))), Some((_, PyValue::List(y)))) = (
            a.iter().find(|(k, _)| k == "cases"),
            b.iter().find(|(k, _)| k == "cases"),
        )
    {
        for (i, (x, y)) in x.iter().zip(y).enumerate() {
            assert_eq!(
                x, y,
                "{what}: case {i} differs (Rust's view, then Python's)"
            );
        }
    }
    assert_eq!(ours, theirs, "{what}: Rust's view, then Python's");
}

#[test]
fn files_of_pydantic_evals_load_and_write_back_unchanged() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    interop::run(&python, "fidelity.py", &[&"write", &dir.path()]);
    for (name, suffix) in [
        ("typed", "yaml"),
        ("typed", "json"),
        ("untyped", "yaml"),
        ("untyped", "json"),
    ] {
        let file = dir.path().join(format!("{name}.{suffix}"));
        let expected_file = dir.path().join(format!("{name}.{suffix}.expected.json"));
        let theirs = expected(&expected_file);
        let what = file.display().to_string();
        let back = dir.path().join(format!("rust_{name}.{suffix}"));
        if name == "typed" {
            let dataset = Typed::from_file(&file).unwrap();
            assert_same(&view(&dataset), &theirs, &what);
            dataset.to_file(&back).unwrap();
        } else {
            let dataset = Untyped::from_file(&file).unwrap();
            assert_same(&view(&dataset), &theirs, &what);
            // Evaluator arguments keep their types: `1E+3` is text.
            let first = &dataset.evaluators[0];
            assert_eq!(
                (first.name.as_str(), first.arguments.clone()),
                ("Equals", Some(json!(["1E+3"])))
            );
            dataset.to_file(&back).unwrap();
        }
        interop::run(
            &python,
            "fidelity.py",
            &[&"reload", &back, &expected_file, &name],
        );
    }
}

#[test]
fn hand_written_yaml_loads_as_pyyaml_loads_it() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml_1_1.yaml");
    let out = dir.path().join("pyyaml.json");
    interop::run(&python, "fidelity.py", &[&"safe-load", &fixture, &out]);
    let dataset = Untyped::from_file(&fixture).unwrap();
    assert_same(&view(&dataset), &expected(&out), "yaml_1_1.yaml");
    // Written back and read again, nothing moves.
    for format in [Format::Yaml, Format::Json] {
        let text = dataset.to_text(format, None).unwrap();
        let again = Untyped::from_text(&text, format).unwrap();
        assert_eq!(view(&again), view(&dataset), "{format:?}:\n{text}");
    }
}

/// A report's assertions as `fidelity.py` writes them: case → name →
/// `[value, reason]`.
fn results<I, O, M>(report: &EvaluationReport<I, O, M>) -> Value {
    let mut cases = serde_json::Map::new();
    for case in &report.cases {
        let mut results = serde_json::Map::new();
        for (name, result) in &case.assertions {
            results.insert(name.clone(), json!([result.value, result.reason]));
        }
        cases.insert(case.name.clone(), Value::Object(results));
    }
    Value::Object(cases)
}

fn assert_same_results(ours: &Value, theirs: &Value) {
    let (Value::Object(ours), Value::Object(theirs)) = (ours, theirs) else {
        panic!("results are objects")
    };
    let mut names: Vec<&String> = ours.keys().collect();
    names.sort();
    let mut their_names: Vec<&String> = theirs.keys().collect();
    their_names.sort();
    assert_eq!(names, their_names);
    for name in names {
        assert_eq!(
            ours[name], theirs[name],
            "case {name:?}: Rust's results, then pydantic-evals'"
        );
    }
}

fn named<T>(mut evaluator: T, name: &str) -> T
where
    T: HasEvaluationName,
{
    evaluator.set_name(name);
    evaluator
}

trait HasEvaluationName {
    fn set_name(&mut self, name: &str);
}

impl HasEvaluationName for Equals {
    fn set_name(&mut self, name: &str) {
        self.evaluation_name = Some(name.into());
    }
}

impl HasEvaluationName for Contains {
    fn set_name(&mut self, name: &str) {
        self.evaluation_name = Some(name.into());
    }
}

impl HasEvaluationName for IsInstance {
    fn set_name(&mut self, name: &str) {
        self.evaluation_name = Some(name.into());
    }
}

#[tokio::test]
async fn builtins_give_pydantic_evals_results_and_reasons_on_model_outputs() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    interop::run(&python, "fidelity.py", &[&"write", &dir.path()]);
    let file = dir.path().join("typed.yaml");
    let out = dir.path().join("python_results.json");
    interop::run(&python, "fidelity.py", &[&"evaluate", &file, &out]);
    let theirs: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    let dataset = Typed::from_file(&file).unwrap();
    let outputs: Vec<(FInput, FOutput)> = dataset
        .cases
        .iter()
        .map(|case| (case.inputs.clone(), case.expected_output.clone().unwrap()))
        .collect();
    let as_strings = |value: &str, name: &str| {
        named(
            Contains {
                as_strings: true,
                ..Contains::new(json!(value))
            },
            name,
        )
    };
    let report = dataset
        .evaluate(move |inputs: FInput| {
            let output = outputs
                .iter()
                .find(|(i, _)| *i == inputs)
                .map(|(_, o)| o.clone())
                .unwrap();
            async move { output }
        })
        .evaluator(EqualsExpected::default())
        .evaluator(named(
            Equals::new(json!({"answer": "x", "confidence": 0.5, "count": 1})),
            "equals_dict",
        ))
        .evaluator(named(
            Contains::new(json!({"answer": "yes"})),
            "contains_pair",
        ))
        .evaluator(named(
            Contains::new(json!({"missing": 1})),
            "contains_missing",
        ))
        .evaluator(named(Contains::new(json!("answer")), "contains_key"))
        .evaluator(named(Contains::new(json!(["unhashable"])), "contains_list"))
        .evaluator(as_strings("answer='yes'", "contains_str"))
        .evaluator(as_strings("1e-07", "contains_float"))
        .evaluator(as_strings("confidence=1e+16", "contains_float_big"))
        .evaluator(named(IsInstance::new("FOutput"), "is_model"))
        .evaluator(named(IsInstance::new("BaseModel"), "is_base"))
        .evaluator(named(IsInstance::new("dict"), "is_dict"))
        .progress(false)
        .await;
    assert!(report.failures.is_empty());
    assert_same_results(&results(&report), &theirs);
}

#[tokio::test]
async fn builtins_give_pydantic_evals_results_and_reasons_on_untyped_outputs() {
    let Some(python) = interop::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    interop::run(&python, "fidelity.py", &[&"write", &dir.path()]);
    let file = dir.path().join("untyped.json");
    let out = dir.path().join("python_results.json");
    interop::run(&python, "fidelity.py", &[&"evaluate-untyped", &file, &out]);
    let theirs: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    let mut dataset = Untyped::from_file(&file).unwrap();
    dataset.evaluators.clear();
    let outputs: Vec<(PyValue, PyValue)> = dataset
        .cases
        .iter()
        .map(|case| {
            (
                case.inputs.clone(),
                case.expected_output.clone().unwrap_or(PyValue::None),
            )
        })
        .collect();
    let report = dataset
        .evaluate(move |inputs: PyValue| {
            let output = outputs
                .iter()
                .find(|(i, _)| i.py_eq(&inputs))
                .map(|(_, o)| o.clone())
                .unwrap();
            async move { output }
        })
        .evaluator(EqualsExpected::default())
        .evaluator(named(IsInstance::new("int"), "is_int"))
        .evaluator(named(IsInstance::new("str"), "is_str"))
        .evaluator(named(IsInstance::new("float"), "is_float"))
        .evaluator(named(Contains::new(json!("yes")), "contains_yes"))
        .evaluator(named(
            Contains {
                as_strings: true,
                ..Contains::new(json!("1e+16"))
            },
            "contains_float",
        ))
        .evaluator(named(
            Contains {
                as_strings: true,
                ..Contains::new(json!("\\xa0"))
            },
            "contains_escape",
        ))
        .evaluator(named(Contains::new(json!(1)), "contains_one"))
        .progress(false)
        .await;
    assert!(report.failures.is_empty());
    assert_same_results(&results(&report), &theirs);
}

#[test]
fn big_integers_stay_exact_or_are_refused_naming_the_path() {
    let text = r#"{"name": "big", "cases": [
        {"name": "a", "inputs": {"n": 18446744073709551616, "m": -9223372036854775809,
                                 "huge": 100000000000000000000000000000000000000000000000000}}
    ]}"#;
    // Exact through PyValue, in both formats.
    let dataset = Untyped::from_text(text, Format::Json).unwrap();
    for format in [Format::Json, Format::Yaml] {
        let written = dataset.to_text(format, None).unwrap();
        assert!(
            written.contains("100000000000000000000000000000000000000000000000000"),
            "{written}"
        );
        assert_eq!(
            view(&Untyped::from_text(&written, format).unwrap()),
            view(&dataset)
        );
    }
    // A type that cannot hold one says where and why.
    let err = Dataset::<Value, Value, Value>::from_text(text, Format::Json).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("cases[0].inputs.n"), "{message}");
    assert!(message.contains("18446744073709551616"), "{message}");
    // Pushing such a case to a server (64-bit integers) fails in the
    // client, naming the path.
    let err = dataset.to_new_cases().unwrap_err().to_string();
    assert!(err.contains("inputs"), "{err}");
    assert!(err.contains("`n`") || err.contains("`huge`"), "{err}");
    // In evaluator arguments, where values are JSON, one is refused at load.
    let args = r#"{"cases": [], "evaluators": [{"Equals": 18446744073709551616}]}"#;
    let err = Untyped::from_text(args, Format::Json)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("evaluators") && err.contains("beyond 64 bits"),
        "{err}"
    );
}

#[test]
fn case_names_follow_pydantic_evals() {
    let twice = "cases:\n- name: a\n  inputs: 1\n- name: b\n  inputs: 2\n- name: a\n  inputs: 3\n";
    let err = Untyped::from_text(twice, Format::Yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cases[2].name"), "{err}");
    assert!(err.contains("cases 0 and 2"), "{err}");
    let unnamed = "cases:\n- name: ''\n  inputs: 1\n- inputs: 2\n- name: x\n  inputs: 3\n";
    let dataset = Untyped::from_text(unnamed, Format::Yaml).unwrap();
    let report = dataset
        .evaluate(|inputs: PyValue| async move { inputs })
        .progress(false)
        .run_blocking()
        .unwrap();
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Case 1", "Case 2", "x"]);
}
