"""``mprog verify --dialect cgroup``: the cgroup encoding (checker.smt.cgroup)
against the executor (checker.exec.cgroup), and the dialect's invariants
(spec/cgroup/invariants.md).

Equivalence, per request (``check_case``): the pre-world and the request are
fixed to concrete values, the executor runs on the same world, and one
solver proves that the encoding admits exactly the executor's outcome:
errno, rule, every list (presence, entries, PREORDER bits, mode, revision),
every program and link, and a query's count, revision, mode and the ids it
shows (the plain list, or the effective order composed by the encoding).
``sat`` means a disagreement (or an encoding that allows two outcomes) and
comes back as a runnable script.

* ``verify_exhaustive(k)``: every world the executor reaches from the
  initial one (two cgroups, parent and child; three programs, one of another
  type and one of the other expected attach type; two links) with lists of
  at most ``k`` entries (breadth first over the request alphabet), and every
  request of the alphabet on each: complete for those bounds.
* ``verify_classes(n)``: lists of up to ``n`` entries (64: the kernel's
  maximum), per op: z3 proves the encoding total and deterministic (exactly
  one rule decides every well-formed world and request), then picks, for
  every rule, worlds where it decides at the boundaries (empty, one entry,
  ``n - 1``, ``n`` entries, PREORDER or not, an attached link or not) and
  checks each one as above.  The encoding side is proved for every world;
  the executor side is sampled at those representatives.

Invariants: BMC over request sequences from the initial world, then
1-induction from any well-formed world satisfying the state invariants.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Optional

import z3

from ..dialects.cgroup import ATTACH_TYPE, CGROUP_MAX_PROGS, MODES
from ..exec.cgroup import step
from ..exec.world import CGroup, CgList, Link, Prog, World as ExecWorld
from ..model import Raw, Script, Step
from ..syntax.render import render_script
from . import cgroup as E
from .cgroup import (ATTACHED, CLOSED, DEFUNCT, FD_CLOSED, FD_LINK, FD_PROG, FD_ZERO, MULTI, OPS,
                     REL_LINK, REL_NONE, REL_PROG, REL_RAW, UNBORN, Req, Shape, Static)
from .equiv import Report

RAW_FD = Raw(999999)


# --------------------------------------------------------------------------
# Concrete worlds and requests (the executor's side)

@dataclass(frozen=True)
class Concrete:
    """A concrete world in the encoding's terms."""
    present: tuple               # per level
    lists: tuple                 # per level: (entries ((prog, owner, pre), ...), mode, rev)
    loaded: tuple                # per program
    fd: tuple
    links: tuple                 # per link: (state, prog, level)


def _prog_attrs(st: Static, i: int, m) -> tuple:
    return tuple(z3.is_true(m.eval(x[i], model_completion=True))
                 for x in (st.sockopt, st.expected, st.loadable))


def prog_record(attrs) -> tuple[str, str | None]:
    """(type, expected attach type) of a program with (sockopt, expected)."""
    sockopt, expected, _ = attrs
    if sockopt:
        return "cgroup_sockopt", E.POINT if expected else "cgroup_setsockopt"
    return "cgroup_skb", None


def exec_world(c: Concrete, attrs: tuple) -> ExecWorld:
    progs = {}
    for i, (loaded, fd) in enumerate(zip(c.loaded, c.fd)):
        if loaded:
            t, e = prog_record(attrs[i])
            progs[f"p{i + 1}"] = Prog(type=t, fd_open=fd, expected=ATTACH_TYPE[e] if e else 0)
    cgroups = {}
    for l, (present, (entries, mode, rev)) in enumerate(zip(c.present, c.lists)):
        parent = f"c{l - 1}" if l else None
        ents = tuple((f"p{p}", f"l{o}" if o else None, pre) for p, o, pre in entries)
        cgroups[f"c{l}"] = CGroup(parent, present, {E.POINT: CgList(ents, mode, rev)} if present else {})
    links = {}
    for k, (st, prog, lvl) in enumerate(c.links):
        if st in (ATTACHED, DEFUNCT):
            links[f"l{k + 1}"] = Link(f"p{prog}", f"c{lvl}" if st == ATTACHED else None, E.POINT)
    return ExecWorld(progs, links, {}, cgroups)


def concrete_of(w: ExecWorld, shape: Shape, closed: set = frozenset()) -> Concrete:
    """The executor's world in the encoding's terms (``closed``: links whose
    fd was closed: absent from the executor's world, like unborn ones)."""
    present, lists = [], []
    for l in range(shape.depth):
        cg = w.cgroups.get(f"c{l}")
        ok = cg is not None and cg.present
        present.append(ok)
        lst = cg.list(E.POINT) if ok else CgList()
        lists.append((tuple((int(p[1:]), int(o[1:]) if o else 0, pre) for p, o, pre in lst.entries),
                      lst.mode, lst.revision))
    loaded = tuple(f"p{i}" in w.progs for i in range(1, shape.progs + 1))
    fd = tuple(f"p{i}" in w.progs and w.progs[f"p{i}"].fd_open for i in range(1, shape.progs + 1))
    links = []
    for k in range(1, shape.links + 1):
        lk = w.links.get(f"l{k}")
        if lk is None:
            links.append((CLOSED if f"l{k}" in closed else UNBORN, 0, 0))
        elif lk.dev is None:
            links.append((DEFUNCT, int(lk.prog[1:]), 0))
        else:
            links.append((ATTACHED, int(lk.prog[1:]), int(lk.dev[1:])))
    return Concrete(tuple(present), tuple(lists), loaded, fd, tuple(links))


