"""Drive the unmodified Logfire Python SDK against a running datasets-server.

Usage: python logfire_sdk.py   (with DATASETS_BASE_URL and DATASETS_API_KEY set)

Every check talks to the real server through `LogfireAPIClient`; any failure
exits non-zero. The last line is a summary: "N passed, N failed".
"""

from __future__ import annotations

import os
import sys
import traceback

from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EqualsExpected, IsInstance

from logfire.experimental.api_client import (
    CaseNotFoundError,
    DatasetApiError,
    DatasetNotFoundError,
    LogfireAPIClient,
)

from qa_types import AnswerOutput, CaseMetadata, QuestionInput



NAME = 'qa-golden-set'
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError(f'expected {exc_type.__name__} from {fn.__name__}')


state: dict = {}


@check
def create_typed_dataset(client: LogfireAPIClient):
    ds = client.create_dataset(
        name=NAME,
        input_type=QuestionInput,
        output_type=AnswerOutput,
        metadata_type=CaseMetadata,
        description='Golden test cases for the Q&A system',
        evaluators=[EqualsExpected()],
    )
    assert ds['name'] == NAME, ds
    assert ds['input_schema']['title'] == 'QuestionInput', ds['input_schema']
    assert ds['case_count'] == 0
    assert [e['name'] for e in ds['evaluators']] == ['EqualsExpected'], ds['evaluators']
    state['id'] = str(ds['id'])
    err = expect_raises(DatasetApiError, client.create_dataset, name=NAME)
    assert err.status_code == 409, err


@check
def add_cases_and_list(client: LogfireAPIClient):
    created = client.add_cases(
        NAME,
        [
            Case(
                name='capital-question',
                inputs=QuestionInput(question='What is the capital of France?'),
                expected_output=AnswerOutput(answer='Paris', confidence=0.99),
                metadata=CaseMetadata(category='geography', difficulty='easy'),
                evaluators=(IsInstance(type_name='AnswerOutput'),),
            ),
            Case(
                name='math-question',
                inputs=QuestionInput(question='What is 15 * 23?'),
                expected_output=AnswerOutput(answer='345', confidence=1.0),
                metadata=CaseMetadata(category='math', difficulty='easy'),
            ),
        ],
    )
    assert [c['name'] for c in created] == ['capital-question', 'math-question'], created
    assert all(c['version'] == 1 for c in created)
    state['case_id'] = str(created[0]['id'])
    cases = client.list_cases(NAME)
    assert len(cases) == 2, cases
    assert cases[0]['inputs'] == {'question': 'What is the capital of France?', 'context': None}
    assert client.get_dataset(NAME, include_cases=False)['case_count'] == 2
    # By id as well as by name.
    assert len(client.list_cases(state['id'])) == 2


@check
def schema_violation_is_422_with_a_path(client: LogfireAPIClient):
    err = expect_raises(
        DatasetApiError,
        client.add_cases,
        NAME,
        [{'name': 'bad', 'inputs': {'question': 42}}],
    )
    assert err.status_code == 422, err
    locs = [d['loc'] for d in err.detail['detail']]
    assert ['body', 'cases', 0, 'inputs', 'question'] in locs, locs
    assert client.get_dataset(NAME, include_cases=False)['case_count'] == 2


@check
def get_and_update_case(client: LogfireAPIClient):
    case = client.get_case(NAME, state['case_id'])
    assert case['name'] == 'capital-question'
    updated = client.update_case(
        NAME,
        state['case_id'],
        metadata=CaseMetadata(category='geography', difficulty='easy', reviewed=True),
    )
    assert updated['metadata']['reviewed'] is True, updated
    assert updated['version'] == 2, updated
    assert updated['expected_output'] == {'answer': 'Paris', 'confidence': 0.99}
    cleared = client.update_case(NAME, state['case_id'], expected_output=None)
    assert cleared['expected_output'] is None and cleared['version'] == 3, cleared
    expect_raises(
        CaseNotFoundError, client.get_case, NAME, '00000000-0000-0000-0000-000000000000'
    )


@check
def update_dataset(client: LogfireAPIClient):
    ds = client.update_dataset(NAME, description='Updated description')
    assert ds['description'] == 'Updated description'
    assert ds['input_schema']['title'] == 'QuestionInput', 'schemas are left as they were'
    ds = client.update_dataset(NAME, description=None)
    assert ds['description'] is None


