"""The netkit dialect's proofs (``mprog verify --dialect netkit``):

* **exhaustive equivalence** of the encoding (checker.smt.netkit) and the
  executor unit (checker.exec.netkit): for every hook state of a netkit
  pair's ``primary`` and ``peer`` hook with at most N slots (any revision,
  also on an empty hook, where netkit keeps it), the deleted pair, and every
  request of the equivalence alphabet (checker.smt.equiv, LEAN) addressed
  through the primary, the peer, a veth and a device that does not exist,
  one z3 check per case proves that the encoding's outcome is exactly the
  executor's (errno, rule, post slots, revision, pair and bundle, query
  answer);
* **invariants** ``NK-*`` (spec/netkit/invariants.md), each proved for one
  request from every well-formed hook of up to 63 slots (so with the state
  invariant, NK-STATE, at every depth: 1-induction), after a bounded check
  from the empty world to depth D that every op's chains are satisfiable
  there (no invariant holds vacuously).

Reports are checker.smt.equiv.Report values, as the linux proofs'.
"""
from __future__ import annotations

import time
from itertools import permutations, product
from typing import Optional

import z3

from ..dialects.linux import MPROG_MAX
from ..exec import netkit as executor
from ..exec.world import Device, Hook, Link, NetkitEnd, Prog, World
from ..model import Step
from . import netkit as E
from .equiv import LEAN, Report, _abstract, _requests

PRIMARY, PEER, VETH, GONE = "nk0", "nk1", "v0", "gone"

# mprog verify's equivalence row for netkit is the exhaustive mode: the
# delta is decided before mainline's core (the device fetch) or on an empty
# hook, and the core itself is linux's, proved by linux's classes.
EQUIVALENCE_BY_EXHAUSTION = True
MAX_ENTRIES = MPROG_MAX              # --n-max's upper bound (a netkit hook is a bpf_mprog one)


def _solver(timeout_s) -> z3.Solver:
    """A solver with what is left of ``timeout_s``: seconds, or a budget
    shared by every check (checker.smt.solve.Budget, mprog verify --timeout)."""
    sv = z3.Solver()
    ms = timeout_s.left_ms() if hasattr(timeout_s, "left_ms") else (int(timeout_s * 1000) if timeout_s else None)
    if ms is not None:
        sv.set("timeout", max(1, ms))
    return sv
TARGET_OF = {PRIMARY: E.TGT_PRIMARY, PEER: E.TGT_PEER, VETH: E.TGT_VETH, GONE: E.TGT_MISSING}
POINTS = ("primary", "peer")
REVS = (1, 2, 5)              # an empty netkit hook keeps any revision


def _states(n_max: int, a=LEAN):
    """(slots, revision, present) of the hook."""
    yield (), 1, False
    for rev in REVS:
        yield (), rev, True
    for n in range(1, n_max + 1):
        for progs in permutations(a["hook_progs"], n):
            for owners in product(a["owners"], repeat=n):
                used = [o for o in owners if o]
                if len(used) == len(set(used)):
                    for rev in REVS:
                        yield tuple(zip(progs, owners)), rev, True


def _world(slots, rev: int, present: bool, point: str) -> World:
    """The pair nk0 (primary) / nk1 (peer) holding ``slots`` on ``point``,
    a veth v0, and the objects of equiv's alphabet (p1..p3 sched_cls, p5
    xdp, p6 with a closed fd, l3 a defunct link holding p3)."""
    progs = {f"p{i}": Prog() for i in (1, 2, 3, 4)}
    progs["p5"] = Prog(type="xdp")
    progs["p6"] = Prog(fd_open=False)
    links = {f"l{l}": Link(f"p{p}", PRIMARY, point) for p, l in slots if l}
    links["l3"] = Link("p3", None, point)
    if not present:
        return World(progs, links, {PRIMARY: Device(False), PEER: Device(False), VETH: Device()})
    hooks = {p: Hook() for p in POINTS}
    hooks[point] = Hook(tuple((f"p{p}", f"l{l}" if l else None) for p, l in slots), rev)
    return World(progs, links, {PRIMARY: Device(hooks=hooks, netkit=NetkitEnd(True, PEER)),
                                PEER: Device(netkit=NetkitEnd(False, PRIMARY)), VETH: Device()})


def _hook(w: World, point: str):
    """(slots as ids, revision, (present, clsact, bundle)) of the pair's hook."""
    d = w.devs.get(PRIMARY)
    if d is None or not d.present or d.netkit is None:
        return (), 1, (False, False, False)
    h = d.hook(point)
    slots = tuple((int(p[1:]), int(l[1:]) if l else 0) for p, l in h.slots)
    return slots, h.revision, (True, False, True)


