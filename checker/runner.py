"""Run a request sequence on a backend and check its inline expectations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from .backend import Backend
from .model import OK, Expect, Outcome, Step


@dataclass
class StepResult:
    index: int
    step: Step
    outcome: Outcome
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def check_expectation(e: Expect | None, o: Outcome) -> list[str]:
    """Differences between an expectation and an outcome, as sentences."""
    if e is None:
        return []
    out = []
    if e.errno != o.errno:
        out.append(f"errno: expected {e.errno}, got {o.errno}")
    wants_query = any(x is not None for x in (e.count, e.revision, e.progs, e.mode))
    if not wants_query:
        return out
    q = o.query
    if q is None:
        return out + ["query: expected a query result, the request wrote none back"]
    if e.count is not None and e.count != q.count:
        out.append(f"count: expected {e.count}, got {q.count}")
    if e.revision is not None and e.revision != q.revision:
        out.append(f"revision: expected {e.revision}, got {q.revision}")
    if e.progs is not None:
        want = list(zip(e.progs, e.links or (None,) * len(e.progs)))
        got = list(zip(q.progs, q.links))
        if want != got:
            out.append(f"order: expected {format_entries(e.progs, e.links)}, got {format_entries(q.progs, q.links)}")
    if e.mode is not None and e.mode != q.mode:
        out.append(f"mode: expected {e.mode}, got {q.mode or '(none reported)'}")
    return out


def format_entries(progs, links) -> str:
    links = links or (None,) * len(progs)
    return "[" + " ".join(p if l is None else f"{p}@{l}" for p, l in zip(progs, links)) + "]"


def run_steps(steps: Iterable[Step], backend: Backend) -> Iterator[StepResult]:
    for i, s in enumerate(steps):
        o = backend.apply(s)
        yield StepResult(i, s, o, check_expectation(s.expect, o))


def outcome_summary(o: Outcome) -> str:
    text = o.errno
    if o.query is not None:
        text += f" count {o.query.count} rev {o.query.revision} {format_entries(o.query.progs, o.query.links)}"
        if o.query.mode is not None:
            text += f" mode {o.query.mode}"
    return text
