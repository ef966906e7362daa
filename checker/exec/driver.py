"""The executor's driver: a dialect's op table turned into a total step function.

A dialect unit (checker.exec.<dialect>) implements each request as a function
``op(world, step) -> (rule, world, query, effects)`` that raises :class:`Err`
at the first failing check.  :func:`make_step` wraps such a table into
``step(world, request) -> (Outcome, World)``, which never raises for a
request: kernel errors are Outcome values, and a failure never changes the
world.
"""
from __future__ import annotations

from typing import Callable, Mapping

from ..model import OK, Outcome


class Err(Exception):
    """Internal control flow only: a failed check.  The step function turns
    it into an Outcome value; it never escapes the executor."""
    __slots__ = ("errno", "rule")

    def __init__(self, errno: str, rule: str):
        self.errno = errno
        self.rule = rule


class QueryErr(Err):
    """A failure that still writes a query result back (ENOSPC: the count,
    the revision and the first entries)."""
    __slots__ = ("query",)

    def __init__(self, errno, rule, query):
        super().__init__(errno, rule)
        self.query = query


_PLAIN: dict = {}   # shared Outcome values without query/effects, keyed (errno, rule)


def plain(errno: str, rule: str) -> Outcome:
    o = _PLAIN.get((errno, rule))
    if o is None:
        o = _PLAIN[(errno, rule)] = Outcome(errno, rule)
    return o


def make_step(ops: Mapping[str, Callable]) -> Callable:
    """The total step function of an op table."""
    def step(w, s):
        try:
            rule, w2, q, fx = ops[s.op](w, s)
        except QueryErr as e:
            return Outcome(e.errno, e.rule, e.query), w
        except Err as e:
            return plain(e.errno, e.rule), w
        if q is None and not fx:
            return plain(OK, rule), w2
        return Outcome(OK, rule, q, fx), w2
    return step
