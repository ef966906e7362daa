"""The cgroup dialect's proofs behind the generic entry points (checker.smt:
verify_equivalence, verify_exhaustive, check_invariants, rule_ids,
invariant_table with ``dialect="cgroup"``; ``mprog verify --dialect
cgroup``).  The generic proofs (checker.smt.equiv / bmc) are written over a
tcx hook; a cgroup list lives in a hierarchy with attach modes, PREORDER
and an effective order, so its encoding (checker.smt.cgroup) names this
module as ``PROOFS`` and the entry points hand the dialect here:

* equivalence at N: checker.smt.cgroup_verify.verify_classes (totality of
  the encoding proved at N, each rule's class sampled at the boundaries and
  checked case by case against the executor; at 64, also the full lists);
* exhaustive: cgroup_verify.verify_exhaustive (every reachable small world
  and every request of its alphabet, each case proved);
* invariants: checker.smt.cgroup_bmc (BMC, 1-induction, CG-INV-MAX over 64
  slots).
"""
from __future__ import annotations

from typing import Callable, Optional

from ..dialects.cgroup import CGROUP_MAX_PROGS
from . import cgroup_bmc, cgroup_verify

MAX_ENTRIES = CGROUP_MAX_PROGS          # --n-max's upper bound
EQUIV_NS = (4, 8, 16, 32, 64)           # the N of mprog verify's equivalence rows


def verify_equivalence(n_max: int, timeout_s=None, *, step_fn: Optional[Callable] = None, ops=None,
                       rules=None, **_) -> list:
    """The classes at ``n_max`` (at least one slot: a class needs a list)."""
    if not 0 <= n_max <= MAX_ENTRIES:
        raise ValueError(f"n_max must be from 0 to {MAX_ENTRIES} (the kernel maximum), not {n_max}")
    kw = {"ops": ops} if ops else {}
    if step_fn is not None:
        kw["step_fn"] = step_fn
    return cgroup_verify.verify_classes(max(n_max, 1), timeout_s, rules=rules, **kw)


def verify_exhaustive(n_max: int, timeout_s=None, *, step_fn: Optional[Callable] = None, **_) -> list:
    kw = {} if step_fn is None else {"step_fn": step_fn}
    return cgroup_verify.verify_exhaustive(n_max, timeout_s, **kw)


def check_invariants(depth: int = 6, timeout_s=None, *, invariants=None, **_) -> list:
    """BMC and induction of the CG-INV-* invariants (``invariants``: only
    those), with CG-INV-MAX's induction over lists of 64 slots."""
    known = cgroup_bmc.INVARIANTS
    for inv in invariants or ():
        if inv not in known:
            raise ValueError(f"unknown invariant {inv!r} for cgroup (known: {', '.join(known)})")
    out = cgroup_bmc.check_invariants(depth, timeout_s, only=invariants)
    if not invariants or "CG-INV-MAX" in invariants:
        out.append(cgroup_bmc.check_max_inductive(CGROUP_MAX_PROGS, timeout_s))
    return out


def invariant_table() -> dict:
    return dict(cgroup_bmc.INVARIANTS)


def rule_ids() -> frozenset:
    """Rules tracked in the BMC transition relation (a one-step unrolling)."""
    return cgroup_bmc.rule_ids()