def _requests_on(op: str, rev: int, point: str):
    """Equiv's alphabet for ``op``, through each device; the device ops."""
    if op == "dev_del":
        for dev in TARGET_OF:
            yield Step("dev_del", dev=dev)
    elif op == "netkit_add":
        yield Step("netkit_add", dev=PRIMARY, peer=PEER)
        yield Step("netkit_add", dev=PRIMARY, peer=VETH)      # a name the veth has
    elif op in ("attach", "detach", "query", "link_create"):
        for s in _requests(op, rev, LEAN):
            yield Step(**{**_fields(s), "dev": PRIMARY, "dir": point})
            # Through another device only the checks before the device
            # lookup matter (flags, program fd): one request per prelude.
            if s.relative is None and not s.expected_revision and "REPLACE" not in s.flags:
                for dev in (PEER, VETH, GONE):
                    yield Step(**{**_fields(s), "dev": dev, "dir": point})
    else:
        yield from _requests(op, rev, LEAN)


def _fields(s: Step) -> dict:
    return {f: getattr(s, f) for f in s.__dataclass_fields__ if f not in ("line", "column")}


def _target(s: Step) -> int:
    if s.op == "netkit_add":
        return E.TGT_VETH if VETH in (s.dev, s.peer) else E.TGT_PRIMARY
    return TARGET_OF.get(s.dev, E.TGT_PRIMARY)


def verify_exhaustive(n_max: int, timeout_s: Optional[float] = None, ops=None, step_fn=None) -> list:
    """``step_fn``: the executor's step function (default the netkit unit's;
    the tests plant bugs in copies)."""
    return [_exhaustive_op(op, n_max, timeout_s, step_fn or executor.step) for op in (ops or E.OPS)]


def _exhaustive_op(op: str, n_max: int, timeout_s: Optional[float], step_fn) -> Report:
    t0 = time.perf_counter()
    size = n_max + 1
    pre, post, r = E.State(0, size), E.State(1, size), E.Req(0)
    sv = _solver(timeout_s)
    sv.add([t.expr for t in E.encode(op, 0, pre, post, r).tracked])
    terms: dict = {}                          # (var, value) -> z3 term, built once

    def is_(var, val):
        key = (var.get_id(), val)
        t = terms.get(key)
        if t is None:
            t = terms[key] = (var == val) if not isinstance(val, bool) else (var if val else z3.Not(var))
        return t

    cases = solved = 0
    outcomes = set()
    for point in POINTS:
        for slots, rev, present in _states(n_max):
            w = _world(slots, rev, present, point)
            sv.push()
            sv.add(is_(pre.n, len(slots)), is_(pre.rev, rev), is_(pre.present, present),
                   is_(pre.clsact, False), is_(pre.bundle, present))
            sv.add([is_(pre.prog[j], slots[j][0] if j < len(slots) else 0) for j in range(size)])
            sv.add([is_(pre.link[j], slots[j][1] if j < len(slots) else 0) for j in range(size)])
            seen = set()
            for s in _requests_on(op, rev, point):
                cases += 1
                v = dict(_abstract(op, w, s), target=_target(s))
                out, w2 = step_fn(w, s)
                ps, prev, pflags = _hook(w2, point)
                q = (out.query.count, out.query.revision, len(out.query.progs)) if out.query else None
                sig = (tuple(sorted(v.items())), out.errno, out.rule, ps, prev, pflags, q)
                if sig in seen:
                    continue
                seen.add(sig)
                solved += 1
                want = [r.errno == E.errno_code(out.errno), r.rule == E.rule_code(out.rule),
                        post.n == len(ps), post.rev == prev, post.present == pflags[0],
                        post.clsact == pflags[1], post.bundle == pflags[2]]
                want += [post.prog[j] == (ps[j][0] if j < len(ps) else 0) for j in range(size)]
                want += [post.link[j] == (ps[j][1] if j < len(ps) else 0) for j in range(size)]
                if q is not None:
                    want += [r.q_count == q[0], r.q_rev == q[1], r.q_shown == q[2]]
                sv.push()
                sv.add([is_(getattr(r, f), x) for f, x in v.items()])
                key = (out.errno, out.rule)
                checks = ([z3.And(want)] if key not in outcomes else []) + [z3.Not(z3.And(want))]
                outcomes.add(key)
                for i, c in enumerate(checks):
                    res = sv.check(c)
                    bad = res == z3.unknown or (res == z3.unsat) == (i + 1 < len(checks))
                    if bad:
                        sv.pop()
                        sv.pop()
                        status = "unknown" if res == z3.unknown else "violated"
                        return Report("exhaustive", op, "all-cases", status, n_max, time.perf_counter() - t0,
                                      f"{s} on {point} {slots} rev {rev} present={present}: executor "
                                      f"{out.errno} [{out.rule}]", reps=cases)
                sv.pop()
            sv.pop()
    return Report("exhaustive", op, "all-cases", "proved", n_max, time.perf_counter() - t0,
                  f"{cases} cases over both netkit hooks, 4 target devices, {solved} distinct z3 queries, "
                  f"{len(outcomes)} outcomes", rules=tuple(sorted(r for _, r in outcomes)), reps=cases)