def _fd_ref(kind: int, idx: int):
    return {FD_ZERO: Raw(0), FD_CLOSED: RAW_FD, FD_PROG: f"p{idx}", FD_LINK: f"l{idx}"}[kind]


def _rel_ref(kind: int, idx: int):
    return {REL_NONE: None, REL_RAW: RAW_FD, REL_PROG: f"p{idx}", REL_LINK: f"l{idx}"}[kind]


@dataclass(frozen=True)
class ConcreteReq:
    op: str
    lvl: int = 0
    flags: frozenset = frozenset()       # ALLOW_OVERRIDE ... and "JUNK"
    pk: int = FD_PROG
    pi: int = 1
    rk: int = REL_NONE
    ri: int = 0
    xk: int = FD_ZERO
    xi: int = 0
    exp: int = 0
    qeff: bool = False
    qjunk: bool = False
    qarr: bool = False
    qcount: int = -1
    lk: int = FD_LINK
    li: int = 1
    ok: int = FD_ZERO
    oi: int = 0

    def step(self, attrs) -> Step:
        named = tuple(sorted(f for f in self.flags if f != "JUNK")) + ((1 << 10,) if "JUNK" in self.flags else ())
        from ..flags import canonical
        flags = canonical(named)
        cg = f"c{self.lvl}"
        if self.op == "load":
            sockopt, expected, loadable = attrs[self.pi - 1]
            if not loadable:
                return Step("load", prog=f"p{self.pi}", type="cgroup_sock_addr")
            t, e = prog_record(attrs[self.pi - 1])
            return Step("load", prog=f"p{self.pi}", type=t, expected_attach_type=e)
        if self.op == "attach":
            return Step("attach", cgroup=cg, dir=E.POINT, prog=_fd_ref(self.pk, self.pi), flags=flags,
                        relative=_rel_ref(self.rk, self.ri),
                        replace=None if self.xk == FD_ZERO else _fd_ref(self.xk, self.xi),
                        expected_revision=self.exp)
        if self.op == "link_create":
            return Step("link_create", link=f"l{self.li}", cgroup=cg, dir=E.POINT,
                        prog=_fd_ref(self.pk, self.pi), flags=flags, relative=_rel_ref(self.rk, self.ri),
                        expected_revision=self.exp)
        if self.op == "detach":
            return Step("detach", cgroup=cg, dir=E.POINT, prog=_fd_ref(self.pk, self.pi), flags=flags,
                        relative=_rel_ref(self.rk, self.ri), expected_revision=self.exp)
        if self.op == "query":
            return Step("query", cgroup=cg, dir=E.POINT, query_flags=int(self.qeff) | (2 if self.qjunk else 0),
                        count=None if self.qcount < 0 else self.qcount, prog_attach_flags=self.qarr)
        if self.op == "link_update":
            return Step("link_update", link=_fd_ref(self.lk, self.li), prog=_fd_ref(self.pk, self.pi),
                        flags=flags, old_prog=None if self.ok == FD_ZERO else _fd_ref(self.ok, self.oi))
        if self.op == "link_detach":
            return Step("link_detach", link=_fd_ref(self.lk, self.li))
        if self.op == "close_prog":
            return Step("close", prog=_fd_ref(self.pk, self.pi))
        if self.op == "close_link":
            return Step("close", link=_fd_ref(self.lk, self.li))
        if self.op == "cgroup_add":
            return Step("cgroup_add", cgroup=cg, parent=f"c{self.lvl - 1}" if self.lvl else None)
        return Step("cgroup_del", cgroup=cg)


_FLAGS = (("ALLOW_OVERRIDE", "ovr"), ("ALLOW_MULTI", "multi"), ("REPLACE", "repl"), ("BEFORE", "before"),
          ("AFTER", "after"), ("ID", "idf"), ("LINK", "linkf"), ("PREORDER", "preorder"), ("JUNK", "junk"))


def req_of_model(r: Req, m) -> ConcreteReq:
    iv = lambda x: m.eval(x, model_completion=True).as_long()    # noqa: E731
    bv = lambda x: z3.is_true(m.eval(x, model_completion=True))  # noqa: E731
    flags = frozenset(n for n, f in _FLAGS if bv(getattr(r, f)))
    return ConcreteReq(OPS[iv(r.op)], iv(r.lvl), flags, iv(r.pk), iv(r.pi), iv(r.rk), iv(r.ri), iv(r.xk),
                       iv(r.xi), iv(r.exp), bv(r.qeff), bv(r.qjunk), bv(r.qarr), iv(r.qcount), iv(r.lk),
                       iv(r.li), iv(r.ok), iv(r.oi))


