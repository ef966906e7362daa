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

Every dialect with an encoding is checked the same way (``dialect``): the
universe is built from its encoding unit, and its invariants are the
mainline ones it keeps plus its own (rfc: ``RFC-*``, spec/rfc/invariants.md).
Two *contrasts* are checked beside them, each expected to hold in one
dialect and to fail in the other: ``NO-LOCKOUT`` (in every state with fewer
than 63 programs another program's plain attach succeeds; linux proves it,
rfc refutes it with its FIRST|LAST lock) and ``STAYS-FIRST`` (a program that
asked for the head keeps it until it leaves; rfc proves it, linux refutes
it: a later ``before`` with no relative pushes it aside).  An expected
refutation is reported ``refuted`` with its runnable counterexample.
"""
from __future__ import annotations

import functools
import time
from dataclasses import replace
from typing import Optional

import z3

from ..model import Expect, Raw, Script, Step
from ..syntax.render import render_script
from . import core, names
from . import linux as _linux
from .core import FD_CLOSED, FD_LINK, FD_NONE, FD_PROG, REL_LINK, REL_NONE, REL_PROG
from .equiv import DEV, DIR, Report, _flags, _Solver, encoding, final_query, own_proofs, slot_values

OPS = ("attach", "detach", "link_create", "link_detach", "close_link", "link_update", "query",
       "close_prog", "dev_add", "dev_del", "clsact_add", "clsact_del")
_ENCODER = {"close_link": "close", "close_prog": "close"}
UNBORN, ATTACHED, DEFUNCT, GONE = 0, 1, 2, 3

LINUX_INVARIANTS = {
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
    "INV-NO-LOCKOUT": "no program can lock a hook: in every state with fewer than 63 programs on a present "
                      "device, a plain attach of another program (open fd, sched_cls, not on the hook; no "
                      "flags, no relative, no revision guard) succeeds (every hook of up to 63 slots)",
}
INVARIANTS = LINUX_INVARIANTS          # the linux dialect's (checker.smt.INVARIANTS)

RFC_INVARIANTS = {k: v for k, v in LINUX_INVARIANTS.items() if k not in ("INV-REV", "INV-NO-LOCKOUT")}
RFC_INVARIANTS.update({
    "RFC-FIRST": "at most one slot holds FIRST, and it is at index 0",
    "RFC-LAST": "at most one slot holds LAST, and it is the last one",
    "RFC-ALONE": "a slot that holds FIRST|LAST is the only slot of its hook",
    "RFC-LINKPINS": "an attached link's stored pins are its slot's pins",
    "RFC-PINNED": "a slot's pins change only through a prog-API REPLACE of that slot: a pinned slot keeps "
                  "its pins until it leaves the hook or such a REPLACE drops them, and no slot gains a pin "
                  "otherwise (a link's slot is the link's whatever program it holds)",
    "RFC-REV": "a failed request changes nothing; while the hook keeps a bundle, its revision grows by "
               "exactly 1 on a request that changes its slots or pins, also on a replace in place "
               "(attach/replace) and an empty-bundle detach (detach/empty-bundle), and is unchanged "
               "otherwise; a hook without a bundle reads revision 1",
    "RFC-LOCKOUT": "while a slot holds FIRST|LAST, every request that would add a program fails: "
                   "attach and link_create without REPLACE fail, and no request makes the hook hold "
                   "more programs (until that slot leaves)",
    "RFC-STAYS-FIRST": "a program attached with FIRST stays at index 0 until it leaves the hook or a "
                       "prog-API REPLACE of its slot drops the pin",
})

DIALECT_INVARIANTS = {"linux": LINUX_INVARIANTS, "rfc": RFC_INVARIANTS}

# Contrasts: property -> (statement, the dialects expected to refute it)
CONTRASTS = {
    "NO-LOCKOUT": ("in every state with fewer than 63 programs on a present device, a plain attach of "
                   "another program succeeds", ("rfc",)),
    "STAYS-FIRST": ("a program that asked for the head (linux: attach/link_create BEFORE with no "
                    "relative; rfc: FIRST) stays at index 0 until it leaves (rfc: or a prog-API REPLACE "
                    "drops its pin)", ("linux",)),
}


def invariant_table(dialect: str = "linux") -> dict:
    """Invariant ID -> statement of a dialect (spec/<dialect>/invariants.md);
    empty for a dialect that states none yet."""
    if dialect not in DIALECT_INVARIANTS and (own := own_proofs(dialect)) is not None:
        return own.invariant_table()
    return DIALECT_INVARIANTS.get(dialect, {})


class World:
    """Hook and device state plus link states and program fds at time t; in
    a dialect that pins slots also each link's stored pins (``lf``/``ll``)
    and a ghost per program: it asked for the head and still holds it
    (``gf``, for STAYS-FIRST)."""

    def __init__(self, t: int, size: int, n_links: int, n_progs: int, E=_linux):
        self.h = E.state(t, size)
        self.ls = [z3.Int(names.link_state(i, t)) for i in range(1, n_links + 1)]
        self.lp = [z3.Int(names.link_prog(i, t)) for i in range(1, n_links + 1)]
        self.pf = [z3.Bool(names.prog_fd_open(i, t)) for i in range(1, n_progs + 1)]
        pins = self.h.pins
        self.lf = [z3.Bool(names.link_pin(i, "first", t)) for i in range(1, n_links + 1)] if pins else []
        self.ll = [z3.Bool(names.link_pin(i, "last", t)) for i in range(1, n_links + 1)] if pins else []
        self.gf = [z3.Bool(names.ghost(i, "first", t)) for i in range(1, n_progs + 1)]


def _pick(vals: list, idx, default=0):
    e = z3.IntVal(default) if not isinstance(default, z3.ExprRef) else default
    for i in reversed(range(len(vals))):
        e = z3.If(idx == i + 1, vals[i], e)
    return e


def _pickb(vals: list, idx):
    return z3.Or([z3.And(idx == i + 1, v) for i, v in enumerate(vals)])


class Unrolling:
    def __init__(self, depth: int, n_progs: int = 4, n_links: int = 2, ops=OPS, E=_linux):
        self.depth, self.P, self.L, self.E = depth, n_progs, n_links, E
        self.op_names = tuple(ops)
        self.size = n_progs + 1
        self.worlds = [World(t, self.size, n_links, n_progs, E) for t in range(depth + 1)]
        self.reqs = [E.Req(k) for k in range(depth)]
        self.ops = [z3.Int(names.req(k, "op")) for k in range(depth)]
        self.tracked, self.plain = [], []
        self._ends = [(0, 0)]             # (len(tracked), len(plain)) after each request
        for k in range(depth):
            self._step(k)
            self._ends.append((len(self.tracked), len(self.plain)))

    def bmc_solver(self, timeout_s) -> _Solver:
        """A fresh solver with the transition relation (tracked under rule
        IDs) and the initial state: the base of every BMC check."""
        sv = _Solver(timeout_s)
        sv.add_tracked(self.tracked)
        sv.s.add(self.step_facts())
        sv.s.add(self.init())
        return sv

    def step_exprs(self, k: int) -> list:
        """Request k's transition constraints, untracked (a check that reads
        no unsat core needs no tracking literals)."""
        (t0, p0), (t1, p1) = self._ends[k], self._ends[k + 1]
        return [t.expr for t in self.tracked[t0:t1]] + self.plain[p0:p1]

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
        for p in range(1, self.P + 1):     # the ghost: the claimer is on the hook (rfc: pinned FIRST)
            cs.append(z3.Implies(w.gf[p - 1], self.claims_head(w, p)))
        if h.pins:
            cs += self.E.pins_reachable(h) + self.link_pins(w)
        return cs

    def claims_head(self, w: World, p) -> z3.BoolRef:
        """Program p is on the hook (and, where slots are pinned, its slot holds FIRST)."""
        h = w.h
        if not h.pins:
            return h.member(p)
        return z3.Or([z3.And(j < h.n, h.prog[j] == p, h.fpin[j]) for j in range(self.size)])

    def link_pins(self, w: World) -> list:
        """RFC-LINKPINS: an attached link's stored pins are its slot's."""
        h, cs = w.h, []
        for i in range(self.L):
            for j in range(self.size):
                cs.append(z3.Implies(z3.And(w.ls[i] == ATTACHED, j < h.n, h.link[j] == i + 1),
                                     z3.And(w.lf[i] == h.fpin[j], w.ll[i] == h.lpin[j])))
        return cs

    def init(self) -> list:
        """dev_add veth0, maybe clsact_add, load p1..pP: clsact is free."""
        w = self.worlds[0]
        return [w.h.n == 0, w.h.rev == 1, w.h.present, w.h.bundle == w.h.clsact] + \
            [x == 0 for x in w.h.prog + w.h.link] + [z3.Not(x) for x in w.h.fpin + w.h.lpin] + \
            [s == UNBORN for s in w.ls] + [p == 0 for p in w.lp] + list(w.pf) + \
            [z3.Not(x) for x in w.lf + w.ll + w.gf]

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
        E = self.E
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
        # attach's replaced program: its own fd (linux), or the one object
        # of the request, the relative (rfc's union: no separate fd)
        replaced = z3.And(r.old == 0, r.repl_fd == FD_NONE) if E.UNION else z3.And(
            z3.If(r.replace, r.old >= 1, r.old == 0), r.repl_fd == fd_of(r.old))
        dom += [z3.Implies(is_("attach"), z3.And(r.prog >= 1, r.owner == 0, r.prog_fd == fd_of(r.prog),
                                                 replaced)),
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
        if pre.pins:
            # FIRST/LAST only where the syscall takes them; a link's release
            # passes the link's stored pins
            release = z3.Or(is_("link_detach"), is_("close_link"))
            dom += [z3.Implies(z3.Not(z3.Or(is_("attach"), is_("detach"), is_("link_create"))),
                               z3.And(z3.Not(r.first), z3.Not(r.last))),
                    r.own_first == z3.And(release, _pickb(w.lf, r.owner)),
                    r.own_last == z3.And(release, _pickb(w.ll, r.owner))]
        self.plain += dom
        for o in self.op_names:
            ch = E.Chain(k, pre, post, r, scope=o)
            E.encode(_ENCODER.get(o, o), k, pre, post, r, ch)
            self.tracked += [core.Tracked(t.label, z3.Implies(is_(o), t.expr)) for t in ch.tracked]
        ok = r.errno == core.errno_code("ok")
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
            if pre.pins:      # the link stores FIRST/LAST of its creation (spec/rfc/link.md)
                made = z3.And(mine, is_("link_create"), ok)
                self.plain += [w2.lf[i] == z3.If(made, r.first, w.lf[i]),
                               w2.ll[i] == z3.If(made, r.last, w.ll[i])]
        for i in range(P):
            self.plain.append(w2.pf[i] == z3.And(w.pf[i], z3.Not(z3.And(is_("close_prog"), ok, r.prog == i + 1))))
        # STAYS-FIRST's ghost: set by a successful request of p asking for the
        # head, kept while p (rfc: its FIRST pin) stays on the hook
        asks = r.first if pre.pins else z3.And(r.before, z3.Not(r.replace), r.rel_kind == REL_NONE,
                                              z3.Not(r.id), z3.Not(r.link_flag))
        claim = z3.And(ok, z3.Or(is_("attach"), is_("link_create")), asks)
        for i in range(P):
            self.plain.append(w2.gf[i] == z3.And(z3.Or(w.gf[i], z3.And(claim, r.prog == i + 1)),
                                                 self.claims_head(w2, i + 1)))

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
            flags = _flags({f: bv(getattr(r, f)) for f in ("replace", "before", "after", "id", "link_flag",
                                                           "stray", "first", "last") if hasattr(r, f)})
            kind = iv(r.rel_kind)
            p, o, ln = iv(r.prog), iv(r.old), iv(r.owner)
            exp = Expect(core.ERRNOS[iv(r.errno)])
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
        E = self.E
        slots = [slot_values(E, h, j, iv, bv) for j in range(iv(h.n))] if bv(h.present) else []
        table = E.FLAG_TABLE if E.PIN_BITS else None
        no_entry = E.TABLE.get("query/no-entry") != "ok" and not bv(h.bundle)
        steps.append(final_query(bv(h.present), slots, iv(h.rev) if bv(h.present) else 0, table,
                                 bundle=not no_entry))
        return render_script(Script(tuple(steps), dialect=E.NAME, name=title))


# --------------------------------------------------------------------------
# Properties: state(t) or transition(k) -> z3 Bool (must hold)

def prop(u: Unrolling, inv: str, k: int) -> z3.BoolRef:
    """``inv`` at request k (transition invariants) / at state k (state ones)."""
    E = u.E
    if inv in STATE_INVS:
        w = u.worlds[k]
        h = w.h
        if inv in ("RFC-FIRST", "RFC-LAST", "RFC-ALONE"):
            return z3.And([{"RFC-FIRST": z3.Implies(h.fpin[j], j == 0),
                            "RFC-LAST": z3.Implies(h.lpin[j], j == h.n - 1),
                            "RFC-ALONE": z3.Implies(z3.And(h.fpin[j], h.lpin[j]), h.n == 1)}[inv]
                           for j in range(u.size)])
        if inv == "RFC-LINKPINS":
            return z3.And(u.link_pins(w))
        if inv in ("RFC-STAYS-FIRST", "STAYS-FIRST"):
            return z3.And([z3.Implies(w.gf[i], h.prog[0] == i + 1) for i in range(u.P)])
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
    ok = r.errno == core.errno_code("ok")
    opn = lambda o: op == OPS.index(o)   # noqa: E731
    hook_same = z3.And([post.n == pre.n] + [z3.Implies(j < pre.n, z3.And([b[j] == a[j] for a, b in
                                                                          zip(pre.columns(), post.columns())]))
                                           for j in range(u.size)])
    if inv in ("INV-REV", "RFC-REV"):
        # rfc: a replace in place and an empty-bundle detach move the revision
        # even when the slots stay as they were
        moves = z3.Or([r.rule == E.rule_code(x) for x in ("attach/replace", "detach/empty-bundle")
                       if x in E.TABLE and E.TABLE is not _linux.TABLE] or [z3.BoolVal(False)])
        return z3.And(z3.Implies(z3.Not(ok), core.same(pre, post)),
                      z3.Implies(z3.And(ok, post.bundle, z3.Not(hook_same)), post.rev == pre.rev + 1),
                      z3.Implies(z3.And(ok, post.bundle, hook_same),
                                 post.rev == pre.rev + z3.If(moves, 1, 0)),
                      z3.Implies(z3.Not(post.bundle), post.rev == 1))
    if inv == "RFC-LOCKOUT":
        locked = z3.Or([z3.And(j < pre.n, pre.fpin[j], pre.lpin[j]) for j in range(u.size)])
        adds = z3.And(z3.Or(opn("attach"), opn("link_create")), z3.Not(r.replace))
        return z3.Implies(locked, z3.And(post.n <= pre.n, z3.Implies(adds, z3.Not(ok))))
    if inv == "RFC-PINNED":
        cs = []
        same_pins = lambda j, j2: z3.And(post.fpin[j2] == pre.fpin[j], post.lpin[j2] == pre.lpin[j])  # noqa: E731
        for j in range(u.size):
            for j2 in range(u.size):
                here = z3.And(j < pre.n, j2 < post.n)
                # a link's slot is the link's, whatever program it holds
                cs.append(z3.Implies(z3.And(here, pre.link[j] != 0, post.link[j2] == pre.link[j]),
                                     same_pins(j, j2)))
                # a prog-API slot is its program's; a prog-API REPLACE of it may set its pins
                replaced = z3.And(opn("attach"), r.replace, r.rel_prog == pre.prog[j])
                cs.append(z3.Implies(z3.And(here, pre.link[j] == 0, post.link[j2] == 0,
                                            post.prog[j2] == pre.prog[j], z3.Not(replaced)),
                                     same_pins(j, j2)))
        return z3.And(cs)
    if inv == "INV-STALE":
        # the prelude passed (all programs are sched_cls in this universe)
        # (rfc: the replaced program is the request's object, and the
        # revision comes before REPLACE's detach check: no exemption)
        core_attach = z3.And(r.prog_fd == FD_PROG, pre.present)
        reached = z3.Or(z3.And(opn("attach"), z3.Not(r.stray), core_attach,
                               z3.Or(z3.Not(r.replace), r.repl_fd == FD_PROG, z3.BoolVal(E.UNION))),
                        z3.And(opn("link_create"), core_attach),
                        z3.And(opn("detach"), z3.Not(r.stray), z3.Or(z3.Not(r.replace), z3.BoolVal(E.UNION)),
                               pre.present, pre.bundle, z3.Or(r.prog_fd == FD_NONE, r.prog_fd == FD_PROG)))
        stale = z3.And(r.exp != 0, r.exp != pre.rev, reached)
        return z3.Implies(stale, z3.And(r.errno == core.errno_code("ESTALE"), core.same(pre, post)))
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
    raise ValueError(f"unknown invariant {inv!r} (known: {', '.join(invariant_table(E.NAME))})")


STATE_INVS = ("INV-NODUP", "INV-MAX", "INV-LINK", "RFC-FIRST", "RFC-LAST", "RFC-ALONE", "RFC-LINKPINS",
              "RFC-STAYS-FIRST", "STAYS-FIRST")


class _Checks:
    """One solver for many checks over the same constraints: each check's
    own goal is asserted under a fresh literal and checked as an assumption,
    so z3 internalizes the transition relation once and keeps what it
    learned about it from check to check (the goals of other checks stay
    switched off)."""

    def __init__(self, sv: _Solver, timeout_s):
        self.sv, self.timeout_s, self.n = sv, timeout_s, 0

    def check(self, goal) -> z3.CheckSatResult:
        self.n += 1
        a = z3.Bool(f"check#{self.n}")
        self.sv.s.add(z3.Implies(a, goal))
        self.sv.arm(self.timeout_s)
        return self.sv.s.check(a)


class _Bmc:
    """Incremental BMC from the initial state, shared by every property:
    depth by depth, request k's transition joins the solver just before the
    properties are checked at depth k + 1, and the counterexample of the
    first failing depth is kept per property."""

    def __init__(self, u: "Unrolling", timeout_s):
        self.u = u
        sv = _Solver(timeout_s)
        sv.s.add(u.init())
        self.checks = _Checks(sv, timeout_s)
        self.steps = 0                   # requests whose transition is asserted

    def upto(self, k: int) -> None:
        while self.steps < k:
            self.checks.sv.s.add(self.u.step_exprs(self.steps))
            self.steps += 1

    def run(self, invs: dict, timeout_s) -> dict:
        """``invs``: property -> counterexample title.  Returns property ->
        (status, detail, script, seconds)."""
        u, out = self.u, {}
        live = dict.fromkeys(invs, 0.0)          # property -> seconds so far
        reached = dict.fromkeys(invs, 0)
        for d in range(u.depth + 1):
            for inv in [i for i in invs if i in live]:
                off = 0 if inv in STATE_INVS else 1
                # a state invariant is checked on the state after d requests,
                # a step invariant on request d - 1: d requests in all
                if d < off:
                    continue
                t0 = time.perf_counter()
                self.upto(d)
                res = self.checks.check(z3.Not(prop(u, inv, d - off)))
                if res == z3.sat:
                    script = u.script(self.checks.sv.s.model(), d, invs[inv])
                    out[inv] = ("violated", f"counterexample with {d} requests", script)
                elif res == z3.unknown:
                    out[inv] = ("unknown", f"proved to depth {reached[inv]}; depth {d}: "
                                           f"{self.checks.sv.s.reason_unknown()}", "")
                else:
                    reached[inv] = d
                live[inv] += time.perf_counter() - t0
                if inv in out:
                    out[inv] += (live.pop(inv),)
            # What depth d just established is a fact about every run of d
            # requests: later depths get it as a lemma instead of deriving
            # it again (sound: each was checked unsat above, in this solver)
            for inv in live:
                off = 0 if inv in STATE_INVS else 1
                if d >= off and reached[inv] == d:
                    self.checks.sv.s.add(prop(u, inv, d - off))
        for inv, dt in live.items():
            out[inv] = ("proved", f"bmc depth {u.depth}", "", dt)
        return out


def _bmc(inv: str, u: "Unrolling", timeout_s, title: str) -> tuple:
    """BMC of ``inv`` from the initial state to u.depth requests: (status,
    detail, counterexample script)."""
    return _Bmc(u, timeout_s).run({inv: title}, timeout_s)[inv][:3]


def _induction_solver(u1: "Unrolling", timeout_s, cores: bool) -> _Checks:
    """1-induction's base: one request from ANY state that satisfies the
    state invariants (tracked under rule IDs only when cores are read)."""
    sv = _Solver(timeout_s)
    if cores:
        sv.add_tracked(u1.tracked)
    else:
        sv.s.add([t.expr for t in u1.tracked])
    sv.s.add(u1.step_facts())
    sv.s.add(u1.state_ok(u1.worlds[0]))
    return _Checks(sv, timeout_s)


def _induction(inv: str, u1: "Unrolling", ind: _Checks, cores: bool) -> Report:
    """1-induction (also after an unknown BMC: with the base case it covers
    every depth): from any state satisfying the state invariants, one request."""
    t0 = time.perf_counter()
    off = 0 if inv in STATE_INVS else 1
    goal = prop(u1, inv, 1 - off)
    # the assumed strengthening (state_ok) must itself be preserved
    goal = z3.And(goal, *u1.state_ok(u1.worlds[1]))
    hyp = prop(u1, inv, 0) if not off else z3.BoolVal(True)
    res = ind.check(z3.And(hyp, z3.Not(goal)))
    sv = ind.sv
    st = "proved" if res == z3.unsat else ("unproved" if res == z3.sat else "unknown")
    # a minimized core of the induction step costs ~15 s per invariant: only on request
    rules = sv.core_rules() if (res == z3.unsat and cores) else ()
    return Report("invariant", "induction", inv, st, 1, time.perf_counter() - t0,
                  "k=1 induction closes" if res == z3.unsat else
                  ("induction does not close at k=1" if res == z3.sat else sv.s.reason_unknown()),
                  rules=rules)


def _check_one(inv: str, u: "Unrolling", u1: "Unrolling", timeout_s, cores: bool = False) -> list[Report]:
    """BMC of ``inv`` over ``u`` (depth u.depth), then 1-induction over ``u1``
    (one request), each in a solver of its own (bench_verify.py's baseline
    for the shared solvers of check_invariants)."""
    t0 = time.perf_counter()
    status, detail, script = _bmc(inv, u, timeout_s, f"{inv}: {invariant_table(u.E.NAME)[inv]}")
    out = [Report("invariant", "bmc", inv, status, u.depth, time.perf_counter() - t0, detail, script=script)]
    if status != "violated":
        out.append(_induction(inv, u1, _induction_solver(u1, timeout_s, cores), cores))
    return out


def check_invariants(depth: int = 6, timeout_s: Optional[float] = None, *, invariants=None,
                     n_progs: int = 4, n_links: int = 2, cores: bool = False, dialect: str = "linux",
                     contrasts: bool = True) -> list[Report]:
    """BMC of every invariant of ``dialect`` to ``depth`` requests from the
    initial state, then 1-induction (its minimized unsat core with
    ``cores``); one solver per check, the two unrollings built once.  With
    ``contrasts``, the contrast properties this dialect is expected to
    refute (CONTRASTS) are checked too."""
    if (own := own_proofs(dialect)) is not None:
        return own.check_invariants(depth, timeout_s, invariants=invariants)
    E = encoding(dialect)
    known = invariant_table(dialect)
    for inv in invariants or known:
        if inv not in known:
            raise ValueError(f"unknown invariant {inv!r} for {dialect} (known: {', '.join(known)})")
    u, u1 = Unrolling(depth, n_progs, n_links, E=E), Unrolling(1, n_progs, n_links, E=E)
    # Every BMC goal (invariants, and the contrasts this dialect refutes)
    # in one incremental solver, every induction step in another
    titles = {inv: f"{inv}: {known[inv]}" for inv in invariants or known if inv != "INV-NO-LOCKOUT"}
    refuted = [name for name, (_, refuters) in CONTRASTS.items()
               if contrasts and invariants is None and dialect in refuters and name != "NO-LOCKOUT"]
    titles.update({name: f"{name} fails in {E.NAME}: {CONTRASTS[name][0]}" for name in refuted})
    bmc_out = _Bmc(u, timeout_s).run(titles, timeout_s)
    ind = _induction_solver(u1, timeout_s, cores)
    reports = []
    for inv in invariants or known:
        if inv == "INV-NO-LOCKOUT":
            reports.append(_no_lockout(E, timeout_s, refute=False))
            continue
        status, detail, script, dt = bmc_out[inv]
        reports.append(Report("invariant", "bmc", inv, status, u.depth, dt, detail, script=script))
        if status != "violated":
            reports.append(_induction(inv, u1, ind, cores))
        if inv == "INV-MAX":
            reports.append(_max_at_kernel_bound(timeout_s, E))
    if contrasts and invariants is None:
        for name, (statement, refuters) in CONTRASTS.items():
            if dialect not in refuters:
                continue
            if name == "NO-LOCKOUT":
                reports.append(_no_lockout(E, timeout_s, refute=True))
                continue
            status, detail, script, dt = bmc_out[name]
            st = {"violated": "refuted", "proved": "unrefuted"}.get(status, status)
            reports.append(Report("contrast", "bmc", name, st, u.depth, dt, detail, script=script))
    return reports


def _refute(name: str, statement: str, E, u: "Unrolling", timeout_s) -> Report:
    """A contrast this dialect is expected to refute, alone: ``refuted``
    with its runnable counterexample, or ``unrefuted`` (a failure: the
    dialect has the guarantee after all)."""
    if name == "NO-LOCKOUT":
        return _no_lockout(E, timeout_s, refute=True)
    t0 = time.perf_counter()
    status, detail, script = _bmc(name, u, timeout_s, f"{name} fails in {E.NAME}: {statement}")
    st = {"violated": "refuted", "proved": "unrefuted"}.get(status, status)
    return Report("contrast", "bmc", name, st, u.depth, time.perf_counter() - t0, detail, script=script)


def _no_lockout(E, timeout_s, refute: bool) -> Report:
    """NO-LOCKOUT over every hook of up to 63 slots (one request, every
    reachable state): a plain attach of a program that is not on the hook,
    on a present device with fewer than 63 programs, succeeds.  ``refute``:
    the dialect is expected to fail it; the counterexample is the smallest
    such hook, as a runnable script."""
    from .equiv import Problem, _values, build_steps, render_counterexample
    t0 = time.perf_counter()
    pb = Problem("attach", 63, E)
    r, p = pb.req, pb.pre
    plain = [z3.Not(getattr(r, f)) for f in ("replace", "before", "after", "id", "link_flag", "stray",
                                              "first", "last") if hasattr(r, f)]
    plain += [r.rel_kind == REL_NONE, r.exp == 0, r.prog_fd == FD_PROG, r.prog_cls,
              z3.Not(p.member(r.prog)), p.present, p.n < 63]
    sv = _Solver(timeout_s)
    sv.add_tracked(pb.chain.tracked)
    sv.s.add(pb.domain + plain + [r.errno != core.errno_code("ok")])
    check, case = ("contrast", "NO-LOCKOUT") if refute else ("invariant", "INV-NO-LOCKOUT")
    res = sv.s.check()
    dt = lambda: time.perf_counter() - t0   # noqa: E731
    if res == z3.unknown:
        return Report(check, "induction", case, "unknown", 63, dt(), sv.s.reason_unknown())
    if res == z3.unsat:
        return Report(check, "induction", case, "unrefuted" if refute else "proved", 63, dt(),
                      "every hook with <= 62 programs on a present device takes another program")
    sv.s.add(pb.rep_constraints())
    for n in range(63):                   # the smallest locked hook, built by a script
        sv.s.push()
        sv.s.add(p.n == n)
        if sv.s.check() == z3.sat:
            v = _values(pb, sv.s.model())
            setup, req = build_steps("attach", v, E)
            what = f"{v['errno']} {v['rule']} with {n} program(s) on the hook"
            script = render_counterexample("attach", setup, req, v, f"{case} fails in {E.NAME}", what, E)
            return Report(check, "induction", case, "refuted" if refute else "violated", 63, dt(), what,
                          script=script)
        sv.s.pop()
    return Report(check, "induction", case, "unknown", 63, dt(), "no buildable counterexample")


def _max_at_kernel_bound(timeout_s, E=_linux) -> Report:
    """INV-MAX is inductive at the kernel bound: from ANY well-formed hook with
    <= 63 programs, attach / link_create (the only requests that add a slot)
    leave <= 63."""
    from .equiv import Problem
    t0 = time.perf_counter()
    worst = "proved"
    for op in ("attach", "link_create"):
        pb = Problem(op, 63, E)
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
def rule_ids(dialect: str = "linux") -> frozenset:
    """Rules tracked in the BMC transition relation (a one-step unrolling)."""
    if (own := own_proofs(dialect)) is not None:
        return own.rule_ids()
    u = Unrolling(1, 2, 1, E=encoding(dialect))
    return frozenset(names.rule_of_label(t.label) for t in u.tracked)


def __getattr__(name: str):
    # Built on first use, like encode.RULE_IDS (an unrolling costs ~0.1 s).
    if name == "RULE_IDS":
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
