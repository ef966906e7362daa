"""The cgroup dialect's z3 encoding (spec/cgroup/): every rule of the
dialect as a tracked constraint, over a symbolic world of one attach point.

Written from spec/cgroup/ (not by calling the executor); checker.smt.
cgroup_verify proves it equal to the executor (checker.exec.cgroup) and
checks the dialect's invariants (spec/cgroup/invariants.md).  A
hierarchy is no tcx hook, so the generic proofs (checker.smt.equiv / bmc)
hand this dialect to its own (``PROOFS``: checker.smt.cgroup_proofs).

The symbolic world (``World(t, shape)``), before request ``t``:

* a chain of ``depth`` cgroups, level 0 the root, level l the parent of
  level l + 1; each present or not, with one list of the attach point
  ``cgroup_getsockopt``: ``n`` entries (slots ``0 .. n-1``; the others
  empty: prog 0, owner 0, no PREORDER), ``mode`` (0, ALLOW_OVERRIDE = 1,
  ALLOW_MULTI = 2) and ``rev``.  A cgroup that is not present has the
  canonical empty list (n 0, mode 0, rev 1): re-adding it starts afresh;
* programs 1 .. P: loaded or not, fd open or not, and two static
  attributes: ``sockopt`` (of the attach point's type, cgroup_sockopt, else
  cgroup_skb) and ``expected`` (loaded for cgroup_getsockopt, else for
  cgroup_setsockopt), and ``loadable`` (a load that fails leaves the name
  naming nothing);
* links 1 .. L: unborn (never created), attached (to level ``lvl``, holding
  ``prog``), defunct, or closed.

A request (``Req(k)``) names its objects by kind and index (an fd argument:
ZERO = fd 0, a file that is not a BPF object; CLOSED = not open (a raw
number); PROG i / LINK k = the name of program i / link k, whose fd the
state says is open or not), and its flags as Booleans (``junk``: a bit
outside every mask).  Every rule decides through a ``Chain`` (checker.smt.
core): checks in the spec's order, each tracked under its rule ID.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from ..dialects.cgroup import CGROUP, CGROUP_MAX_PROGS
from . import names
from .core import Chain, Tracked

PROOFS = "checker.smt.cgroup_proofs"    # the proofs of this encoding (checker.smt.equiv.own_proofs)
POINT = "cgroup_getsockopt"
ERRNOS = ("ok", "EBADF", "EINVAL", "ENOENT", "ENOLINK", "ENOSPC", "EPERM", "ESTALE", "E2BIG",
          "EEXIST", "EBUSY")
RULES = tuple(sorted(CGROUP))
OPS = ("load", "attach", "detach", "query", "link_create", "link_update", "link_detach",
       "close_prog", "close_link", "cgroup_add", "cgroup_del")
OP = {o: i for i, o in enumerate(OPS)}
# fd arguments and relatives
FD_ZERO, FD_CLOSED, FD_PROG, FD_LINK = 0, 1, 2, 3
REL_NONE, REL_RAW, REL_PROG, REL_LINK = 0, 1, 2, 3
# link states
UNBORN, ATTACHED, DEFUNCT, CLOSED = 0, 1, 2, 3
NONE, OVERRIDE, MULTI = 0, 1, 2
# query count "absent" (large enough)
COUNT_DEFAULT = -1


def limit(s: z3.Solver, timeout) -> z3.Solver:
    """Set ``s``'s timeout for its next check: ``timeout`` is seconds per
    check, or a budget shared by many checks (an object with ``left_ms()``,
    checker.smt.solve.Budget: ``mprog verify --timeout``); None or 0: no
    limit.  Returns ``s``."""
    ms = timeout.left_ms() if hasattr(timeout, "left_ms") else (
        int(timeout * 1000) if timeout else None)
    if ms is not None:
        s.set("timeout", max(1, ms))
    return s


def errno_code(name: str) -> int:
    return ERRNOS.index(name)


def rule_code(rule: str) -> int:
    return RULES.index(rule)


@dataclass(frozen=True)
class Shape:
    """The bounds of a symbolic world: cgroup levels, slots per list,
    programs, links."""
    depth: int = 2
    size: int = 4
    progs: int = 3
    links: int = 2


def _sel(arr, idx, default=0):
    e = z3.IntVal(default) if not isinstance(default, z3.ExprRef) else default
    for j in reversed(range(len(arr))):
        e = z3.If(idx == j, arr[j], e)
    return e


def _sel_bool(arr, idx):
    e = z3.BoolVal(False)
    for j in reversed(range(len(arr))):
        e = z3.If(idx == j, arr[j], e)
    return e


class Level:
    """One cgroup of the chain and its list (before request ``t``)."""

    def __init__(self, level: int, t: int, size: int):
        i = lambda f: z3.Int(names.cg(f, level, t))          # noqa: E731
        self.present = z3.Bool(names.cg("present", level, t))
        self.n, self.mode, self.rev = i("count"), i("mode"), i("rev")
        self.prog = [z3.Int(names.cg_slot("prog", level, j, t)) for j in range(size)]
        self.owner = [z3.Int(names.cg_slot("owner", level, j, t)) for j in range(size)]
        self.pre = [z3.Bool(names.cg_slot("preorder", level, j, t)) for j in range(size)]
        self.size = size

    def slots(self):
        return range(self.size)

    def first(self, pred) -> z3.ArithRef:
        """Index of the first used slot j with pred(j), or -1."""
        e = z3.IntVal(-1)
        for j in reversed(self.slots()):
            e = z3.If(z3.And(j < self.n, pred(j)), j, e)
        return e

    def same_as(self, other: "Level") -> z3.BoolRef:
        return z3.And([self.present == other.present, self.n == other.n, self.mode == other.mode,
                       self.rev == other.rev]
                      + [a == b for a, b in zip(self.prog + self.owner, other.prog + other.owner)]
                      + [a == b for a, b in zip(self.pre, other.pre)])

    def fresh(self) -> z3.BoolRef:
        """The canonical empty list (a new or removed cgroup)."""
        return z3.And([self.n == 0, self.mode == NONE, self.rev == 1]
                      + [x == 0 for x in self.prog + self.owner] + [z3.Not(p) for p in self.pre])


class World:
    """The symbolic world before request ``t`` (``static`` attributes shared
    by every time step of one universe)."""

    def __init__(self, t: int, shape: Shape, static: "Static"):
        self.t, self.shape, self.static = t, shape, static
        self.levels = [Level(l, t, shape.size) for l in range(shape.depth)]
        P, L = shape.progs, shape.links
        self.loaded = [z3.Bool(names.cg_obj("prog", p, "loaded", t)) for p in range(1, P + 1)]
        self.fd = [z3.Bool(names.cg_obj("prog", p, "fd_open", t)) for p in range(1, P + 1)]
        self.lst = [z3.Int(names.cg_obj("link", k, "state", t)) for k in range(1, L + 1)]
        self.lprog = [z3.Int(names.cg_obj("link", k, "prog", t)) for k in range(1, L + 1)]
        self.llvl = [z3.Int(names.cg_obj("link", k, "level", t)) for k in range(1, L + 1)]

    # -- objects -------------------------------------------------------------

    def prog_fd_open(self, p) -> z3.BoolRef:
        return z3.Or([z3.And(p == i + 1, self.loaded[i], self.fd[i]) for i in range(self.shape.progs)])

    def link_fd_open(self, k) -> z3.BoolRef:
        return z3.Or([z3.And(k == i + 1, z3.Or(self.lst[i] == ATTACHED, self.lst[i] == DEFUNCT))
                      for i in range(self.shape.links)])

    def link_field(self, arr, k):
        return _sel(arr, k - 1)

    def prog_alive(self, p) -> z3.BoolRef:
        """Found by id: loaded, and held by its fd, a prog-API entry of a
        present cgroup, or a link that is not closed."""
        held = [z3.And(lv.present, j < lv.n, lv.prog[j] == p, lv.owner[j] == 0)
                for lv in self.levels for j in lv.slots()]
        held += [z3.And(z3.Or(self.lst[i] == ATTACHED, self.lst[i] == DEFUNCT), self.lprog[i] == p)
                 for i in range(self.shape.links)]
        return z3.Or([z3.And(p == i + 1, self.loaded[i], z3.Or([self.fd[i]] + held))
                      for i in range(self.shape.progs)])

    def sockopt(self, p) -> z3.BoolRef:
        return _sel_bool(self.static.sockopt, p - 1)

    def expected(self, p) -> z3.BoolRef:
        return _sel_bool(self.static.expected, p - 1)

    def level(self, l) -> Level:
        return self.levels[l]

    # -- frames --------------------------------------------------------------

    def same_objects(self, post: "World") -> z3.BoolRef:
        return z3.And([a == b for a, b in zip(self.loaded + self.fd, post.loaded + post.fd)]
                      + [a == b for a, b in zip(self.lst + self.lprog + self.llvl,
                                                post.lst + post.lprog + post.llvl)])

    def same(self, post: "World") -> z3.BoolRef:
        return z3.And([a.same_as(b) for a, b in zip(self.levels, post.levels)]
                      + [self.same_objects(post)])

    def wf(self) -> list:
        """A well-formed world (what requests can reach; the class proofs and
        the induction start from any such world)."""
        s, cs = self.shape, []
        for l, lv in enumerate(self.levels):
            cs += [0 <= lv.n, lv.n <= s.size, z3.Or(lv.mode == NONE, lv.mode == OVERRIDE, lv.mode == MULTI),
                   lv.rev >= lv.n + 1]
            if l:
                cs.append(z3.Implies(lv.present, self.levels[l - 1].present))
            cs.append(z3.Implies(z3.Not(lv.present), lv.fresh()))
            cs.append(z3.Implies(lv.n == 0, lv.mode == NONE))
            cs.append(z3.Implies(lv.mode != MULTI, lv.n <= 1))
            for j in lv.slots():
                used = j < lv.n
                cs.append(z3.If(used, z3.And(1 <= lv.prog[j], lv.prog[j] <= s.progs,
                                             0 <= lv.owner[j], lv.owner[j] <= s.links),
                                z3.And(lv.prog[j] == 0, lv.owner[j] == 0, z3.Not(lv.pre[j]))))
                cs.append(z3.Implies(used, _sel_bool(self.loaded, lv.prog[j] - 1)))
                cs.append(z3.Implies(z3.And(used, lv.owner[j] > 0), z3.And(
                    lv.mode == MULTI, _sel(self.lst, lv.owner[j] - 1) == ATTACHED,
                    _sel(self.llvl, lv.owner[j] - 1) == l, _sel(self.lprog, lv.owner[j] - 1) == lv.prog[j])))
                for i in range(j):
                    both = z3.And(used, i < lv.n)
                    cs.append(z3.Implies(z3.And(both, lv.owner[i] == 0, lv.owner[j] == 0),
                                         lv.prog[i] != lv.prog[j]))
                    cs.append(z3.Implies(z3.And(both, lv.owner[j] > 0), lv.owner[i] != lv.owner[j]))
        for i in range(s.progs):
            cs.append(z3.Implies(z3.Not(self.loaded[i]), z3.Not(self.fd[i])))
            cs.append(z3.Implies(self.loaded[i], self.static.loadable[i]))
        for k in range(s.links):
            st, lp, ll = self.lst[k], self.lprog[k], self.llvl[k]
            cs += [0 <= st, st <= CLOSED]
            cs.append(z3.If(z3.Or(st == UNBORN, st == CLOSED), z3.And(lp == 0, ll == 0),
                            z3.And(1 <= lp, lp <= s.progs, _sel_bool(self.loaded, lp - 1))))
            cs.append(z3.If(st == ATTACHED, z3.And(0 <= ll, ll < s.depth), ll == 0))
            # An attached link owns exactly one entry, in its cgroup's list.
            owned = [z3.And(ll == l, j < lv.n, lv.owner[j] == k + 1)
                     for l, lv in enumerate(self.levels) for j in lv.slots()]
            cs.append(z3.Implies(st == ATTACHED, z3.And(_sel_bool([lv.present for lv in self.levels], ll),
                                                         z3.Or(owned))))
        return cs


@dataclass
class Static:
    """Per-program attributes that do not change over a request sequence."""
    sockopt: list
    expected: list
    loadable: list

    @classmethod
    def symbolic(cls, progs: int) -> "Static":
        b = lambda i, f: z3.Bool(names.cg_obj("prog", i, f))     # noqa: E731
        return cls([b(i, "sockopt") for i in range(1, progs + 1)],
                   [b(i, "expected") for i in range(1, progs + 1)],
                   [b(i, "loadable") for i in range(1, progs + 1)])


class Req:
    """Request ``k``: op, target level, flags, and each argument as (kind, index)."""

    BOOLS = ("ovr", "multi", "repl", "before", "after", "idf", "linkf", "preorder", "junk",
             "qeff", "qjunk", "qarr")
    INTS = ("op", "lvl", "pk", "pi", "rk", "ri", "xk", "xi", "exp", "qcount", "lk", "li", "ok", "oi")

    def __init__(self, k: int):
        for f in self.BOOLS:
            setattr(self, f, z3.Bool(names.req(k, f)))
        for f in self.INTS:
            setattr(self, f, z3.Int(names.req(k, f)))
        self.k = k
        self.errno, self.rule = z3.Int(names.req(k, "errno")), z3.Int(names.req(k, "rule"))
        self.q_count, self.q_rev = z3.Int(names.req(k, "out.count")), z3.Int(names.req(k, "out.revision"))
        self.q_mode, self.q_shown = z3.Int(names.req(k, "out.mode")), z3.Int(names.req(k, "out.shown"))

    def flags(self):
        return (self.ovr, self.multi, self.repl, self.before, self.after, self.idf, self.linkf,
                self.preorder, self.junk)

    def domain(self, shape: Shape) -> list:
        fd = lambda kind, idx: z3.And(0 <= kind, kind <= FD_LINK, z3.If(  # noqa: E731
            kind == FD_PROG, z3.And(1 <= idx, idx <= shape.progs),
            z3.If(kind == FD_LINK, z3.And(1 <= idx, idx <= shape.links), idx == 0)))
        rel = z3.And(0 <= self.rk, self.rk <= REL_LINK, z3.If(
            self.rk == REL_PROG, z3.And(1 <= self.ri, self.ri <= shape.progs),
            z3.If(self.rk == REL_LINK, z3.And(1 <= self.ri, self.ri <= shape.links), self.ri == 0)))
        return [0 <= self.op, self.op < len(OPS), 0 <= self.lvl, self.lvl < shape.depth,
                fd(self.pk, self.pi), fd(self.xk, self.xi), fd(self.lk, self.li), fd(self.ok, self.oi),
                rel, self.exp >= 0, self.qcount >= COUNT_DEFAULT]


class CgChain(Chain):
    """A decision chain over the cgroup world: errno codes from ERRNOS, rule
    codes from the sorted rule table."""

    TABLE = CGROUP

    def check(self, rule: str, cond, effect=None) -> z3.BoolRef:
        lab = names.label(rule, self.k)
        f = z3.Bool(names.fires(self._key(rule), self.k))
        eff = self.pre.same(self.post) if effect is None else effect
        self.tracked.append(Tracked(lab, f == z3.And(z3.Not(self.decided), cond)))
        self.tracked.append(Tracked(lab, z3.Implies(f, z3.And(
            self.req.errno == errno_code(CGROUP[rule]), self.req.rule == rule_code(rule), eff))))
        self.decided = z3.Or(self.decided, f)
        self.fires[rule] = z3.Or(self.fires[rule], f) if rule in self.fires else f
        return f

    def ok(self) -> z3.BoolRef:
        """Some success rule of this chain fired."""
        return z3.Or([f for r, f in self.fires.items() if CGROUP[r] == "ok"] or [z3.BoolVal(False)])


# --------------------------------------------------------------------------
# Effects

def _insert(pre: Level, post: Level, at, p, o, pr, mode) -> z3.BoolRef:
    cs = [post.present == pre.present, post.n == pre.n + 1, post.rev == pre.rev + 1, post.mode == mode]
    for j in pre.slots():
        prev = (lambda a: a[j - 1]) if j else (lambda a: None)
        cs.append(post.prog[j] == z3.If(j < at, pre.prog[j], z3.If(j == at, p, prev(pre.prog) if j else 0)))
        cs.append(post.owner[j] == z3.If(j < at, pre.owner[j], z3.If(j == at, o, prev(pre.owner) if j else 0)))
        cs.append(post.pre[j] == z3.If(j < at, pre.pre[j], z3.If(j == at, pr, pre.pre[j - 1] if j else False)))
    return z3.And(cs)


def _replace(pre: Level, post: Level, at, p, o, pr, mode) -> z3.BoolRef:
    cs = [post.present == pre.present, post.n == pre.n, post.rev == pre.rev + 1, post.mode == mode]
    for j in pre.slots():
        cs += [post.prog[j] == z3.If(j == at, p, pre.prog[j]), post.owner[j] == z3.If(j == at, o, pre.owner[j]),
               post.pre[j] == z3.If(j == at, pr, pre.pre[j])]
    return z3.And(cs)


def _remove(pre: Level, post: Level, at) -> z3.BoolRef:
    cs = [post.present == pre.present, post.n == pre.n - 1, post.rev == pre.rev + 1,
          post.mode == z3.If(pre.n == 1, NONE, pre.mode)]
    last = pre.size - 1
    for j in pre.slots():
        nxt = (lambda a, d: a[j + 1] if j < last else d)
        cs += [post.prog[j] == z3.If(j < at, pre.prog[j], nxt(pre.prog, 0)),
               post.owner[j] == z3.If(j < at, pre.owner[j], nxt(pre.owner, 0)),
               post.pre[j] == z3.If(j < at, pre.pre[j], nxt(pre.pre, False))]
    return z3.And(cs)


def _at_level(pre: World, post: World, lvl, change) -> z3.BoolRef:
    """``change(pre level, post level)`` at level ``lvl``; the other lists unchanged."""
    return z3.And([z3.If(lvl == l, change(a, b), a.same_as(b))
                   for l, (a, b) in enumerate(zip(pre.levels, post.levels))])


def _links(pre: World, post: World, which, state, prog=None, lvl=None) -> z3.BoolRef:
    """Link ``which`` gets ``state`` (and prog / level); the others unchanged."""
    cs = []
    for i in range(pre.shape.links):
        me = which == i + 1
        cs.append(post.lst[i] == z3.If(me, state, pre.lst[i]))
        cs.append(post.lprog[i] == z3.If(me, pre.lprog[i] if prog is None else prog, pre.lprog[i]))
        cs.append(post.llvl[i] == z3.If(me, 0 if lvl is None else lvl, pre.llvl[i]))
    return z3.And(cs)


def _progs_same(pre: World, post: World) -> z3.BoolRef:
    return z3.And([a == b for a, b in zip(pre.loaded + pre.fd, post.loaded + post.fd)])


def _links_same(pre: World, post: World) -> z3.BoolRef:
    return z3.And([a == b for a, b in zip(pre.lst + pre.lprog + pre.llvl, post.lst + post.lprog + post.llvl)])


# --------------------------------------------------------------------------
# Object lookups

class _Fd:
    """What an fd argument (kind, index) names in world ``w``."""

    def __init__(self, w: World, kind, idx):
        self.kind, self.idx = kind, idx
        self.prog = z3.And(kind == FD_PROG, w.prog_fd_open(idx))
        self.link = z3.And(kind == FD_LINK, w.link_fd_open(idx))
        self.closed = z3.Not(z3.Or(kind == FD_ZERO, self.prog, self.link))


def _prog_by_fd(c: CgChain, fd: _Fd, closed_rule: str, notprog_rule: str) -> None:
    c.check(closed_rule, fd.closed)
    c.check(notprog_rule, z3.Not(fd.prog))


def _link_by_fd(c: CgChain, fd: _Fd, closed_rule: str, notlink_rule: str) -> None:
    c.check(closed_rule, fd.closed)
    c.check(notlink_rule, z3.Not(fd.link))


def _attach_type(c: CgChain, w: World, p, type_rule: str, expected_rule: str, typed: bool) -> None:
    """bpf_prog_attach_check_attach_type() for the attach point (cgroup_sockopt):
    PROG_ATTACH's typed lookup checks the type first; LINK_CREATE checks the
    expected attach type of a cgroup_sockopt program, then the type."""
    if typed:
        c.check(type_rule, z3.Not(w.sockopt(p)))
        c.check(expected_rule, z3.Not(w.expected(p)))
    else:
        c.check(expected_rule, z3.And(w.sockopt(p), z3.Not(w.expected(p))))
        c.check(type_rule, z3.Not(w.sockopt(p)))


def _hierarchy_allows(w: World, lvl) -> z3.BoolRef:
    """hierarchy_allows_attach(): walking up from the parent of ``lvl``."""
    # From the root down: verdict[l] = the answer once the walk reaches level l.
    allows = z3.BoolVal(True)
    verdict = {-1: z3.BoolVal(True)}
    for l in range(w.shape.depth):
        lv = w.levels[l]
        verdict[l] = z3.If(lv.mode == MULTI, True, z3.If(lv.n == 1, lv.mode == OVERRIDE, verdict[l - 1]))
    for l in range(1, w.shape.depth):
        allows = z3.If(lvl == l, verdict[l - 1], allows)
    return allows


def _position(c: CgChain, w: World, lv: Level, prog, link, r: Req):
    """get_prog_list(): checks, then the index of the new entry."""
    rel_given = z3.Or(r.linkf, r.idf, r.rk != REL_NONE)
    is_link_req = link is not None
    c.check("attach/relative-no-direction", z3.And(rel_given, r.before == r.after))
    c.check("attach/relative-kind", z3.And(rel_given, r.linkf != z3.BoolVal(is_link_req)))
    c.check("attach/both-directions", z3.And(z3.Not(rel_given), lv.n > 0, r.before, r.after))
    # The anchor (objects.resolve_relative, untyped).
    rk, ri = r.rk, r.ri
    link_alive = z3.And(rk == REL_LINK, w.link_fd_open(ri))
    c.check("relative/id-unknown", z3.And(r.linkf, r.idf, z3.Not(link_alive)))
    c.check("relative/link-fd-zero", z3.And(r.linkf, z3.Not(r.idf), rk == REL_NONE))
    c.check("relative/fd-closed", z3.And(r.linkf, z3.Not(r.idf), z3.Or(
        rk == REL_RAW, z3.And(rk == REL_PROG, z3.Not(w.prog_fd_open(ri))),
        z3.And(rk == REL_LINK, z3.Not(w.link_fd_open(ri))))))
    c.check("relative/not-link", z3.And(r.linkf, z3.Not(r.idf), rk == REL_PROG))
    c.check("relative/id-unknown", z3.And(z3.Not(r.linkf), r.idf,
                                          z3.Not(z3.And(rk == REL_PROG, w.prog_alive(ri)))))
    c.check("relative/fd-closed", z3.And(z3.Not(r.linkf), z3.Not(r.idf), z3.Or(
        rk == REL_RAW, z3.And(rk == REL_PROG, z3.Not(w.prog_fd_open(ri))),
        z3.And(rk == REL_LINK, z3.Not(w.link_fd_open(ri))))))
    c.check("relative/not-prog", z3.And(z3.Not(r.linkf), z3.Not(r.idf), rk == REL_LINK))
    # Match: a link anchor its own entry, a prog anchor only prog-API entries.
    m = lv.first(lambda j: z3.If(r.linkf, lv.owner[j] == ri, z3.And(lv.owner[j] == 0, lv.prog[j] == ri)))
    c.terms["anchor"] = m
    c.check("attach/relative-preorder", z3.And(rel_given, m >= 0, _sel_bool(lv.pre, m) != r.preorder))
    c.check("attach/relative-missing", z3.And(rel_given, m < 0))
    return z3.If(rel_given, z3.If(r.before, m, m + 1), z3.If(r.before, 0, lv.n))


def _core_attach(c: CgChain, w: World, post: World, r: Req, prog, link, old, multi, link_effect):
    """__cgroup_bpf_attach(): ``multi`` is the request's ALLOW_MULTI (LINK_CREATE: true)."""
    lvl = r.lvl
    c.check("attach/override-multi", z3.And(r.ovr, multi))
    c.check("attach/replace-without-multi", z3.And(r.repl, z3.Not(multi)))
    c.check("attach/replace-position", z3.And(r.repl, z3.Or(r.before, r.after)))
    lv_n = _sel([lv.n for lv in w.levels], lvl)
    lv_rev = _sel([lv.rev for lv in w.levels], lvl)
    lv_mode = _sel([lv.mode for lv in w.levels], lvl)
    c.check("attach/stale-revision", z3.And(r.exp != 0, r.exp != lv_rev))
    c.check("attach/hierarchy", z3.Not(_hierarchy_allows(w, lvl)))
    mode = z3.If(multi, MULTI, z3.If(r.ovr, OVERRIDE, NONE))
    c.check("attach/mode-mismatch", z3.And(lv_n > 0, lv_mode != mode))
    c.check("attach/full", lv_n >= CGROUP_MAX_PROGS)
    owner = 0 if link is None else link
    ok_effects = z3.And(_progs_same(w, post), link_effect)
    for l, (lv, lp) in enumerate(zip(w.levels, post.levels)):
        here = lvl == l
        dup = z3.Or([z3.And(j < lv.n, lv.owner[j] == 0, lv.prog[j] == prog, prog != old)
                     for j in lv.slots()]) if link is None else z3.BoolVal(False)
        c.check("attach/duplicate", z3.And(here, multi, dup))
        ridx = lv.first(lambda j: z3.And(lv.owner[j] == 0, lv.prog[j] == old))
        c.check("attach/replace-missing", z3.And(here, multi, r.repl, ridx < 0))
        c.check("attach/replace", z3.And(here, multi, r.repl), z3.And(
            _at_level(w, post, lvl, lambda a, b: _replace(a, b, ridx, prog, owner, r.preorder, mode)),
            ok_effects))
        c.check("attach/replace-single", z3.And(here, z3.Not(multi), lv.n > 0), z3.And(
            _at_level(w, post, lvl, lambda a, b: _replace(a, b, 0, prog, owner, r.preorder, mode)),
            ok_effects))
        sub = CgChain(c.k, w, post, r, scope=f"l{l}")   # the position's checks at this level
        sub.decided = z3.Or(c.decided, z3.Not(here))
        at = _position(sub, w, lv, prog, link, r)
        for t in sub.tracked:
            c.tracked.append(t)
        for rule, f in sub.fires.items():
            c.fires[rule] = z3.Or(c.fires[rule], f) if rule in c.fires else f
        c.decided = z3.Or(c.decided, z3.And(here, sub.decided))
        c.terms[f"at{l}"] = at
        c.check("attach/insert", here, z3.And(
            _at_level(w, post, lvl, lambda a, b: _insert(a, b, at, prog, owner, r.preorder, mode)),
            ok_effects))