def world_of_model(w: E.World, m) -> Concrete:
    iv = lambda x: m.eval(x, model_completion=True).as_long()    # noqa: E731
    bv = lambda x: z3.is_true(m.eval(x, model_completion=True))  # noqa: E731
    present, lists = [], []
    for lv in w.levels:
        n = min(iv(lv.n), lv.size)
        present.append(bv(lv.present))
        lists.append((tuple((iv(lv.prog[j]), iv(lv.owner[j]), bv(lv.pre[j])) for j in range(n)),
                      iv(lv.mode), iv(lv.rev)))
    return Concrete(tuple(present), tuple(lists), tuple(bv(x) for x in w.loaded), tuple(bv(x) for x in w.fd),
                    tuple((iv(a), iv(b), iv(c)) for a, b, c in zip(w.lst, w.lprog, w.llvl)))


def pin_world(w: E.World, c: Concrete) -> list:
    cs = []
    for lv, present, (entries, mode, rev) in zip(w.levels, c.present, c.lists):
        cs += [lv.present == present, lv.n == len(entries), lv.mode == mode, lv.rev == rev]
        for j in range(lv.size):
            p, o, pre = entries[j] if j < len(entries) else (0, 0, False)
            cs += [lv.prog[j] == p, lv.owner[j] == o, lv.pre[j] == pre]
    cs += [x == v for x, v in zip(w.loaded + w.fd, c.loaded + c.fd)]
    for k, (st, p, l) in enumerate(c.links):
        cs += [w.lst[k] == st, w.lprog[k] == p, w.llvl[k] == l]
    return cs


def pin_static(st: Static, attrs) -> list:
    return [x == v for i, a in enumerate(attrs) for x, v in zip((st.sockopt[i], st.expected[i], st.loadable[i]), a)]


def pin_req(r: Req, q: ConcreteReq) -> list:
    cs = [r.op == OPS.index(q.op), r.lvl == q.lvl]
    cs += [getattr(r, f) == (n in q.flags) for n, f in _FLAGS]
    cs += [r.pk == q.pk, r.pi == q.pi, r.rk == q.rk, r.ri == q.ri, r.xk == q.xk, r.xi == q.xi, r.exp == q.exp,
           r.qeff == q.qeff, r.qjunk == q.qjunk, r.qarr == q.qarr, r.qcount == q.qcount, r.lk == q.lk,
           r.li == q.li, r.ok == q.ok, r.oi == q.oi]
    return cs


# --------------------------------------------------------------------------
# One case: the encoding admits exactly the executor's outcome

class Universe:
    """A symbolic pre/post world pair and one request, every op's chain
    built once, for one shape; ``solver(op)`` holds that op's chain."""

    def __init__(self, shape: Shape, timeout_s: Optional[float] = None, step_fn=None):
        self.shape, self.timeout_s = shape, timeout_s
        self.step = step_fn or step          # the executor's step (tests plant bugs in a copy)
        self.static = Static.symbolic(shape.progs)
        self.pre, self.post = E.World(0, shape, self.static), E.World(1, shape, self.static)
        self.req = Req(0)
        self.chains = _Chains(self)
        self._solvers: dict = {}
        pos, con = E.effective_positions(self.pre, self.req.lvl)
        self.eff_pos, self.eff_con = pos, con

    def constraints(self, op: str) -> list:
        c = self.chains[op]
        return [self.req.op == OPS.index(op), c.decided] + [t.expr for t in c.tracked]

    def solver(self, op: str) -> z3.Solver:
        s = self._solvers.get(op)
        if s is None:
            s = self._solvers[op] = z3.Solver()
            s.add(self.constraints(op))
        return E.limit(s, self.timeout_s)


class _Chains(dict):
    """Each op's chain, encoded on first use."""

    def __init__(self, u: "Universe"):
        super().__init__()
        self.u = u

    def __missing__(self, op: str):
        c = self[op] = E.encode(op, 0, self.u.pre, self.u.post, self.u.req)
        return c


def _closed_after(c: Concrete, q: ConcreteReq, w2: ExecWorld) -> set:
    """Links whose fd is closed after ``q`` on ``c`` (the executor forgets
    them, like links never created)."""
    closed = {f"l{k + 1}" for k, (st, _, _) in enumerate(c.links) if st == CLOSED}
    if q.op == "close_link" and q.lk == FD_LINK and c.links[q.li - 1][0] in (ATTACHED, DEFUNCT) \
            and f"l{q.li}" not in w2.links:
        closed.add(f"l{q.li}")
    return closed


