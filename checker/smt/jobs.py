"""The proofs of ``mprog verify`` on several cores (``--jobs``).

A row of ``mprog verify`` (equivalence at one N, the exhaustive mode, the
invariants) is split into jobs: one per op where the proof is per op (the
tcx dialects' equivalence and exhaustive mode: an op's classes share
nothing with another op's), one job otherwise (the invariants' BMC
unrolling, a dialect with its own proofs, checker.smt.cgroup_proofs).  The
jobs run in worker processes, the costliest first, and their reports come
back in the order one process would give them, so the output does not
depend on ``--jobs``.

Workers are started with ``spawn``: a fresh interpreter with z3's context
of its own (nothing of the parent's solvers, nor its signal-watch thread,
is inherited through fork).  A worker ignores SIGINT (a Ctrl-C reaches the
whole process group; the parent decides) and dies with its parent
(PR_SET_PDEATHSIG), so a killed ``mprog verify`` leaves no proof running.
The parent stops them on SIGINT / SIGTERM before it re-raises.  The time
budget (``--timeout``) is one deadline on the monotonic clock, shared by
every worker.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import signal
import time
from dataclasses import dataclass
from typing import Iterator, Optional

from .solve import Budget

# Relative cost of one op's equivalence proof, from `mprog verify --n-max 63`
# (CPU seconds at N = 63, linux, search bound 4): detach 57, attach 41,
# link_create 32, link_update 9, close 6, link_detach 6, query 3, the rest
# about 1.  Only the order matters: the costliest jobs start first.
OP_COST = {"detach": 57, "attach": 41, "link_create": 32, "link_update": 9, "close": 6,
           "link_detach": 6, "query": 3}
INVARIANTS_COST = 15          # check_invariants(6), linux: 15 s


@dataclass(frozen=True)
class Job:
    """One call of a proof entry point: ``kind`` (equivalence, exhaustive,
    invariants), its bound (N, or the BMC depth) and keyword arguments
    (plain data: it is pickled to a worker)."""
    kind: str
    bound: int
    kwargs: dict
    cost: float


def split(kind: str, dialect: str, bound: int, **kwargs) -> list[Job]:
    """The jobs of one row: one per op of the dialect's encoding where the
    proof is per op, else one (a dialect's own proofs: cost as the costliest
    op's, so it starts first)."""
    from .equiv import encoding, own_proofs

    if kind == "invariants":
        return [Job(kind, bound, dict(kwargs, dialect=dialect), INVARIANTS_COST)]
    if own_proofs(dialect) is not None:
        return [Job(kind, bound, dict(kwargs, dialect=dialect), max(OP_COST.values()) * (bound + 2))]
    return [Job(kind, bound, dict(kwargs, dialect=dialect, ops=[op]), OP_COST.get(op, 1) * (bound + 2))
            for op in encoding(dialect).OPS]


def run_job(job: Job, budget: Optional[Budget] = None) -> tuple[list, float]:
    """The reports of one job, in this process, and its seconds.  ``budget``: the time left
    (checker.smt.solve.Budget: a deadline on time.monotonic, a clock every
    process shares, so a pickled copy ends when the parent's does)."""
    from .. import smt          # the package's names: what a test replaces is what runs

    fn = {"equivalence": smt.verify_equivalence, "exhaustive": smt.verify_exhaustive,
          "invariants": smt.check_invariants}[job.kind]
    t0 = time.perf_counter()
    reports = fn(job.bound, budget, **job.kwargs)
    return reports, time.perf_counter() - t0


def run(jobs: list[Job], workers: int, budget: Optional[Budget] = None) -> Iterator[tuple[list, float]]:
    """Each job's reports and seconds (run_job), in the order of ``jobs``; with ``workers`` > 1 in
    that many processes, costliest job first."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(job, budget)
        return
    ctx = multiprocessing.get_context("spawn")
    # SIGINT is blocked while the workers are started: a spawned worker
    # inherits the mask through exec and ignores SIGINT before it unblocks
    # it (_worker_init), so a Ctrl-C at start-up cannot raise inside its
    # bootstrap; here it stays pending and is raised on unblocking.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = ctx.Pool(min(workers, len(jobs)), initializer=_worker_init)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    try:
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)
        pending = {i: pool.apply_async(run_job, (jobs[i], budget)) for i in order}
        for i in range(len(jobs)):
            yield pending[i].get()
        pool.close()
    except BaseException:
        pool.terminate()          # SIGTERM to every worker: z3 runs in C, nothing to release
        raise
    finally:
        pool.join()


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):      # pragma: no cover - not Linux
        pass
