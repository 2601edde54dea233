"""The Q&A case types the interop scripts share.

They mirror the Rust types of the tests and benchmarks (`QuestionInput`,
`AnswerOutput`, `CaseMetadata`), so a dataset written by either side loads
typed on the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QuestionInput:
    question: str
    context: str | None = None


@dataclass
class AnswerOutput:
    answer: str
    confidence: float


@dataclass
class CaseMetadata:
    category: str
    difficulty: str
    reviewed: bool = False
