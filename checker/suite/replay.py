"""Replay a directory of vectors (a generated suite, or any tree of
``.json`` vectors and ``.mprog`` scripts) on a backend: one result per file.

Files are found recursively in sorted path order; ``manifest.json`` and
``vector.schema.json`` of a suite are not vectors.  A vector of a dialect
the backend cannot run (the kernel backend and a model-only dialect) is
skipped with the reason, never counted as passed.
"""
from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..backend import open_backend
from ..errors import BackendUnavailable, BadInput
from ..runner import outcome_summary, run_steps, stored_flags_table
from ..syntax.render import render_step
from ..syntax.sources import load

NOT_VECTORS = frozenset(("manifest.json", "vector.schema.json"))
TRACE = 10


@dataclass
class FileResult:
    path: str
    status: str                       # passed | failed | skipped | bad
    lines: list = field(default_factory=list)   # the report of a failure, skip or bad input
    steps: int = 0


def find(root: str) -> list[str]:
    """Every vector and script under ``root`` (a file is itself), sorted."""
    if os.path.isfile(root):
        return [root]
    out = []
    for d, subdirs, names in os.walk(root):
        subdirs.sort()
        for n in names:
            if (n.endswith(".json") and n not in NOT_VECTORS) or n.endswith(".mprog"):
                out.append(os.path.join(d, n))
    return sorted(out)


def replay_file(path: str, backend_kind: str, dialect: Optional[str] = None,
                skipped: dict = None) -> FileResult:
    """Run one file; ``skipped`` caches the reason a backend cannot run a
    dialect (asked once per dialect)."""
    try:
        script = load(path)
    except BadInput as e:
        return FileResult(path, "bad", [e.render()])
    if dialect is not None and script.dialect != dialect:
        return FileResult(path, "skipped", [f"dialect {script.dialect}, not {dialect}"])
    skipped = {} if skipped is None else skipped
    if script.dialect in skipped:
        return FileResult(path, "skipped", [skipped[script.dialect]])
    try:
        backend = open_backend(backend_kind, script.dialect)
    except BackendUnavailable as e:
        skipped[script.dialect] = f"the {backend_kind} backend cannot run dialect {script.dialect}: {e}"
        return FileResult(path, "skipped", [skipped[script.dialect]])
    stored = stored_flags_table(script.dialect)
    trace = collections.deque(maxlen=TRACE)
    res = FileResult(path, "passed")
    try:
        with backend.session():
            for r in run_steps(script.steps, backend):
                res.steps += 1
                o = r.outcome
                line = f"step {r.index}: {render_step(r.step)}\n      -> {outcome_summary(o, stored)}"
                if o.rule:
                    line += f"  [{o.rule}]"
                trace.append(line)
                if not r.passed:
                    res.status = "failed"
                    res.lines.append(f"step {r.index}: {render_step(r.step)}")
                    res.lines += [f"  {f}" for f in r.failures]
                    res.lines.append(f"  rule: {o.rule or '(kernel)'}")
                    res.lines.append(f"  trace (last {len(trace)} steps, {backend.name} backend):")
                    res.lines += ["    " + t for t in trace]
                    break
    finally:
        backend.close()
    return res


def replay(root: str, backend_kind: str = "model", dialect: Optional[str] = None) -> Iterator[FileResult]:
    skipped: dict = {}
    for path in find(root):
        yield replay_file(path, backend_kind, dialect, skipped)