# --------------------------------------------------------------------------
# Requests

def _target_present(w: World, lvl) -> z3.BoolRef:
    return _sel_bool([lv.present for lv in w.levels], lvl)


def encode(op: str, k: int, pre: World, post: World, r: Req) -> CgChain:
    """The chain of ``op`` (the spec's checks in order)."""
    c = CgChain(k, pre, post, r)
    getattr(_Ops, op)(c, pre, post, r)
    return c


class _Ops:
    """One static method per op: its checks in spec order."""

    @staticmethod
    def load(c, w, post, r):
        p = r.pi
        c.check("load/expected-attach-type", z3.Not(_sel_bool(w.static.loadable, p - 1)))
        c.check("load/ok", z3.BoolVal(True), z3.And(
            [a.same_as(b) for a, b in zip(w.levels, post.levels)] + [_links_same(w, post)]
            + [z3.And(post.loaded[i] == z3.Or(w.loaded[i], p == i + 1), post.fd[i] == z3.Or(w.fd[i], p == i + 1))
               for i in range(w.shape.progs)]))

    @staticmethod
    def attach(c, w, post, r):
        c.check("attach/flags-mask", r.junk)
        fd = _Fd(w, r.pk, r.pi)
        _prog_by_fd(c, fd, "attach/prog-fd-closed", "attach/prog-not-prog")
        _attach_type(c, w, r.pi, "attach/prog-type", "attach/prog-attach-type", True)
        c.check("attach/cgroup-removed", z3.Not(_target_present(w, r.lvl)))
        x = _Fd(w, r.xk, r.xi)
        both = z3.And(r.multi, r.repl)
        c.check("attach/replace-fd-closed", z3.And(both, x.closed))
        c.check("attach/replace-not-prog", z3.And(both, z3.Not(x.prog)))
        c.check("attach/replace-type", z3.And(both, z3.Not(w.sockopt(r.xi))))
        old = z3.If(both, r.xi, -1)
        _core_attach(c, w, post, r, r.pi, None, old, r.multi, _links_same(w, post))

    @staticmethod
    def link_create(c, w, post, r):
        fd = _Fd(w, r.pk, r.pi)
        _prog_by_fd(c, fd, "link_create/prog-fd-closed", "link_create/prog-not-prog")
        _attach_type(c, w, r.pi, "link_create/prog-type", "link_create/prog-attach-type", False)
        c.check("link_create/flags-mask", z3.Or(r.ovr, r.multi, r.repl, r.junk))
        c.check("link_create/cgroup-removed", z3.Not(_target_present(w, r.lvl)))
        # The new link is r.li (an unborn link: a link name is declared once).
        _core_attach(c, w, post, r, r.pi, r.li, -1, z3.BoolVal(True),
                     _links(w, post, r.li, ATTACHED, r.pi, r.lvl))

    @staticmethod
    def detach(c, w, post, r):
        c.check("detach/flags-nonzero", z3.Or(*r.flags(), r.rk != REL_NONE))
        c.check("detach/cgroup-removed", z3.Not(_target_present(w, r.lvl)))
        fd = _Fd(w, r.pk, r.pi)
        prog = z3.If(z3.And(fd.prog, w.sockopt(r.pi)), r.pi, 0)     # a failed lookup: no prog
        for l, lv in enumerate(w.levels):
            here = r.lvl == l
            c.check("detach/stale-revision", z3.And(here, r.exp != 0, r.exp != lv.rev))
            c.check("detach/empty", z3.And(here, lv.mode != MULTI, lv.n == 0))
            c.check("detach/single", z3.And(here, lv.mode != MULTI), z3.And(
                _at_level(w, post, r.lvl, lambda a, b: _remove(a, b, 0)), w.same_objects(post)))
            c.check("detach/multi-no-prog", z3.And(here, prog == 0))
            i = lv.first(lambda j: z3.And(lv.owner[j] == 0, lv.prog[j] == prog))
            c.check("detach/not-found", z3.And(here, i < 0))
            c.check("detach/remove", here, z3.And(
                _at_level(w, post, r.lvl, lambda a, b: _remove(a, b, i)), w.same_objects(post)))

    @staticmethod
    def query(c, w, post, r):
        c.check("query/flags-unknown", r.qjunk)
        c.check("query/cgroup-removed", z3.Not(_target_present(w, r.lvl)))
        c.check("query/effective-flags-array", z3.And(r.qeff, r.qarr))
        total = z3.If(r.qeff, effective_count(w, r.lvl),
                      _sel([lv.n for lv in w.levels], r.lvl))
        rev = z3.If(r.qeff, 0, _sel([lv.rev for lv in w.levels], r.lvl))
        mode = z3.If(r.qeff, NONE, _sel([lv.mode for lv in w.levels], r.lvl))
        cap = z3.If(r.qcount == COUNT_DEFAULT, 1 << 30, r.qcount)
        out = z3.And(r.q_count == total, r.q_rev == rev, r.q_mode == mode)
        c.check("query/count-only", z3.Or(cap == 0, total == 0),
                z3.And(w.same(post), out, r.q_shown == 0))
        c.check("query/truncated", cap < total, z3.And(w.same(post), out, r.q_shown == cap))
        c.check("query/effective", r.qeff, z3.And(w.same(post), out, r.q_shown == total))
        c.check("query/ok", z3.BoolVal(True), z3.And(w.same(post), out, r.q_shown == total))

    @staticmethod
    def link_update(c, w, post, r):
        c.check("link_update/flags", z3.Or(r.junk, r.ovr, r.multi, r.before, r.after, r.idf, r.linkf,
                                           r.preorder))
        lfd = _Fd(w, r.lk, r.li)
        _link_by_fd(c, lfd, "link_update/link-fd-closed", "link_update/not-link")
        new = _Fd(w, r.pk, r.pi)
        _prog_by_fd(c, new, "link_update/prog-fd-closed", "link_update/prog-not-prog")
        old = _Fd(w, r.ok, r.oi)
        c.check("link_update/old-fd-closed", z3.And(r.repl, old.closed))
        c.check("link_update/old-not-prog", z3.And(r.repl, z3.Not(old.prog)))
        c.check("link_update/old-without-replace", z3.And(z3.Not(r.repl), r.ok != FD_ZERO))
        st, cur, lvl = w.link_field(w.lst, r.li), w.link_field(w.lprog, r.li), w.link_field(w.llvl, r.li)
        c.check("link_update/defunct", st != ATTACHED)
        c.check("link_update/old-mismatch", z3.And(r.repl, r.oi != cur))
        c.check("link_update/prog-type", w.sockopt(r.pi) != w.sockopt(cur))

        def update(a: Level, b: Level):
            cs = [b.present == a.present, b.n == a.n, b.mode == a.mode, b.rev == a.rev + 1]
            for j in a.slots():
                cs += [b.prog[j] == z3.If(z3.And(j < a.n, a.owner[j] == r.li), r.pi, a.prog[j]),
                       b.owner[j] == a.owner[j], b.pre[j] == a.pre[j]]
            return z3.And(cs)
        c.check("link_update/replace", z3.BoolVal(True), z3.And(
            _at_level(w, post, lvl, update), _progs_same(w, post),
            _links(w, post, r.li, ATTACHED, r.pi, lvl)))

    @staticmethod
    def _release(w, post, k, then_state):
        """bpf_cgroup_link_release(): an attached link's entry leaves its list."""
        st, lvl = w.link_field(w.lst, k), w.link_field(w.llvl, k)
        idx = [lv.first(lambda j, lv=lv: lv.owner[j] == k) for lv in w.levels]
        prog = 0 if then_state == CLOSED else None      # a closed link is forgotten
        return z3.And(_progs_same(w, post), _links(w, post, k, then_state, prog), z3.If(
            st == ATTACHED, _at_level(w, post, lvl, lambda a, b: _remove(a, b, _sel(idx, lvl))),
            z3.And([a.same_as(b) for a, b in zip(w.levels, post.levels)])))

    @staticmethod
    def link_detach(c, w, post, r):
        lfd = _Fd(w, r.lk, r.li)
        _link_by_fd(c, lfd, "link_detach/link-fd-closed", "link_detach/not-link")
        st = w.link_field(w.lst, r.li)
        c.check("link_detach/defunct", st != ATTACHED)
        c.check("link_detach/detach", z3.BoolVal(True), _Ops._release(w, post, r.li, DEFUNCT))

    @staticmethod
    def close_prog(c, w, post, r):
        fd = _Fd(w, r.pk, r.pi)
        c.check("close/fd-closed", z3.Not(fd.prog))
        c.check("close/prog", z3.BoolVal(True), z3.And(
            [a.same_as(b) for a, b in zip(w.levels, post.levels)] + [_links_same(w, post)]
            + [z3.And(post.loaded[i] == w.loaded[i], post.fd[i] == z3.And(w.fd[i], r.pi != i + 1))
               for i in range(w.shape.progs)]))

    @staticmethod
    def close_link(c, w, post, r):
        fd = _Fd(w, r.lk, r.li)
        c.check("close/fd-closed", z3.Not(fd.link))
        c.check("close/link", z3.BoolVal(True), _Ops._release(w, post, r.li, CLOSED))

    @staticmethod
    def cgroup_add(c, w, post, r):
        c.check("cgroup/add-exists", _target_present(w, r.lvl))
        parent = _sel_bool([z3.BoolVal(True)] + [lv.present for lv in w.levels[:-1]], r.lvl)
        c.check("cgroup/parent-removed", z3.Not(parent))

        def add(a: Level, b: Level):
            return z3.And(b.present, b.fresh())
        c.check("cgroup/add", z3.BoolVal(True), z3.And(_at_level(w, post, r.lvl, add), w.same_objects(post)))

    @staticmethod
    def cgroup_del(c, w, post, r):
        c.check("cgroup/del-missing", z3.Not(_target_present(w, r.lvl)))
        child = _sel_bool([lv.present for lv in w.levels[1:]] + [z3.BoolVal(False)], r.lvl)
        c.check("cgroup/del-busy", child)

        def remove(a: Level, b: Level):
            return z3.And(z3.Not(b.present), b.fresh())
        links = []
        for i in range(w.shape.links):
            gone = z3.And(w.lst[i] == ATTACHED, w.llvl[i] == r.lvl)
            links += [post.lst[i] == z3.If(gone, DEFUNCT, w.lst[i]), post.lprog[i] == w.lprog[i],
                      post.llvl[i] == z3.If(gone, 0, w.llvl[i])]
        f = c.check("cgroup/del", z3.BoolVal(True), z3.And(
            [_at_level(w, post, r.lvl, remove), _progs_same(w, post)] + links))
        c.effect("cgroup/release", z3.And(f, _sel([lv.n for lv in w.levels], r.lvl) > 0), z3.BoolVal(True))


