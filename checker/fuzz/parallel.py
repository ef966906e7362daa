"""Several campaigns at once, one process each (issue 13, scope 3): each
worker runs :func:`checker.fuzz.campaign.run_campaign` with its own seed in
its own private namespace (or cgroup subtree), and the parent adds their
summaries up.

Whether this gains anything is a property of the kernel, not of Python:
every tcx change takes the RTNL mutex (tcx_prog_attach() and friends run
under rtnl_lock()) and waits for an RCU grace period while holding it, so
two campaigns serialise on the mutex however many cores there are; only
what each does outside it (generation, the executor, failing requests that
return before the lock) overlaps.  ``bench/bench_fuzz.py --jobs J`` measures
it; the README reports the figure.

The workers are started with the ``spawn`` method (a fresh interpreter: no
namespace-entered thread or open backend is inherited through fork).  The
parent owns rcu_expedited (checker.kernel.rcu); a worker never touches it.
Each worker installs the stop handlers (checker.signals), so SIGINT or
SIGTERM makes it release its namespace, programs and links as a campaign
does; the parent forwards a stop signal it receives to every worker and
waits for them before it re-raises.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

from .. import signals
from .campaign import Summary, run_campaign

# Worker j of a parallel campaign with seed s runs seed s * SEED_STRIDE + j:
# distinct for every (s, j) with j < SEED_STRIDE, and deterministic.
SEED_STRIDE = 1000


def _worker(seed: int, max_requests: int, time_limit_s: float, dialect: str) -> Summary:
    signals.install()
    s = run_campaign(seed, max_requests, time_limit_s, dialect=dialect)
    # The example database and the generator state are not needed by the
    # parent; a Summary is plain data and pickles as such.
    return s


def run_parallel(seed: int, max_requests: int, time_limit_s: float, jobs: int = 2,
                 dialect: str = "linux") -> tuple[Summary, list[Summary]]:
    """``jobs`` campaigns in ``jobs`` processes, ``max_requests // jobs``
    requests each (the remainder to the first); their summaries summed
    (requests, sequences, mutations, kernel time, namespaces, divergences:
    the first worker's minimal divergence, if any) and their coverage
    united, and each worker's own summary.  ``elapsed`` is the wall time
    of the whole run (the workers' start-up included)."""
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    share = [max_requests // jobs + (1 if j < max_requests % jobs else 0) for j in range(jobs)]
    ctx = multiprocessing.get_context("spawn")
    start = time.monotonic()
    with ctx.Pool(jobs) as pool:
        pending = [pool.apply_async(_worker, (seed * SEED_STRIDE + j, share[j], time_limit_s, dialect))
                   for j in range(jobs)]
        try:
            parts = [p.get() for p in pending]
            # Idle workers leave on the pool's sentinel.  Leaving the
            # ``with`` alone would SIGTERM them (Pool.terminate), and a
            # worker whose stop handler's raise is swallowed (a finalizer
            # running at that moment: checker.signals) then waits for a
            # task forever while the parent waits for it: a CI run hung so.
            pool.close()
            pool.join()
        except BaseException:
            # A stop (or a worker's failure): the workers release what they
            # made when signalled, then the pool is torn down.
            for proc in getattr(pool, "_pool", []):
                if proc.pid is not None and proc.is_alive():
                    os.kill(proc.pid, signal.SIGTERM)
            pool.close()
            pool.join()
            raise
    total = Summary(seed, max_requests, time_limit_s, dialect, rules_total=parts[0].rules_total)
    for s in parts:
        total.requests += s.requests
        total.sequences += s.sequences
        total.mutations += s.mutations
        total.kernel_seconds += s.kernel_seconds
        total.namespaces += s.namespaces
        total.setup_requests += s.setup_requests
        total.restore_requests += s.restore_requests
        total.rules_covered |= s.rules_covered
        total.cells |= s.cells
        if s.divergences and total.minimal is None:
            total.divergences, total.minimal = 1, s.minimal
    total.elapsed = time.monotonic() - start
    return total, parts

