"""pydantic-evals' side of the report evaluator checks (tests/report_evaluators.rs).

Usage:
  python report_evaluators.py run FILE OUT_JSON
      Load the dataset FILE (its report_evaluators among it), run the task
      that predicts `inputs['predicted']` and records the metric
      `confidence` = `inputs['score']`, named 'reports', and write the
      report's analyses and report evaluator failures to OUT_JSON as
      pydantic dumps them (mode='json').

Any failure exits non-zero with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic_evals import Dataset, increment_eval_metric
from pydantic_evals.reporting.analyses import ReportAnalysis


def run(path: str, out_path: str) -> None:
    dataset = Dataset[Any, Any, Any].from_file(path)

    async def task(inputs: Any) -> Any:
        increment_eval_metric('confidence', inputs['score'])
        return inputs['predicted']

    report = dataset.evaluate_sync(task, name='reports', progress=False)
    analyses = TypeAdapter(list[ReportAnalysis]).dump_python(report.analyses, mode='json')
    failures = [
        {'name': f.name, 'error_message': f.error_message} for f in report.report_evaluator_failures
    ]
    Path(out_path).write_text(json.dumps({'analyses': analyses, 'failures': failures}, indent=2))
    print(f'{path}: {len(analyses)} analyses, {len(failures)} report evaluator failures')


def main() -> None:
    command, *args = sys.argv[1:]
    {'run': run}[command](*args)


if __name__ == '__main__':
    main()