# --------------------------------------------------------------------------
# The effective order (spec/cgroup/hierarchy.md), two formulations

def _contributes(w: World, lvl) -> dict:
    """contributes[l]: level l (an ancestor-or-self of ``lvl``) contributes."""
    out, count = {}, z3.IntVal(0)
    for l in reversed(range(w.shape.depth)):            # from the deepest possible target up
        lv = w.levels[l]
        mine = z3.And(l <= lvl, z3.Or(count == 0, lv.mode == MULTI))
        out[l] = mine
        count = z3.If(l <= lvl, z3.If(mine, count + lv.n, count), count)
    return out


def effective_count(w: World, lvl) -> z3.ArithRef:
    con = _contributes(w, lvl)
    return z3.Sum([z3.If(con[l], lv.n, 0) for l, lv in enumerate(w.levels)])


def effective_positions(w: World, lvl) -> dict:
    """(level, slot) -> its index in the effective order of ``lvl`` (the
    concatenation: PREORDER entries root-most level first, then the others
    from ``lvl`` up), for entries of contributing levels."""
    con = _contributes(w, lvl)
    pre = {l: [z3.If(z3.And(j < lv.n, lv.pre[j]), 1, 0) for j in lv.slots()] for l, lv in enumerate(w.levels)}
    norm = {l: [z3.If(z3.And(j < lv.n, z3.Not(lv.pre[j])), 1, 0) for j in lv.slots()]
            for l, lv in enumerate(w.levels)}
    npre = {l: z3.If(con[l], z3.Sum(pre[l]), 0) for l in pre}
    nnorm = {l: z3.If(con[l], z3.Sum(norm[l]), 0) for l in norm}
    total_pre = z3.Sum(list(npre.values()))
    pos = {}
    for l, lv in enumerate(w.levels):
        above = z3.Sum([npre[a] for a in range(l)] or [z3.IntVal(0)])
        below = z3.Sum([z3.If(a <= lvl, nnorm[a], 0) for a in range(l + 1, w.shape.depth)] or [z3.IntVal(0)])
        for j in lv.slots():
            rank_pre = z3.Sum(pre[l][:j] or [z3.IntVal(0)])
            rank_norm = z3.Sum(norm[l][:j] or [z3.IntVal(0)])
            pos[(l, j)] = z3.If(lv.pre[j], above + rank_pre, total_pre + below + rank_norm)
    return pos, con


