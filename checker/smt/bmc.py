"""Invariants by bounded model checking and 1-induction (checker.smt.encode).

Universe: one device veth0 (present or deleted, with or without a clsact
qdisc) and its ingress hook (with or without a bundle), programs p1..p{P}
(sched_cls; each fd open or closed), links l1..l{L}.  A request is any of
attach, detach, link_create, link_detach, close of a link or of a program,
link_update, query, dev_add, dev_del, clsact_add or clsact_del, with symbolic
flags, relative object (program or link, by fd or id, or none), replaced
program and expected revision.  Each request is encoded by the same chain as
the equivalence check (checker.smt.encode), preludes included.

Link states (``link[i].state@t``): 0 unborn (name not yet used), 1 attached
(owns exactly one slot, holding its program), 2 defunct, 3 gone (closed, or
a link_create that failed).  ``prog[i].fd_open@t``: program i's fd.

Each invariant is checked by its own solver: BMC from the initial state to
``depth`` requests, then 1-induction (from ANY state that satisfies the state
invariants) when it closes.  Counterexamples come back as runnable scripts.
"""
from __future__ import annotations

import functools
import time
from dataclasses import replace
from typing import Optional

import z3

from ..model import Expect, Raw, Script, Step
from ..syntax.render import render_script
from . import linux as E
from . import names
from .linux import FD_CLOSED, FD_LINK, FD_NONE, FD_PROG, REL_LINK, REL_NONE, REL_PROG
from .equiv import DEV, DIR, Report, _flags, _Solver, final_query

OPS = ("attach", "detach", "link_create", "link_detach", "close_link", "link_update", "query",
       "close_prog", "dev_add", "dev_del", "clsact_add", "clsact_del")
_ENCODER = {"close_link": "close", "close_prog": "close"}
UNBORN, ATTACHED, DEFUNCT, GONE = 0, 1, 2, 3

INVARIANTS = {
    "INV-NODUP": "no program occurs twice on a hook",
    "INV-MAX": "a hook holds at most 63 programs (MPROG_MAX)",
    "INV-LINK": "an attached link owns exactly one slot, holding the link's program; "
                "any other link owns none",
    "INV-REV": "a failed request changes nothing; while the hook keeps a bundle, its revision grows "
               "by exactly 1 on a request that changes its slots and is unchanged otherwise; a hook "
               "without a bundle reads revision 1",
    "INV-STALE": "a nonzero expected_revision other than the hook's gives ESTALE and no change "
                 "(attach, link_create, detach without REPLACE, once the prelude passed: flags, "
                 "fds, device, bundle for detach; detach/replace-flag comes first)",
    "INV-BEFORE": "a successful attach/link_create BEFORE R puts the new program immediately before R",
    "INV-AFTER": "a successful attach/link_create AFTER R puts the new program immediately after R",
    "INV-ORDER": "programs a request does not name keep their relative order",
    "INV-LINKSLOT": "a link-owned slot leaves the hook only through link_detach or close of that "
                    "link, or deletion of the device",
}


class World:
    """Hook and device state plus link states and program fds at time t."""

    def __init__(self, t: int, size: int, n_links: int, n_progs: int):
        self.h = E.State(t, size)
        self.ls = [z3.Int(names.link_state(i, t)) for i in range(1, n_links + 1)]
        self.lp = [z3.Int(names.link_prog(i, t)) for i in range(1, n_links + 1)]
        self.pf = [z3.Bool(names.prog_fd_open(i, t)) for i in range(1, n_progs + 1)]


def _pick(vals: list, idx, default=0):
    e = z3.IntVal(default) if not isinstance(default, z3.ExprRef) else default
    for i in reversed(range(len(vals))):
        e = z3.If(idx == i + 1, vals[i], e)
    return e


def _pickb(vals: list, idx):
    return z3.Or([z3.And(idx == i + 1, v) for i, v in enumerate(vals)])


