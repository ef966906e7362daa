"""Which (rule, op) pairs exist, and a z3 proof for each one the generated
suite does not reach.

The pairs of a dialect are read from its z3 encoding (checker.smt.<unit>):
the rules in the decision chain of each op (checks and effects).  The suite
must reach every pair; a pair it does not reach is handed to z3 over every
hook of at most ``n_max`` slots (the dialect's largest hook) and every
request of the op's domain:

* unsat: no state and request reaches it; the pair is listed in the
  manifest as unreachable, with the proof and a minimal unsat core (the
  checks of the chain whose constraints exclude it, or the op's domain
  alone);
* sat: the generator missed a reachable pair, which is a bug of the
  generator (checker.suite.family): generation stops and names the pair and
  z3's witness;
* unknown (a check that runs out of time even split on the hook's count):
  reported, never read as either.

The cgroup encoding (checker.smt.cgroup) is not a tcx hook: a world of a
two-level hierarchy with one list per level, programs and links, and ops
``close_prog`` / ``close_link`` where a script has ``close``.  It is used
the same way through its own domain (checker.smt.cgroup_verify: the
well-formed worlds and the requests a script can make): every hierarchy of
two levels whose lists hold at most ``n_max`` entries, ``n_max + 1``
programs and two links; a split check is split on the target list's
count.  (Cgroups deeper than two levels add no check of their own: a
request reads its cgroup's list and, for the hierarchy rule and the
effective order, its ancestors', which two levels already combine.)

A dialect without an encoding (or whose encoding has no domain yet) has no
pair list: its suite must then reach every rule of its table in some op
(checked by checker.suite.generate).
"""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass

import z3

from .. import dialects



@dataclass(frozen=True)
class Verdict:
    rule: str
    op: str
    status: str             # unreachable | reachable | unknown
    detail: str
    seconds: float
    scope: str = ""         # what the proof ranges over, where not a tcx hook

    def manifest_entry(self, unit: str, n_max: int) -> dict:
        over = self.scope or f"every hook of at most {n_max} slots"
        return {"rule": self.rule, "op": self.op,
                "proof": f"z3: unsat over {over} and every request of "
                         f"{self.op} ({unit}, the decision chain of {self.op})",
                "reason": self.detail}


def _unit(dialect: str):
    """The dialect's encoding unit, or None where it has none (yet: a
    registry entry may name a module still to be written)."""
    d = dialects.get(dialect)
    if d.encoding is None or importlib.util.find_spec(d.encoding) is None:
        return None
    E = d.unit("encoding")
    if hasattr(E, "domain") or d.target == "cgroup":
        return E
    return None


def _is_cgroup(E) -> bool:
    return not hasattr(E, "domain")


# The cgroup encoding's ops that a script spells otherwise.
CGROUP_STEP_OP = {"close_prog": "close", "close_link": "close"}


def encoded_pairs(dialect: str):
    """Every (rule, op) of the dialect's encoding, in a fixed order (``op``
    as a script names it), or None for a dialect without one."""
    E = _unit(dialect)
    if E is None:
        return None
    mk = getattr(E, "state", None) or E.State
    out = []
    for op in E.OPS:
        ch = E.encode(op, 0, mk(0, 3), mk(1, 3), E.Req(0))
        for rule in list(ch.fires) + list(ch.effects):
            pair = (rule, CGROUP_STEP_OP.get(op, op) if _is_cgroup(E) else op)
            if pair not in out:
                out.append(pair)
    return out


class _CgroupChains:
    """The cgroup encoding's chains of one script op (``close`` is two
    encoding ops), on a universe of two levels with lists of ``size``
    slots: (chain, solver with its domain, the target list's count,
    the pre-world, the request) per encoding op."""

    def __init__(self, E, op: str, size: int):
        from ..smt import cgroup_verify as V
        self.u = V.Universe(E.Shape(depth=2, size=size, progs=size + 1, links=2))
        self.E = E
        self.parts = []
        for eop in [o for o in E.OPS if CGROUP_STEP_OP.get(o, o) == op]:
            ch = self.u.chains[eop]
            base = [self.u.req.op == E.OPS.index(eop)] + V._domain(self.u, eop)
            s = z3.Solver()
            s.add(base + [t.expr for t in ch.tracked])
            self.parts.append((eop, ch, s, base))

    def count(self):
        return self.E._sel([lv.n for lv in self.u.pre.levels], self.u.req.lvl)


