"""Differential fuzzing: generated request sequences on the reference
executor and on the live kernel, compared step by step on what the kernel
can show (``checker.diff.observable``).

Two engines, by the dialect's kernel target:

* ``GENERATORS`` (tcx): checker.fuzz.generate's seeded, state-aware,
  coverage-steered generator, interleaved with the executor.  One kernel
  backend (one private namespace, its devices and programs) serves the whole
  campaign: after each sequence :meth:`KernelBackend.restore` detaches and
  closes what the sequence made and verifies every hook empty by query; a
  fresh namespace only if that fails.  A divergence is confirmed on a fresh
  backend and handed to hypothesis to shrink (checker.fuzz.shrink).
* ``STRATEGIES`` (targets without a generator: netkit, cgroup): hypothesis
  generates (the kernel target's strategy), every sequence runs on a fresh
  Executor and a fresh kernel backend of the dialect (netkit: its own
  network namespace; cgroup: its own cgroup subtree), and hypothesis
  shrinks a divergence.

``run_campaign`` is deterministic for a seed (as long as the time limit does
not cut it short).  The library never prints; progress is reported through
``on_progress``.
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
from ..errors import BackendUnavailable, SpecCrash
from ..exec import Executor
from ..model import Outcome, Step
from . import cgroup as cgroup_strategies
from . import generate
from . import strategies as tcx_strategies
from .shrink import Divergent, run_fresh

# (hypothesis engine) One sequence in this many starts from a hook (list) filled to the maximum.
FULL_HOOK_ONE_IN = 10
# Fewer than the mean requests per sequence: rounds rarely overshoot in examples.
REQUESTS_PER_SEQUENCE = 30
# Dialect.kernel -> the campaign's generator module (checker.fuzz.generate's interface).
GENERATORS = {"tcx": generate}
# Dialect.kernel -> sequences(full) of that kernel target (the hypothesis engine).
STRATEGIES = {
    "tcx": lambda full: tcx_strategies.sequences(full_hook=full),
    "netkit": lambda full: tcx_strategies.sequences(full_hook=full, dialect="netkit"),
    "cgroup": lambda full: cgroup_strategies.sequences(full_list=full),
}


@dataclass
class Summary:
    seed: int
    max_requests: int
    time_limit_s: float
    dialect: str = "linux"
    requests: int = 0                  # generated requests run on both sides
    sequences: int = 0
    mutations: int = 0                 # model ok on a non-query op
    divergences: int = 0               # 0 or 1
    minimal: Optional[Divergent] = None
    rules_covered: set = field(default_factory=set)
    rules_total: int = 0               # rules of the dialect
    kernel_seconds: float = 0.0        # time spent inside KernelBackend.apply
    elapsed: float = 0.0
    shrinking: bool = False
    setup_requests: int = 0            # prelude requests (the full hook's 63 attaches), compared too
    restore_requests: int = 0          # requests restore() made between sequences
    namespaces: int = 0                # private namespaces the campaign created
    cells: set = field(default_factory=set)    # (rule, errno, boundary) reached
    timeline: list = field(default_factory=list)  # (requests, rules, cells) when either grew
    shrink_requests: int = 0           # requests run while confirming and shrinking

    @property
    def kernel_rps(self) -> float:
        return self.requests / self.kernel_seconds if self.kernel_seconds else 0.0

    @property
    def rps(self) -> float:
        """Generated requests per second, end to end."""
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def rules_missing(self) -> list:
        """The dialect's rules no request of the campaign decided."""
        return sorted(set(dialects.get(self.dialect).rules) - self.rules_covered)

    def rules_at(self, requests: int) -> int:
        """Rules reached within the first ``requests`` requests."""
        n = 0
        for r, rules, _ in self.timeline:
            if r > requests:
                break
            n = rules
        return n

    @property
    def all_rules_at(self) -> Optional[int]:
        """The request by which the last rule the campaign reached was reached."""
        best = len(self.rules_covered)
        for r, rules, _ in self.timeline:
            if rules >= best:
                return r
        return None

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


