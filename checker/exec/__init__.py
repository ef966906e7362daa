"""The reference executor: one unit per dialect (checker.exec.<unit>), each a
pure, total ``step(world, request) -> (Outcome, World)``.

:class:`Executor` is the executor as a backend (checker.backend.Backend) for
one dialect, which it takes from the registry (checker.dialects).
"""
from __future__ import annotations

import contextlib

from .. import dialects
from ..model import Outcome, QueryResult, Step
from .world import World


def step(w: World, s: Step, dialect: str = "linux") -> tuple[Outcome, World]:
    """Apply one request of ``dialect`` to ``w``."""
    return dialects.get(dialect).unit("executor").step(w, s)


class Executor:
    """The reference executor of one dialect as a Backend."""
    name = "model"

    def __init__(self, dialect: str = "linux", unit=None):
        """``unit`` replaces the dialect's executor unit (a module with
        ``step`` and ``hooks``): the tests plant bugs in copies of it."""
        try:
            unit = unit or dialects.get(dialect).unit("executor")
        except LookupError as e:
            raise ValueError(str(e)) from None
        self.dialect = dialect
        self._step = unit.step
        self._hooks = unit.hooks
        self.world = World()

    def apply(self, s: Step) -> Outcome:
        out, self.world = self._step(self.world, s)
        return out

    def hooks(self) -> dict[tuple[str, str], QueryResult]:
        return self._hooks(self.world)

    def session(self):
        return contextlib.nullcontext(self)   # nothing to enter: a pure function of the world

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