def kernel_positions(w: World, lvl) -> dict:
    """The same positions as compute_effective_progs() computes them: walk
    up from ``lvl``, PREORDER entries written downwards from bstart, the
    others upwards from fstart, then each level's PREORDER run reversed."""
    con = _contributes(w, lvl)
    pcount = z3.Sum([z3.If(z3.And(con[l], j < lv.n, lv.pre[j]), 1, 0)
                     for l, lv in enumerate(w.levels) for j in lv.slots()])
    fstart, bstart = pcount, pcount - 1
    pos = {}
    for l in reversed(range(w.shape.depth)):            # lvl first, then up to the root
        lv = w.levels[l]
        take = con[l]
        init_b = bstart
        f, b = fstart, bstart
        raw = {}
        for j in lv.slots():
            used = z3.And(take, j < lv.n)
            raw[j] = z3.If(lv.pre[j], b, f)
            b = z3.If(z3.And(used, lv.pre[j]), b - 1, b)
            f = z3.If(z3.And(used, z3.Not(lv.pre[j])), f + 1, f)
        for j in lv.slots():
            # reverse the level's PREORDER run [b + 1, init_b]
            pos[(l, j)] = z3.If(lv.pre[j], b + 1 + init_b - raw[j], raw[j])
        fstart, bstart = z3.If(take, f, fstart), z3.If(take, b, bstart)
    return pos, con


def state(t: int, size: int) -> World:
    """The world before request ``t`` with lists of ``size`` slots (two
    levels, three programs, two links; the programs' static attributes are
    shared by every world: the same z3 names)."""
    shape = Shape(2, size, 3, 2)
    return World(t, shape, Static.symbolic(shape.progs))


def rule_ids() -> frozenset:
    """Every rule with a tracked constraint in the encoding."""
    shape = Shape(2, 2, 2, 1)
    st = Static.symbolic(shape.progs)
    pre, post, r = World(0, shape, st), World(1, shape, st), Req(0)
    out = set()
    for op in OPS:
        out |= encode(op, 0, pre, post, r).rules()
    return frozenset(out)
