"""A divergence of the generator engine, confirmed and shrunk.

The campaign finds a diverging sequence on its reused kernel backend.  Here
it is first run again on a fresh Executor and a fresh kernel backend (a new
namespace, nothing reused), so a divergence is never an artefact of the
reuse; then hypothesis shrinks it: the sequence's integers (the generator's
choices, one per draw: checker.fuzz.generate) go into an in-memory example
database, and ``hypothesis.find`` over the generator's own strategy
(``generate.replay``) replays them (Phase.reuse) and shrinks them
(Phase.shrink).  The candidates (a thousand or more) run on one kernel
backend restored between them, as the campaign's sequences do
(:class:`Replayer`; a new namespace costs ~100 ms, a restore ~2 ms); the
minimal sequence is confirmed once more on a fresh executor and a fresh
kernel backend, and only a divergence that repeats there is reported as
shrunk.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

from ..diff import observable
from ..exec import Executor
from ..model import Outcome, Step

DATABASE_KEY = b"mprog-fuzz-divergence"


@dataclass
class Divergent:
    """A minimal diverging sequence: ``steps`` end with the diverging step."""
    steps: list[Step]
    index: int
    model: list[Outcome]          # model outcome of every step
    kernel: list[Outcome]         # kernel outcome of every step
    shrunk: bool = True           # False: as found (hypothesis could not replay it)
    fresh: bool = True            # False: it did not diverge again on fresh backends


def run_fresh(steps, dialect: str, on_step: Optional[Callable] = None,
              unit=None, model=None) -> Optional[Divergent]:
    """Run ``steps`` on a fresh Executor (``model``, if given) and a fresh
    kernel backend; the first divergence, or None.  ``on_step(step, model
    outcome, kernel outcome, kernel seconds)`` after every step."""
    import time

    from .. import signals
    from ..kernel import kernel_backend
    if model is None:
        model = Executor(dialect, unit)
    mo, ko = [], []
    clock = time.perf_counter
    with kernel_backend(dialect) as kb, kb.session():
        for i, s in enumerate(steps):
            signals.check()           # a stop signal whose first raise was swallowed
            a = model.apply(s)
            t0 = clock()
            b = kb.apply(s)
            dt = clock() - t0
            mo.append(a)
            ko.append(b)
            if on_step is not None:
                on_step(s, a, b, dt)
            if observable(a) != observable(b):
                return Divergent(list(steps[:i + 1]), i, mo, ko)
    return None


class Replayer:
    """Runs whole sequences on one kernel backend that is restored between
    them (``open_backend()``: a backend with every prelude's declarations
    made and marked, as the campaign's), the model starting from the
    prelude's world (``bases``: checker.fuzz.campaign's _Bases).  A
    sequence that does not start with a prelude runs on fresh backends."""

    def __init__(self, gen, dialect: str, unit, bases, open_backend: Callable):
        self.gen, self.dialect, self.unit = gen, dialect, unit
        self.bases, self.open_backend = bases, open_backend
        self.preludes = [(full, gen.prelude(full)) for full in (True, False)]
        self.kb = None

    def diverges(self, steps, on_step: Optional[Callable] = None) -> bool:
        full = next((f for f, pre in self.preludes if steps[:len(pre)] == pre), None)
        if full is None:
            return run_fresh(steps, self.dialect, on_step, self.unit) is not None
        from .. import signals
        from ..errors import SpecCrash
        if self.kb is None:
            self.kb = self.open_backend()
        kb = self.kb
        model = Executor(self.dialect, self.unit)
        model.world = self.bases.worlds[full]
        expected = self.bases.outcomes[full]
        found = False
        with kb.session():
            for i, s in enumerate(steps):
                signals.check()
                if i < len(expected):
                    if s.op != "attach":      # a declaration: made when the backend was marked
                        continue
                    a = expected[i]
                else:
                    a = model.apply(s)
                b = kb.apply(s)
                if on_step is not None:
                    on_step(s, a, b, 0.0)
                if observable(a) != observable(b):
                    found = True
                    break
        try:
            kb.restore()
        except SpecCrash:
            self.close()
        return found

    def close(self) -> None:
        kb, self.kb = self.kb, None
        if kb is not None:
            kb.close()


def minimal(found, dialect: str, gen, summary, unit=None, replayer: Optional[Replayer] = None) -> Divergent:
    """The shrunk divergence of ``found`` = (steps, index, model outcomes,
    kernel outcomes, the generator's integers, Bias) from the campaign (``unit``: the
    executor unit it ran; ``replayer``: where the candidates run, fresh
    backends for each if None)."""
    steps, index, mo, ko, choices, bias = found

    def count(*_):
        summary.shrink_requests += 1

    first = run_fresh(steps, dialect, count, unit)
    if first is None:
        return Divergent(steps[:index + 1], index, mo[:index + 1], ko[:index + 1], shrunk=False,
                         fresh=False)
    if replayer is not None:
        diverges = lambda s: replayer.diverges(s, count)  # noqa: E731
    else:
        diverges = lambda s: run_fresh(s, dialect, count, unit) is not None  # noqa: E731
    try:
        best = _shrink(choices, bias, dialect, unit, gen, diverges)
        if best is not None:
            best = _one_minimal(best, len(gen.prelude(False)), diverges)
    finally:
        if replayer is not None:
            replayer.close()
    if best is None:
        first.shrunk = False
        return first
    # Confirmed on fresh backends: a candidate that diverged only on the
    # reused backend is not reported as the minimal divergence.
    return run_fresh(best, dialect, count, unit) or first


def _one_minimal(steps: list, keep: int, diverges) -> list:
    """Drop single requests after the first ``keep`` while it still
    diverges.  Hypothesis deletes the integers of a request, which also
    changes what the requests after it pick from the world (the generator
    is state-aware), so a request that changes nothing can survive its
    shrinker; here the Steps themselves are dropped."""
    i = len(steps) - 2              # the last step is the diverging one
    while i >= keep:
        cand = steps[:i] + steps[i + 1:]
        if diverges(cand):
            steps = cand
        i -= 1
    return steps


def _shrink(choices, bias, dialect: str, unit, gen, diverges) -> Optional[list]:
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample, Unsatisfiable
    try:
        from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
    except ImportError:              # a hypothesis without the choice-sequence database
        return None
    db = InMemoryExampleDatabase()
    # The secondary corpus: examples that failed once and are not known to
    # be minimal (hypothesis replays them, then shrinks; an example under
    # the primary key counts as shrunk already and is only replayed).
    db.save(DATABASE_KEY + b".secondary", choices_to_bytes(choices))
    try:
        with warnings.catch_warnings():
            # find() renders the minimal example once more; a sequence of
            # 100+ requests makes a repr hypothesis warns about.
            warnings.filterwarnings("ignore", message="Generating overly large repr")
            return find(gen.replay(bias, dialect, unit), diverges, database_key=DATABASE_KEY,
                        settings=settings(database=db, phases=(Phase.reuse, Phase.shrink),
                                          verbosity=Verbosity.quiet, print_blob=False, deadline=None,
                                          suppress_health_check=list(HealthCheck)))
    except (NoSuchExample, Unsatisfiable):
        return None