# ---------------------------------------------------------------------------
# Invariants (spec/netkit/invariants.md)

INVARIANTS = {
    "NK-STATE": "a netkit hook stays well formed: no program twice, at most 63, one slot per link, "
                "its bundle there exactly while the pair is",
    "NK-REV": "while the pair exists, a request leaves the revision as it is or adds exactly 1, and "
              "adds 1 exactly when it changes the hook: it never restarts, also across empty periods",
    "NK-QUERY": "a query that succeeds answers the program count, and revision 1 on an empty hook, "
                "the hook's revision otherwise",
    "NK-GUARD": "a request guarded by the hook's real revision passes the guard (no ESTALE), also "
                "on an empty hook whose query answered 1",
    "NK-PAIR": "a new pair's hook is empty at revision 1; after a pair deletion the hook is gone",
    "NK-LOOKUP": "a request through the peer, a veth or a missing device changes nothing",
}


class _NState(E.State):
    def wellformed(self, n_max: int) -> list:
        return E.wellformed(self, n_max)


def _step(op: str, n_max: int, target=None):
    """One request of ``op`` from any well-formed hook of up to ``n_max``
    slots: (pre, post, req, chain, constraints)."""
    from .linux import domain
    pre, post, r = _NState(0, n_max + 1), _NState(1, n_max + 1), E.Req(0)
    ch = E.encode(op, 0, pre, post, r)
    cs = [t.expr for t in ch.tracked] + domain(op if op in E.linux.USED or op in (
        "load", "dev_del") else "load", pre, r, n_max)
    cs = [c for c in cs if not _pins_target(c, r)]
    cs += [r.target >= E.TGT_PRIMARY, r.target <= E.TGT_MISSING]
    if target is not None:
        cs.append(r.target == target)
    return pre, post, r, ch, cs


def _pins_target(c, r) -> bool:
    """linux.domain pins the fields an op does not read to 0; the target is ours."""
    return z3.is_eq(c) and any(z3.eq(a, r.target) for a in c.children())


def _property(inv: str, op: str, pre, post, r, ch, n_max: int):
    """The invariant over one step (True where it says nothing about ``op``)."""
    changed = z3.Or([post.n != pre.n] + [post.prog[j] != pre.prog[j] for j in range(pre.size)]
                    + [post.link[j] != pre.link[j] for j in range(pre.size)])
    ok = r.errno == E.errno_code("ok")
    if inv == "NK-STATE":
        return z3.And(E.wellformed(post, MPROG_MAX if n_max >= MPROG_MAX else n_max + 1))
    if inv == "NK-REV":
        both = z3.And(pre.present, post.present)
        return z3.Implies(both, z3.If(changed, post.rev == pre.rev + 1, post.rev == pre.rev))
    if inv == "NK-QUERY":
        if op != "query":
            return z3.BoolVal(True)
        return z3.Implies(ok, z3.And(r.q_count == pre.n, r.q_rev == z3.If(pre.n == 0, 1, pre.rev)))
    if inv == "NK-GUARD":
        if op not in ("attach", "link_create", "detach"):
            return z3.BoolVal(True)
        return z3.Implies(z3.And(r.exp == pre.rev, pre.present, r.target == E.TGT_PRIMARY),
                          r.errno != E.errno_code("ESTALE"))
    if inv == "NK-PAIR":
        if op == "netkit_add":
            return z3.Implies(ok, z3.And(post.present, post.n == 0, post.rev == 1))
        if op == "dev_del":
            return z3.Implies(z3.And(ok, r.target != E.TGT_VETH), z3.Not(post.present))
        return z3.BoolVal(True)
    if inv == "NK-LOOKUP":
        if op not in ("attach", "link_create", "detach", "query"):
            return z3.BoolVal(True)
        return z3.Implies(r.target != E.TGT_PRIMARY, z3.And(r.errno != E.errno_code("ok"), z3.Not(changed),
                                                             post.rev == pre.rev))
    raise ValueError(inv)