class Unrolling:
    def __init__(self, depth: int, n_progs: int = 4, n_links: int = 2, ops=OPS):
        self.depth, self.P, self.L = depth, n_progs, n_links
        self.op_names = tuple(ops)
        self.size = n_progs + 1
        self.worlds = [World(t, self.size, n_links, n_progs) for t in range(depth + 1)]
        self.reqs = [E.Req(k) for k in range(depth)]
        self.ops = [z3.Int(names.req(k, "op")) for k in range(depth)]
        self.tracked, self.plain = [], []
        for k in range(depth):
            self._step(k)

    def bmc_solver(self, timeout_s) -> _Solver:
        """A fresh solver with the transition relation (tracked under rule
        IDs) and the initial state: the base of every BMC check."""
        sv = _Solver(timeout_s)
        sv.add_tracked(self.tracked)
        sv.s.add(self.step_facts())
        sv.s.add(self.init())
        return sv

    # -- state predicates -----------------------------------------------------
    def state_ok(self, w: World) -> list:
        """Well-formedness and the state invariants (INV-NODUP, INV-LINK)."""
        h = w.h
        cs = h.wellformed(self.size)
        for i in range(self.L):
            lid = i + 1
            cs += [w.ls[i] >= UNBORN, w.ls[i] <= GONE, w.lp[i] >= 0, w.lp[i] <= self.P,
                   z3.Implies(w.ls[i] == UNBORN, w.lp[i] == 0),
                   z3.Implies(z3.Or(w.ls[i] == ATTACHED, w.ls[i] == DEFUNCT), w.lp[i] >= 1),
                   z3.If(w.ls[i] == ATTACHED, z3.Or([z3.And(j < h.n, h.link[j] == lid, h.prog[j] == w.lp[i])
                                                    for j in range(self.size)]),
                         z3.Not(h.owns(lid))),
                   z3.Implies(w.ls[i] == ATTACHED, h.present)]
        for j in range(self.size):
            cs += [h.prog[j] <= self.P, h.link[j] <= self.L]
        return cs

    def init(self) -> list:
        """dev_add veth0, maybe clsact_add, load p1..pP: clsact is free."""
        w = self.worlds[0]
        return [w.h.n == 0, w.h.rev == 1, w.h.present, w.h.bundle == w.h.clsact] + \
            [x == 0 for x in w.h.prog + w.h.link] + \
            [s == UNBORN for s in w.ls] + [p == 0 for p in w.lp] + list(w.pf)

    def alive(self, w: World, p) -> z3.BoolRef:
        """objects.md: a program is alive while its fd is open, a prog-API
        entry holds it, or an open link holds it."""
        h = w.h
        return z3.Or(_pickb(w.pf, p),
                     z3.Or([z3.And(j < h.n, h.prog[j] == p, h.link[j] == 0) for j in range(self.size)]),
                     z3.Or([z3.And(z3.Or(w.ls[i] == ATTACHED, w.ls[i] == DEFUNCT), w.lp[i] == p)
                            for i in range(self.L)]))

    # -- transition -----------------------------------------------------------
    def _step(self, k: int) -> None:
        w, w2, r, op = self.worlds[k], self.worlds[k + 1], self.reqs[k], self.ops[k]
        pre, post = w.h, w2.h
        opi = {o: i for i, o in enumerate(OPS)}
        is_ = lambda o: op == opi[o]   # noqa: E731
        P, L = self.P, self.L
        lstate = _pick(w.ls, r.owner, GONE)
        lprog = _pick(w.lp, r.owner, 0)
        fd_of = lambda p: z3.If(p == 0, FD_NONE, z3.If(_pickb(w.pf, p), FD_PROG, FD_CLOSED))   # noqa: E731
        link_open = z3.Or(lstate == ATTACHED, lstate == DEFUNCT)
        rls = _pick(w.ls, r.rel_link, GONE)
        dom = [z3.Or([is_(o) for o in self.op_names]), r.exp >= 0, r.exp <= k + 3,
               r.prog >= 0, r.prog <= P, r.old >= 0, r.old <= P, r.owner >= 0, r.owner <= L,
               # relative: none, a program or a link by fd / id
               z3.Or(r.rel_kind == REL_NONE, r.rel_kind == REL_PROG, r.rel_kind == REL_LINK),
               z3.Implies(r.rel_kind == REL_NONE, z3.And(r.rel_prog == 0, r.rel_link == 0)),
               z3.Implies(r.rel_kind == REL_PROG, z3.And(r.rel_prog >= 1, r.rel_prog <= P, r.rel_link == 0)),
               z3.Implies(r.rel_kind == REL_LINK, z3.And(r.rel_link >= 1, r.rel_link <= L,
                                                          r.rel_prog == _pick(w.lp, r.rel_link))),
               r.rel_type_ok,
               r.rel_fd_open == z3.Or(z3.And(r.rel_kind == REL_PROG, _pickb(w.pf, r.rel_prog)),
                                      z3.And(r.rel_kind == REL_LINK, z3.Or(rls == ATTACHED, rls == DEFUNCT))),
               r.rel_alive == z3.And(r.rel_kind == REL_PROG, self.alive(w, r.rel_prog)),
               r.type_ok, r.prog_cls, r.repl_cls,
               z3.Not(r.has_count), r.qcap == 0, z3.Not(r.qf_unknown), z3.Not(r.qf_effective),
               z3.Not(r.attach_flags)]
        dom += [z3.Implies(is_("attach"), z3.And(r.prog >= 1, r.owner == 0, r.prog_fd == fd_of(r.prog),
                                                 z3.If(r.replace, r.old >= 1, r.old == 0),
                                                 r.repl_fd == fd_of(r.old))),
                z3.Implies(is_("link_create"), z3.And(r.prog >= 1, r.owner >= 1, lstate == UNBORN,
                                                      r.prog_fd == fd_of(r.prog),
                                                      r.old == 0, r.rel_link != r.owner)),
                z3.Implies(is_("detach"), z3.And(r.owner == 0, r.old == 0, r.prog_fd == fd_of(r.prog))),
                z3.Implies(z3.Or(is_("link_detach"), is_("close_link")), z3.And(
                    r.owner >= 1, r.prog == lprog, r.link_fd == z3.If(link_open, FD_LINK, FD_CLOSED),
                    r.defunct == (lstate == DEFUNCT))),
                z3.Implies(is_("close_prog"), z3.And(r.prog >= 1, r.owner == 0, z3.Not(r.defunct),
                                                     r.link_fd == fd_of(r.prog))),
                z3.Implies(is_("link_update"), z3.And(
                    r.owner >= 1, r.prog >= 1, r.link_fd == z3.If(link_open, FD_LINK, FD_CLOSED),
                    r.defunct == (lstate == DEFUNCT), r.cur == lprog, r.prog_fd == fd_of(r.prog),
                    r.old_fd == fd_of(r.old))),
                # requests without relative, flags (but link_update's REPLACE) or revision
                z3.Implies(z3.Not(z3.Or(is_("attach"), is_("detach"), is_("link_create"))), z3.And(
                    r.exp == 0, r.rel_kind == REL_NONE,
                    z3.Not(z3.Or(r.before, r.after, r.id, r.link_flag, r.stray)))),
                z3.Implies(z3.Not(is_("link_update")), z3.And(r.cur == 0, r.old_fd == FD_NONE)),
                z3.Implies(z3.Not(z3.Or(is_("attach"), is_("detach"), is_("link_create"), is_("link_update"))),
                           z3.Not(r.replace)),
                z3.Implies(z3.Not(z3.Or(is_("link_update"), is_("attach"))), r.old == 0),
                z3.Implies(z3.Not(z3.Or(is_("attach"), is_("detach"), is_("link_create"), is_("link_update"))),
                           r.prog_fd == FD_NONE),
                z3.Implies(z3.Not(z3.Or(is_("link_detach"), is_("close_link"), is_("close_prog"),
                                        is_("link_update"))), z3.And(r.link_fd == FD_NONE, z3.Not(r.defunct))),
                z3.Implies(z3.Not(is_("attach")), r.repl_fd == FD_NONE),
                z3.Implies(z3.Or(is_("query"), is_("dev_add"), is_("dev_del"), is_("clsact_add"),
                                 is_("clsact_del")), z3.And(r.prog == 0, r.owner == 0))]
        self.plain += dom
        for o in self.op_names:
            ch = E.Chain(k, pre, post, r, scope=o)
            E.encode(_ENCODER.get(o, o), k, pre, post, r, ch)
            self.tracked += [E.Tracked(t.label, z3.Implies(is_(o), t.expr)) for t in ch.tracked]
        ok = r.errno == E.errno_code("ok")
        # Link states (spec/linux/link.md, device/del): effects on the request's link, frame for the others
        for i in range(L):
            lid = i + 1
            mine = r.owner == lid
            s0, p0, s1, p1 = w.ls[i], w.lp[i], w2.ls[i], w2.lp[i]
            new_s = z3.If(z3.And(is_("dev_del"), ok, s0 == ATTACHED), DEFUNCT,
                          z3.If(mine, z3.If(is_("link_create"), z3.If(ok, ATTACHED, GONE),
                                z3.If(z3.And(is_("link_detach"), ok, s0 == ATTACHED), DEFUNCT,
                                      z3.If(z3.And(is_("close_link"), ok), GONE, s0))), s0))
            new_p = z3.If(mine, z3.If(z3.And(is_("link_create"), ok), r.prog,
                                      z3.If(z3.And(is_("link_update"), ok), r.prog, p0)), p0)
            self.plain += [s1 == new_s, p1 == new_p]
        for i in range(P):
            self.plain.append(w2.pf[i] == z3.And(w.pf[i], z3.Not(z3.And(is_("close_prog"), ok, r.prog == i + 1))))

    def step_facts(self) -> list:
        return self.plain

    # -- counterexample script -----------------------------------------------
    def script(self, m: z3.ModelRef, upto: int, title: str) -> str:
        iv = lambda e: m.eval(e, model_completion=True).as_long()   # noqa: E731
        bv = lambda e: z3.is_true(m.eval(e, model_completion=True))  # noqa: E731
        ok = Expect("ok")
        steps = [Step("dev_add", dev=DEV, expect=ok)]
        if bv(self.worlds[0].h.clsact):
            steps.append(Step("clsact_add", dev=DEV, expect=ok))
        steps += [Step("load", prog=f"p{i}", expect=ok) for i in range(1, self.P + 1)]
        for k in range(upto):
            r, op = self.reqs[k], OPS[iv(self.ops[k])]
            flags = _flags({f: bv(getattr(r, f)) for f in ("replace", "before", "after", "id",
                                                           "link_flag", "stray")})
            kind = iv(r.rel_kind)
            p, o, ln = iv(r.prog), iv(r.old), iv(r.owner)
            exp = Expect(E.ERRNOS[iv(r.errno)])
            hook = dict(dev=DEV, dir=DIR)
            # A link not created yet has no name in the script (the validator
            # refuses names used before their declaration): it is a raw
            # number, which the script language defines as an fd that is not
            # open and an id that names nothing: what an unborn link is.
            link_ref = (lambda i: f"l{i}" if iv(self.worlds[k].ls[i - 1]) != UNBORN else Raw(99))
            lref = lambda: link_ref(ln)   # noqa: E731
            rel = None if kind == REL_NONE else (f"p{iv(r.rel_prog)}" if kind == REL_PROG
                                                 else link_ref(iv(r.rel_link)))
            if op == "attach":
                s = Step("attach", prog=f"p{p}", flags=flags, relative=rel, replace=f"p{o}" if o else None,
                         expected_revision=iv(r.exp), **hook)
            elif op == "link_create":
                s = Step("link_create", link=f"l{ln}", prog=f"p{p}", flags=flags, relative=rel,
                         expected_revision=iv(r.exp), **hook)
            elif op == "detach":
                s = Step("detach", prog=f"p{p}" if p else None, flags=flags, relative=rel,
                         expected_revision=iv(r.exp), **hook)
            elif op == "link_detach":
                s = Step("link_detach", link=lref())
            elif op == "close_link":
                s = Step("close", link=lref())
            elif op == "close_prog":
                s = Step("close", prog=f"p{p}")
            elif op == "link_update":
                s = Step("link_update", link=lref(), prog=f"p{p}", flags=flags, old_prog=f"p{o}" if o else None)
            elif op in ("dev_add", "dev_del", "clsact_add", "clsact_del"):
                s = Step(op, dev=DEV)
            else:
                s = Step("query", **hook)
            steps.append(replace(s, expect=exp))
        h = self.worlds[upto].h
        slots = [(iv(h.prog[j]), iv(h.link[j])) for j in range(iv(h.n))] if bv(h.present) else []
        steps.append(final_query(bv(h.present), slots, iv(h.rev) if bv(h.present) else 0))
        return render_script(Script(tuple(steps), name=title))


