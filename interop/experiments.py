"""pydantic-evals experiments, as the real packages make them.

Usage:
  python experiments.py send BASE_URL API_KEY
      Runs an evaluation with the unmodified Logfire SDK configured to send
      to BASE_URL with API_KEY as its token (`logfire.configure(token=...,
      advanced=logfire.AdvancedOptions(base_url=...))`), flushes, and prints
      the report as JSON (the last line) for the caller to compare with what
      the server stored.
  python experiments.py shape
      Runs the same evaluation with Logfire's SDK exporting to an in-memory
      OpenTelemetry exporter (nothing is sent anywhere), and prints, as JSON,
      the attributes of the `evaluate {name}` span and of a successful and a
      failed `case: {case_name}` span: for each, its OpenTelemetry type, and
      for JSON text its JSON type.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import logfire
from pydantic_evals import Case, Dataset
from pydantic_evals.evaluators import EqualsExpected, Evaluator, EvaluatorContext, IsInstance


@dataclass
class Length(Evaluator):
    """A score and a label, so that both kinds of result appear."""

    def evaluate(self, ctx: EvaluatorContext) -> dict:
        return {
            'length': float(len(ctx.output)),
            'size': 'short' if len(ctx.output) < 4 else 'long',
        }


def dataset() -> Dataset:
    return Dataset(
        name='qa-experiments',
        cases=[
            Case(name='capital', inputs={'question': 'paris'}, expected_output='PARIS', metadata={'topic': 'geo'}),
            Case(name='wrong', inputs={'question': 'rome'}, expected_output='MILAN', metadata={'topic': 'geo'}),
            Case(name='boom', inputs={'question': 'boom'}, expected_output='BOOM'),
        ],
        evaluators=[EqualsExpected(), IsInstance(type_name='str'), Length()],
    )


def answer(inputs: dict) -> str:
    if inputs['question'] == 'boom':
        raise ValueError('the task failed')
    return inputs['question'].upper()


def run():
    return dataset().evaluate_sync(answer, name='upper', progress=False, metadata={'model': 'upper-v1'})


def send(base_url: str, key: str) -> None:
    logfire.configure(
        token=key,
        advanced=logfire.AdvancedOptions(base_url=base_url),
        console=False,
        service_name='datasets-interop',
        metrics=False,
    )
    report = run()
    logfire.force_flush()
    out = {
        'name': report.name,
        'trace_id': report.trace_id,
        'span_id': report.span_id,
        'cases': {
            c.name: {
                'inputs': c.inputs,
                'metadata': c.metadata,
                'expected_output': c.expected_output,
                'output': c.output,
                'scores': {k: v.value for k, v in c.scores.items()},
                'labels': {k: v.value for k, v in c.labels.items()},
                'assertions': {k: v.value for k, v in c.assertions.items()},
            }
            for c in report.cases
        },
        'failures': {f.name: f.error_message for f in report.failures},
        'averages': report.averages().model_dump(),
    }
    logfire.shutdown()
    print(json.dumps(out))


def shape_of(value) -> str:
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, str):
        return 'str'
    return type(value).__name__


def json_shape(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return 'text'
    return {dict: 'object', list: 'array', type(None): 'null'}.get(type(value), 'scalar')


def shape() -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    logfire.configure(
        send_to_logfire=False,
        console=False,
        additional_span_processors=[SimpleSpanProcessor(exporter)],
        metrics=False,
    )
    run()
    spans = exporter.get_finished_spans()

    def describe(span) -> dict:
        attrs = dict(span.attributes)
        schema = json.loads(attrs.get('logfire.json_schema', '{}')).get('properties', {})
        out = {}
        for key, value in attrs.items():
            if key.startswith('code.') or key == 'logfire.json_schema':
                continue
            kind = shape_of(value)
            if kind == 'str' and schema.get(key):
                kind = 'json:' + json_shape(value)
            out[key] = kind
        return {
            'name': span.name,
            'status': span.status.status_code.name,
            'events': sorted({e.name for e in span.events}),
            'event_attributes': sorted({k for e in span.events for k in e.attributes}),
            'attributes': out,
        }

    run_span = next(s for s in spans if s.name == 'evaluate {name}')
    cases = [s for s in spans if s.name == 'case: {case_name}']
    ok = next(s for s in cases if s.attributes['case_name'] == 'capital')
    failed = next(s for s in cases if s.attributes['case_name'] == 'boom')
    print(json.dumps({'run': describe(run_span), 'case': describe(ok), 'failure': describe(failed)}))


if __name__ == '__main__':
    if sys.argv[1:2] == ['send']:
        send(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ['shape']:
        shape()
    else:
        sys.exit(__doc__)