def check_invariants(depth: int = 4, timeout_s: Optional[float] = None, n_max: int = 16, *,
                     invariants=None) -> list:
    """Each NK-* for one request of every op from every well-formed hook of
    up to ``n_max`` slots (1-induction over NK-STATE), the maximum at the
    kernel's bound (63) for the requests that add a slot, then, from the
    empty world, that every op can succeed within ``depth`` steps (bounded
    reachability: the induction's premise is not empty)."""
    for inv in invariants or ():
        if inv not in INVARIANTS:
            raise ValueError(f"unknown invariant {inv!r} for netkit (known: {', '.join(INVARIANTS)})")
    reports = []
    for inv in invariants or INVARIANTS:
        t0 = time.perf_counter()
        worst, detail = "proved", f"every op, from every well-formed hook of <= {n_max} slots"
        for op in E.OPS:
            pre, post, r, ch, cs = _step(op, n_max)
            sv = _solver(timeout_s)
            sv.add(cs)
            if sv.check() != z3.sat:          # the premise itself: never proved vacuously
                worst, detail = "unknown", f"{op}: no request from a well-formed hook ({sv.check()})"
                break
            res = sv.check(z3.Not(_property(inv, op, pre, post, r, ch, n_max)))
            if res != z3.unsat:
                worst = "unknown" if res == z3.unknown else "violated"
                detail = f"{op}: {sv.model() if res == z3.sat else sv.reason_unknown()}"
                break
        reports.append(Report("invariant", "induction", inv, worst, n_max, time.perf_counter() - t0, detail))
    reports.append(_max_at_kernel_bound(timeout_s))
    reports.append(_reachable(depth, timeout_s))
    return reports


def _max_at_kernel_bound(timeout_s: Optional[float]) -> Report:
    """NK-STATE's maximum at the kernel bound: from every well-formed netkit
    hook of <= 63 programs, attach and link_create leave <= 63."""
    t0 = time.perf_counter()
    worst = "proved"
    for op in ("attach", "link_create"):
        pre, post, r, ch, cs = _step(op, MPROG_MAX)
        sv = _solver(timeout_s)
        sv.add(cs)
        res = sv.check(post.n > MPROG_MAX)
        if res != z3.unsat:
            worst = "unknown" if res == z3.unknown else "violated"
            break
    return Report("invariant", "induction", "NK-STATE (63)", worst, MPROG_MAX, time.perf_counter() - t0,
                  "at most 63 programs after attach / link_create, from every hook of <= 63")


def _reachable(depth: int, timeout_s: Optional[float]) -> Report:
    """From the empty world (no pair), a netkit_add and then requests of
    every op on the primary's hook: each op can succeed within ``depth``
    steps (the BMC sanity of the induction's premise)."""
    t0 = time.perf_counter()
    size = min(depth, MPROG_MAX) + 1
    states = [_NState(t, size) for t in range(depth + 2)]
    sv = _solver(timeout_s)
    s0 = states[0]
    sv.add(z3.Not(s0.present), z3.Not(s0.bundle), z3.Not(s0.clsact), s0.n == 0, s0.rev == 1,
           *[x == 0 for x in s0.prog + s0.link])
    reached = []
    ops_at = []
    for t in range(depth + 1):
        pre, post, r = states[t], states[t + 1], E.Req(t)
        choice = z3.Int(f"op@{t}")
        ops_at.append(choice)
        cases = []
        for i, op in enumerate(E.OPS):
            ch = E.encode(op, t, pre, post, r)
            cases.append(z3.And(choice == i, *[x.expr for x in ch.tracked]))
        sv.add(z3.Or(cases), r.target == E.TGT_PRIMARY, z3.And(E.wellformed(pre, size)))
    for i, op in enumerate(E.OPS):
        sv.push()
        sv.add(z3.Or([z3.And(c == i, E.Req(t).errno == E.errno_code("ok"))
                      for t, c in enumerate(ops_at[1:], 1)]))
        res = sv.check()
        sv.pop()
        if res == z3.sat:
            reached.append(op)
    status = "proved" if len(reached) == len(E.OPS) else "unknown"
    return Report("invariant", "bmc", "reachable", status, depth, time.perf_counter() - t0,
                  f"every op succeeds within {depth} steps of netkit_add from the empty world"
                  if status == "proved" else f"reached only {', '.join(reached)}")


def invariant_table() -> dict:
    """NK-* -> statement (spec/netkit/invariants.md)."""
    return dict(INVARIANTS)


def rule_ids() -> frozenset:
    """The invariants run over the encoding's own chains: its rule IDs."""
    return E.rule_ids()