# --------------------------------------------------------------------------
# Properties: state(t) or transition(k) -> z3 Bool (must hold)

def prop(u: Unrolling, inv: str, k: int) -> z3.BoolRef:
    """``inv`` at request k (transition invariants) / at state k (state ones)."""
    if inv in STATE_INVS:
        w = u.worlds[k]
        h = w.h
        if inv == "INV-MAX":
            return h.n <= 63
        if inv == "INV-NODUP":
            return z3.And([z3.Implies(j2 < h.n, h.prog[j1] != h.prog[j2])
                           for j2 in range(u.size) for j1 in range(j2)] or [z3.BoolVal(True)])
        cs = []
        for i in range(u.L):
            lid = i + 1
            cs.append(z3.If(w.ls[i] == ATTACHED, z3.Or([z3.And(j < h.n, h.link[j] == lid, h.prog[j] == w.lp[i])
                                                         for j in range(u.size)]), z3.Not(h.owns(lid))))
            cs.append(z3.Implies(w.ls[i] == ATTACHED,
                                 z3.PbLe([(z3.And(j < h.n, h.link[j] == lid), 1) for j in range(u.size)], 1)))
        return z3.And(cs)
    w, w2, r, op = u.worlds[k], u.worlds[k + 1], u.reqs[k], u.ops[k]
    pre, post = w.h, w2.h
    ok = r.errno == E.errno_code("ok")
    opn = lambda o: op == OPS.index(o)   # noqa: E731
    hook_same = z3.And([post.n == pre.n] + [z3.Implies(j < pre.n, z3.And(post.prog[j] == pre.prog[j],
                                                                          post.link[j] == pre.link[j]))
                                           for j in range(u.size)])
    if inv == "INV-REV":
        return z3.And(z3.Implies(z3.Not(ok), E.same(pre, post)),
                      z3.Implies(z3.And(ok, post.bundle, z3.Not(hook_same)), post.rev == pre.rev + 1),
                      z3.Implies(z3.And(ok, post.bundle, hook_same), post.rev == pre.rev),
                      z3.Implies(z3.Not(post.bundle), post.rev == 1))
    if inv == "INV-STALE":
        # the prelude passed (all programs are sched_cls in this universe)
        core_attach = z3.And(r.prog_fd == FD_PROG, pre.present)
        reached = z3.Or(z3.And(opn("attach"), z3.Not(r.stray), core_attach,
                               z3.Or(z3.Not(r.replace), r.repl_fd == FD_PROG)),
                        z3.And(opn("link_create"), core_attach),
                        z3.And(opn("detach"), z3.Not(r.stray), z3.Not(r.replace), pre.present, pre.bundle,
                               z3.Or(r.prog_fd == FD_NONE, r.prog_fd == FD_PROG)))
        stale = z3.And(r.exp != 0, r.exp != pre.rev, reached)
        return z3.Implies(stale, z3.And(r.errno == E.errno_code("ESTALE"), E.same(pre, post)))
    if inv in ("INV-BEFORE", "INV-AFTER"):
        flag = r.before if inv == "INV-BEFORE" else r.after
        rel = z3.Or(r.rel_kind != REL_NONE, r.id, r.link_flag)
        rl = z3.If(r.link_flag, r.rel_link, 0)
        i_new = post.first(lambda j: post.prog[j] == r.prog)
        i_rel = post.first(lambda j: z3.And(post.prog[j] == r.rel_prog, z3.Or(rl == 0, post.link[j] == rl)))
        d = -1 if inv == "INV-BEFORE" else 1
        return z3.Implies(z3.And(ok, z3.Or(opn("attach"), opn("link_create")), flag, rel),
                          z3.And(i_new >= 0, i_rel >= 0, i_new == i_rel + d))
    if inv == "INV-ORDER":
        cs = []
        for a in range(1, u.P + 1):
            for b in range(1, u.P + 1):
                if a == b:
                    continue
                untouched = z3.And(a != r.prog, b != r.prog, a != r.old, b != r.old,
                                   pre.member(a), pre.member(b), post.member(a), post.member(b))
                before_pre = pre.first(lambda j: pre.prog[j] == a) < pre.first(lambda j: pre.prog[j] == b)
                before_post = post.first(lambda j: post.prog[j] == a) < post.first(lambda j: post.prog[j] == b)
                cs.append(z3.Implies(untouched, before_pre == before_post))
        return z3.And(cs)
    if inv == "INV-LINKSLOT":
        cs = []
        for lid in range(1, u.L + 1):
            cs.append(z3.Implies(z3.And(pre.owns(lid), z3.Not(post.owns(lid))),
                                 z3.Or(z3.And(z3.Or(opn("link_detach"), opn("close_link")), r.owner == lid),
                                       opn("dev_del"))))
        return z3.And(cs)
    raise ValueError(f"unknown invariant {inv!r} (known: {', '.join(INVARIANTS)})")