@check
def push_dataset_upserts(client: LogfireAPIClient):
    local = Dataset[QuestionInput, AnswerOutput, CaseMetadata](
        name=NAME,
        cases=[
            Case(
                name='capital-question',
                inputs=QuestionInput(question='What is the capital of France?'),
                expected_output=AnswerOutput(answer='Paris', confidence=1.0),
                metadata=CaseMetadata(category='geography', difficulty='easy', reviewed=True),
            ),
            Case(
                name='science-question',
                inputs=QuestionInput(question='What is the chemical symbol for gold?'),
                expected_output=AnswerOutput(answer='Au', confidence=0.98),
                metadata=CaseMetadata(category='science', difficulty='medium'),
            ),
        ],
        evaluators=[EqualsExpected()],
    )
    info = client.push_dataset(local, description='pushed')
    assert info['case_count'] == 3, info
    assert info['description'] == 'pushed'
    by_name = {c['name']: c for c in client.list_cases(NAME)}
    assert by_name['capital-question']['expected_output']['confidence'] == 1.0
    assert str(by_name['capital-question']['id']) == state['case_id'], 'upsert keeps the id'
    # A second push of the same dataset changes nothing but versions.
    assert client.push_dataset(local)['case_count'] == 3


@check
def get_dataset_as_pydantic_evals(client: LogfireAPIClient):
    exported = client.get_dataset(NAME)
    assert {c['name'] for c in exported['cases']} == {
        'capital-question', 'math-question', 'science-question'
    }
    dataset = client.get_dataset(
        NAME, input_type=QuestionInput, output_type=AnswerOutput, metadata_type=CaseMetadata
    )
    assert isinstance(dataset, Dataset), type(dataset)
    assert len(dataset.cases) == 3
    first = dataset.cases[0]
    assert isinstance(first.inputs, QuestionInput), first.inputs
    assert isinstance(first.expected_output, AnswerOutput), first.expected_output
    assert isinstance(first.metadata, CaseMetadata), first.metadata
    assert [type(e).__name__ for e in dataset.evaluators] == ['EqualsExpected']
    math = next(c for c in dataset.cases if c.name == 'math-question')
    assert math.expected_output == AnswerOutput(answer='345', confidence=1.0)
    # The exported document also loads through Dataset.from_dict directly.
    typed = Dataset[QuestionInput, AnswerOutput, CaseMetadata].from_dict(exported)
    assert len(typed.cases) == 3


@check
def untyped_dataset_and_errors(client: LogfireAPIClient):
    client.create_dataset(name='scratch')
    client.add_cases('scratch', [{'inputs': [1, 2, 3]}, {'inputs': 'anything'}])
    assert len(client.list_cases('scratch')) == 2
    expect_raises(DatasetNotFoundError, client.list_cases, 'no-such-dataset')
    expect_raises(ValueError, client.create_dataset, name='not a valid name')
    client.delete_dataset('scratch')


@check
def delete_case_and_dataset(client: LogfireAPIClient):
    client.delete_case(NAME, state['case_id'])
    expect_raises(CaseNotFoundError, client.get_case, NAME, state['case_id'])
    expect_raises(CaseNotFoundError, client.delete_case, NAME, state['case_id'])
    assert client.get_dataset(NAME, include_cases=False)['case_count'] == 2
    client.delete_dataset(NAME)
    expect_raises(DatasetNotFoundError, client.get_dataset, NAME, include_cases=False)
    assert all(d['name'] != NAME for d in client.list_datasets())


@check
def wrong_key_is_rejected(client: LogfireAPIClient):
    with LogfireAPIClient(api_key='dsk_wrong', base_url=os.environ['DATASETS_BASE_URL']) as bad:
        err = expect_raises(DatasetApiError, bad.list_datasets)
        assert err.status_code == 401, err


def main() -> int:
    base_url = os.environ['DATASETS_BASE_URL']
    api_key = os.environ['DATASETS_API_KEY']
    passed = failed = 0
    with LogfireAPIClient(api_key=api_key, base_url=base_url) as client:
        for fn in CHECKS:
            try:
                fn(client)
            except Exception:
                failed += 1
                print(f'FAIL {fn.__name__}')
                traceback.print_exc()
            else:
                passed += 1
                print(f'ok   {fn.__name__}')
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
