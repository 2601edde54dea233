"""The Python SDK's side of `datasets-bench`: push and typed export of N cases.

Usage: python bench_python.py BASE_URL API_KEY N

Builds a pydantic-evals Dataset of N cases of the seed guide's types (the
same content as the Rust side), then times, against the server given:
`LogfireAPIClient.push_dataset` (create + upsert) and `get_dataset` with
the types (the typed export). Prints the figures as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

from pydantic_evals import Case, Dataset

from logfire.experimental.api_client import LogfireAPIClient

from qa_types import AnswerOutput, CaseMetadata, QuestionInput



def main() -> None:
    base_url, api_key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    categories = ['math', 'science', 'geography']
    dataset = Dataset[QuestionInput, AnswerOutput, CaseMetadata](
        name='python-bench',
        cases=[
            Case(
                name=f'case-{i}',
                inputs=QuestionInput(question=f'What is {i} + {i}?'),
                expected_output=AnswerOutput(answer=str(2 * i), confidence=0.99),
                metadata=CaseMetadata(category=categories[i % 3], difficulty='easy'),
            )
            for i in range(n)
        ],
    )
    with LogfireAPIClient(api_key=api_key, base_url=base_url, timeout=600) as client:
        started = time.perf_counter()
        pushed = client.push_dataset(dataset)
        push_s = time.perf_counter() - started
        assert pushed['case_count'] == n, pushed

        started = time.perf_counter()
        exported = client.get_dataset(
            'python-bench',
            input_type=QuestionInput,
            output_type=AnswerOutput,
            metadata_type=CaseMetadata,
        )
        export_s = time.perf_counter() - started
        assert len(exported.cases) == n
        assert isinstance(exported.cases[0].inputs, QuestionInput)
    print(json.dumps({'push_s': push_s, 'typed_export_s': export_s, 'sdk': f"logfire {version('logfire')}"}))


if __name__ == '__main__':
    main()