def check_case(u: Universe, c: Concrete, attrs, q: ConcreteReq) -> Optional[str]:
    """None if the encoding admits exactly the executor's outcome for this
    case, else a description of the disagreement."""
    solver = u.solver(q.op)
    w = exec_world(c, attrs)
    s = q.step(attrs)
    outcome, w2 = u.step(w, s)
    post = concrete_of(w2, u.shape, _closed_after(c, q, w2))
    r = u.req
    want = [r.errno == E.errno_code(outcome.errno), r.rule == E.rule_code(outcome.rule)] + pin_world(u.post, post)
    if outcome.query is not None:
        qr = outcome.query
        want += [r.q_count == qr.count, r.q_rev == qr.revision,
                 r.q_mode == {v: k for k, v in MODES.items()}[qr.mode], r.q_shown == len(qr.progs)]
    for rule, g in u.chains[q.op].effects.items():
        want.append(g if rule in outcome.effects else z3.Not(g))
    solver.push()
    try:
        solver.add(pin_world(u.pre, c) + pin_static(u.static, attrs) + pin_req(r, q))
        verdict = solver.check(z3.Not(z3.And(want)))
        if verdict == z3.unknown:
            return "unknown: " + solver.reason_unknown()
        if verdict == z3.unsat:
            shown = _shown_ok(u, c, q, outcome)
            return None if shown is None else shown
        if solver.check() == z3.unsat:
            return f"the encoding admits no outcome (executor: {outcome.errno} [{outcome.rule}])"
        m = solver.model()
        got_rule = E.RULES[m.eval(r.rule, model_completion=True).as_long()]
        got_err = E.ERRNOS[m.eval(r.errno, model_completion=True).as_long()]
        return (f"executor {outcome.errno} [{outcome.rule}], encoding allows {got_err} [{got_rule}]"
                + ("" if got_rule != outcome.rule else f" with another post-state: {world_of_model(u.post, m)}"))
    finally:
        solver.pop()


def _shown_ok(u: Universe, c: Concrete, q: ConcreteReq, outcome) -> Optional[str]:
    """A query's ids: the plain list, or the effective order in the
    encoding's formulation (positions), against the executor's answer."""
    if outcome.query is None or not outcome.query.progs:
        return None
    if not q.qeff:
        want = tuple(f"p{p}" for p, _, _ in c.lists[q.lvl][0])[:len(outcome.query.progs)]
    else:
        m = z3.Solver()
        m.add(pin_world(u.pre, c) + [u.req.lvl == q.lvl])
        assert m.check() == z3.sat
        mod = m.model()
        order = {}
        for (l, j), p in u.eff_pos.items():
            if j < len(c.lists[l][0]) and z3.is_true(mod.eval(u.eff_con[l], model_completion=True)):
                order[mod.eval(p, model_completion=True).as_long()] = f"p{c.lists[l][0][j][0]}"
        want = tuple(order[i] for i in range(len(order)))[:len(outcome.query.progs)]
    if tuple(outcome.query.progs) != want:
        return f"query shows {outcome.query.progs}, the encoding {want}"
    return None


def case_script(c: Concrete, attrs, q: ConcreteReq, note: str = "") -> str:
    """A runnable script that builds ``c`` and ends with the request (for
    reports).  Revisions are reached by self-replacing (prog API) or updating
    a link to its own program."""
    steps = []
    for i in range(len(attrs)):
        t, e = prog_record(attrs[i])
        if not attrs[i][2]:
            steps.append(Step("load", prog=f"p{i + 1}", type="cgroup_sock_addr"))
        else:
            steps.append(Step("load", prog=f"p{i + 1}", type=t, expected_attach_type=e))
    for l, present in enumerate(c.present):
        if present:
            steps.append(Step("cgroup_add", cgroup=f"c{l}", parent=f"c{l - 1}" if l else None))
    for l, (entries, mode, rev) in enumerate(c.lists):
        flags = ("ALLOW_MULTI",) if mode == 2 else ("ALLOW_OVERRIDE",) if mode == 1 else ()
        for p, o, pre in entries:
            f = flags + (("PREORDER",) if pre else ())
            if o:
                steps.append(Step("link_create", link=f"l{o}", prog=f"p{p}", cgroup=f"c{l}", dir=E.POINT,
                                  flags=tuple(x for x in f if x == "PREORDER")))
            else:
                steps.append(Step("attach", prog=f"p{p}", cgroup=f"c{l}", dir=E.POINT, flags=f))
        extra = rev - 1 - len(entries)
        if entries and extra > 0:
            p, o, pre = entries[0]
            bump = Step("link_update", link=f"l{o}", prog=f"p{p}") if o else Step(
                "attach", prog=f"p{p}", cgroup=f"c{l}", dir=E.POINT,
                flags=flags + ("REPLACE",) + (("PREORDER",) if pre else ()) if mode == 2 else flags,
                replace=f"p{p}" if mode == 2 else None)
            steps += [bump] * extra
    for k, (st, p, l) in enumerate(c.links):
        if st in (DEFUNCT, CLOSED) and f"l{k + 1}" not in {s.link for s in steps if s.op == "link_create"}:
            steps.append(Step("link_create", link=f"l{k + 1}", prog=f"p{p or 1}", cgroup="c0", dir=E.POINT))
            steps.append(Step("link_detach" if st == DEFUNCT else "close", link=f"l{k + 1}"))
    for i, fd in enumerate(c.fd):
        if c.loaded[i] and not fd:
            steps.append(Step("close", prog=f"p{i + 1}"))
    steps.append(q.step(attrs))
    return render_script(Script(tuple(steps), dialect="cgroup", description=note))


