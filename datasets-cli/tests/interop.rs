//! Files shared with pydantic-evals through the command line: a dataset
//! file pydantic-evals wrote (`Dataset.to_file`) is pushed with `datasets
//! push`, exported with `datasets export` as YAML and JSON, and the exports
//! load in pydantic-evals as the same dataset (typed cases, evaluators).

mod support;

use support::Shell;

#[test]
fn a_pydantic_evals_file_pushed_and_exported_loads_the_same_in_pydantic_evals() {
    let Some(python) = support::python() else {
        return;
    };
    let shell = Shell::new();
    let folder = shell.dir.path().display().to_string();
    support::pydantic_evals(&python, &["write", &folder]);
    let run = shell.run(&["push", "python_qa.yaml"]).expect(0);
    assert_eq!(
        run.stdout.trim(),
        "pushed 3 case(s) to python-qa, which now has 3 case(s)"
    );
    // Pushing pydantic-evals' JSON file of the same dataset changes nothing
    // but the one unnamed case, which is added again.
    shell.run(&["push", "python_qa.json"]).expect(0);
    assert_eq!(shell.cases("python-qa").len(), 4);
    shell.run(&["rm", "python-qa", "--yes"]).expect(0);
    shell.run(&["push", "python_qa.yaml"]).expect(0);
    for extension in ["yaml", "json"] {
        let exported = format!("exported.{extension}");
        shell
            .run(&["export", "python-qa", "-o", &exported])
            .expect(0);
        let original = shell.path(&format!("python_qa.{extension}"));
        support::pydantic_evals(
            &python,
            &[
                "same",
                &support::arg(&original),
                &support::arg(&shell.path(&exported)),
            ],
        );
    }
}