def prove(dialect: str, pairs: list, n_max: int) -> list[Verdict]:
    """A verdict for each (rule, op) of ``pairs`` (module docstring).

    Deterministic for a z3 version: the direct check is bounded by z3's
    resource counter (``rlimit``), not by time, so whether a proof is split
    does not depend on the machine's load; and the reason is a minimal
    unsat core by deletion in chain order on small hooks (CORE_N slots),
    the same whichever core z3 would return."""
    E = _unit(dialect)
    if _is_cgroup(E):
        return _prove_cgroup(E, pairs, n_max)
    mk = getattr(E, "state", None) or E.State
    out = []
    by_op: dict = {}
    for rule, op in pairs:
        by_op.setdefault(op, []).append(rule)
    for op, rules in by_op.items():
        size = n_max + 1
        pre, post, r = mk(0, size), mk(1, size), E.Req(0)
        ch = E.encode(op, 0, pre, post, r)
        s = z3.Solver()
        s.add([t.expr for t in ch.tracked])
        s.add(E.domain(op, pre, r, n_max))
        core_solver = _CoreSolver(E, mk, op)
        for rule in rules:
            t0 = time.perf_counter()
            target = ch.fires[rule] if rule in ch.fires else ch.effects[rule]
            status, witness = _check(s, target, pre, r, n_max)
            if status == "unreachable":
                core = [c for c in core_solver.minimal(rule) if c != rule]
                why = (f"minimal unsat core: the domain of {op} with the checks {', '.join(core)}"
                       if core else f"minimal unsat core: the domain of {op} alone (no request of {op} "
                                    "meets the rule's condition)")
            else:
                why = witness
            out.append(Verdict(rule, op, status, why, time.perf_counter() - t0))
    return out


def _prove_cgroup(E, pairs: list, n_max: int) -> list[Verdict]:
    """prove() over the cgroup encoding (module docstring): a pair is
    unreachable when it is in no encoding op of its script op."""
    by_op: dict = {}
    for rule, op in pairs:
        by_op.setdefault(op, []).append(rule)
    out = []
    for op, rules in by_op.items():
        big, small = _CgroupChains(E, op, n_max), _CgroupChains(E, op, CORE_N)
        for rule in rules:
            t0 = time.perf_counter()
            status, why = "unreachable", []
            for (eop, ch, s, _), (_, sch, _, sbase) in zip(big.parts, small.parts):
                if rule not in ch.fires and rule not in ch.effects:
                    continue
                target = ch.fires[rule] if rule in ch.fires else ch.effects[rule]
                st, witness = _check_split(s, target, big.count(), n_max,
                                           lambda m, eop=eop: _cg_witness(m, big, eop), "entries")
                if st != "unreachable":
                    status, why = st, [witness]
                    break
                core = [c for c in _minimal_core(sbase, sch, rule) if c != rule]
                why.append((f"{eop}: " if eop != op else "") +
                           (f"the domain of {eop} with the checks {', '.join(core)}" if core else
                            f"the domain of {eop} alone (no request of {eop} meets the rule's condition)"))
            detail = why[0] if status != "unreachable" else "minimal unsat core: " + "; ".join(why)
            out.append(Verdict(rule, op, status, detail, time.perf_counter() - t0,
                               f"every two-level cgroup hierarchy with lists of at most {n_max} "
                               f"entries, {n_max + 1} programs and 2 links"))
    return out


def _cg_witness(m: z3.ModelRef, chains: _CgroupChains, eop: str) -> str:
    ev = lambda e: m.eval(e, model_completion=True)   # noqa: E731
    lvl = ev(chains.u.req.lvl).as_long()
    lv = chains.u.pre.levels[lvl]
    n = ev(lv.n).as_long()
    slots = [(ev(lv.prog[j]).as_long(), ev(lv.owner[j]).as_long()) for j in range(n)]
    return (f"z3 reaches it ({eop}) from a level-{lvl} list of {n} entries {slots} (mode "
            f"{ev(lv.mode)}, rev {ev(lv.rev)}): the generator misses it")


