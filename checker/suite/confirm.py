"""The kernel confirmation of a generated suite: every vector of a dialect
the running kernel implements is replayed on it (checker.kernel) before
anything is written.  A disagreement is reported with the vector, the step,
what the executor expected and what the kernel answered; it is never turned
into an expectation (the suite's expectations are the executor's, and the
kernel must agree with each of them)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..backend import open_backend
from ..errors import BackendUnavailable
from ..runner import run_steps
from ..syntax.render import render_step


@dataclass
class Confirmation:
    dialect: str
    ran: bool                       # False: no kernel runs this dialect here (``reason``)
    reason: str = ""
    vectors: int = 0
    steps: int = 0
    seconds: float = 0.0
    disagreements: list = field(default_factory=list)


def kernel_reason(dialect: str):
    """None if the running kernel can replay ``dialect``, else why not."""
    try:
        open_backend("kernel", dialect).close()
    except BackendUnavailable as e:
        return str(e)
    return None


def confirm(dialect: str, vectors: list, stop_after: int = 10, progress=None) -> Confirmation:
    """Replay ``vectors`` (checker.suite.generate.Vector) on the kernel, one
    private namespace each; stop after ``stop_after`` disagreeing vectors."""
    reason = kernel_reason(dialect)
    if reason is not None:
        return Confirmation(dialect, False, reason)
    c = Confirmation(dialect, True)
    t0 = time.perf_counter()
    for i, vec in enumerate(vectors):
        backend = open_backend("kernel", dialect)
        try:
            with backend.session():
                for r in run_steps(vec.script.steps, backend):
                    c.steps += 1
                    if not r.passed:
                        c.disagreements.append(
                            f"{vec.path}: step {r.index}: {render_step(r.step)}\n    "
                            + "\n    ".join(f"{f} (expected: the executor, got: the kernel)"
                                            for f in r.failures))
                        break
        finally:
            backend.close()
        c.vectors += 1
        if progress is not None:
            progress(i + 1, len(vectors))
        if len(c.disagreements) >= stop_after:
            break
    c.seconds = time.perf_counter() - t0
    return c