STATE_INVS = ("INV-NODUP", "INV-MAX", "INV-LINK")


def _check_one(inv: str, u: "Unrolling", u1: "Unrolling", timeout_s, cores: bool = False) -> list[Report]:
    """BMC of ``inv`` over ``u`` (depth u.depth), then 1-induction over ``u1``
    (one request); the unrollings are shared by every invariant's solvers."""
    out = []
    t0 = time.perf_counter()
    depth = u.depth
    sv = u.bmc_solver(timeout_s)
    # a state invariant is checked on the state after k requests (k = 0..depth),
    # a step invariant on request k (k = 0..depth-1): k + off requests in all
    off = 0 if inv in STATE_INVS else 1
    reached, status, detail, script = 0, "proved", "", ""
    for k in range(depth + 1 - off):
        sv.s.push()
        sv.s.add(z3.Not(prop(u, inv, k)))
        res = sv.s.check()
        if res == z3.sat:
            status = "violated"
            script = u.script(sv.s.model(), k + off, f"{inv}: {INVARIANTS[inv]}")
            detail = f"counterexample with {k + off} requests"
            sv.s.pop()
            break
        if res == z3.unknown:
            status, detail = "unknown", (f"proved to depth {reached}; depth {k + off}: "
                                         f"{sv.s.reason_unknown()}")
            sv.s.pop()
            break
        reached = k + off
        sv.s.pop()
    if status == "proved":
        detail = f"bmc depth {depth}"
    out.append(Report("invariant", "bmc", inv, status, depth, time.perf_counter() - t0, detail,
                      script=script))
    if status == "violated":
        return out
    # 1-induction (also after an unknown BMC: with the base case it covers
    # every depth): from any state satisfying the state invariants, one request.
    t0 = time.perf_counter()
    sv = _Solver(timeout_s)
    sv.add_tracked(u1.tracked)
    sv.s.add(u1.step_facts())
    sv.s.add(u1.state_ok(u1.worlds[0]))
    goal = prop(u1, inv, 1 - off)
    # the assumed strengthening (state_ok) must itself be preserved
    goal = z3.And(goal, *u1.state_ok(u1.worlds[1]))
    if not off:
        sv.s.add(prop(u1, inv, 0))
    sv.s.add(z3.Not(goal))
    res = sv.s.check()
    st = "proved" if res == z3.unsat else ("unproved" if res == z3.sat else "unknown")
    # a minimized core of the induction step costs ~15 s per invariant: only on request
    rules = sv.core_rules() if (res == z3.unsat and cores) else ()
    out.append(Report("invariant", "induction", inv, st, 1, time.perf_counter() - t0,
                      "k=1 induction closes" if res == z3.unsat else
                      ("induction does not close at k=1" if res == z3.sat else sv.s.reason_unknown()),
                      rules=rules))
    return out