def _check_split(s: z3.Solver, target, count, n_max: int, witness, unit: str = "slots") -> tuple:
    """_check for any encoding: a direct check bounded by RLIMIT, then split
    on ``count`` (0 .. n_max, in ``unit``); ``witness`` renders a model."""
    for k in [None] + list(range(n_max + 1)):
        s.push()
        s.add(target)
        if k is not None:
            s.add(count == k)
        s.set("rlimit", RLIMIT if k is None else 0)
        res = s.check()
        if res == z3.sat:
            w = witness(s.model())
            s.pop()
            return "reachable", w
        s.pop()
        if res == z3.unsat and k is None:
            return "unreachable", ""
        if res == z3.unknown and k is not None:
            return "unknown", f"z3 gave up with {k} {unit}: {s.reason_unknown()}"
    return "unreachable", ""


def _minimal_core(base: list, ch, rule: str) -> list:
    """Deletion in chain order, as _CoreSolver: ``base`` (the op's domain)
    and each rule's constraints behind one assumption literal."""
    order, lit = [], {}
    s = z3.Solver()
    s.add(base)
    for t in ch.tracked:
        r = t.label.rpartition("@")[0]
        if r not in lit:
            lit[r] = z3.Bool(f"use:{r}")
            order.append(r)
        s.add(z3.Implies(lit[r], t.expr))
    s.add(ch.fires[rule] if rule in ch.fires else ch.effects[rule])
    keep = list(order)
    for cand in order:
        if cand == rule:
            continue
        trial = [c for c in keep if c != cand]
        if s.check([lit[c] for c in trial]) == z3.unsat:
            keep = trial
    return keep


RLIMIT = 20_000_000        # z3's resource counter for a direct check (~5 s here); then the split
CORE_N = 4                 # slots of the hooks on which the reason (unsat core) is computed


def _check(s: z3.Solver, target, pre, r, n_max: int) -> tuple:
    """(status, witness).  A direct check first; if it runs out of RLIMIT,
    the same check split on the hook's count (0 .. n_max), unsat only if
    every case is.  (z3 decides each case in milliseconds where the whole
    takes minutes at n_max = 63: the count fixes which slots are used.)"""
    return _check_split(s, target, pre.n, n_max, lambda m: _witness(m, pre, r))


class _CoreSolver:
    """The op's chain on hooks of at most CORE_N slots, each rule's
    constraints behind one assumption literal, for minimal cores."""

    def __init__(self, E, mk, op: str):
        pre, post, r = mk(0, CORE_N + 1), mk(1, CORE_N + 1), E.Req(0)
        self.ch = E.encode(op, 0, pre, post, r)
        self.s = z3.Solver()
        self.s.add(E.domain(op, pre, r, CORE_N))
        self.order: list = []            # rule labels in chain order
        self.lit: dict = {}
        for t in self.ch.tracked:
            rule = t.label.rpartition("@")[0]
            if rule not in self.lit:
                self.lit[rule] = z3.Bool(f"use:{rule}")
                self.order.append(rule)
            self.s.add(z3.Implies(self.lit[rule], t.expr))

    def minimal(self, rule: str) -> list:
        """Deletion in chain order: drop every rule whose constraints the
        proof does not need; the target rule's own are always kept."""
        ch = self.ch
        target = ch.fires[rule] if rule in ch.fires else ch.effects[rule]
        self.s.push()
        self.s.add(target)
        keep = list(self.order)
        for cand in self.order:
            if cand == rule:
                continue
            trial = [c for c in keep if c != cand]
            if self.s.check([self.lit[c] for c in trial]) == z3.unsat:
                keep = trial
        self.s.pop()
        return keep


def _witness(m: z3.ModelRef, pre, r) -> str:
    ev = lambda e: m.eval(e, model_completion=True)   # noqa: E731
    n = ev(pre.n).as_long()
    slots = [(ev(pre.prog[j]).as_long(), ev(pre.link[j]).as_long()) for j in range(n)]
    return f"z3 reaches it from a hook of {n} slots {slots} (rev {ev(pre.rev)}): the generator misses it"


__all__ = ["Verdict", "encoded_pairs", "prove"]
