"""The cgroup dialect's invariants (spec/cgroup/invariants.md): bounded model
checking over request sequences from the initial world, then 1-induction
from any well-formed world, on the encoding of checker.smt.cgroup.

Universe (``universe()``): a parent and a child cgroup (present or removed,
re-added), the attach point cgroup_getsockopt, three programs with symbolic
attributes (the attach point's type or not, its expected attach type or
not), two links; every request of every op but load (the programs are
loaded at the start) with symbolic flags, arguments, relatives and expected
revisions.  Lists hold at most 5 entries there (3 programs through the prog
API, 2 links); CG-INV-MAX is also proved inductive over lists of 64.
"""
from __future__ import annotations

import functools
import time
from typing import Optional

import z3

from ..dialects.cgroup import CGROUP_MAX_PROGS
from . import cgroup as E
from . import names
from .cgroup import ATTACHED, MULTI, NONE, OPS, UNBORN, Req, Shape, Static
from .cgroup_verify import Report

INVARIANTS = {
    "CG-INV-NODUP": "a program is in a list at most once through the prog API, a link at most once",
    "CG-INV-MAX": f"a list holds at most {CGROUP_MAX_PROGS} entries",
    "CG-INV-MODE": "a list in mode none or ALLOW_OVERRIDE holds at most one entry and no link's; "
                   "an empty list is in mode none",
    "CG-INV-LINK": "an attached link owns exactly one entry, in its cgroup's list, running its "
                   "program; no other link owns one",
    "CG-INV-FAIL": "a failed request changes nothing",
    "CG-INV-REV": "a request that changes a list (a success of attach, detach, link_create, "
                  "link_update, or the detach or last close of an attached link) bumps its "
                  "revision by exactly one; every other list keeps its revision (never reset)",
    "CG-INV-STALE": "an attach, detach or link_create with a nonzero expected revision succeeds "
                    "only when it equals the list's revision",
    "CG-INV-PLACE": "a new entry goes immediately before (BEFORE) / after (AFTER) its anchor's "
                    "entry; without an anchor to the front (BEFORE) or the back",
    "CG-INV-ORDER": "entries a request does not remove keep their relative order",
    "CG-INV-EFFECTIVE": "the effective order (PREORDER entries root-most level first, then the "
                        "others from the cgroup up) is compute_effective_progs()'s fill-and-"
                        "reverse order, and a permutation of the contributed entries",
}
STATE_INVARIANTS = ("CG-INV-NODUP", "CG-INV-MAX", "CG-INV-MODE", "CG-INV-LINK", "CG-INV-EFFECTIVE")

UNIVERSE = Shape(depth=2, size=5, progs=3, links=2)
MUTATING = ("attach", "detach", "link_create", "link_update", "link_detach", "close_link")


# --------------------------------------------------------------------------
# The invariants as formulas

def _state(inv: str, w: E.World) -> z3.BoolRef:
    cs = []
    for l, lv in enumerate(w.levels):
        used = lambda j: j < lv.n                                      # noqa: E731
        if inv == "CG-INV-NODUP":
            for j in lv.slots():
                for i in range(j):
                    both = z3.And(used(i), used(j))
                    cs.append(z3.Implies(z3.And(both, lv.owner[i] == 0, lv.owner[j] == 0), lv.prog[i] != lv.prog[j]))
                    cs.append(z3.Implies(z3.And(both, lv.owner[j] > 0), lv.owner[i] != lv.owner[j]))
        elif inv == "CG-INV-MAX":
            cs.append(lv.n <= CGROUP_MAX_PROGS)
        elif inv == "CG-INV-MODE":
            cs.append(z3.Implies(lv.mode != MULTI, z3.And(lv.n <= 1, z3.And([
                z3.Implies(used(j), lv.owner[j] == 0) for j in lv.slots()]))))
            cs.append(z3.Implies(lv.n == 0, lv.mode == NONE))
        elif inv == "CG-INV-LINK":
            for j in lv.slots():
                o = lv.owner[j]
                cs.append(z3.Implies(z3.And(used(j), o > 0), z3.And(
                    E._sel(w.lst, o - 1) == ATTACHED, E._sel(w.llvl, o - 1) == l,
                    E._sel(w.lprog, o - 1) == lv.prog[j])))
    if inv == "CG-INV-LINK":
        for k in range(w.shape.links):
            owned = [z3.If(z3.And(w.llvl[k] == l, j < lv.n, lv.owner[j] == k + 1), 1, 0)
                     for l, lv in enumerate(w.levels) for j in lv.slots()]
            cs.append(z3.Implies(w.lst[k] == ATTACHED, z3.Sum(owned) == 1))
            cs.append(z3.Implies(w.lst[k] != ATTACHED, z3.And(
                [z3.Implies(j < lv.n, lv.owner[j] != k + 1) for lv in w.levels for j in lv.slots()])))
    if inv == "CG-INV-EFFECTIVE":
        for lvl in range(w.shape.depth):
            mine, con = E.effective_positions(w, lvl)
            kern, _ = E.kernel_positions(w, lvl)
            count = E.effective_count(w, lvl)
            taken = [(l, j) for l, lv in enumerate(w.levels) for j in lv.slots()]
            live = {(l, j): z3.And(con[l], j < w.levels[l].n) for l, j in taken}
            cs.append(z3.Implies(w.levels[lvl].present, z3.And(
                [z3.Implies(live[x], z3.And(mine[x] == kern[x], 0 <= mine[x], mine[x] < count)) for x in taken]
                + [z3.Implies(z3.And(live[x], live[y]), mine[x] != mine[y])
                   for i, x in enumerate(taken) for y in taken[:i]])))
    return z3.And(cs) if cs else z3.BoolVal(True)