# --------------------------------------------------------------------------
# Exhaustive: every reachable world with small lists, every request of the alphabet

LEAN_FLAGS = (frozenset(), frozenset({"ALLOW_MULTI"}), frozenset({"ALLOW_OVERRIDE"}),
              frozenset({"ALLOW_OVERRIDE", "ALLOW_MULTI"}), frozenset({"ALLOW_MULTI", "BEFORE"}),
              frozenset({"ALLOW_MULTI", "AFTER"}), frozenset({"ALLOW_MULTI", "BEFORE", "AFTER"}),
              frozenset({"ALLOW_MULTI", "PREORDER"}), frozenset({"ALLOW_MULTI", "AFTER", "PREORDER"}),
              frozenset({"ALLOW_MULTI", "REPLACE"}), frozenset({"ALLOW_MULTI", "REPLACE", "PREORDER"}),
              frozenset({"ALLOW_MULTI", "REPLACE", "AFTER"}), frozenset({"REPLACE"}),
              frozenset({"ALLOW_MULTI", "BEFORE", "ID"}), frozenset({"ALLOW_MULTI", "AFTER", "LINK"}),
              frozenset({"ALLOW_MULTI", "AFTER", "ID", "LINK"}), frozenset({"ALLOW_MULTI", "ID"}),
              frozenset({"ALLOW_MULTI", "JUNK"}))
LINK_FLAGS = (frozenset(), frozenset({"BEFORE"}), frozenset({"AFTER", "LINK"}), frozenset({"BEFORE", "ID", "LINK"}),
              frozenset({"AFTER", "PREORDER", "LINK"}), frozenset({"PREORDER"}), frozenset({"BEFORE", "AFTER"}),
              frozenset({"AFTER"}), frozenset({"ALLOW_MULTI"}), frozenset({"LINK"}))


def alphabet(shape: Shape, c: Concrete) -> list:
    """The requests tried on each world (the lean alphabet: every rule is
    reachable from it, see test_exhaustive_alphabet_reaches_every_rule)."""
    P, L, out = shape.progs, shape.links, []
    levels = range(shape.depth)
    # Every kind of program argument with the plain flags; the core's
    # variety (flags, relatives, replaced programs) with p1 and p2.
    args = [(FD_PROG, i) for i in range(1, P + 1)] + [(FD_LINK, 1), (FD_ZERO, 0), (FD_CLOSED, 0)]
    progs = [(FD_PROG, 1), (FD_PROG, 2)]
    rels = [(REL_NONE, 0), (REL_RAW, 0), (REL_PROG, 1), (REL_PROG, 2)] + \
        [(REL_LINK, k) for k in range(1, L + 1)]
    exps = lambda l: sorted({0, c.lists[l][2], c.lists[l][2] + 1})    # noqa: E731
    for l in levels:
        for pk, pi in args:
            out.append(ConcreteReq("attach", l, frozenset({"ALLOW_MULTI"}), pk, pi))
        for flags in LEAN_FLAGS:
            for pk, pi in progs:
                for rk, ri in (rels if flags & {"BEFORE", "AFTER", "ID", "LINK"} else [(REL_NONE, 0)]):
                    for xk, xi in ([(FD_PROG, 1), (FD_PROG, 2), (FD_ZERO, 0), (FD_LINK, 1)]
                                   if "REPLACE" in flags else [(FD_ZERO, 0)]):
                        out.append(ConcreteReq("attach", l, flags, pk, pi, rk, ri, xk, xi))
        for e in exps(l):
            out.append(ConcreteReq("attach", l, frozenset({"ALLOW_MULTI"}), FD_PROG, 1, exp=e))
        for k in range(1, L + 1):
            if c.links[k - 1][0] != UNBORN:
                continue
            for pk, pi in args:
                out.append(ConcreteReq("link_create", l, frozenset(), pk, pi, li=k))
            for flags in LINK_FLAGS:
                for pk, pi in progs:
                    for rk, ri in (rels if flags & {"BEFORE", "AFTER", "ID", "LINK"} else [(REL_NONE, 0)]):
                        out.append(ConcreteReq("link_create", l, flags, pk, pi, rk, ri, li=k))
            out.append(ConcreteReq("link_create", l, frozenset(), FD_PROG, 1, li=k, exp=c.lists[l][2] + 1))
            break                                       # one unborn link name is enough
        for pk, pi in args:
            out.append(ConcreteReq("detach", l, frozenset(), pk, pi))
        out += [ConcreteReq("detach", l, frozenset({"BEFORE"}), FD_PROG, 1),
                ConcreteReq("detach", l, frozenset(), FD_PROG, 1, rk=REL_RAW)]
        out += [ConcreteReq("detach", l, frozenset(), FD_PROG, 1, exp=e) for e in exps(l) if e]
        for qeff, qjunk, qarr, qcount in itertools.product((False, True), (False, True), (False, True),
                                                          (-1, 0, 1)):
            if qjunk and (qarr or qcount != -1):
                continue
            out.append(ConcreteReq("query", l, qeff=qeff, qjunk=qjunk, qarr=qarr, qcount=qcount))
        out += [ConcreteReq("cgroup_add", l), ConcreteReq("cgroup_del", l)]
    for k in range(1, L + 1):
        for lk, li in ((FD_LINK, k), (FD_PROG, 1), (FD_ZERO, 0), (FD_CLOSED, 0)):
            out.append(ConcreteReq("link_detach", lk=lk, li=li))
            for pk, pi in args:
                out.append(ConcreteReq("link_update", lk=lk, li=li, pk=pk, pi=pi))
            for ok, oi in ((FD_PROG, 1), (FD_PROG, 2), (FD_ZERO, 0), (FD_CLOSED, 0), (FD_LINK, 1)):
                out.append(ConcreteReq("link_update", flags=frozenset({"REPLACE"}), lk=lk, li=li, pk=FD_PROG,
                                       pi=1, ok=ok, oi=oi))
            out.append(ConcreteReq("link_update", lk=lk, li=li, pk=FD_PROG, pi=1, ok=FD_PROG, oi=1))
            out.append(ConcreteReq("link_update", flags=frozenset({"BEFORE"}), lk=lk, li=li))
        out.append(ConcreteReq("close_link", lk=FD_LINK, li=k))
    for i in range(1, P + 1):
        out.append(ConcreteReq("close_prog", pk=FD_PROG, pi=i))
        if not c.loaded[i - 1]:
            out.append(ConcreteReq("load", pi=i))
    out += [ConcreteReq("close_prog", pk=FD_ZERO), ConcreteReq("close_prog", pk=FD_CLOSED)]
    return out


