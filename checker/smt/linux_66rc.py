"""The linux-6.6-rc dialect's z3 encoding (spec/linux-6.6-rc/): a delta over
checker.smt.linux, mirroring checker.exec.linux_66rc.  Its chain carries the
dialect's rule table and drops or moves the checks the 6.6-rc fixes added;
every other constraint is mainline's.  A hook may hold MPROG_MAX + 1 slots
here (the overflow of attach/full): callers size states for n <= 64.
"""
from __future__ import annotations

import functools

import z3

from ..dialects.linux import MPROG_MAX
from ..dialects.linux_66rc import DIALECT
from . import core, linux
from .core import ERRNOS, Req, State, errno_code  # noqa: F401  (the unit's interface)
from .linux import (EXP_BITS, FLAG_TABLE, MASK, OPS, PIN_BITS, UNION, USED, domain,  # noqa: F401
                    state)

TABLE = dict(DIALECT.rules)
RULE_LIST = tuple(sorted(TABLE))
NAME = DIALECT.name


def rule_code(rule: str) -> int:
    return core.rule_code(TABLE, rule)


class Chain(linux.Chain):
    TABLE = TABLE

    def enter_core(self) -> None:
        """A hook holding more than MPROG_MAX programs: the model does not
        follow it (hook/overfull)."""
        self.check("hook/overfull", self.pre.n > MPROG_MAX)

    def check_room(self, R) -> None:
        """No check before the position rules (f9b0e1088bbf added it); the
        target-index check after them (attach/full) remains."""

    def check_nonempty(self) -> None:
        """No check after the revision guard (d210f9735e13 added it)."""

    def check_fetch(self, idx) -> None:
        """bpf_mprog_fetch() on an empty list reads outside it."""
        self.check("detach/empty", self.pre.n == 0)


def query(k, pre, post, r, ch=None) -> Chain:
    """No bundle -> ENOENT before the core's flag check (tcx.c@24cc7564e0de);
    mainline's query follows (its own no-entry check can no longer fire)."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("query/flags-unknown", r.qf_unknown)
    ch.check("query/dev-missing", z3.Not(pre.present))
    ch.check("query/no-entry", z3.Not(pre.bundle))
    return linux.query(k, pre, post, r, ch)


def encode(op: str, k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    ch = ch or Chain(k, pre, post, r)
    if op == "query":
        return query(k, pre, post, r, ch)
    return linux.encode(op, k, pre, post, r, ch)


@functools.cache
def rule_ids() -> frozenset:
    return core.encoded_rules(encode, OPS)
