"""``mprog solve``: decide a directive file, print one ordering, count them,
explain unsat with a minimal core; and the multi-tenant check.

Checks (each on its own z3 solver, created for that check and dropped after
it; the ``--timeout`` budget is shared by all checks of one call, and each
solver call gets what is left of it).  Encoding: checker.smt.directives.

1. **decide**: domain + every directive, each under ``assert_and_track``
   with its text as the label, ``core.minimize=true``.
2. **core** (unsat): the minimal conflicting set made of the earliest
   directives in the file (``canonical_core``).  z3's minimized core from
   (1) depends on the solver's history within a process (the same file can
   give another minimal core on a second call), so the printed core is
   computed from sat/unsat answers alone: the same in every run, and
   irreducible by construction.  If that check times out, z3's core from
   (1) is printed, marked as not proven minimal.
3. **least ordering** (sat): the lexicographically least satisfying order
   in declaration order, built position by position: at index i the first
   declared program that can still go there.  Fixed tie-breaking, so the
   output does not depend on z3's model choices.
4. **count** (sat): the linear extensions of the directives' precedence
   relation, counted combinatorially up to ``limit`` plus one more, so the
   answer is "exactly K" (K <= limit) or "at least limit" (more than limit
   exist).  ``count_orders_z3`` gives the same count from the z3 encoding
   (blocking clauses); the tests check that both agree, and agree with
   brute force over all permutations.

A z3 ``unknown`` (timeout) is reported as ``unknown``, never as sat or unsat.

The multi-tenant check (``app`` lines) does not use z3: each arrival order
of the applications is run through the reference executor of a dialect
(checker.exec.Executor) with that dialect's requests for the directives
(checker.dialects.base.Dialect.directive_flags: mainline's FIRST/LAST are
BEFORE/AFTER with no relative, acting at attach time only; the 2023
proposal's are pins kept for the program's lifetime), and the directives
are evaluated on the states it reaches.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import z3

from .. import dialects
from ..syntax.directives import Directive, DirectiveSet
from ..errors import SpecCrash
from ..exec import Executor
from ..model import Outcome, Step
from .directives import Order, must_precede
from .core import Tracked

DEFAULT_LIMIT = 1000
MAX_APPS = 8                  # 8! = 40320 arrival orders
TENANT_DEV, TENANT_DIR = "d0", "ingress"


# --------------------------------------------------------------------------
# Solver hygiene: one solver per check, a shared deadline, unknown is a value

class Budget:
    """The time left for one ``solve``/``plan`` call (None: no limit)."""

    def __init__(self, timeout_s: Optional[float]):
        self.timeout_s = timeout_s
        self.deadline = None if not timeout_s else time.monotonic() + timeout_s

    def left_ms(self) -> Optional[int]:
        """Milliseconds left (>= 0), or None without a limit."""
        if self.deadline is None:
            return None
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def solver(self, minimize_core: bool = False, enumerate: bool = False) -> Optional[z3.Solver]:
        """A fresh solver for one check; None when the budget is spent (the
        caller reports unknown).  ``enumerate``: z3's SAT-based
        finite-domain solver (QF_FD), much faster than the default one for
        many incremental checks with blocking clauses."""
        if self.left_ms() == 0:
            return None
        s = z3.SolverFor("QF_FD") if enumerate else z3.Solver()
        if minimize_core:
            s.set("core.minimize", True)
        return s

    def check(self, s: Optional[z3.Solver], *assumptions) -> str:
        """'sat', 'unsat' or 'unknown' (also for a spent budget).  Each call
        gets what is left of the budget as its timeout."""
        if s is None:
            return "unknown"
        left = self.left_ms()
        if left is not None:
            if left == 0:
                return "unknown"
            s.set("timeout", max(1, left))
        r = s.check(*assumptions)
        return "sat" if r == z3.sat else "unsat" if r == z3.unsat else "unknown"

    def reason(self) -> str:
        return f"timeout after {self.timeout_s:g} s" if self.timeout_s else "z3 returned unknown"


def tracked_check(budget: Budget, base: Sequence[z3.BoolRef], tracked: Sequence[Tracked]):
    """One check of ``base`` (untracked) and ``tracked`` (assert_and_track,
    one indicator per label, core.minimize=true).  Returns (status, core
    labels in ``tracked`` order or None)."""
    s = budget.solver(minimize_core=True)
    if s is None:
        return "unknown", None
    s.add(*base)
    indicator = {}
    for i, t in enumerate(tracked):
        b = z3.Bool(f"track[{i}]:{t.label}")
        indicator[str(b)] = i
        s.assert_and_track(t.expr, b)
    st = budget.check(s)
    if st != "unsat":
        return st, None
    idx = sorted(indicator[str(c)] for c in s.unsat_core() if str(c) in indicator)
    return st, [tracked[i].label for i in idx]


class _Unknown(Exception):
    pass


def canonical_core(budget: Budget, base, tracked: Sequence[Tracked]):
    """The minimal unsat subset of ``tracked`` made of the earliest entries:
    its last member is the earliest whose prefix is unsat, and so on
    backwards (binary search per member, so O(k log n) checks for a core of
    k out of n).  It depends only on sat/unsat answers, never on which core
    z3 happens to return, so the output is the same in every run.  Checks
    are assumptions on one solver.  Returns (labels in ``tracked`` order,
    True), or (None, False) if a check came back unknown."""
    s = budget.solver()
    if s is None:
        return None, False
    s.add(*base)
    ind = [z3.Bool(f"core[{i}]:{t.label}") for i, t in enumerate(tracked)]
    s.add(*[z3.Implies(b, t.expr) for b, t in zip(ind, tracked)])

    def unsat(idx) -> bool:
        st = budget.check(s, *[ind[i] for i in idx])
        if st == "unknown":
            raise _Unknown
        return st == "unsat"

    found: list[int] = []
    pool = list(range(len(tracked)))     # found + pool is unsat throughout
    try:
        while not unsat(found):
            lo, hi = 0, len(pool)        # found + pool[:lo] sat, found + pool[:hi] unsat
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if unsat(found + pool[:mid]):
                    hi = mid
                else:
                    lo = mid
            found.append(pool[hi - 1])
            pool = pool[:hi - 1]
    except _Unknown:
        return None, False
    return [tracked[i].label for i in sorted(found)], True


def least_order(budget: Budget, order: Order, constraints: Sequence[z3.BoolRef], pre: dict):
    """The lexicographically least satisfying order w.r.t. the order's own
    program order (declaration order; for plans, hook order then new ones).
    Returns the order, or None on unknown.
    ``pre`` (sound must-precede sets) only skips hopeless candidates."""
    s = budget.solver()
    if s is None:
        return None
    s.add(*order.domain(), *constraints)
    placed: list[str] = []
    done: set = set()
    for i in range(order.n):
        for c in order.progs:
            if c in done or not pre[c] <= done:
                continue
            s.push()
            s.add(order.at(c, i))
            st = budget.check(s)
            if st == "sat":
                placed.append(c)
                done.add(c)
                break
            s.pop()
            if st == "unknown":
                return None
        else:
            raise SpecCrash(f"no program can go to index {i} of a satisfiable order")
    return tuple(placed)


# --------------------------------------------------------------------------
# solve

@dataclass(frozen=True)
class Solution:
    """The answer for one directive file.

    status: 'sat', 'unsat' or 'unknown'.  For sat: ``ordering`` (least in
    declaration order) and ``count`` with ``count_status`` 'exact',
    'at-least' (more than ``limit`` exist; count == limit) or 'unknown'
    (timed out while counting; count is a lower bound).  For unsat: ``core``,
    the conflicting directives in file order, ``core_minimal`` False only if
    the deletion pass timed out.  ``reason`` says why something is unknown.
    """
    status: str
    ordering: Optional[tuple[str, ...]] = None
    count: Optional[int] = None
    count_status: Optional[str] = None
    limit: int = DEFAULT_LIMIT
    core: Optional[tuple[Directive, ...]] = None
    core_minimal: bool = True
    reason: str = ""

    @property
    def complete(self) -> bool:
        """Every part of the answer is decided (no timeout anywhere)."""
        return (self.status != "unknown" and self.count_status != "unknown"
                and (self.status != "sat" or self.ordering is not None) and self.core_minimal)


def solve(ds: DirectiveSet, limit: int = DEFAULT_LIMIT, timeout_s: Optional[float] = None) -> Solution:
    budget = Budget(timeout_s)
    order = Order(ds.names)
    tracked = order.directives(ds)
    st, core = tracked_check(budget, order.domain(), tracked)
    if st == "unknown":
        return Solution("unknown", limit=limit, reason=budget.reason())
    if st == "unsat":
        labels, proven = canonical_core(budget, order.domain(), tracked)
        by_label = {d.text: d for d in ds.directives}
        return Solution("unsat", core=tuple(by_label[l] for l in (labels if proven else core)),
                        core_minimal=proven, limit=limit, reason="" if proven else budget.reason())
    constraints = [t.expr for t in tracked]
    pre = must_precede(ds.names, ds.directives)
    ordering = least_order(budget, order, constraints, pre)
    count, cst = count_orders(budget, ds, limit, pre)
    reason = "" if ordering is not None and cst != "unknown" else budget.reason()
    return Solution("sat", ordering=ordering, count=count, count_status=cst, limit=limit, reason=reason)


def count_orders(budget: Budget, ds: DirectiveSet, limit: int, pre: Optional[dict] = None) -> tuple[int, str]:
    """Number of satisfying orders, exactly up to ``limit``: (k, 'exact') for
    k <= limit, (limit, 'at-least') when more exist, (lower bound,
    'unknown') when the budget ran out.

    Every directive is a precedence constraint (FIRST: before every other
    program; LAST: after every other; BEFORE/AFTER: one pair), so the
    satisfying orders are exactly the linear extensions of
    ``must_precede``'s relation, and they are counted combinatorially: a
    memoised recursion over the set of programs already placed, each next
    program one whose predecessors are all placed, every sum capped at
    limit + 1.  Visits O(limit * n) placed-sets at most, so 63 programs
    count to 1000 in milliseconds, where enumerating models with blocking
    clauses (``count_orders_z3``, kept as the tests' cross-check) needs a
    solver call per order (~0.3 s each at n = 63)."""
    names = list(ds.names)
    index = {p: i for i, p in enumerate(names)}
    pre = must_precede(names, ds.directives) if pre is None else pre
    need = [sum(1 << index[q] for q in pre[p]) for p in names]
    full = (1 << len(names)) - 1
    cap = limit + 1
    memo: dict[int, int] = {}
    ticks = [0]

    def rec(done: int) -> int:
        if done == full:
            return 1
        hit = memo.get(done)
        if hit is not None:
            return hit
        ticks[0] += 1
        if ticks[0] % 4096 == 0 and budget.left_ms() == 0:
            raise _Unknown
        total = 0
        for i, n in enumerate(need):
            if not done >> i & 1 and n & done == n:
                total += rec(done | 1 << i)
                if total >= cap:
                    total = cap
                    break
        memo[done] = total
        return total

    try:
        k = rec(0)
    except _Unknown:
        return 1, "unknown"          # sat was decided: at least one order exists
    except RecursionError:           # pragma: no cover - depth is n <= a few hundred
        raise SpecCrash("count_orders: recursion too deep")
    return (k, "exact") if k <= limit else (limit, "at-least")


def count_orders_z3(budget: Budget, order: Order, constraints, limit: int) -> tuple[int, str]:
    """The same count from the z3 encoding: enumerate satisfying orders
    with blocking clauses, up to limit + 1 (slow for large n; the tests
    cross-check ``count_orders`` with it)."""
    s = budget.solver(enumerate=True)
    if s is None:
        return 0, "unknown"
    val, readout = order.readout()
    s.add(*order.domain(), *constraints, *readout)
    k = 0
    while k <= limit:
        st = budget.check(s)
        if st == "unsat":
            return k, "exact"
        if st == "unknown":
            return k, "unknown"
        k += 1
        s.add(order.differs(order.decode(s.model(), val)))
    return limit, "at-least"


# --------------------------------------------------------------------------
# Multi-tenant: arrival orders on the reference executor

@dataclass(frozen=True)
class Request:
    """The request an application uses for one program in one dialect;
    ``directives``: the program's directives it implements (the first on the
    program's line, or its FIRST/LAST pins in a dialect that has them)."""
    app: str
    prog: str
    step: Step
    directives: tuple = ()

    @property
    def directive(self) -> Optional[Directive]:
        return self.directives[0] if self.directives else None


def tenant_requests(ds: DirectiveSet, dev: str = TENANT_DEV, dir: str = TENANT_DIR,
                    dialect: str = "linux") -> tuple[Request, ...]:
    """Each program's attach in ``dialect``: its FIRST/LAST directives as
    the dialect's pins where it has them; else its first directive: FIRST
    -> before (prepend), LAST -> after (append), BEFORE x -> before x,
    AFTER x -> after x; nothing -> plain attach (append)."""
    d = dialects.get(dialect)
    out = []
    for app in ds.apps:
        for p in app.progs:
            ds_p = ds.of(p)
            if not ds_p:
                out.append(Request(app.name, p, Step("attach", prog=p, dev=dev, dir=dir)))
                continue
            flags = d.directive_flags(*(x.kind for x in ds_p))
            pinned = tuple(x for x in ds_p if x.kind in ("FIRST", "LAST") and x.kind in flags)
            first = ds_p[0]
            implements = pinned or (first,)
            relative = first.target if not pinned and first.kind in ("BEFORE", "AFTER") else None
            out.append(Request(app.name, p, Step("attach", prog=p, dev=dev, dir=dir, flags=flags,
                                                 relative=relative), implements))
    return tuple(out)


def _status(d: Directive, slots: tuple) -> Optional[bool]:
    """Does ``d`` hold on a partial hook?  None while a program it names is absent."""
    order = [s[0] for s in slots]
    if d.prog not in order or (d.target is not None and d.target not in order):
        return None
    return d.holds(order)


@dataclass(frozen=True)
class Arrival:
    """One arrival order of the applications, run on the executor.

    ``failures``: (request, outcome) for every request that did not return ok
    (the run goes on without that program).  ``violated``: (directive,
    request) for each directive false in the final state, with the request
    after which it last turned false (its own attach if it never held).
    ``unchecked``: directives naming a program that never got attached."""
    apps: tuple[str, ...]
    failures: tuple = ()
    final: tuple = ()                  # ((prog, link), ...)
    revision: int = 1
    violated: tuple = ()
    unchecked: tuple = ()
    stored: tuple = ()                 # each final slot's stored flags (dialects that keep them)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.violated and not self.unchecked


@dataclass(frozen=True)
class TenantReport:
    requests: tuple[Request, ...]
    arrivals: tuple[Arrival, ...]
    dev: str = TENANT_DEV
    dir: str = TENANT_DIR
    dialect: str = "linux"

    @property
    def succeeded(self) -> int:
        return sum(a.ok for a in self.arrivals)

    def violations(self) -> list[tuple[Directive, list[tuple[Arrival, Request]]]]:
        """Directives false at the end of some arrival order, in file order,
        each with the arrival orders (and breaking requests) where it is."""
        out: dict = {}
        for a in self.arrivals:
            for d, r in a.violated:
                out.setdefault(d, []).append((a, r))
        return sorted(out.items(), key=lambda kv: (kv[0].line, kv[0].column))


def tenants(ds: DirectiveSet, dev: str = TENANT_DEV, dir: str = TENANT_DIR,
            dialect: str = "linux") -> Optional[TenantReport]:
    """None without app lines.  Arrival orders in lexicographic order of the
    apps' declaration indexes (itertools.permutations), each run on
    ``dialect``'s reference executor with its requests."""
    if not ds.apps:
        return None
    if len(ds.apps) > MAX_APPS:
        raise ValueError(f"{len(ds.apps)} applications: the multi-tenant check runs every arrival "
                         f"order and takes at most {MAX_APPS}")
    reqs = tenant_requests(ds, dev, dir, dialect)
    by_app = {a.name: [r for r in reqs if r.app == a.name] for a in ds.apps}
    setup = [Step("dev_add", dev=dev)] + [Step("load", prog=p) for p in ds.names]
    arrivals = []
    for perm in itertools.permutations([a.name for a in ds.apps]):
        ex = Executor(dialect)
        for s in setup:
            if not ex.apply(s).ok:   # pragma: no cover - fresh names always load
                raise AssertionError(f"setup step failed: {s}")
        state = {d: None for d in ds.directives}
        broke: dict = {}
        failures = []
        for r in (r for app in perm for r in by_app[app]):
            o: Outcome = ex.apply(r.step)
            if not o.ok:
                failures.append((r, o))
                continue
            slots = ex.world.devs[dev].hook(dir).slots
            for d in ds.directives:
                now = _status(d, slots)
                if now is False and state[d] is not False:
                    broke[d] = r
                state[d] = now
        hook = ex.world.devs[dev].hook(dir)
        slots = hook.slots if hook is not None else ()
        violated = tuple((d, broke[d]) for d in ds.directives if state[d] is False)
        unchecked = tuple(d for d in ds.directives if state[d] is None)
        arrivals.append(Arrival(perm, tuple(failures), tuple(s[:2] for s in slots),
                                hook.revision if hook else 1, violated, unchecked,
                                tuple(s[2] for s in slots if len(s) > 2)))
    return TenantReport(reqs, tuple(arrivals), dev, dir, dialect)