def _mutates(op_ok: dict, pre: E.World, r: Req, l: int) -> z3.BoolRef:
    """A success that changes level ``l``'s list."""
    link_lvl = E._sel(pre.llvl, r.li - 1)
    attached = E._sel(pre.lst, r.li - 1) == ATTACHED
    return z3.Or(
        z3.And(z3.Or(op_ok["attach"], op_ok["detach"], op_ok["link_create"]), r.lvl == l),
        z3.And(op_ok["link_update"], link_lvl == l),
        z3.And(z3.Or(op_ok["link_detach"], op_ok["close_link"]), attached, link_lvl == l))


def _entry_at(lv: E.Level, i):
    return (E._sel(lv.prog, i), E._sel(lv.owner, i), E._sel_bool(lv.pre, i))


def _relational(inv: str, pre: E.World, post: E.World, r: Req, chains: dict) -> z3.BoolRef:
    ok = {op: z3.And(r.op == OPS.index(op), c.ok()) for op, c in chains.items()}
    success = z3.Or(list(ok.values()))
    if inv == "CG-INV-FAIL":
        return z3.Implies(z3.Not(success), pre.same(post))
    if inv == "CG-INV-REV":
        cs = []
        for l, (a, b) in enumerate(zip(pre.levels, post.levels)):
            kept = z3.And(a.present, b.present)
            cs.append(z3.Implies(kept, b.rev == a.rev + z3.If(_mutates(ok, pre, r, l), 1, 0)))
        return z3.And(cs)
    if inv == "CG-INV-STALE":
        rev = E._sel([lv.rev for lv in pre.levels], r.lvl)
        return z3.Implies(z3.Or(ok["attach"], ok["detach"], ok["link_create"]),
                          z3.Or(r.exp == 0, r.exp == rev))
    cs = []
    for l, (a, b) in enumerate(zip(pre.levels, post.levels)):
        here = r.lvl == l
        if inv == "CG-INV-PLACE":
            inserted = z3.And(z3.Or(ok["attach"], ok["link_create"]), here, b.n == a.n + 1)
            owner = z3.If(r.op == OPS.index("link_create"), r.li, 0)
            new = (r.pi, owner, r.preorder)
            given = z3.Or(r.linkf, r.idf, r.rk != E.REL_NONE)
            m = a.first(lambda j: z3.If(r.linkf, a.owner[j] == r.ri, z3.And(a.owner[j] == 0, a.prog[j] == r.ri)))
            at = z3.If(given, z3.If(r.before, m, m + 1), z3.If(r.before, 0, a.n))
            got = _entry_at(b, at)
            cs.append(z3.Implies(inserted, z3.And(got[0] == new[0], got[1] == new[1], got[2] == new[2])))
            cs.append(z3.Implies(z3.And(inserted, given, r.before), z3.And(
                [x == y for x, y in zip(_entry_at(b, at + 1), _entry_at(a, m))])))
            cs.append(z3.Implies(z3.And(inserted, given, r.after), z3.And(
                [x == y for x, y in zip(_entry_at(b, at - 1), _entry_at(a, m))])))
        elif inv == "CG-INV-ORDER":
            # Entries identified by (program, owner): two pre entries i < j found in
            # post (same program and owner) appear in the same order.
            for j in a.slots():
                for i in range(j):
                    for jj in b.slots():
                        for ii in range(jj + 1, b.size):
                            same_i = z3.And(ii < b.n, i < a.n, b.prog[ii] == a.prog[i], b.owner[ii] == a.owner[i])
                            same_j = z3.And(jj < b.n, j < a.n, b.prog[jj] == a.prog[j], b.owner[jj] == a.owner[j])
                            cs.append(z3.Not(z3.And(a.present, b.present, same_i, same_j,
                                                    z3.Or(a.prog[i] != a.prog[j], a.owner[i] != a.owner[j]))))
    return z3.And(cs) if cs else z3.BoolVal(True)