def check_invariants(depth: int = 6, timeout_s: Optional[float] = None, *, invariants=None,
                     n_progs: int = 4, n_links: int = 2, cores: bool = False) -> list[Report]:
    """BMC of every invariant to ``depth`` requests from the initial state,
    then 1-induction (its minimized unsat core with ``cores``); one solver
    per check, the two unrollings built once."""
    u, u1 = Unrolling(depth, n_progs, n_links), Unrolling(1, n_progs, n_links)
    reports = []
    for inv in invariants or INVARIANTS:
        reports += _check_one(inv, u, u1, timeout_s, cores)
        if inv == "INV-MAX":
            reports.append(_max_at_kernel_bound(timeout_s))
    return reports


def _max_at_kernel_bound(timeout_s) -> Report:
    """INV-MAX is inductive at the kernel bound: from ANY well-formed hook with
    <= 63 programs, attach / link_create (the only requests that add a slot)
    leave <= 63."""
    from .equiv import Problem
    t0 = time.perf_counter()
    worst = "proved"
    for op in ("attach", "link_create"):
        pb = Problem(op, 63)
        sv = _Solver(timeout_s)
        sv.add_tracked(pb.chain.tracked)
        sv.s.add(pb.domain)
        sv.s.add(pb.post.n > 63)
        res = sv.s.check()
        if res != z3.unsat:
            worst = "unknown" if res == z3.unknown else "violated"
            break
    return Report("invariant", "induction", "INV-MAX", worst, 63, time.perf_counter() - t0,
                  "k=1 induction over every hook with <= 63 slots (attach, link_create)")


@functools.cache
def rule_ids() -> frozenset:
    """Rules tracked in the BMC transition relation (a one-step unrolling)."""
    u = Unrolling(1, 2, 1)
    return frozenset(names.rule_of_label(t.label) for t in u.tracked)


def __getattr__(name: str):
    # Built on first use, like encode.RULE_IDS (an unrolling costs ~0.1 s).
    if name == "RULE_IDS":
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