EXHAUSTIVE_SHAPE = Shape(depth=2, size=2, progs=3, links=2)
# p1, p2: cgroup_sockopt for cgroup_getsockopt; p3: cgroup_sockopt for the other hook.
EXHAUSTIVE_ATTRS = ((True, True, True), (True, True, True), (True, False, True))


def initial(shape: Shape) -> Concrete:
    return Concrete(tuple(True for _ in range(shape.depth)),
                    tuple(((), 0, 1) for _ in range(shape.depth)),
                    tuple(True for _ in range(shape.progs)), tuple(True for _ in range(shape.progs)),
                    tuple((UNBORN, 0, 0) for _ in range(shape.links)))


def reachable(shape: Shape, attrs, k: int, depth: int, cap: int) -> list:
    """Worlds the executor reaches from ``initial`` in at most ``depth``
    requests of the alphabet with lists of at most ``k`` entries (breadth
    first; at most ``cap`` of them)."""
    start = initial(shape)
    seen, frontier, out = {start}, [start], [start]
    for _ in range(depth):
        nxt = []
        for c in frontier:
            for q in alphabet(shape, c):
                if q.op in ("query", "load"):
                    continue
                _, w2 = step(exec_world(c, attrs), q.step(attrs))
                d = concrete_of(w2, shape, _closed_after(c, q, w2))
                if any(len(e) > k for e, _, _ in d.lists) or d in seen or len(out) >= cap:
                    continue
                seen.add(d)
                out.append(d)
                nxt.append(d)
        frontier = nxt
    return out


def verify_exhaustive(k: int = 1, timeout_s: Optional[float] = None, depth: int = 2,
                      cap: int = 100000, step_fn=None) -> list:
    """Every world reachable in at most ``depth`` requests with lists of at
    most ``k`` entries, every request of the alphabet on each."""
    shape = Shape(EXHAUSTIVE_SHAPE.depth, max(k, 1), EXHAUSTIVE_SHAPE.progs, EXHAUSTIVE_SHAPE.links)
    attrs = EXHAUSTIVE_ATTRS
    u = Universe(shape, timeout_s, step_fn)
    t0 = time.perf_counter()
    worlds = reachable(shape, attrs, k, depth, cap)
    cases, rules = 0, set()
    for c in worlds:
        for q in alphabet(shape, c):
            cases += 1
            why = check_case(u, c, attrs, q)
            if why is not None:
                status = "unknown" if why.startswith("unknown") else "violated"
                return [Report("exhaustive", q.op, "case", status, k, time.perf_counter() - t0, why,
                               script=case_script(c, attrs, q, why))]
            rules.add(u.step(exec_world(c, attrs), q.step(attrs))[0].rule)
    return [Report("exhaustive", "all", f"k={k},depth={depth}", "proved", k, time.perf_counter() - t0,
                   f"{cases} (world, request) cases over {len(worlds)} worlds agree; "
                   f"{len(rules)} rules decided", rules=tuple(sorted(rules)))]


