"""Differential fuzzing: hypothesis-generated request sequences on the
reference executor and on the live kernel, compared step by step on what the
kernel can show (``checker.diff.observable``).

``run_campaign`` is deterministic for a seed (as long as the time limit does
not cut it short): hypothesis runs with ``@seed(seed)``, no example database
and no derandomisation.  Every sequence runs on a fresh :class:`Executor` and
a fresh kernel backend of the dialect (tcx and netkit: its own network
namespace; cgroup: its own cgroup subtree).  The sequence strategy is the
kernel target's (``STRATEGIES``).  On a divergence
hypothesis shrinks the sequence; the minimal one is returned in the summary.

The library never prints; progress is reported through ``on_progress``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st

from .. import dialects, signals
from ..diff import observable
from ..errors import BackendUnavailable
from ..exec import Executor
from ..model import Outcome, Step
from . import cgroup as cgroup_strategies
from . import strategies as tcx_strategies

# One sequence in this many starts from a hook (list) filled to the maximum.
FULL_HOOK_ONE_IN = 10
# Dialect.kernel -> sequences(full) of that kernel target.
STRATEGIES = {
    "tcx": lambda full: tcx_strategies.sequences(full_hook=full),
    "netkit": lambda full: tcx_strategies.sequences(full_hook=full, dialect="netkit"),
    "cgroup": lambda full: cgroup_strategies.sequences(full_list=full),
}
# Fewer than the mean requests per sequence: rounds rarely overshoot in examples.
REQUESTS_PER_SEQUENCE = 30


@dataclass
class Divergent:
    """A minimal diverging sequence: ``steps`` end with the diverging step."""
    steps: list[Step]
    index: int
    model: list[Outcome]          # model outcome of every step
    kernel: list[Outcome]         # kernel outcome of every step


@dataclass
class Summary:
    seed: int
    max_requests: int
    time_limit_s: float
    dialect: str = "linux"
    requests: int = 0                  # kernel requests run (incl. while shrinking)
    sequences: int = 0
    mutations: int = 0                 # model ok on a non-query op
    divergences: int = 0               # 0 or 1
    minimal: Optional[Divergent] = None
    rules_covered: set = field(default_factory=set)
    rules_total: int = 0
    kernel_seconds: float = 0.0        # time spent inside KernelBackend.apply
    elapsed: float = 0.0
    shrinking: bool = False

    @property
    def rules_missing(self) -> list:
        """The dialect's rules no request of the campaign decided."""
        return sorted(set(dialects.get(self.dialect).rules) - self.rules_covered)

    @property
    def kernel_rps(self) -> float:
        return self.requests / self.kernel_seconds if self.kernel_seconds else 0.0

    @property
    def progress(self) -> float:
        """Fraction of the budget used, 0..1."""
        a = self.requests / self.max_requests if self.max_requests else 1.0
        b = self.elapsed / self.time_limit_s if self.time_limit_s else 0.0
        return min(1.0, max(a, b))


class _Diverged(Exception):
    def __init__(self, d: Divergent):
        super().__init__(f"divergence at step {d.index}")
        self.divergent = d


def _strategy(dialect: str):
    # (st.one_of over copies of one strategy is far from uniform; a flag
    # drawn with sampled_from is.)
    sequences = STRATEGIES[dialects.get(dialect).kernel]
    return st.sampled_from([False] * (FULL_HOOK_ONE_IN - 1) + [True]).flatmap(sequences)


def run_sequence(steps, summary: Summary) -> Optional[Divergent]:
    """Run one sequence on fresh backends; update the summary's counters."""
    from ..kernel import kernel_backend
    model = Executor(summary.dialect)
    mo, ko = [], []
    clock = time.perf_counter
    with kernel_backend(summary.dialect) as kb, kb.session():
        for i, s in enumerate(steps):
            signals.check()           # a stop signal whose first raise was swallowed
            a = model.apply(s)
            t0 = clock()
            b = kb.apply(s)
            summary.kernel_seconds += clock() - t0
            summary.requests += 1
            mo.append(a)
            ko.append(b)
            if a.rule:
                summary.rules_covered.add(a.rule)
            summary.rules_covered.update(a.effects)
            if a.ok and s.op != "query":
                summary.mutations += 1
            if observable(a) != observable(b):
                return Divergent(list(steps[:i + 1]), i, mo, ko)
    return None


def run_campaign(seed: int, max_requests: int, time_limit_s: float,
                 on_progress: Optional[Callable[[Summary], None]] = None,
                 dialect: str = "linux") -> Summary:
    """Fuzz ``dialect``'s model against the kernel target that implements it
    (tcx: linux and its deltas; netkit; cgroup) until ``max_requests`` kernel
    requests or ``time_limit_s`` seconds are used up, or a divergence is
    found (then shrunk).  Raises BackendUnavailable if that backend cannot
    run here, or no kernel target implements ``dialect``."""
    from ..kernel import available, kernel_dialect
    d = kernel_dialect(dialect)
    reason = available(dialect)
    if reason is not None:
        raise BackendUnavailable(reason)

    summary = Summary(seed, max_requests, time_limit_s, dialect, rules_total=len(d.rules))
    start = time.monotonic()

    def exhausted() -> bool:
        summary.elapsed = time.monotonic() - start
        return summary.requests >= max_requests or summary.elapsed >= time_limit_s

    def make_round(round_seed: int, max_examples: int):
        @settings(database=None, derandomize=False, max_examples=max_examples, deadline=None,
                  suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                  phases=(Phase.generate, Phase.shrink), report_multiple_bugs=False,
                  print_blob=False)
        @hyp_seed(round_seed)
        @given(_strategy(dialect))
        def campaign(steps):
            # While shrinking a divergence the budget no longer applies: the
            # minimal sequence is worth the extra requests.
            if not summary.shrinking and exhausted():
                return
            d = run_sequence(steps, summary)
            summary.sequences += 1
            summary.elapsed = time.monotonic() - start
            if on_progress is not None:
                on_progress(summary)
            if d is not None:
                summary.shrinking = True
                raise _Diverged(d)
        return campaign

    # Drawing a sequence costs ~20 ms of hypothesis time even when the budget
    # is used up and the test returns at once, so the campaign runs in rounds
    # sized from the requests left (a sequence averages ~30 requests); round
    # r uses seed (seed, r), so a campaign is still deterministic for a seed.
    rnd = 0
    while not exhausted():
        left = max_requests - summary.requests
        before = summary.requests
        try:
            make_round(seed * 1_000_003 + rnd, max(1, left // REQUESTS_PER_SEQUENCE))()
        except _Diverged as e:
            # hypothesis re-raises the failure of the minimal example last.
            summary.divergences = 1
            summary.minimal = e.divergent
            break
        except BaseException:
            # A stop signal may reach us wrapped (a FlakyFailure, an error
            # of a library that caught it): it is still a stop.
            signals.check()
            raise
        signals.check()
        rnd += 1
        if summary.requests == before:       # nothing ran (cannot happen; be safe)
            break
    summary.elapsed = time.monotonic() - start
    summary.rules_covered &= set(d.rules)
    summary.shrinking = False
    if on_progress is not None:
        on_progress(summary)
    return summary