def run_campaign(seed: int, max_requests: int, time_limit_s: float,
                 on_progress: Optional[Callable[[Summary], None]] = None,
                 dialect: str = "linux", unit=None) -> Summary:
    """Fuzz ``dialect``'s model against the kernel target that implements it
    (tcx: linux and its deltas; netkit; cgroup) until ``max_requests``
    generated requests or ``time_limit_s`` seconds are used up, or a
    divergence is found (then shrunk).  Raises BackendUnavailable if that
    backend cannot run here, or no kernel target implements ``dialect``.
    ``unit`` replaces the dialect's executor unit (checker.exec.Executor; the
    tests plant bugs with it)."""
    from ..kernel import available, kernel_dialect
    d = kernel_dialect(dialect)
    reason = available(dialect)
    if reason is not None:
        raise BackendUnavailable(reason)
    summary = Summary(seed, max_requests, time_limit_s, dialect, rules_total=len(d.rules))
    engine = _generated if d.kernel in GENERATORS else _hypothesis
    engine(summary, on_progress, unit)
    summary.rules_covered &= set(d.rules)
    summary.shrinking = False
    if on_progress is not None:
        on_progress(summary)
    return summary


# -- the generator engine -------------------------------------------------------

PROGRESS_EVERY = 0.1          # seconds between on_progress calls


class _Bases:
    """The model's world after each prelude (computed once) and the
    outcomes of the prelude's requests."""

    def __init__(self, gen, dialect: str, unit=None):
        self.worlds, self.outcomes = {}, {}
        for full in (False, True):
            ex = Executor(dialect, unit)
            self.outcomes[full] = [ex.apply(s) for s in gen.prelude(full)]
            self.worlds[full] = ex.world


def _fresh_backend(gen, dialect: str, summary: Summary):
    """A kernel backend in a new namespace with the declarations of every
    prelude made (the full hook's programs loaded, not attached) and marked."""
    from ..kernel import kernel_backend
    kb = kernel_backend(dialect)
    summary.namespaces += 1
    try:
        with kb.session():
            for s in gen.prelude(True):
                if s.op != "attach":
                    o = kb.apply(s)
                    if not o.ok:
                        raise SpecCrash(f"campaign set-up: {s.op} {s.prog or s.dev} failed: {o.errno}")
        kb.mark()
    except BaseException:
        kb.close()
        raise
    return kb