# --------------------------------------------------------------------------
# Classes: lists up to n entries (64 = the kernel's maximum)

def _boundaries(u: Universe, n: int) -> list:
    """Atoms a class's representatives cover, each where the class has a
    member: the target list empty, with one entry, n - 1, n (full at 64);
    a PREORDER entry there; a link's entry there; a non-empty parent."""
    r = u.req
    tgt = lambda f: E._sel([f(lv) for lv in u.pre.levels], r.lvl)                # noqa: E731
    n_t = tgt(lambda lv: lv.n)
    some = lambda g: z3.Or([z3.And(r.lvl == l, z3.Or([z3.And(j < lv.n, g(lv, j)) for j in lv.slots()]))  # noqa: E731
                            for l, lv in enumerate(u.pre.levels)])
    # The anchor's index in the target list (a new entry's position).
    m = tgt(lambda lv: lv.first(lambda j: z3.If(r.linkf, lv.owner[j] == r.ri,
                                                z3.And(lv.owner[j] == 0, lv.prog[j] == r.ri))))
    given = z3.Or(r.linkf, r.idf, r.rk != REL_NONE)
    return [z3.BoolVal(True), n_t == 0, n_t == 1, n_t == n - 1, n_t == n,
            some(lambda lv, j: lv.pre[j]), some(lambda lv, j: lv.owner[j] > 0),
            z3.And(r.lvl == 1, u.pre.levels[0].n > 0),
            z3.And(given, r.before, m > 0), z3.And(given, r.after, m >= 0, m < n_t - 1),
            z3.And(z3.Not(given), n_t > 0, z3.Or(r.before, r.after))]


def _domain(u: Universe, op: str) -> list:
    """Requests a script can make: a new link's name is unborn; close takes
    a program or a link as its op says; a load names a program not loaded."""
    r, w = u.req, u.pre
    cs = r.domain(u.shape) + w.wf()
    if op == "link_create":
        cs += [1 <= r.li, r.li <= u.shape.links, E._sel(w.lst, r.li - 1) == UNBORN]
    if op == "close_prog":
        cs.append(r.pk != FD_LINK)
    if op in ("close_link", "link_update", "link_detach"):
        cs.append(z3.Implies(r.lk == FD_PROG, op != "close_link"))
    if op == "load":
        cs += [1 <= r.pi, r.pi <= u.shape.progs, z3.Not(E._sel_bool(w.loaded, r.pi - 1))]
    if op in ("attach", "link_create") and u.shape.size < CGROUP_MAX_PROGS:
        # A list the universe cannot grow: its insertions are another universe's.
        cs.append(E._sel([lv.n for lv in w.levels], r.lvl) < u.shape.size)
    return cs


SAMPLE_MAX = 6      # representatives are searched in lists of at most this many entries


def verify_classes(n: int, timeout_s: Optional[float] = None, ops=OPS, rules=None,
                   step_fn=None) -> list:
    """Per op: the encoding is total over every well-formed world with lists
    of at most ``n`` entries (z3 proof; n + 1 programs, so a list can be
    full).  Per rule: representatives at the boundaries (lists of at most
    SAMPLE_MAX entries: the search for worlds with dozens of distinct
    programs is slow; the 63/64 boundary is full_list_cases'), each checked
    against the executor (check_case).  With ``rules``: only those classes."""
    big = Universe(Shape(depth=2, size=n, progs=n + 1, links=2), timeout_s)
    k = min(n, SAMPLE_MAX)
    u = Universe(Shape(depth=2, size=k, progs=k + 1, links=2), timeout_s, step_fn)
    out = []
    for op in ops:
        if rules is None:
            chain = big.chains[op]
            s = E.limit(z3.Solver(), timeout_s)
            s.add([big.req.op == OPS.index(op)] + [t.expr for t in chain.tracked] + _domain(big, op))
            t0 = time.perf_counter()
            verdict = s.check(z3.Not(chain.decided))
            status = "proved" if verdict == z3.unsat else "violated" if verdict == z3.sat else "unknown"
            out.append(Report("classes", op, "total", status, n, time.perf_counter() - t0,
                              "exactly one rule decides every request" if status == "proved" else
                              "a request no rule decides" if status == "violated" else s.reason_unknown()))
        chain = u.chains[op]
        s = z3.Solver()
        s.add([u.req.op == OPS.index(op)] + [t.expr for t in chain.tracked] + _domain(u, op))
        for rule in sorted(set(chain.fires) & (set(chain.fires) if rules is None else set(rules))):
            out.append(_class(u, s, chain, op, rule, k))
    if n >= CGROUP_MAX_PROGS and rules is None:
        out += full_list_cases(timeout_s, step_fn)
    return out