# --------------------------------------------------------------------------
# Unrolling

class Unrolling:
    """Worlds 0..depth, requests 0..depth-1, the transition of every op."""

    def __init__(self, depth: int, shape: Shape = UNIVERSE):
        self.shape, self.depth = shape, depth
        self.static = Static.symbolic(shape.progs)
        self.worlds = [E.World(t, shape, self.static) for t in range(depth + 1)]
        self.reqs = [Req(t) for t in range(depth)]
        self.chains = []
        self._trans = []
        for t in range(depth):
            pre, post, r = self.worlds[t], self.worlds[t + 1], self.reqs[t]
            chains = {op: E.encode(op, t, pre, post, r) for op in OPS if op != "load"}
            self.chains.append(chains)
            self._trans.append(transition(pre, r, chains, shape))

    def transition(self, t: int) -> list:
        """Request t, from world t to world t + 1."""
        return self._trans[t]

    @property
    def trans(self) -> list:
        return [c for cs in self._trans for c in cs]

    def init(self) -> list:
        w = self.worlds[0]
        cs = [lv.present for lv in w.levels] + [lv.fresh() for lv in w.levels]
        cs += [z3.And(x, y) for x, y in zip(w.loaded, w.fd)] + list(self.static.loadable)
        cs += [z3.And(s == UNBORN, p == 0, l == 0) for s, p, l in zip(w.lst, w.lprog, w.llvl)]
        return cs


def transition(pre: E.World, r: Req, chains: dict, shape: Shape) -> list:
    cs = r.domain(shape) + [r.op != OPS.index("load")]
    cs += [z3.Implies(r.op == OPS.index("link_create"),
                      z3.And(1 <= r.li, r.li <= shape.links, E._sel(pre.lst, r.li - 1) == UNBORN)),
           z3.Implies(r.op == OPS.index("close_prog"), r.pk != E.FD_LINK),
           z3.Implies(r.op == OPS.index("close_link"), r.lk != E.FD_PROG)]
    for op, c in chains.items():
        guard = r.op == OPS.index(op)
        cs += [z3.Implies(guard, t.expr) for t in c.tracked] + [z3.Implies(guard, c.decided)]
    return cs


class _Solver(z3.Solver):
    """A solver whose every check gets the time left of ``timeout``
    (seconds per check, or a shared budget: checker.smt.cgroup.limit)."""

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def check(self, *assumptions):
        E.limit(self, self.timeout)
        return super().check(*assumptions)


def _solver(timeout) -> z3.Solver:
    return _Solver(timeout)


def _bad(inv: str, u: Unrolling, t: int) -> z3.BoolRef:
    """The invariant fails at world t (state) or at request t - 1 (relational)."""
    if inv in STATE_INVARIANTS:
        return z3.Not(_state(inv, u.worlds[t]))
    return z3.Not(_relational(inv, u.worlds[t - 1], u.worlds[t], u.reqs[t - 1], u.chains[t - 1]))