def _generated(summary: Summary, on_progress, unit=None) -> None:
    import random

    dialect = summary.dialect
    gen = GENERATORS[dialects.get(dialect).kernel]
    cov = gen.Coverage(dialects.get(dialect).rules)
    bases = _Bases(gen, dialect, unit)
    budget, limit = summary.max_requests, summary.time_limit_s
    start = time.monotonic()
    clock = time.perf_counter
    rule_set = cov.rules
    cells, reached, timeline = cov.cells, cov.reached, cov.timeline
    found = None
    seq_rng = random.Random(summary.seed)     # the seed of each sequence's own generator
    for s, o in zip(gen.prelude(True), bases.outcomes[True]):
        cov.record(s, o.rule, o.effects, o.errno, "-", 0)
    kb = _fresh_backend(gen, dialect, summary)
    try:
        last_progress = 0.0
        session = kb.session()
        session.__enter__()
        try:
            while summary.requests < budget:
                now = time.monotonic()
                summary.elapsed = now - start
                if summary.elapsed >= limit:
                    break
                if on_progress is not None and now - last_progress >= PROGRESS_EVERY:
                    last_progress = now
                    on_progress(summary)
                signals.check()       # a stop signal whose first raise was swallowed
                bias = cov.bias()
                draw = gen.RandomDraw(seq_rng.getrandbits(64))
                full, pre, g = gen.start(draw, bias, dialect)
                model = Executor(dialect, unit)
                model.world = bases.worlds[full]
                mo = list(bases.outcomes[full])
                ko = [o if s.op != "attach" else None for s, o in zip(pre, mo)]
                steps = list(pre)
                if full:                 # the declarations are the marked state; the attaches run
                    for i, s in enumerate(pre):
                        if s.op == "attach":
                            ko[i] = b = kb.apply(s)
                            summary.setup_requests += 1
                            if observable(b) != observable(mo[i]):
                                found = (steps[:i + 1], i, mo[:i + 1], ko[:i + 1], draw.choices, bias)
                                break
                body = g.steps(lambda: model.world)
                for s in (() if found else body):
                    world = model.world
                    a = model.apply(s)
                    t0 = clock()
                    b = kb.apply(s)
                    summary.kernel_seconds += clock() - t0
                    summary.requests += 1
                    steps.append(s)
                    mo.append(a)
                    ko.append(b)
                    if a.errno == "ok" and s.op != "query":
                        summary.mutations += 1
                    rule = a.rule
                    cell = (rule, a.errno, gen.hook_size(world, s))
                    if cell not in cells or (rule not in reached and rule) or (
                            a.effects and not reached.issuperset(a.effects)):
                        cov.record(s, rule, a.effects, a.errno, cell[2], summary.requests)
                    if observable(a) != observable(b):
                        # The integers up to the diverging request, then a
                        # "no more requests" (unless the body is at its
                        # limit): the sequence hypothesis replays ends here,
                        # and it shrinks far fewer integers.
                        more = [0] if len(steps) - len(pre) < g.limit else []
                        found = (steps, len(steps) - 1, mo, ko, draw.choices + more, bias)
                        break
                summary.sequences += 1
                cov.tried(g.drawn)
                if found:
                    if len(steps) <= len(pre):
                        # (A prelude attach diverged.)  The whole body, on
                        # the model only: hypothesis replays every integer.
                        for s in body:
                            model.apply(s)
                        found = found[:4] + (draw.choices, bias)
                    break
                try:
                    summary.restore_requests += kb.restore()
                except SpecCrash:
                    # Something the restore could not undo: a fresh namespace.
                    session.__exit__(None, None, None)
                    kb.close()
                    kb = _fresh_backend(gen, dialect, summary)
                    session = kb.session()
                    session.__enter__()
        finally:
            session.__exit__(None, None, None)
    finally:
        kb.close()
    summary.elapsed = time.monotonic() - start
    summary.rules_covered = reached & rule_set
    summary.cells = cells
    summary.timeline = [(r, n, c) for r, n, c in timeline]
    if found:
        summary.divergences = 1
        summary.shrinking = True
        if on_progress is not None:
            on_progress(summary)
        from . import shrink
        replayer = shrink.Replayer(gen, dialect, unit, bases,
                                   lambda: _fresh_backend(gen, dialect, summary))
        summary.minimal = shrink.minimal(found, dialect, gen, summary, unit, replayer)
    summary.elapsed = time.monotonic() - start


# -- the hypothesis engine ---------------------------------------------------------

def _strategy(dialect: str):
    # (st.one_of over copies of one strategy is far from uniform; a flag
    # drawn with sampled_from is.)
    sequences_of = STRATEGIES[dialects.get(dialect).kernel]
    return st.sampled_from([False] * (FULL_HOOK_ONE_IN - 1) + [True]).flatmap(sequences_of)


def run_sequence(steps, summary: Summary, unit=None) -> Optional[Divergent]:
    """Run one sequence on fresh backends; update the summary's counters."""
    def count(s, a, b, dt):
        summary.kernel_seconds += dt
        summary.requests += 1
        if a.rule:
            summary.rules_covered.add(a.rule)
        summary.rules_covered.update(a.effects)
        if a.ok and s.op != "query":
            summary.mutations += 1
    summary.namespaces += 1
    # (The executor through this module's name: a test plants a bug here.)
    model = Executor(summary.dialect) if unit is None else Executor(summary.dialect, unit)
    return run_fresh(steps, summary.dialect, count, unit, model)


def _hypothesis(summary: Summary, on_progress, unit=None) -> None:
    seed, max_requests, time_limit_s = summary.seed, summary.max_requests, summary.time_limit_s
    dialect = summary.dialect
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
            d = run_sequence(steps, summary, unit)
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