def _class(u: Universe, s: z3.Solver, chain, op: str, rule: str, k: int) -> Report:
    t0 = time.perf_counter()
    reps, bad, unknown, seen = 0, None, False, set()
    for atom in _boundaries(u, k):
        s.push()
        s.add(chain.fires[rule], atom)
        v = E.limit(s, u.timeout_s).check()
        m = s.model() if v == z3.sat else None
        unknown |= v == z3.unknown
        s.pop()
        if m is None:
            continue
        c, q = world_of_model(u.pre, m), req_of_model(u.req, m)
        attrs = tuple(_prog_attrs(u.static, i, m) for i in range(u.shape.progs))
        if (c, q, attrs) in seen:
            continue
        seen.add((c, q, attrs))
        reps += 1
        why = check_case(u, c, attrs, q)
        if why is not None:
            bad = (c, q, attrs, why)
            break
    dt = time.perf_counter() - t0
    if bad:
        c, q, attrs, why = bad
        return Report("classes", op, rule, "unknown" if why.startswith("unknown") else "violated",
                      k, dt, why, (rule,), case_script(c, attrs, q, why), reps)
    if reps == 0:
        return Report("classes", op, rule, "unknown" if unknown else "vacuous", k, dt,
                      "no world within the bounds", (rule,))
    return Report("classes", op, rule, "sampled", k, dt,
                  f"the executor agrees on {reps} representatives", (rule,), reps=reps)


def full_list_cases(timeout_s: Optional[float] = None, step_fn=None) -> list:
    """The 64-entry boundary, built concretely (a z3 search for a world with
    64 distinct programs is slow): a parent with one entry and a child whose
    list holds 63 or 64 prog-API entries (some PREORDER) and one attached
    link, every request kind that reads the length, each checked with
    check_case.  The programs are p1..p65, all of the attach point's type."""
    t0 = time.perf_counter()
    shape = Shape(depth=2, size=CGROUP_MAX_PROGS, progs=CGROUP_MAX_PROGS + 2, links=2)
    u = Universe(shape, timeout_s, step_fn)
    attrs = tuple((True, True, True) for _ in range(shape.progs))
    cases, bad = 0, None
    for k in (CGROUP_MAX_PROGS - 1, CGROUP_MAX_PROGS):
        entries = tuple((i + 1, 0, i % 5 == 0) for i in range(k - 1)) + ((k, 1, False),)
        lists = ((((CGROUP_MAX_PROGS + 2, 0, True),), MULTI, 2), (entries, MULTI, k + 3))
        c = Concrete((True, True), lists, (True,) * shape.progs, (True,) * shape.progs,
                     ((ATTACHED, k, 1), (UNBORN, 0, 0)))
        new = CGROUP_MAX_PROGS + 1
        multi = frozenset({"ALLOW_MULTI"})
        reqs = [ConcreteReq("attach", 1, multi, FD_PROG, new),
                ConcreteReq("attach", 1, multi | {"BEFORE"}, FD_PROG, new, REL_PROG, 2),
                ConcreteReq("attach", 1, multi | {"REPLACE"}, FD_PROG, new, xk=FD_PROG, xi=1),
                ConcreteReq("attach", 1, multi | {"REPLACE"}, FD_PROG, 1, xk=FD_PROG, xi=1),
                ConcreteReq("attach", 1, multi, FD_PROG, new, exp=1),
                ConcreteReq("attach", 1, frozenset(), FD_PROG, new),
                ConcreteReq("attach", 1, multi, FD_PROG, 1),
                ConcreteReq("link_create", 1, frozenset(), FD_PROG, new, li=2),
                ConcreteReq("link_create", 1, frozenset({"AFTER", "LINK"}), FD_PROG, new, REL_LINK, 1, li=2),
                ConcreteReq("link_update", lk=FD_LINK, li=1, pk=FD_PROG, pi=new),
                ConcreteReq("detach", 1, frozenset(), FD_PROG, 2),
                ConcreteReq("close_link", lk=FD_LINK, li=1),
                ConcreteReq("query", 1), ConcreteReq("query", 1, qcount=CGROUP_MAX_PROGS - 1),
                ConcreteReq("query", 1, qeff=True), ConcreteReq("query", 0, qeff=True)]
        for q in reqs:
            cases += 1
            why = check_case(u, c, attrs, q)
            if why is not None:
                bad = (c, q, why)
                break
        if bad:
            break
    dt = time.perf_counter() - t0
    if bad:
        c, q, why = bad
        return [Report("classes", q.op, "full-list", "unknown" if why.startswith("unknown") else "violated",
                       CGROUP_MAX_PROGS, dt, why, script=case_script(c, attrs, q, why))]
    return [Report("classes", "all", "full-list", "sampled", CGROUP_MAX_PROGS, dt,
                   f"{cases} requests on lists of 63 and 64 entries agree", ("attach/full",), reps=cases)]