def check_invariants(depth: int = 6, timeout_s: Optional[float] = None, only=None) -> list:
    """Per invariant: BMC from the initial world, one depth at a time up to
    ``depth`` (a timeout reports the depth reached), then 1-induction."""
    out = []
    u = Unrolling(depth)
    step = Unrolling(1)
    w0 = step.worlds[0]
    ind = _solver(timeout_s)
    ind.add(w0.wf() + [_state(i, w0) for i in STATE_INVARIANTS if i != "CG-INV-EFFECTIVE"] + step.trans)
    wf_only = _solver(timeout_s)
    wf_only.add(w0.wf())
    for inv in INVARIANTS:
        if only and inv not in only:
            continue
        t0 = time.perf_counter()
        base = _solver(timeout_s)
        base.add(u.init())
        reached, verdict, model = 0, "proved", None
        for t in range(0 if inv in STATE_INVARIANTS else 1, depth + 1):
            if t:
                base.add(u.transition(t - 1))
            v = base.check(_bad(inv, u, t))
            if v == z3.sat:
                verdict, model = "violated", base.model()
                break
            if v == z3.unknown:
                verdict = "unknown"
                break
            reached = t
            base.add(z3.Not(_bad(inv, u, t)))          # proved at t: a lemma for deeper checks
        dt = time.perf_counter() - t0
        if verdict == "violated":
            out.append(Report("invariant", "bmc", inv, "violated", depth, dt, INVARIANTS[inv],
                              script=_trace(u, model)))
            continue
        out.append(Report("invariant", "bmc", inv, verdict, reached, dt,
                          f"to depth {reached}: {INVARIANTS[inv]}" if verdict == "proved" else
                          f"proved to depth {reached}, then {base.reason_unknown()}"))
        t0 = time.perf_counter()
        if inv == "CG-INV-EFFECTIVE":
            # A property of every well-formed world, whatever led to it.
            v = wf_only.check(z3.Not(_state(inv, w0)))
            how = "every well-formed world"
        else:
            w1 = step.worlds[1]
            goal = (_state(inv, w1) if inv in STATE_INVARIANTS else
                    _relational(inv, w0, w1, step.reqs[0], step.chains[0]))
            v = ind.check(z3.Not(goal))
            how = "from any well-formed world satisfying the state invariants, one request"
        status = "proved" if v == z3.unsat else "unproved" if v == z3.sat else "unknown"
        out.append(Report("invariant", "induction", inv, status, 1, time.perf_counter() - t0,
                          how if status == "proved" else ""))
    if not only:
        # The induction's hypothesis must itself be inductive.
        t0 = time.perf_counter()
        v = ind.check(z3.Not(z3.And(step.worlds[1].wf())))
        status = "proved" if v == z3.unsat else "unproved" if v == z3.sat else "unknown"
        out.append(Report("invariant", "induction", "well-formed", status, 1, time.perf_counter() - t0,
                          "a well-formed world stays well-formed" if status == "proved" else ""))
    return out


def check_max_inductive(size: int = CGROUP_MAX_PROGS, timeout_s: Optional[float] = None) -> Report:
    """CG-INV-MAX over lists of ``size`` slots: from any well-formed world
    (lists of at most 64 entries), one request leaves every list at most 64."""
    t0 = time.perf_counter()
    shape = Shape(depth=2, size=size, progs=3, links=2)
    static = Static.symbolic(shape.progs)
    pre, post, r = E.World(0, shape, static), E.World(1, shape, static), Req(0)
    chains = {op: E.encode(op, 0, pre, post, r) for op in ("attach", "link_create")}
    s = _solver(timeout_s)
    s.add(pre.wf() + transition(pre, r, chains, shape) + [z3.Or(r.op == OPS.index("attach"),
                                                              r.op == OPS.index("link_create"))])
    v = s.check(z3.Or([lv.n > CGROUP_MAX_PROGS for lv in post.levels]))
    status = "proved" if v == z3.unsat else "violated" if v == z3.sat else "unknown"
    return Report("invariant", "induction", "CG-INV-MAX", status, size, time.perf_counter() - t0,
                  f"lists of up to {size} slots, the two requests that add an entry")


def _trace(u: Unrolling, m) -> str:
    """A counterexample as the requests' rendering (for the report)."""
    from .cgroup_verify import _prog_attrs, case_script, req_of_model, world_of_model
    lines = []
    attrs = tuple(_prog_attrs(u.static, i, m) for i in range(u.shape.progs))
    for t, r in enumerate(u.reqs):
        q = req_of_model(r, m)
        lines.append(f"# step {t}: " + case_script(world_of_model(u.worlds[t], m), attrs, q).splitlines()[-1])
    return "\n".join(lines)


def invariant_ids() -> tuple:
    return tuple(INVARIANTS)


@functools.cache
def rule_ids() -> frozenset:
    """Rules tracked in the transition relation (a one-step unrolling; no
    load: the worlds start with every program loaded)."""
    u = Unrolling(1, Shape(2, 2, 2, 1))
    return frozenset(names.rule_of_label(t.label) for c in u.chains[0].values() for t in c.tracked)


__all__ = ["INVARIANTS", "check_invariants", "check_max_inductive", "invariant_ids", "rule_ids"]
