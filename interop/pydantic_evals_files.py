"""pydantic-evals' side of the dataset-file interop checks (tests/eval_interop.rs).

Usage:
  python pydantic_evals_files.py load-rust FILE EXPECTED_JSON
      Load FILE (written by Rust) with `Dataset[QuestionInput, AnswerOutput,
      CaseMetadata].from_file`, typed with dataclasses mirroring the Rust
      types, and check every case and evaluator against EXPECTED_JSON.
  python pydantic_evals_files.py write DIR
      Write DIR/python_qa.yaml and DIR/python_qa.json with pydantic-evals'
      own `to_file`, evaluators in their short forms.
  python pydantic_evals_files.py same FILE OTHER
      Load both files typed and check that they hold the same dataset: the
      name, every case (inputs, expected output, metadata, evaluators) and
      the evaluators (the `datasets` command line's push/export round trip).
  python pydantic_evals_files.py evaluate FILE OUT_JSON
      Load FILE untyped, run the task `inputs['output']` over it with the
      built-in evaluators, and write every case's results to OUT_JSON, for
      Rust to compare with its own run of the same file.

Any failure exits non-zero with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, Equals, EqualsExpected, IsInstance, MaxDuration
from pydantic_evals.evaluators.spec import EvaluatorSpec

from qa_types import AnswerOutput, CaseMetadata, QuestionInput



QaDataset = Dataset[QuestionInput, AnswerOutput, CaseMetadata]


def as_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value


BUILTINS = {cls.__name__: cls for cls in (Contains, Equals, EqualsExpected, IsInstance, MaxDuration)}


def build(spec_json: dict[str, Any]) -> Any:
    """The evaluator a long-form spec (as Rust exports it) describes."""
    spec = EvaluatorSpec.model_validate(spec_json)
    return BUILTINS[spec.name](*spec.args, **spec.kwargs)


def load_rust(path: str, expected_path: str) -> None:
    dataset = QaDataset.from_file(path)
    expected = json.loads(Path(expected_path).read_text())
    assert dataset.name == expected['name'], (dataset.name, expected['name'])
    assert len(dataset.cases) == len(expected['cases']), len(dataset.cases)
    for index, (case, want) in enumerate(zip(dataset.cases, expected['cases'])):
        where = f'case {index} ({case.name!r})'
        assert isinstance(case.inputs, QuestionInput), (where, type(case.inputs))
        assert case.name == want['name'], (where, case.name)
        assert as_plain(case.inputs) == want['inputs'], (where, case.inputs)
        if want['expected_output'] is None:
            assert case.expected_output is None, where
        else:
            assert isinstance(case.expected_output, AnswerOutput), where
            assert as_plain(case.expected_output) == want['expected_output'], (where, case.expected_output)
        if want['metadata'] is None:
            assert case.metadata is None, where
        else:
            assert isinstance(case.metadata, CaseMetadata), where
            assert as_plain(case.metadata) == want['metadata'], (where, case.metadata)
        assert case.evaluators == [build(s) for s in want['evaluators']], (where, case.evaluators)
    assert dataset.evaluators == [build(s) for s in expected['evaluators']], dataset.evaluators
    print(f'{path}: {len(dataset.cases)} cases and {len(dataset.evaluators)} evaluators load typed')


def write(folder: str) -> None:
    dataset = QaDataset(
        name='python-qa',
        cases=[
            Case(
                name='capital-question',
                inputs=QuestionInput(question='What is the capital of France?'),
                expected_output=AnswerOutput(answer='Paris', confidence=0.99),
                metadata=CaseMetadata(category='geography', difficulty='easy'),
                evaluators=[Contains(value='Paris')],
            ),
            Case(
                name='math-question',
                inputs=QuestionInput(question='What is 15 * 23?', context='arithmetic'),
                expected_output=AnswerOutput(answer='345', confidence=1.0),
                metadata=CaseMetadata(category='math', difficulty='easy', reviewed=True),
            ),
            Case(
                inputs=QuestionInput(question='Unnamed, with no expected output'),
            ),
        ],
        evaluators=[
            EqualsExpected(),
            IsInstance(type_name='AnswerOutput'),
            MaxDuration(seconds=2.5),
            Contains(value={'answer': 'Paris'}, evaluation_name='is_paris'),
        ],
    )
    for suffix in ('yaml', 'json'):
        dataset.to_file(Path(folder) / f'python_qa.{suffix}')
    print(f'wrote {folder}/python_qa.yaml and .json')


def same(path: str, other_path: str) -> None:
    first, second = QaDataset.from_file(path), QaDataset.from_file(other_path)
    assert first.name == second.name, (first.name, second.name)
    assert len(first.cases) == len(second.cases), (len(first.cases), len(second.cases))
    for index, (a, b) in enumerate(zip(first.cases, second.cases)):
        where = f'case {index} ({a.name!r})'
        assert a.name == b.name, (where, b.name)
        assert a.inputs == b.inputs, (where, a.inputs, b.inputs)
        assert a.expected_output == b.expected_output, (where, a.expected_output, b.expected_output)
        assert a.metadata == b.metadata, (where, a.metadata, b.metadata)
        assert a.evaluators == b.evaluators, (where, a.evaluators, b.evaluators)
    assert first.evaluators == second.evaluators, (first.evaluators, second.evaluators)
    print(f'{path} and {other_path}: the same {len(first.cases)} cases and {len(first.evaluators)} evaluators')


def evaluate(path: str, out_path: str) -> None:
    dataset = Dataset[Any, Any, Any].from_file(path)

    async def task(inputs: Any) -> Any:
        return inputs['output']

    report = dataset.evaluate_sync(task, progress=False)
    results: dict[str, Any] = {}
    for case in report.cases:
        results[case.name] = {
            'assertions': {k: [v.value, v.reason] for k, v in case.assertions.items()},
            'scores': {k: [v.value, v.reason] for k, v in case.scores.items()},
            'labels': {k: [v.value, v.reason] for k, v in case.labels.items()},
            'evaluator_failures': sorted(f.name for f in case.evaluator_failures),
        }
    assert not report.failures, [f.error_message for f in report.failures]
    Path(out_path).write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f'{path}: pydantic-evals evaluated {len(report.cases)} cases')


def main() -> None:
    command, *args = sys.argv[1:]
    {'load-rust': load_rust, 'write': write, 'same': same, 'evaluate': evaluate}[command](*args)


if __name__ == '__main__':
    main()
