"""Differential runs: the same steps on the model and the kernel, compared on
what the kernel can show (errno and query results; rule IDs are the model's
diagnostics only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .model import Outcome, Step


@dataclass
class Divergence:
    index: int
    step: Step
    model: Outcome
    kernel: Outcome


def observable(o: Outcome):
    """What a caller of bpf(2) sees: the errno and what a query wrote back
    (with the stored flags in dialects that report them)."""
    q = o.query
    return (o.errno, None if q is None else (q.count, q.revision, q.progs, q.links, q.flags, q.mode))


def first_divergence(steps: Iterable[Step], model, kernel) -> Divergence | None:
    # One session per run: the kernel backend stays inside its namespace.
    with model.session(), kernel.session():
        for i, s in enumerate(steps):
            a, b = model.apply(s), kernel.apply(s)
            if observable(a) != observable(b):
                return Divergence(i, s, a, b)
    return None
