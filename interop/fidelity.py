"""pydantic-evals' side of the file-fidelity checks (tests/eval_fidelity.rs).

Usage:
  python fidelity.py write DIR
      Write datasets with pydantic-evals' own `Dataset.to_file`, typed
      (pydantic models with Decimal, datetime and big ints) and untyped
      (tricky strings, big ints, ordered keys, evaluator arguments), as
      YAML and JSON, and beside each file NAME.expected.json: the
      dataset's `model_dump(mode='json')`, Python's view, for Rust to match.
  python fidelity.py reload FILE EXPECTED_JSON KIND
      Load FILE (written back by Rust) as KIND (typed or untyped) and
      check that its `model_dump(mode='json')` equals EXPECTED_JSON, exact
      integers and key order included.
  python fidelity.py evaluate FILE OUT_JSON
      Load FILE typed, run a task returning the case's `FOutput` (a
      BaseModel) with the built-in evaluators, and write every case's
      results and reasons to OUT_JSON.
  python fidelity.py evaluate-untyped FILE OUT_JSON
      The same, untyped: the task returns the case's expected output.
  python fidelity.py safe-load FILE OUT_JSON
      `yaml.safe_load` FILE and write pydantic's JSON form of each case's
      values (as `model_dump(mode='json')` would give them) to OUT_JSON.

Any failure exits non-zero with the reason.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import Contains, Equals, EqualsExpected, IsInstance


class FInput(BaseModel):
    text: str
    amount: Decimal
    when: datetime
    big: int
    extra: dict[str, Any]


class FOutput(BaseModel):
    answer: str
    confidence: float
    count: int


class FMeta(BaseModel):
    label: str
    flag: bool = False


Typed = Dataset[FInput, FOutput, FMeta]
Untyped = Dataset[Any, Any, Any]

TRICKY = [
    'yes', 'No', 'on', 'OFF', 'y', '1e3', '1E+3', '1E-7', '0o17', '-.5', '.5e3', '1_000', '017',
    '1:20', '1:20.5', '2024-01-01', '2024-01-01 12:00:00', '~', 'null', 'None', '', ' lead',
    'trail ', 'a: b', '# hash', '- dash', '[x]', '{y}', '=', '<<', '!tag', '&anchor', '*alias',
    'multi\nline\n', '\xa0nbsp', 'zero\u200bwidth', '\ufeffbom', 'tab\there', 'quote\'s',
    'dq"s', 'back\\slash', 'é漢😀', '0x1F', '.inf', '.nan', '+1', '1.', '12:30:00',
]
BIG = [2**64, 10**30, -(2**63) - 1, 10**50, -(10**40), 2**63 - 1]


def typed_dataset() -> Typed:
    cases = []
    for i, (amount, when, big) in enumerate([
        (Decimal('1E+3'), datetime(2024, 1, 1, 12, 0), 2**64),
        (Decimal('1E-7'), datetime(2001, 12, 14, 21, 59, 43, 100000), 10**30),
        (Decimal('0.10'), datetime(2024, 6, 1), -(2**63) - 1),
        (Decimal('-.5'), datetime(1999, 12, 31, 23, 59, 59), 7),
    ]):
        cases.append(Case(
            name=f'typed-{i}',
            inputs=FInput(text=TRICKY[i * 7 % len(TRICKY)], amount=amount, when=when, big=big,
                          extra={'z': 1, 'a': [1e-7, 1e16, 0.1], 'm': {'yes': 'no', 'b': big}}),
            expected_output=FOutput(answer=TRICKY[i], confidence=[0.5, 1e-7, 1.0, 1e16][i], count=big),
            metadata=FMeta(label=TRICKY[i + 3], flag=i % 2 == 0),
            evaluators=[Equals(value=TRICKY[i + 5]), Contains(value='1E+3', as_strings=True)],
        ))
    return Typed(name='typed', cases=cases, evaluators=[EqualsExpected()])


def untyped_dataset() -> Untyped:
    cases = [
        Case(name='strings', inputs={'texts': TRICKY, 'z-last-first': 1, 'a': 2}, expected_output=TRICKY[::-1]),
        Case(name='big ints', inputs={'big': BIG, 'nested': {'n': BIG[3]}}, expected_output=BIG[1], metadata={'m': BIG[0]}),
        Case(name='floats', inputs=[1e-7, 1e16, 1.5, -0.0, 1e300, 0.1, 123456789.125], expected_output=1e22),
        Case(name='keys', inputs={k: i for i, k in enumerate(TRICKY)}, metadata={'z': {'y': {'x': 1}}, 'a': None}),
        Case(name='', inputs='unnamed case'),
        Case(inputs=None, expected_output={'k': [[], {}, [[]]]}),
        Case(name='deep', inputs={'a': {'b': {'c': [{'d': True, 'e': False, 'f': None}]}}}),
    ]
    return Untyped(
        name='untyped',
        cases=cases,
        evaluators=[
            Equals(value='1E+3'), Contains(value='yes'), Equals(value={'z': 1, 'a': [1, 2.5]}),
            Contains(value=1e-7, as_strings=True), IsInstance(type_name='dict'),
        ],
    )


def dump(dataset: Dataset) -> dict[str, Any]:
    return {
        'name': dataset.name,
        'cases': [
            {
                'name': case.name,
                'inputs': to_json(case.inputs),
                'metadata': to_json(case.metadata),
                'expected_output': to_json(case.expected_output),
            }
            for case in dataset.cases
        ],
    }


def to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode='json')
    from pydantic import TypeAdapter
    return TypeAdapter(Any).dump_python(value, mode='json')


def write_big_json(path: Path, value: Any) -> None:
    # json.dumps keeps Python ints exact; keys in insertion order.
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False))


def write(out: str) -> None:
    folder = Path(out)
    for name, dataset in [('typed', typed_dataset()), ('untyped', untyped_dataset())]:
        for suffix in ('yaml', 'json'):
            path = folder / f'{name}.{suffix}'
            dataset.to_file(path)
            # What pydantic-evals itself reads back from its own file.
            kind = Typed if name == 'typed' else Untyped
            reread = kind.from_file(path)
            write_big_json(folder / f'{name}.{suffix}.expected.json', dump(reread))
    print(f'wrote datasets in {folder}')


def reload(path: str, expected_path: str, kind: str) -> None:
    dataset = (Typed if kind == 'typed' else Untyped).from_file(path)
    got = dump(dataset)
    expected = json.loads(Path(expected_path).read_text())
    assert json.dumps(got, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False), (
        f'{path} reloads differently:\n{json.dumps(got)[:2000]}\n!=\n{json.dumps(expected)[:2000]}'
    )
    print(f'{path}: reloaded {len(dataset.cases)} cases equal, key order included')


def evaluate(path: str, out_path: str) -> None:
    dataset = Typed.from_file(path)
    evaluators = [
        EqualsExpected(),
        Equals(value={'answer': 'x', 'confidence': 0.5, 'count': 1}, evaluation_name='equals_dict'),
        Contains(value={'answer': 'yes'}, evaluation_name='contains_pair'),
        Contains(value={'missing': 1}, evaluation_name='contains_missing'),
        Contains(value='answer', evaluation_name='contains_key'),
        Contains(value=['unhashable'], evaluation_name='contains_list'),
        Contains(value="answer='yes'", as_strings=True, evaluation_name='contains_str'),
        Contains(value='1e-07', as_strings=True, evaluation_name='contains_float'),
        Contains(value='confidence=1e+16', as_strings=True, evaluation_name='contains_float_big'),
        IsInstance(type_name='FOutput', evaluation_name='is_model'),
        IsInstance(type_name='BaseModel', evaluation_name='is_base'),
        IsInstance(type_name='dict', evaluation_name='is_dict'),
    ]
    for evaluator in evaluators:
        dataset.add_evaluator(evaluator)

    async def task(inputs: FInput) -> FOutput:
        case = next(c for c in dataset.cases if c.inputs == inputs)
        return case.expected_output

    report = dataset.evaluate_sync(task, progress=False)
    results: dict[str, Any] = {}
    for case in report.cases:
        results[case.name] = {k: [v.value, v.reason] for k, v in case.assertions.items()}
    assert not report.failures, [f.error_message for f in report.failures]
    Path(out_path).write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False))
    print(f'{path}: pydantic-evals evaluated {len(report.cases)} cases')


def evaluate_untyped(path: str, out_path: str) -> None:
    dataset = Untyped.from_file(path)
    dataset.evaluators = [
        EqualsExpected(),
        IsInstance(type_name='int', evaluation_name='is_int'),
        IsInstance(type_name='str', evaluation_name='is_str'),
        IsInstance(type_name='float', evaluation_name='is_float'),
        Contains(value='yes', evaluation_name='contains_yes'),
        Contains(value='1e+16', as_strings=True, evaluation_name='contains_float'),
        Contains(value='\\xa0', as_strings=True, evaluation_name='contains_escape'),
        Contains(value=1, evaluation_name='contains_one'),
    ]

    async def task(inputs: Any) -> Any:
        case = next(c for c in dataset.cases if c.inputs == inputs)
        return case.expected_output

    report = dataset.evaluate_sync(task, progress=False)
    results: dict[str, Any] = {}
    for case in report.cases:
        results[case.name] = {k: [v.value, v.reason] for k, v in case.assertions.items()}
    assert not report.failures, [f.error_message for f in report.failures]
    Path(out_path).write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False))
    print(f'{path}: pydantic-evals evaluated {len(report.cases)} cases')


def safe_load(path: str, out_path: str) -> None:
    import yaml

    loaded = yaml.safe_load(Path(path).read_text())
    cases = [
        {key: to_json(case.get(key)) for key in ('name', 'inputs', 'metadata', 'expected_output')}
        for case in loaded['cases']
    ]
    write_big_json(Path(out_path), {'name': loaded.get('name'), 'cases': cases})
    print(f'{path}: PyYAML read {len(cases)} cases')


def main() -> None:
    command, *args = sys.argv[1:]
    {
        'write': write,
        'reload': reload,
        'evaluate': evaluate,
        'evaluate-untyped': evaluate_untyped,
        'safe-load': safe_load,
    }[command](*args)


if __name__ == '__main__':
    main()
