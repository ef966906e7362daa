"""Equivalence of the z3 encoding (checker.smt.encode) and the reference executor.

Method (one solver per check, timeouts reported as ``unknown``):

1. **Coverage.**  For each op, z3 proves that over every well-formed hook
   state with at most N slots and every request of the op's domain exactly
   one rule of the chain fires (the encoding is total and deterministic).
2. **Classes.**  The states are split into classes: one per rule that can
   decide the op, and for a successful change also per request shape that
   fixes where the change lands (REPLACE / BEFORE / AFTER / named program /
   relative given).  Together the classes cover the whole space (by 1.); a
   class no state reaches at this N is reported ``vacuous``, never dropped.
3. **Representatives.**  z3 picks members of the class: one, then for every
   boundary atom (n = 0, n = N, 63, relative first/last, owners linked, flag
   bits, relative kinds, ...) one member where it holds and one where it does
   not, whenever the class has such a member.  Each member is turned into a
   runnable script (setup + the request), replayed on the executor, and its
   errno, rule, post-state and revision are compared with the encoding's.
   At a large bound (N > 2 * SEARCH_BOUND, e.g. 63) the members are searched
   at SEARCH_BOUND, where a query is ~30x cheaper, and *lifted*: each
   point's inputs are fixed in the N solver, whose check confirms it is a
   member at N and gives the N encoding's outcome; the sides of the size
   atoms (n = N, 62, ir = 62, the sampled sizes) come from lifted members
   padded with more programs, else from a search at N.  A side that no
   member with <= SEARCH_BOUND slots lies on is not searched for at N
   (each such query costs ~0.5 s at N = 63); tests/smt compare the sides
   this covers with the full search at N = 10 for every tcx dialect.
4. **Template proof.**  From the executor's outcome on the representatives we
   read the outcome *shape* (errno, rule, and the post-state as a function of
   the pre-state: unchanged, insert/replace/remove at an index term such as
   ``ir+1``), and z3 proves that for ALL states of the class (all slot
   contents, counts <= N, revisions, indexes) the encoding's outcome is that
   shape.  The executor's own uniformity inside a class is what the
   representatives test; it is not lifted symbolically.  Each template is
   proved in a solver of its own with everything asserted at its base
   level, where z3 preprocesses (not in a push scope of the op's solver:
   ~5x slower at N = 63).

A disagreement is reported with a minimal (fewest slots) runnable script.

What this proves, precisely: (1) and (4) are z3 proofs about the ENCODING
for every state with <= N slots (N up to 63): the encoding is total and, in
each class, uniform (one errno, one rule, one post-state template).  The
executor is then compared on the representatives only (3): that is
sampling on the executor side, not a proof.

5. **Exhaustive mode** (``verify_exhaustive``): for EVERY hook state with
   <= k slots over a fixed alphabet (``ALPHABET`` for k <= 2, the smaller
   ``LEAN`` beyond: programs, owners, revisions, device present, clsact,
   bundle) and EVERY request of the alphabet (flags subsets, relatives,
   replaced programs, expected revisions, fd kinds), the executor runs on a
   World built directly, and z3 proves that the encoding's outcome for
   exactly those inputs is the executor's (errno, rule, post slots,
   revision, present/clsact/bundle, query answer).  Batched: per state, the
   cases are grouped by the executor's outcome and each group is one z3
   check over the disjunction of its cases' inputs (plus one non-vacuity
   check), about 6,000 cases/s.  Complete for those bounds.
"""
from __future__ import annotations

import importlib
import itertools
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

import z3
from z3.z3 import _to_ast_array

from .. import dialects
from ..dialects.linux import LOOPBACK, MPROG_MAX
from ..model import Expect, Raw, Script, Step
from ..flags import canonical as canonical_flags
from ..syntax.render import render_script
from ..exec.world import World
from . import core, names
from . import linux as _linux
from . import rfc as _rfc
from .core import FD_CLOSED, FD_LINK, FD_NONE, FD_PROG, REL_LINK, REL_NONE, REL_PROG, REL_RAW

DEV, DEV2, DIR = "veth0", "veth1", "ingress"


def encoding(dialect: str):
    """The z3 encoding unit of ``dialect`` (checker.smt.<unit>)."""
    return dialects.get(dialect).unit("encoding")


def own_proofs(dialect: str):
    """The proof module of a dialect whose encoding unit names its own
    (``PROOFS``; cgroup: a list in a hierarchy is no tcx hook,
    checker.smt.cgroup_proofs), else None: the proofs here and in bmc cover
    it.  The entry points (verify_equivalence, verify_exhaustive,
    bmc.check_invariants, bmc.rule_ids, bmc.invariant_table) hand such a
    dialect to that module's functions of the same names."""
    d = dialects.get(dialect)
    name = getattr(d.unit("encoding"), "PROOFS", None) if d.encoding else None
    return importlib.import_module(name) if name else None


def executor_step(dialect: str):
    return dialects.get(dialect).unit("executor").step


@dataclass(frozen=True)
class Report:
    """One check's result.  ``status``: proved | violated | unknown | vacuous |
    unproved (the class is not uniform: a bug in the class split, not in
    either side)."""
    check: str
    op: str
    case: str
    status: str
    n_max: int
    seconds: float = 0.0
    detail: str = ""
    rules: tuple = ()
    script: str = ""
    reps: int = 0

    def line(self, timing: bool = True) -> str:
        t = f" {self.seconds:.2f}s" if timing else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.status:9} {self.check}:{self.op}:{self.case} N={self.n_max}{t}{extra}"


class _Solver:
    """One solver for one check; ``check()`` answers sat / unsat / unknown."""

    def __init__(self, timeout_s, minimize_cores: bool = True):
        """``timeout_s``: seconds for this check, or a budget shared by many
        checks (an object with ``left_ms()``, checker.smt.solve.Budget:
        ``mprog verify --timeout``); None or 0: no limit.
        ``minimize_cores``: smt.core.minimize, so a core lists only the rules
        a proof needs (False: the core as z3 found it, a superset)."""
        self.s = z3.Solver()
        self.s.set("core.minimize", minimize_cores)
        self.arm(timeout_s)
        self.track: dict[str, z3.BoolRef] = {}

    def arm(self, timeout_s) -> None:
        """Set the timeout of the next checks (a solver shared by many checks
        is re-armed before each: the budget's remainder, or the per-check
        seconds)."""
        ms = timeout_s.left_ms() if hasattr(timeout_s, "left_ms") else (
            int(timeout_s * 1000) if timeout_s else None)
        # z3's "no limit" is the maximal unsigned int
        self.s.set("timeout", max(1, ms) if ms is not None else 4294967295)

    def add_tracked(self, tracked: list) -> None:
        # the label's own text keys the core: printing the tracking literal
        # (str(p)) cost more than the assertion itself
        base = len(self.track)
        for i, t in enumerate(tracked, base):
            name = f"{t.label}#{i}"
            self.track[name] = t.label
            self.s.assert_and_track(t.expr, z3.Bool(name))

    def scope(self):
        """A push whose pop restores the solver whatever happened inside."""
        return _Scope(self.s)

    def core_rules(self) -> tuple:
        return tuple(sorted({names.rule_of_label(self.track[c.decl().name()]) for c in self.s.unsat_core()
                             if c.decl().name() in self.track}))


class _Scope:
    def __init__(self, s: z3.Solver):
        self.s = s

    def __enter__(self):
        self.depth = self.s.num_scopes()
        self.s.push()
        return self.s

    def __exit__(self, *exc):
        self.s.pop(self.s.num_scopes() - self.depth)
        return False


# --------------------------------------------------------------------------
# Problem set-up per op

class Problem:
    """One op of one dialect's encoding (``E``: checker.smt.<unit>) over hooks
    of at most ``n_max`` slots."""

    def __init__(self, op: str, n_max: int, E=_linux, sizes=()):
        self.op, self.n_max, self.E = op, n_max, E
        self.sizes = tuple(sz for sz in sizes if 1 < sz < n_max)   # more hook sizes to sample
        self.size = n_max + 1
        self.pre, self.post, self.req = E.state(0, self.size), E.state(1, self.size), E.Req(0)
        self.chain = E.encode(op, 0, self.pre, self.post, self.req)
        self.domain = E.domain(op, self.pre, self.req, n_max)
        r = self.req
        self.has_rel = z3.Or(r.link_flag, r.id, r.rel_kind != REL_NONE)

    def shapes(self, rule: str) -> list:
        """The request shapes that split ``rule``'s success class (a dialect
        may name its own per rule: ``class_shapes``)."""
        if hasattr(self.E, "class_shapes"):
            return self.E.class_shapes(self, rule)
        r = self.req
        return {
            "attach": [("REPLACE", r.replace), ("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel),
                       ("new-bundle", z3.Not(self.pre.bundle))],
            "link_create": [("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel),
                            ("new-bundle", z3.Not(self.pre.bundle))],
            "detach": [("prog", r.prog != 0), ("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel),
                       # BEFORE the first / AFTER the last entry: the victim is R itself
                       ("edge", z3.Or(z3.And(r.before, self.chain.terms.get("ir", -2) == 0),
                                      z3.And(r.after, self.chain.terms.get("ir", -2) == self.pre.n - 1))),
                       ("freed", z3.And(self.pre.n == 1, z3.Not(self.pre.clsact)))],
            "query": [("count0", self.chain.terms.get("cap", z3.IntVal(0)) == 0)],
            "link_detach": [("freed", z3.And(self.pre.n == 1, z3.Not(self.pre.clsact)))],
            "close": [("defunct", r.defunct), ("freed", z3.And(self.pre.n == 1, z3.Not(self.pre.clsact)))],
            "clsact_del": [("empty", self.pre.n == 0)],
        }.get(self.op, [])

    # Classes: (name, rule, predicate)
    def classes(self) -> list:
        out = []
        for rule, f in self.chain.fires.items():
            if self.E.TABLE[rule] != "ok" or rule == "link_update/same-prog":
                out.append((rule, rule, f))
                continue
            shapes = self.shapes(rule)
            for vals in itertools.product((True, False), repeat=len(shapes)):
                tag = ",".join(n if v else "!" + n for (n, _), v in zip(shapes, vals))
                pred = z3.And([f] + [e if v else z3.Not(e) for (_, e), v in zip(shapes, vals)])
                out.append((f"{rule}[{tag}]" if tag else rule, rule, pred))
        return out

    def atoms(self) -> list:
        """Boundary conditions each class is sampled on both sides of."""
        E = self.E
        p, r, t = self.pre, self.req, self.chain.terms
        a = [("n=0", p.n == 0), ("n=1", p.n == 1), ("n=N", p.n == self.n_max),
             ("n=62", p.n == MPROG_MAX - 1), ("exp=0", r.exp == 0), ("exp=rev", r.exp == p.rev),
             ("link[0]", p.link[0] != 0), ("link[n-1]", core.sel(p.link, p.n - 1) != 0),
             ("present", p.present), ("clsact", p.clsact), ("bundle", p.bundle)]
        a += [(f"n={sz}", p.n == sz) for sz in self.sizes if sz != MPROG_MAX - 1]
        for fd in ("prog_fd", "repl_fd", "link_fd", "old_fd"):
            if fd in E.USED.get(self.op, ()):
                a += [(f"{fd}={v}", getattr(r, fd) == k) for k, v in core.FD_KINDS.items()]
        for b in ("prog_cls", "repl_cls", "defunct"):
            if b in E.USED.get(self.op, ()):
                a.append((b, getattr(r, b)))
        if self.op in ("attach", "link_create", "detach"):
            a += [("REPLACE", r.replace), ("BEFORE", r.before), ("AFTER", r.after), ("ID", r.id),
                  ("LINK", r.link_flag), ("stray", r.stray), ("fd_open", r.rel_fd_open),
                  ("alive", r.rel_alive), ("type_ok", r.rel_type_ok)]
            a += [(f"rel={v}", r.rel_kind == k) for k, v in core.REL_KINDS.items()]
            ir = t["ir"]
            a += [("ir=0", ir == 0), ("ir=n-1", ir == p.n - 1), ("ir=62", ir == MPROG_MAX - 1),
                  ("link[ir]", core.sel(p.link, ir) != 0), ("rel=prog", r.rel_prog == r.prog),
                  ("rel_in_hook", p.member(r.rel_prog))]
            other = t.get("io", t["ip"])
            a += [("x=ir-1", other == ir - 1), ("x=ir+1", other == ir + 1), ("link[x]", core.sel(p.link, other) != 0)]
        if self.op == "link_update":
            a += [("REPLACE", r.replace), ("defunct", r.defunct), ("old=cur", r.old == r.cur),
                  ("type_ok", r.type_ok), ("prog_in_hook", p.member(r.prog))]
        if self.op == "query":
            cap = self.chain.terms["cap"]
            a += [("count_given", r.has_count), ("cap=n", cap == p.n), ("cap<n", cap < p.n)]
        if hasattr(E, "atoms"):
            a += E.atoms(self)
        return a

    def rep_constraints(self) -> list:
        """A representative must be buildable by a script from an empty world:
        clsact_add then n attaches gives revision n + 1; small ids, short revs."""
        p, r = self.pre, self.req
        cs = [p.rev == p.n + 1, r.exp <= p.rev + 3]
        for v in [r.prog, r.old, r.owner, r.rel_prog, r.rel_link, r.cur] + p.prog + p.link:
            cs.append(v < 80)                 # ids 80.. are the builder's own objects
            cs.append(v <= 4 * self.size + 8)
        cs.append(r.qcap <= p.n + 3)
        return cs

    def vocab(self) -> dict:
        """Index terms a template may use."""
        p = self.pre
        v = {"0": z3.IntVal(0), "n": p.n, "n-1": p.n - 1}
        for name, t in self.chain.terms.items():
            if not z3.is_int(t) or name in ("at", "k"):
                continue
            v[name] = t
            if name != "cap":
                v[f"{name}-1"], v[f"{name}+1"] = t - 1, t + 1
        # The encoding's own composite position (rfc: the insert position,
        # the detach target), tried after every simple term.
        for name in ("at", "k"):
            if name in self.chain.terms:
                v[name] = self.chain.terms[name]
        return v


# --------------------------------------------------------------------------
# Representatives: z3 model -> values -> script -> executor

def _values(pb: Problem, m: z3.ModelRef) -> dict:
    ev = lambda e: m.eval(e, model_completion=True)   # noqa: E731
    iv = lambda e: ev(e).as_long()                     # noqa: E731
    bv = lambda e: z3.is_true(ev(e))                   # noqa: E731
    p, q, r = pb.pre, pb.post, pb.req
    n, n2 = iv(p.n), iv(q.n)
    vals = {"n": n, "rev": iv(p.rev), "flags": (bv(p.present), bv(p.clsact), bv(p.bundle)),
            "post_flags": (bv(q.present), bv(q.clsact), bv(q.bundle)),
            "slots": tuple(slot_values(pb.E, p, j, iv, bv) for j in range(n)),
            "post_slots": tuple(slot_values(pb.E, q, j, iv, bv) for j in range(max(n2, 0))),
            "post_rev": iv(q.rev), "errno": core.ERRNOS[iv(r.errno)], "rule": pb.E.RULE_LIST[iv(r.rule)]}
    for f in type(r).BOOLS:
        vals[f] = bv(getattr(r, f))
    for f in type(r).INTS + ("q_count", "q_rev", "q_shown"):
        vals[f] = iv(getattr(r, f))
    vals["terms"] = {k: iv(t) for k, t in pb.vocab().items()}
    return vals


def slot_values(E, h, j: int, iv, bv) -> tuple:
    """Slot j of a symbolic hook as values: (prog id, link id), plus the
    stored word in a dialect that pins slots (its executor's slot shape)."""
    base = (iv(h.prog[j]), iv(h.link[j]))
    if not h.pins:
        return base
    first, last = E.PIN_BITS
    return base + ((first if bv(h.fpin[j]) else 0) | (last if bv(h.lpin[j]) else 0),)


def _p(i: int) -> str:
    return f"p{i}"


def _l(i: int) -> str:
    return f"l{i}"


def _flags(v: dict) -> tuple:
    names = [n for n, f in (("REPLACE", "replace"), ("BEFORE", "before"), ("AFTER", "after"),
                            ("ID", "id"), ("LINK", "link_flag"), ("FIRST", "first"), ("LAST", "last"))
             if v.get(f)]
    if v["stray"]:
        names.append("ALLOW_MULTI")
    return canonical_flags(names)


def _relative_ref(v: dict):
    k = v["rel_kind"]
    if k == REL_NONE:
        return None
    if k == REL_RAW:
        return Raw(99)
    return _p(v["rel_prog"]) if k == REL_PROG else _l(v["rel_link"])


OTHER_LINK, OTHER_LINK_PROG, OTHER_PROG = 90, 90, 91   # objects off the hook (veth1)
CLOSED_FD = Raw(7)                                      # a raw fd that is not open


def _fd_ref(kind: int, name, zero):
    """An fd argument of kind ``kind`` (encode.FD_*): ``name`` for an open
    program, ``zero`` for fd 0 / absent."""
    return {FD_NONE: zero, FD_CLOSED: CLOSED_FD, FD_PROG: name,
            FD_LINK: _l(OTHER_LINK)}[kind]


def build_steps(op: str, v: dict, E=_linux) -> tuple[list, Step]:
    """Setup steps that build the pre-state of ``v`` on veth0 ingress, and the
    request.  Pinned slots (rfc) are attached with their pins, in order, so
    a FIRST holder comes first and a LAST holder last."""
    ok = Expect("ok")
    present, clsact, _bundle = v["flags"]
    setup = [Step("dev_add", dev=DEV, expect=ok), Step("dev_add", dev=DEV2, expect=ok)]
    if clsact:
        setup.append(Step("clsact_add", dev=DEV, expect=ok))
    in_hook = {s[0] for s in v["slots"]}
    progs = set(in_hook) | {v["prog"], v["old"], v["cur"]}
    xdp = set()
    if v["rel_kind"] in (REL_PROG, REL_LINK):
        progs.add(v["rel_prog"])
        if v["rel_kind"] == REL_PROG and not v["rel_type_ok"]:
            xdp.add(v["rel_prog"])
    if op == "link_update" and not v["type_ok"]:
        xdp.add(v["prog"])
    if op in ("attach", "link_create", "detach") and not v["prog_cls"]:
        xdp.add(v["prog"])
    if op == "attach" and not v["repl_cls"]:
        xdp.add(v["old"])
    fds = [v[f] for f in ("prog_fd", "repl_fd", "link_fd", "old_fd")]
    if FD_LINK in fds:
        progs.add(OTHER_LINK_PROG)
    if op in ("link_update", "link_detach") and v["link_fd"] == FD_PROG or \
            op == "close" and v["link_fd"] == FD_PROG:
        progs.add(OTHER_PROG)
    progs.discard(0)
    for p in sorted(progs):
        setup.append(Step("load", prog=_p(p), type="xdp" if p in xdp else None, expect=ok))
    if FD_LINK in fds:
        setup.append(Step("link_create", link=_l(OTHER_LINK), prog=_p(OTHER_LINK_PROG), dev=DEV2,
                          dir="egress", expect=ok))
    for slot in v["slots"]:
        p, l = slot[0], slot[1]
        pins = E.FLAG_TABLE.decode(slot[2]) if len(slot) > 2 else ()
        setup.append(Step("attach", dev=DEV, dir=DIR, prog=_p(p), flags=pins, expect=ok) if l == 0 else
                     Step("link_create", link=_l(l), prog=_p(p), dev=DEV, dir=DIR, flags=pins, expect=ok))
    owners = {s[1] for s in v["slots"] if s[1]}
    closes = []
    if v["rel_kind"] == REL_PROG and not v["rel_fd_open"]:
        if v["rel_alive"] and v["rel_prog"] not in in_hook:
            setup.append(Step("attach", dev=DEV2, dir=DIR, prog=_p(v["rel_prog"]), expect=ok))
        closes.append(Step("close", prog=_p(v["rel_prog"]), expect=ok))
    if v["rel_kind"] == REL_LINK and v["rel_link"] not in owners:
        setup.append(Step("link_create", link=_l(v["rel_link"]), prog=_p(v["rel_prog"]), dev=DEV2,
                          dir=DIR, expect=ok))
        if not v["rel_fd_open"]:
            closes.append(Step("close", link=_l(v["rel_link"]), expect=ok))
    if v["link_fd"] == FD_LINK and v["defunct"]:
        setup.append(Step("link_create", link=_l(v["owner"]), prog=_p(v["cur"] or v["prog"]), dev=DEV2,
                          dir="egress", expect=ok))
        setup.append(Step("link_detach", link=_l(v["owner"]), expect=ok))
    setup += closes
    if not present:
        setup.append(Step("dev_del", dev=DEV, expect=ok))
    if not any(st.dev == DEV2 for st in setup[2:]):
        setup.remove(setup[1])            # veth1 only holds objects outside the hook
    hook = dict(dev=DEV, dir=DIR)
    prog = _fd_ref(v["prog_fd"], _p(v["prog"]), None if op == "detach" else Raw(0))
    if op in ("attach", "link_create", "detach"):
        common = dict(hook, flags=_flags(v), relative=_relative_ref(v), expected_revision=v["exp"])
        if op == "attach":
            req = Step("attach", prog=prog, replace=_fd_ref(v["repl_fd"], _p(v["old"]), None)
                       if v["replace"] else None, **common)
        elif op == "link_create":
            req = Step("link_create", link=_l(v["owner"] or 1), prog=prog, **common)
        else:
            req = Step("detach", prog=prog, **common)
    elif op in ("link_detach", "close", "link_update"):
        link = _fd_ref(v["link_fd"], None, Raw(0))
        link = {FD_LINK: _l(v["owner"]), FD_PROG: _p(OTHER_PROG)}.get(v["link_fd"], link)
        if op == "link_detach":
            req = Step("link_detach", link=link)
        elif op == "close":
            req = Step("close", prog=link) if v["link_fd"] == FD_PROG else Step("close", link=link)
        else:
            flags = (("REPLACE",) if v["replace"] else ()) + (("ALLOW_MULTI",) if v["stray"] else ()) \
                + tuple(n for n, f in (("FIRST", "first"), ("LAST", "last")) if v.get(f))
            req = Step("link_update", link=link, prog=_fd_ref(v["prog_fd"], _p(v["prog"]), Raw(0)),
                       flags=canonical_flags(flags), old_prog=_fd_ref(v["old_fd"], _p(v["old"]), None))
    elif op == "query":
        req = Step("query", **hook, count=v["qcap"] if v["has_count"] else None,
                   query_flags=(2 if v["qf_unknown"] else 0) | (1 if v["qf_effective"] else 0),
                   attach_flags=1 if v["attach_flags"] else 0)
    elif op == "load":
        req = Step("load", prog=_p(OTHER_PROG + 1))
    else:
        # The loopback's own hook state is not built: a request on it that
        # fails changes nothing anywhere (device/del-loopback).
        req = Step(op, dev=LOOPBACK if v.get("loopback") else DEV)
    return setup, req


def _ids(slots) -> tuple:
    """Executor slots (names) as ids; a dialect's stored word stays."""
    return tuple((int(s[0][1:]), int(s[1][1:]) if s[1] else 0) + tuple(s[2:]) for s in slots)


def _hook(w: World):
    """(slots, revision, (present, clsact, bundle)) of veth0 ingress; a hook
    without a bundle reads as empty at revision 1."""
    d = w.devs.get(DEV)
    h = d.hook(DIR) if d is not None else None
    flags = (bool(d and d.present), bool(d and d.clsact), h is not None)
    return ((), 1, flags) if h is None else (_ids(h.slots), h.revision, flags)


@dataclass
class Run:
    setup_ok: bool
    setup_error: str = ""
    errno: str = ""
    rule: str = ""
    pre: tuple = ()
    pre_rev: int = 0
    post: tuple = ()
    post_rev: int = 0
    query: tuple = ()          # (count, revision, shown entries) or ()
    pre_flags: tuple = ()      # (present, clsact, bundle)
    post_flags: tuple = ()


def run_executor(step_fn: Callable, setup: list, req: Step, v: dict) -> Run:
    w = World()
    for i, s in enumerate(setup):
        out, w = step_fn(w, s)
        if out.errno != "ok":
            return Run(False, f"setup step {i + 1} ({s.op}) returned {out.errno} ({out.rule})")
    pre, pre_rev, pre_flags = _hook(w)
    if (pre, pre_rev, pre_flags) != (v["slots"], v["rev"], v["flags"]):
        return Run(False, f"setup built {pre} rev {pre_rev} {pre_flags}, wanted {v['slots']} rev {v['rev']} "
                          f"{v['flags']}")
    out, w2 = step_fn(w, req)
    post, post_rev, post_flags = _hook(w2)
    q = ()
    if out.query is not None:
        qr = out.query
        q = (qr.count, qr.revision, _ids(zip(qr.progs, qr.links, *((qr.flags,) if qr.flags else ()))))
    return Run(True, "", out.errno, out.rule, pre, pre_rev, post, post_rev, q, pre_flags, post_flags)


def _model_side(op: str, v: dict) -> tuple:
    q = ()
    if op == "query" and v["errno"] in ("ok", "ENOSPC"):
        q = (v["q_count"], v["q_rev"], v["slots"][:v["q_shown"]])
    return (v["errno"], v["rule"], v["post_slots"], v["post_rev"], q, v["post_flags"])


def _exec_side(run: Run) -> tuple:
    return (run.errno, run.rule, run.post, run.post_rev, run.query, run.post_flags)


def _shape(op: str, run: Run, v: dict):
    """The executor's outcome as (kind, concrete index) on this representative."""
    pre, post = list(run.pre), list(run.post)
    if op == "query" and run.query:
        return ("query", len(run.query[2]))
    if op in ("dev_add", "dev_del") and run.errno == "ok":
        return ("reset", None)
    if pre == post and run.pre_rev == run.post_rev:
        return ("same", None)
    if pre == post and run.post_rev == run.pre_rev + 1:
        return ("bump", None)        # a success that moved only the revision (rfc)
    if len(post) == len(pre) + 1:
        for at in range(len(post)):
            if post[:at] + post[at + 1:] == pre:
                return ("insert", at)
    if len(post) == len(pre) - 1:
        for k in range(len(pre)):
            if pre[:k] + pre[k + 1:] == post:
                return ("remove", k)
    if len(post) == len(pre):
        diff = [j for j in range(len(pre)) if pre[j] != post[j]]
        if len(diff) == 1:
            return ("replace", diff[0])
    return ("other", None)


def _effect(pb: Problem, kind: str, term, pins=None):
    """The hook part (slots, count, revision) of an outcome shape; ``pins``
    the new slot's (first, last) where the dialect stores them."""
    p, q, r = pb.pre, pb.post, pb.req
    if kind == "same":
        return core.same_hook(p, q)
    if kind == "bump":
        return z3.And(core.same_slots(p, q) + [q.n == p.n, core.settle(p, q)])
    if kind == "reset":
        return z3.And([q.n == 0, q.rev == 1] + [x == 0 for x in q.prog + q.link]
                      + [z3.Not(x) for x in q.fpin + q.lpin])
    if kind == "insert":
        owner = r.owner if pb.op == "link_create" else z3.IntVal(0)
        return core.insert_at(p, q, term, r.prog, owner, pins or core.NO_PINS)
    if kind == "replace":
        return core.replace_at(p, q, term, r.prog, core.sel(p.link, term), pins)
    if kind == "remove":
        return z3.And(core.remove_at(p, q, term), core.settle(p, q))
    if kind == "query":
        return z3.And(core.same_hook(p, q), r.q_count == p.n, r.q_rev == p.rev, r.q_shown == term)
    raise AssertionError(kind)


def _pin_candidates(pb: Problem, kind: str, shapes: list) -> list:
    """(name, z3 pins given the index term, or None) for the new / replaced
    slot's stored pins that fit every representative; [(None, None)] where
    slots store none.  "kept": the replaced slot's own pins."""
    if not pb.pre.pins or kind not in ("insert", "replace"):
        return [(None, None)]
    first, last = pb.E.PIN_BITS
    r = pb.req
    word = lambda f, l: (first if f else 0) | (last if l else 0)   # noqa: E731
    cands = [(f"{int(f)}{int(l)}", (lambda t, f=f, l=l: (z3.BoolVal(f), z3.BoolVal(l))),
              (lambda v, i, f=f, l=l: word(f, l))) for f in (False, True) for l in (False, True)]
    cands.append(("request", lambda t: (r.first, r.last), lambda v, i: word(v["first"], v["last"])))
    if kind == "replace":
        cands.append(("kept", lambda t: None, lambda v, i: v["slots"][i][2]))
    out = [(name, z) for name, z, py in cands
           if all(run.post[sh[1]][2] == py(v, sh[1]) for sh, v, run in shapes)]
    return out or [("none-fits", None)]


# Post-state device/bundle flags as functions of the pre-state: (name, python, z3)
_FLAG_TERMS = (
    ("pre", lambda pre, i, n: pre[i], lambda p, q, i: (p.present, p.clsact, p.bundle)[i]),
    ("true", lambda pre, i, n: True, lambda p, q, i: z3.BoolVal(True)),
    ("false", lambda pre, i, n: False, lambda p, q, i: z3.BoolVal(False)),
    ("nonempty|clsact", lambda pre, i, n: n > 0 or pre[1], lambda p, q, i: z3.Or(q.n > 0, p.clsact)),
    ("nonempty", lambda pre, i, n: n > 0, lambda p, q, i: q.n > 0),
)


def _flags_template(pb: Problem, shapes: list):
    """For present, clsact and bundle: the first term that gives the
    executor's post value on every representative (None if none does)."""
    p, q = pb.pre, pb.post
    parts, tags = [], []
    for i, var in enumerate((q.present, q.clsact, q.bundle)):
        for name, py, zt in _FLAG_TERMS:
            if all(py(v["flags"], i, len(run.post)) == run.post_flags[i] for _, v, run in shapes):
                parts.append(var == zt(p, q, i))
                tags.append(name)
                break
        else:
            return None, None
    return z3.And(parts), "/".join(tags)


def expect_entries(errno: str, count: int, rev: int, slots, table=None) -> Expect:
    """An expectation naming ``slots`` ((prog id, link id or 0[, stored
    word]), ...) in run order; stored words are read with ``table``."""
    stored = None
    if table is not None and any(len(s) > 2 and s[2] for s in slots):
        stored = tuple(table.decode(s[2]) for s in slots)
    return Expect(errno, count, rev, tuple(_p(s[0]) for s in slots),
                  tuple(_l(s[1]) if s[1] else None for s in slots), stored)


def final_query(present: bool, slots, rev: int, table=None, bundle: bool = True) -> Step:
    """The closing query of a counterexample script: the hook's slots and
    revision, or ENODEV without a device (ENOENT without a bundle in a
    dialect that answers so: ``bundle`` False)."""
    if not present:
        return Step("query", dev=DEV, dir=DIR, expect=Expect("ENODEV"))
    if not bundle:
        return Step("query", dev=DEV, dir=DIR, expect=Expect("ENOENT"))
    return Step("query", dev=DEV, dir=DIR, expect=expect_entries("ok", len(slots), rev, slots, table))


def render_counterexample(op: str, setup: list, req: Step, v: dict, title: str, detail: str,
                          E=_linux) -> str:
    """The representative as a script whose expectations are the encoding's
    (spec) outcome: replayed on a diverging executor, an expectation fails."""
    table = E.FLAG_TABLE if E.PIN_BITS else None
    exp = Expect(v["errno"])
    if op == "query" and v["errno"] in ("ok", "ENOSPC"):
        exp = expect_entries(v["errno"], v["q_count"], v["q_rev"], v["slots"][:v["q_shown"]], table)
    no_entry = E.TABLE.get("query/no-entry") != "ok" and not v["post_flags"][2]
    check = final_query(v["post_flags"][0], v["post_slots"], v["post_rev"], table, bundle=not no_entry)
    steps = tuple(setup) + (replace(req, expect=exp), check)
    return render_script(Script(steps, dialect=E.NAME, name=title, description=detail))


# --------------------------------------------------------------------------
# The check

def _atoms_values(m: z3.ModelRef, atoms: list) -> tuple:
    return tuple(z3.is_true(m.eval(e, model_completion=True)) for _, e in atoms)


# Cores are minimized up to this bound.  Above it a report's rules are z3's
# core as found (a superset of the needed rules): minimizing one costs
# ~0.5 s per class at N = 63, a fifth of the whole proof; the rules a class
# needs are read at the smaller bound (mprog verify proves N = 4 as well).
MINIMIZED_CORES_UP_TO = 16


def op_solver(pb: Problem, timeout_s) -> _Solver:
    """The op's encoding (tracked under rule IDs) and domain in one solver:
    every class and the coverage check of the op run in a scope of it, so
    z3 internalizes the chain once per op, not once per class."""
    sv = _Solver(timeout_s, minimize_cores=pb.n_max <= MINIMIZED_CORES_UP_TO)
    sv.add_tracked(pb.chain.tracked)
    sv.s.add(pb.domain)
    return sv


def _check_class(pb: Problem, name: str, rule: str, pred, step_fn, timeout_s, sample: str,
                 sv: _Solver = None, small=None) -> Report:
    """One class, in a scope of the op's solver ``sv`` (None: a fresh one,
    the way every class was checked before the solver was shared; bench
    compares the two)."""
    sv = sv or op_solver(pb, timeout_s)
    sv.arm(timeout_s)
    if small is not None:
        small[1].arm(timeout_s)       # the search bound's solver, shared by the op's classes
    with sv.scope():
        sv.s.add(pred)
        return _class_in_scope(pb, name, rule, pred, step_fn, timeout_s, sample, sv, small)


def _class_in_scope(pb: Problem, name: str, rule: str, pred, step_fn, timeout_s, sample: str,
                    sv: _Solver, small=None) -> Report:
    t0 = time.perf_counter()
    rep = lambda status, **kw: Report("equivalence", pb.op, name, status, pb.n_max,  # noqa: E731
                                      time.perf_counter() - t0, **kw)
    # Representatives
    atoms = pb.atoms() if sample == "atoms" else []
    models, status = _representatives(pb, sv, atoms, small)
    if status is not None:
        return rep(*status[:1], detail=status[1])
    # Differential run of each representative
    shapes = []
    for m in models:
        v = _values(pb, m)
        setup, req = build_steps(pb.op, v, pb.E)
        run = run_executor(step_fn, setup, req, v)
        if not run.setup_ok or _model_side(pb.op, v) != _exec_side(run):
            v, setup, req, run = _minimize(pb, sv, m, atoms, step_fn, v, setup, req, run)
            what = (run.setup_error if not run.setup_ok else
                    f"spec {_model_side(pb.op, v)[:2]} post {v['post_slots']} rev {v['post_rev']}"
                    f" <--spec-vs-executor--> executor {(run.errno, run.rule)} post {run.post} rev {run.post_rev}")
            return rep("violated", detail=what, reps=len(models),
                       script=render_counterexample(pb.op, setup, req, v, f"{pb.op}: {name}", what, pb.E))
        shapes.append((_shape(pb.op, run, v), v, run))
    kinds = {s[0][0] for s in shapes}
    if kinds == {"replace", "bump"}:
        # a replace by the same program with the same pins (rfc) leaves the
        # slots as they were: the replace template covers it
        kinds, shapes_ix = {"replace"}, [s for s in shapes if s[0][0] == "replace"]
    else:
        shapes_ix = shapes
    base = shapes[0][1]
    if len(kinds) != 1 or "other" in kinds or {(s[1]["errno"], s[1]["rule"]) for s in shapes} != {(base["errno"], base["rule"])}:
        return rep("unproved", detail=f"executor outcome shapes differ inside the class: {sorted(kinds)}",
                   reps=len(models))
    kind = kinds.pop()
    vocab = pb.vocab()
    cands = [k for k in vocab if all(s[0][1] == s[1]["terms"][k] for s in shapes_ix)]
    kinds_c = [(kind, c) for c in cands]
    if kind in ("same", "reset", "bump"):
        kinds_c = [(kind, None)] + ([("reset", None)] if kind == "same" else [])
    if kind == "query":
        kinds_c = [(kind, k) for k in ("0", "n", "cap") if all(s[0][1] == s[1]["terms"][k] for s in shapes)]
    flags, ftag = _flags_template(pb, [(sh, v, run) for sh, v, run in shapes])
    if flags is None:
        return rep("unproved", detail="no flag term fits every representative", reps=len(models))
    pin_cands = _pin_candidates(pb, kind, shapes_ix)
    # Template proof: for all members, the encoding's outcome is the shape
    last = "no index term fits every representative"
    for (kind, c), (pname, pins) in itertools.product(kinds_c, pin_cands):
        term = vocab[c] if c is not None else None
        goal = z3.And(pb.req.errno == core.errno_code(base["errno"]),
                      pb.req.rule == pb.E.rule_code(base["rule"]),
                      _effect(pb, kind, term, pins(term) if pins else None), flags)
        res, rules_core, why = _prove_template(pb, pred, goal, timeout_s)
        if res == z3.unsat:
            shape = (kind if c is None else f"{kind} at {c}") + (f" pins {pname}" if pname else "") + \
                f", dev/clsact/bundle {ftag}"
            return rep("proved", detail=f"{base['errno']} {base['rule']}, {shape}", rules=rules_core,
                       reps=len(models))
        if res == z3.unknown:
            return rep("unknown", detail=f"template proof: {why}", reps=len(models))
        last = f"template {kind} at {c}" + (f" pins {pname}" if pname else "") + " fails for a class member"
    return rep("unproved", detail=last, reps=len(models))


def _representatives(pb: Problem, sv: _Solver, atoms: list, small=None) -> tuple:
    """(models, None): members of the class in scope of ``sv``, buildable by
    a script (rep_constraints), one on every side of every atom that has
    one; or (None, (status, detail)) for a class without buildable member
    (vacuous, unproved, unknown).  ``small``: the class at the search bound
    (its problem, solver and predicate there), whose members are lifted to
    this bound; then a side no member with <= SEARCH_BOUND slots lies on
    is searched for here only for the size atoms (a query here costs ~30x
    one there, and a side's unsat ~0.5 s at N = 63; tests/smt compare the
    sides covered with the full search for every tcx dialect)."""
    with _Scope(sv.s):
        sv.s.add(pb.rep_constraints())
        lifted = _lifted(pb, sv, small, atoms) if small is not None else None
        if lifted:
            models, only = lifted, _sized
        else:
            # no search bound, or no member there (or none lifts: searched here in full)
            res = sv.s.check()
            if res == z3.unknown:
                return None, ("unknown", f"representative search: {sv.s.reason_unknown()}")
            models, only = ([sv.s.model()] if res == z3.sat else None), None
        if models is not None:
            covered = [set() for _ in atoms]
            for m in models:
                _cover(m, atoms, covered)
            if only is not None:
                models += _padded(pb, sv, models, atoms, covered)
            return models + _sample(sv.s, atoms, covered, only=only), None
    # No buildable member: is the class empty, or only our build constraints exclude it?
    res = sv.s.check()
    if res == z3.unsat:
        return None, ("vacuous", "no state with <= N slots reaches this class")
    if res == z3.unknown:
        return None, ("unknown", sv.s.reason_unknown())
    return None, ("unproved", "class has members but none buildable by a script")


def _prove_template(pb: Problem, pred, goal, timeout_s) -> tuple:
    """(sat | unsat | unknown, the unsat core's rules, z3's reason for
    unknown) of: some member of the class (``pred``) whose outcome is not
    ``goal``.  A solver of its own, everything asserted at its base level:
    z3 preprocesses (solves the post-state's equations) only what is
    asserted outside push scopes, which makes this check ~5x faster at
    N = 63 than in a scope of the op's solver, setting-up included."""
    sv = _Solver(timeout_s, minimize_cores=pb.n_max <= MINIMIZED_CORES_UP_TO)
    sv.add_tracked(pb.chain.tracked)
    sv.s.add(pb.domain)
    sv.s.add(pred)
    sv.s.add(z3.Not(goal))
    res = sv.s.check()
    return (res, sv.core_rules() if res == z3.unsat else (),
            sv.s.reason_unknown() if res == z3.unknown else "")


def _cell(atoms: list, cell: tuple):
    i, want = cell
    return atoms[i][1] if want else z3.Not(atoms[i][1])


def _cover(m: z3.ModelRef, atoms: list, covered: list) -> bool:
    """Record the sides ``m`` lies on; True if one was new."""
    new = False
    for j, val in enumerate(_atoms_values(m, atoms)):
        new |= val not in covered[j]
        covered[j].add(val)
    return new


def _sample(s: z3.Solver, atoms: list, covered: list, only=None) -> list:
    """Members of the class in scope of ``s``, as models: one on every side
    of every atom (``only``: of the atoms so named) that has a member and
    no member yet, one query per side."""
    cells = [(i, w) for i, (nm, _) in enumerate(atoms) for w in (True, False)
             if w not in covered[i] and (only is None or only(nm))]
    return _sample_cells(s, atoms, covered, cells)


def _sample_cells(s: z3.Solver, atoms: list, covered: list, cells: list) -> list:
    models = []
    for c in cells:
        if c[1] in covered[c[0]]:
            continue
        with _Scope(s):
            s.add(_cell(atoms, c))
            m = s.model() if s.check() == z3.sat else None
        if m is not None:
            models.append(m)
            _cover(m, atoms, covered)
    return models


def _sized(atom: str) -> bool:
    """An atom about a hook size or an index beyond the search bound
    (n=N, n=62, n=16, ir=62), which a member found there cannot be on."""
    if atom in ("n=N", "n=62", "ir=62"):
        return True
    return atom.startswith("n=") and atom[2:].isdigit() and int(atom[2:]) > SEARCH_BOUND


def _size_target(atom: str, n_max: int):
    """(hook size, relative index or None) an atom of _sized asks for."""
    if atom == "ir=62":
        return MPROG_MAX, MPROG_MAX - 1
    return (n_max if atom == "n=N" else int(atom[2:])), None


def _padded(pb: Problem, sv: _Solver, models: list, atoms: list, covered: list) -> list:
    """Members on the size atoms' sides, made from lifted members by adding
    programs (fresh ids, prog API) at the end, the start, or beside the
    relative (before it, to move it to ir=62), with the revision, expected
    revision and query count moved along; each candidate is checked as a
    lifted point is (one propagation, ~1/5 of a search at N = 63).  A side
    no candidate reaches is searched for by the caller."""
    out = []
    ir_term = pb.chain.terms.get("ir")
    for i, (name, _) in enumerate(atoms):
        if not _sized(name) or True in covered[i]:
            continue
        size, want_ir = _size_target(name, pb.n_max)
        if size > pb.n_max:
            continue
        # The first member only: where it cannot be padded, the others
        # mostly cannot either (a class that fixes the size: freed, empty).
        places = ("ir",) if want_ir is not None else ("end", "start", "ir")
        m = next((m for m in (_pad(pb, sv, models[0], size, at, want_ir, ir_term) for at in places)
                  if m is not None), None)
        if m is not None:
            _cover(m, atoms, covered)
            out.append(m)
    return out


def _pad(pb: Problem, sv: _Solver, base: z3.ModelRef, size: int, at: str, want_ir, ir_term):
    """The member ``base`` grown to ``size`` slots (or until its relative
    sits at index ``want_ir``) by programs inserted at ``at``, as a model of
    this bound's solver; None if that point is not a member of the class."""
    ev = lambda e: base.eval(e, model_completion=True)   # noqa: E731
    p, r = pb.pre, pb.req
    n, rev = ev(p.n).as_long(), ev(p.rev).as_long()
    ir = ev(ir_term).as_long() if ir_term is not None else -1
    k = size - n
    if want_ir is not None:
        if ir < 0 or at != "ir":
            return None
        k = want_ir - ir
    if k <= 0 or n + k > pb.n_max:
        return None
    pos = {"end": n, "start": 0, "ir": ir}[at]
    if pos < 0:
        return None
    fields = [getattr(r, f) for f in type(r).BOOLS + type(r).INTS]
    vals = {f: ev(f) for f in fields}
    used = {ev(x).as_long() for x in p.prog[:n] + p.link[:n]} | {
        v.as_long() for v in vals.values() if z3.is_int_value(v)}
    fresh = [x for x in range(1, 80) if x not in used][:k]
    if len(fresh) < k:
        return None
    cols = []
    for col in p.columns():
        old = [ev(x) for x in col[:n]]
        pad = [z3.IntVal(x) for x in fresh] if col is p.prog else (
            [z3.IntVal(0)] * k if z3.is_int(col[0]) else [z3.BoolVal(False)] * k)
        cols.append(old[:pos] + pad + old[pos:])
    n2, rev2 = n + k, n + k + 1
    exp, qcap = vals[r.exp].as_long(), vals[r.qcap].as_long()
    vals[r.exp] = z3.IntVal(exp if exp < rev else rev2 + exp - rev)
    vals[r.qcap] = z3.IntVal(qcap if qcap < n else n2 + qcap - n)
    fixed = [p.n == n2, p.rev == rev2] + [x == ev(x) for x in (p.present, p.clsact, p.bundle)]
    for col, new in zip(p.columns(), cols):
        fixed += [col[j] == new[j] for j in range(n2)]     # the empty slots: zero by wellformedness
    fixed += [f == v for f, v in vals.items()]
    with _Scope(sv.s):
        sv.s.add(fixed)
        return sv.s.model() if sv.s.check() == z3.sat else None


def _lifted(pb: Problem, sv: _Solver, small, atoms: list):
    """Members of the class, searched at the small bound (``small``: its
    problem, solver and this class's predicate there) on every side of
    every atom that has one there, and lifted to this bound: the point's
    pre-state and request (slots beyond the small bound empty) fixed in
    this bound's solver, whose check confirms the point is a member here
    and gives this encoding's outcome for it.  Points that add no side here
    are skipped (atoms are functions of the inputs: a point's sides are
    read off the small model).  None: no member at the small bound; []:
    none of them is a member here (not expected: then the search here)."""
    pbk, svk, pred = small
    with _Scope(svk.s):
        svk.s.add(pred)
        svk.s.add(pbk.rep_constraints())
        if svk.s.check() != z3.sat:
            return None
        katoms = pbk.atoms()
        first = svk.s.model()
        found = [first] + _sample(svk.s, katoms, [{v} for v in _atoms_values(first, katoms)])
    covered = [set() for _ in atoms]
    out = []
    for mk in found:
        if out and all(v in covered[j] for j, v in enumerate(_atoms_values(mk, atoms))):
            continue
        with _Scope(sv.s):
            sv.s.add([x == mk.eval(x, model_completion=True)
                      for x in _inputs(pb, mk.eval(pbk.pre.n).as_long())])
            m = sv.s.model() if sv.s.check() == z3.sat else None
        if m is not None and (_cover(m, atoms, covered) or not out):
            out.append(m)
    return out


def _inputs(pb: Problem, n: int) -> list:
    """The variables a member with ``n`` slots is given by: the pre-state's
    count, revision, flags and used slots (the empty ones are zero by
    wellformedness) and the request's fields (its outcome, errno, rule and
    answer, follows from them)."""
    p, r = pb.pre, pb.req
    return ([p.n, p.rev, p.present, p.clsact, p.bundle] + [x for col in p.columns() for x in col[:n]]
            + [getattr(r, f) for f in type(r).BOOLS + type(r).INTS])


def _minimize(pb, sv, m, atoms, step_fn, v, setup, req, run):
    """Smallest hook (fewest slots, then small ids) in the same class that
    still shows the divergence: first any member, then one on the same side
    of every atom except the size atoms."""
    vals = _atoms_values(m, atoms)
    keep = [a if x else z3.Not(a) for (nm, a), x in zip(atoms, vals) if not nm.startswith("n=")]
    r = pb.req
    small = [x <= pb.pre.n + 4 for x in [r.prog, r.old, r.owner, r.rel_prog, r.rel_link, r.cur]
             + pb.pre.prog + pb.pre.link]
    for n0 in range(0, v["n"] + 1):
        for extra in ([], keep):
            sv.s.push()
            sv.s.add(pb.rep_constraints())
            sv.s.add(extra + small)
            sv.s.add(pb.pre.n == n0)
            res = sv.s.check()
            m2 = sv.s.model() if res == z3.sat else None
            sv.s.pop()
            if m2 is None:
                continue
            v2 = _values(pb, m2)
            s2, r2 = build_steps(pb.op, v2, pb.E)
            run2 = run_executor(step_fn, s2, r2, v2)
            if not run2.setup_ok or _model_side(pb.op, v2) != _exec_side(run2):
                return v2, s2, r2, run2
    return v, setup, req, run


def _coverage(pb: Problem, timeout_s, sv: _Solver = None) -> Report:
    sv = sv or op_solver(pb, timeout_s)
    sv.arm(timeout_s)
    with sv.scope():
        return _coverage_in_scope(pb, sv)


def _coverage_in_scope(pb: Problem, sv: _Solver) -> Report:
    t0 = time.perf_counter()
    fires = list(pb.chain.fires.values())
    sv.s.add(z3.Not(z3.PbEq([(f, 1) for f in fires], 1)))
    res = sv.s.check()
    dt = time.perf_counter() - t0
    if res == z3.unsat:
        rules_core = sv.core_rules()
        return Report("coverage", pb.op, "exactly-one-rule", "proved", pb.n_max, time.perf_counter() - t0,
                      detail=f"{len(fires)} rules", rules=rules_core)
    if res == z3.unknown:
        return Report("coverage", pb.op, "exactly-one-rule", "unknown", pb.n_max, dt, sv.s.reason_unknown())
    m = sv.s.model()
    fired = [r for r, f in pb.chain.fires.items() if z3.is_true(m.eval(f, model_completion=True))]
    return Report("coverage", pb.op, "exactly-one-rule", "violated", pb.n_max, dt,
                  detail=f"rules fired: {fired or 'none'}")


def _search_bound_classes(pb: Problem, search_bound: Optional[int], timeout_s) -> dict:
    """Class name -> (problem, solver, predicate) of ``pb``'s op at the
    search bound (verify_equivalence's ``search_bound``), or {} when the
    representatives are searched at ``pb``'s own bound."""
    k = search_bound if search_bound is not None else (SEARCH_BOUND if pb.n_max > 2 * SEARCH_BOUND else 0)
    if not 0 < k < pb.n_max:
        return {}
    pbk = Problem(pb.op, k, pb.E)
    svk = op_solver(pbk, timeout_s)
    return {name: (pbk, svk, pred) for name, _, pred in pbk.classes()}


def sides_sampled(op: str, n_max: int, dialect: str = "linux", sizes=(),
                  search_bound: Optional[int] = None) -> dict:
    """Class name -> the (atom, side) pairs its representatives lie on, as
    verify_equivalence picks them (``search_bound`` 0: every side searched
    at n_max): the tests compare the lifted search with the full one."""
    pb = Problem(op, n_max, encoding(dialect), sizes)
    sv = op_solver(pb, None)
    small = _search_bound_classes(pb, search_bound, None)
    out = {}
    for name, _, pred in pb.classes():
        with sv.scope():
            sv.s.add(pred)
            atoms = pb.atoms()
            models, _ = _representatives(pb, sv, atoms, small.get(name))
        out[name] = {(a[0], v) for m in models or () for a, v in zip(atoms, _atoms_values(m, atoms))}
    return out


# Representatives of a large bound's classes are searched at this bound
# first and lifted (``_lifted``); only what it cannot reach is searched at
# the large bound, where each query costs ~30x more (N = 63: 128 slot terms).
SEARCH_BOUND = 4


def verify_equivalence(n_max: int, timeout_s: Optional[float] = None, *, step_fn: Callable = None,
                       ops=None, sample: str = "atoms", rules=None, dialect: str = "linux",
                       shared: bool = True, sizes=(), search_bound: Optional[int] = None) -> list[Report]:
    """Prove ``dialect``'s encoding and executor agree for every hook state
    with <= n_max slots and every request of ``ops`` (default: all).
    ``step_fn`` is the executor's step function (default: the dialect's
    unit's); tests pass a planted-bug copy.  ``sample`` = "atoms"
    (boundary-covering representatives) or "one"; ``rules``: only the
    classes of these rules (coverage is always checked).  ``shared``: one
    solver per op, each class in a push/pop scope of it (False: a fresh
    solver per class, the old path, kept as bench_verify.py's baseline).
    ``sizes``: hook sizes below n_max every class is also sampled at (a
    representative with exactly that many slots, where the class has one):
    ``mprog verify`` proves the largest bound only, which covers every
    smaller one, and samples the executor at the sizes the smaller bounds'
    runs had at their n = N boundary.  ``search_bound``: representatives
    are searched at this bound and lifted to n_max (``_lifted``; the size
    atoms' sides by padding and search at n_max); None: SEARCH_BOUND when
    n_max is over twice it; 0: every side searched at n_max."""
    if (own := own_proofs(dialect)) is not None:
        if getattr(own, "EQUIVALENCE_BY_EXHAUSTION", False):
            raise ValueError(f"{dialect}'s equivalence is proved by exhaustion: verify_exhaustive()")
        return own.verify_equivalence(n_max, timeout_s, step_fn=step_fn, ops=ops, rules=rules)
    if not 0 <= n_max <= MPROG_MAX:
        raise ValueError(f"n_max must be from 0 to {MPROG_MAX} (the kernel maximum), not {n_max}")
    E = encoding(dialect)
    step_fn = step_fn or executor_step(dialect)
    reports = []
    for op in ops or E.OPS:
        pb = Problem(op, n_max, E, sizes)
        sv = op_solver(pb, timeout_s) if shared else None
        reports.append(_coverage(pb, timeout_s, sv))
        small = _search_bound_classes(pb, search_bound, timeout_s) if sample == "atoms" and shared else {}
        for name, rule, pred in pb.classes():
            if rules is not None and rule not in rules:
                continue
            reports.append(_check_class(pb, name, rule, pred, step_fn, timeout_s, sample, sv, small.get(name)))
    return reports


# --------------------------------------------------------------------------
# Exhaustive mode: every concrete (hook state, request) of a small alphabet

from itertools import permutations, product   # noqa: E402


from ..exec.world import Device, Hook, Link, Prog   # noqa: E402

_SETS5 = tuple(tuple(n for n, b in zip(("REPLACE", "BEFORE", "AFTER", "ID", "LINK"), bits) if b)
               for bits in product((0, 1), repeat=5))

ALPHABET = {
    # objects: p1..p3 sched_cls with open fds (p1, p2 may sit on the hook),
    # p5 xdp, p6 sched_cls with a closed fd; l1, l2 exist while they own a
    # slot; l3 a defunct link holding p3; l9 never created; raw fd 7 not open.
    "hook_progs": (1, 2), "owners": (0, 1, 2), "revs": (1, 2),
    "progs": ("p1", "p2", "p3"), "prelude_progs": ("p5", "p6", Raw(0), "l3"),
    "relatives": (None, "p1", "p2", "p3", "p6", "l1", "l3", "l9", Raw(7)),
    "replaces": ("p1", "p2", "p3", "p5", "p6", None, "l3"),
    "flag_sets": _SETS5 + (("ALLOW_MULTI",), ("ALLOW_MULTI", "AFTER")),
    "pins": None,            # the (FIRST, LAST) bits of a dialect whose slots store them
}


# A smaller alphabet for N >= 3 (rfc: N >= 1).
LEAN = dict(ALPHABET, hook_progs=(1, 2), owners=(0, 1), progs=("p1", "p3"),
            relatives=(None, "p1", "p3", "l1", "l9", Raw(7)), replaces=("p1", "p3", "p6", None),
            flag_sets=ALPHABET["flag_sets"][:-1])

# Hooks of three slots need a third program on the hook (LEAN's two fill at
# most two slots): p3 joins the hook's programs and p4, never on the hook,
# is the request's new program.
LEAN3 = dict(LEAN, hook_progs=(1, 2, 3), progs=("p1", "p4"))

# rfc: FIRST/LAST with every REPLACE/BEFORE/AFTER combination, the ID/LINK
# forms beside them, slots with every reachable pin; one object per request
# (v2's union: the relative, also for REPLACE), so no replace field.
_PINSETS = ((), ("FIRST",), ("LAST",), ("FIRST", "LAST"))
RFC_ALPHABET = dict(
    ALPHABET, pins=_rfc.PIN_BITS, replaces=(None,),
    relatives=(None, "p1", "p2", "p3", "p6", "l1", "l3", "l9", Raw(7)),
    flag_sets=tuple(canonical_flags(base + pins) for pins in _PINSETS
                    for base in ((), ("REPLACE",), ("BEFORE",), ("AFTER",), ("BEFORE", "AFTER"),
                                 ("REPLACE", "BEFORE"), ("REPLACE", "AFTER")))
    + (("ID",), ("LINK",), ("BEFORE", "ID"), ("AFTER", "LINK"), ("REPLACE", "ID"), ("REPLACE", "LINK"),
       ("BEFORE", "FIRST", "LINK"), ("AFTER", "LAST", "ID"), ("ALLOW_MULTI",), ("ALLOW_MULTI", "FIRST")))
RFC_LEAN = dict(RFC_ALPHABET, owners=(0, 1), progs=("p1", "p3"),
                relatives=(None, "p1", "p3", "l1", "l9", Raw(7)))


def _states(n_max: int, a=ALPHABET):
    """Every hook state: (slots, rev, (present, clsact, bundle)); a slot is
    (prog, owner) or, with pins, (prog, owner, stored word) with every
    reachable pin (FIRST at the head, LAST at the tail)."""
    yield (), 1, (False, False, False)
    yield (), 1, (True, False, False)
    for rev in a["revs"]:
        yield (), rev, (True, True, True)
    pinsets = ((0, 0), (1, 0), (0, 1), (1, 1)) if a["pins"] else ((0, 0),)
    for n in range(1, n_max + 1):
        for progs in permutations(a["hook_progs"], n):
            for owners in product(a["owners"], repeat=n):
                used = [o for o in owners if o]
                if len(used) != len(set(used)):
                    continue
                for (f, l), rev, clsact in product(pinsets, a["revs"], (True, False)):
                    slots = tuple(zip(progs, owners))
                    if a["pins"]:
                        words = [0] * n
                        words[0] |= f * a["pins"][0]
                        words[-1] |= l * a["pins"][1]
                        slots = tuple(s + (w,) for s, w in zip(slots, words))
                    yield slots, rev, (True, clsact, True)


def _world(slots, rev, flags) -> World:
    present, clsact, bundle = flags
    progs = {f"p{i}": Prog() for i in (1, 2, 3, 4)}
    progs["p5"] = Prog(type="xdp")
    progs["p6"] = Prog(fd_open=False)
    links = {f"l{s[1]}": Link(f"p{s[0]}", DEV, DIR, flags=s[2] if len(s) > 2 else 0) for s in slots if s[1]}
    links["l3"] = Link("p3", None, DIR)
    hook = Hook(tuple((f"p{s[0]}", f"l{s[1]}" if s[1] else None) + tuple(s[2:]) for s in slots), rev) \
        if bundle else None
    dev = Device(present, clsact, {DIR: hook} if hook is not None else {}) if present else Device(False)
    return World(progs, links, {DEV: dev})


def _requests(op: str, rev: int, a=ALPHABET):
    hook = dict(dev=DEV, dir=DIR)
    exps = (0, rev, rev + 1)
    if op in ("attach", "detach", "link_create"):
        for fl, rel, exp in product(a["flag_sets"], a["relatives"], exps):
            reps = a["replaces"] if (op == "attach" and "REPLACE" in fl) else (None,)
            progs = a["progs"] + ((None,) if op == "detach" else ())
            for prog, repl in product(progs, reps):
                extra = dict(replace=repl) if op == "attach" else (dict(link="l7") if op == "link_create" else {})
                yield Step(op, prog=prog, flags=fl, relative=rel, expected_revision=exp, **hook, **extra)
        for prog, fl in product(a["prelude_progs"], ((), ("REPLACE",), ("ALLOW_MULTI",))):
            extra = dict(link="l7") if op == "link_create" else {}
            if op == "attach":
                extra = dict(relative="p1") if a["pins"] else dict(replace="p1")
            yield Step(op, prog=prog, flags=fl, **hook, **extra)
    elif op in ("link_detach", "close", "link_update"):
        targets = ("l1", "l2", "l3", "l9", Raw(0), Raw(7), "p1", "p6")
        for t in targets:
            if op == "link_detach":
                yield Step(op, link=t)
            elif op == "close":
                yield Step(op, prog=t) if isinstance(t, str) and t.startswith("p") else Step(op, link=t)
            else:
                flag_sets = ((), ("REPLACE",), ("ALLOW_MULTI",), ("BEFORE",)) + ((("FIRST",),) if a["pins"] else ())
                for prog, fl, old in product(("p1", "p2", "p3", "p5", "p6", Raw(0), "l3"), flag_sets,
                                             (None, "p1", "p2", "p3", "p6", "l3")):
                    yield Step(op, link=t, prog=prog, flags=fl, old_prog=old)
    elif op == "query":
        for count, qf, af in product((None, 0, 1, 2, 3), (0, 1, 2, 3), (0, 1)):
            yield Step(op, count=count, query_flags=qf, attach_flags=af, **hook)
    elif op == "load":
        yield Step(op, prog="p8")
    else:
        yield Step(op, dev=DEV)


def _fd(w: World, ref) -> tuple:
    """(FD kind, id, object) of an fd argument (objects.md)."""
    if ref is None or ref == Raw(0):
        return FD_NONE, 0, None
    if isinstance(ref, Raw):
        return FD_CLOSED, 0, None
    p = w.progs.get(ref)
    if p is not None:
        return (FD_PROG, int(ref[1:]), p) if p.fd_open else (FD_CLOSED, 0, None)
    l = w.links.get(ref)
    if l is not None and l.fd_open:
        return FD_LINK, int(ref[1:]), l
    return FD_CLOSED, 0, None


def _alive(w: World, name: str) -> bool:
    """objects.md: fd open, a prog-API hook entry, or an open link holds it."""
    p = w.progs[name]
    held = any(l.prog == name for l in w.links.values()) or any(
        s[0] == name and s[1] is None for d in w.devs.values() for h in d.hooks.values() for s in h.slots)
    return p.fd_open or held


def _abstract(op: str, w: World, s: Step, E=_linux) -> dict:
    """The encoding's request inputs for a concrete request (written from
    spec/linux/objects.md and the dialect's flag table, independent of
    checker.exec)."""
    req = E.Req
    v = {f: False for f in req.BOOLS}
    v.update({f: 0 for f in req.INTS})
    v["rel_type_ok"] = True
    table = E.FLAG_TABLE
    bits = table.word(s.flags)
    for f, b in (("replace", "REPLACE"), ("before", "BEFORE"), ("after", "AFTER"), ("id", "ID"),
                 ("link_flag", "LINK"), ("first", "FIRST"), ("last", "LAST")):
        if f in v:
            v[f] = bool(bits & table[b])
    v["stray"] = bool(bits & ~E.MASK)
    v["exp"] = s.expected_revision
    if op in ("attach", "link_create", "detach"):
        kind, pid, obj = _fd(w, s.prog)
        v.update(prog_fd=kind, prog=pid if kind == FD_PROG else 0,
                 prog_cls=obj.type == "sched_cls" if kind == FD_PROG else True)
        union = E.PIN_BITS is not None          # rfc: the replaced program is the relative object
        if op == "attach" and v["replace"] and not union:
            kind, oid, obj = _fd(w, s.replace)
            v.update(repl_fd=kind, old=oid if kind == FD_PROG else 0,
                     repl_cls=obj.type == "sched_cls" if kind == FD_PROG else True)
        if op == "link_create":
            v["owner"] = int(s.link[1:])
        ptype = w.progs[s.prog].type if v["prog_fd"] == FD_PROG else None
        ref = s.replace if (union and s.replace is not None) else s.relative
        if ref is None or ref == Raw(0):
            pass
        elif isinstance(ref, Raw):
            v["rel_kind"] = REL_RAW
        elif ref.startswith("p"):
            p = w.progs[ref]
            v.update(rel_kind=REL_PROG, rel_prog=int(ref[1:]), rel_fd_open=p.fd_open, rel_alive=_alive(w, ref),
                     rel_type_ok=ptype is None or p.type == ptype)
        else:
            l = w.links.get(ref)
            v.update(rel_kind=REL_LINK, rel_link=int(ref[1:]), rel_fd_open=l is not None,
                     rel_prog=int(l.prog[1:]) if l else 0)
    elif op in ("link_detach", "close", "link_update"):
        kind, lid, obj = _fd(w, s.link if s.link is not None else s.prog)
        v["link_fd"] = kind
        if kind == FD_LINK:
            v.update(owner=lid, defunct=obj.dev is None)
            if op == "link_update":
                v["cur"] = int(obj.prog[1:])
            else:
                v["prog"] = int(obj.prog[1:])
                if "own_first" in v and obj.dev is not None:
                    v.update(own_first=bool(obj.flags & table["FIRST"]), own_last=bool(obj.flags & table["LAST"]))
        if op == "link_update":
            v["stray"] = bool(bits & ~table["REPLACE"]) and not (bits & (table["BEFORE"] | table["AFTER"]))
            kind, pid, obj = _fd(w, s.prog)
            v.update(prog_fd=kind, prog=pid if kind == FD_PROG else 0)
            cur = w.links[f"l{v['owner']}"].prog if v["link_fd"] == FD_LINK else None
            v["type_ok"] = not (kind == FD_PROG and cur and obj.type != w.progs[cur].type)
            kind, oid, _ = _fd(w, s.old_prog)
            v.update(old_fd=kind, old=oid if kind == FD_PROG else 0)
            v["exp"] = 0
    elif op == "query":
        v.update(qf_unknown=bool(s.query_flags & ~1), qf_effective=bool(s.query_flags & 1),
                 attach_flags=bool(s.attach_flags), has_count=s.count is not None, qcap=s.count or 0)
    return v


def _slot_eqs(is_, h, slots, size: int, E) -> list:
    """``h``'s slots are exactly ``slots`` (ids, with the stored word in a
    dialect that pins)."""
    cs = [is_(h.prog[j], slots[j][0] if j < len(slots) else 0) for j in range(size)]
    cs += [is_(h.link[j], slots[j][1] if j < len(slots) else 0) for j in range(size)]
    if h.pins:
        first, last = E.PIN_BITS
        cs += [is_(h.fpin[j], bool(j < len(slots) and slots[j][2] & first)) for j in range(size)]
        cs += [is_(h.lpin[j], bool(j < len(slots) and slots[j][2] & last)) for j in range(size)]
    return cs


def _exhaustive_op(op: str, n_max: int, step_fn, timeout_s, a=ALPHABET, E=_linux, batch: bool = True) -> Report:
    """Every (state, request) of the alphabet for ``op``.  Per hook state,
    the executor runs every request first; the cases are grouped by the
    executor's outcome, and z3 answers per group, in one check, "is there a
    request of this group whose encoded outcome is not the group's" (the
    group's requests as a disjunction of their input values; unsat proves
    every case of the group).  Non-vacuity: per group, the encoding must
    have the group's outcome for its first request.  ``batch`` False: one
    check per distinct case (the old path; bench_verify.py's baseline)."""
    t0 = time.perf_counter()
    size = n_max + 1
    pre, post, r = E.state(0, size), E.state(1, size), E.Req(0)
    ch = E.encode(op, 0, pre, post, r)
    sv = _Solver(timeout_s)
    sv.s.add([t.expr for t in ch.tracked])
    eq = {}                                   # (var, value) -> z3 term, built once

    def is_(var, val):
        key = (var.get_id(), val)
        t = eq.get(key)
        if t is None:
            t = eq[key] = (var == val) if not isinstance(val, bool) else (var if val else z3.Not(var))
        return t

    fields = [(f, getattr(r, f)) for f in sorted(type(r).BOOLS + type(r).INTS)]
    by_field = [{} for _ in fields]           # field index -> value -> z3 term

    def fis(k, val):
        t = by_field[k].get(val)
        if t is None:
            t = by_field[k][val] = is_(fields[k][1], val)
        return t
    cases = states = queries = 0
    outcomes = set()
    for slots, rev, flags in _states(n_max, a):
        states += 1
        w = _world(slots, rev, flags)
        # executor outcome -> (want, {inputs: first request})
        groups: dict = {}
        for s in _requests(op, rev, a):
            if op == "link_update" and s.link in w.links and w.links[s.link].dev is not None \
                    and s.link not in {f"l{x[1]}" for x in slots if x[1]}:
                continue
            cases += 1
            v = _abstract(op, w, s, E)
            out, w2 = step_fn(w, s)
            ps, prev, pflags = _hook(w2)
            q = (out.query.count, out.query.revision, len(out.query.progs)) if out.query else None
            if q is not None:
                # the encoding answers the pre-state's first entries: the executor must too
                shown = _ids(zip(out.query.progs, out.query.links, *((out.query.flags,) if pre.pins else ())))
                if shown != tuple(slots[:q[2]]):
                    return _exh_violation(op, n_max, t0, slots, rev, flags, s, out, ps, prev, pflags, cases)
            key = (out.errno, out.rule, ps, prev, pflags, q)
            g = groups.get(key)
            if g is None:
                g = groups[key] = ({}, out, ps, prev, pflags, q)
            # The z3 question depends only on (inputs, executor outcome):
            # identical inputs in one group are the same case.
            g[0].setdefault(tuple(v[f] for f, _ in fields), s)
        sv.arm(timeout_s)
        with sv.scope():
            sv.s.add([is_(pre.n, len(slots)), is_(pre.rev, rev), is_(pre.present, flags[0]),
                      is_(pre.clsact, flags[1]), is_(pre.bundle, flags[2])] + _slot_eqs(is_, pre, slots, size, E))
            for inputs, out, ps, prev, pflags, q in groups.values():
                want = [r.errno == core.errno_code(out.errno), r.rule == E.rule_code(out.rule),
                        post.n == len(ps), post.rev == prev, post.present == pflags[0],
                        post.clsact == pflags[1], post.bundle == pflags[2]] + _slot_eqs(is_, post, ps, size, E)
                if q is not None:
                    want += [r.q_count == q[0], r.q_rev == q[1], r.q_shown == q[2]]
                rows = list(inputs)
                fail = lambda row: _exh_violation(op, n_max, t0, slots, rev, flags, inputs[row], out,   # noqa: E731
                                                  ps, prev, pflags, cases)
                # non-vacuity: the executor's outcome is a model of the first case
                queries += 1
                outcomes.add((out.errno, out.rule))
                with sv.scope():
                    sv.s.add([fis(k, val) for k, val in enumerate(rows[0])] + want)
                    res = sv.s.check()
                if res != z3.sat:
                    return _exh_unknown(op, n_max, t0, cases, sv) if res == z3.unknown else fail(rows[0])
                for chunk in ([rows] if batch else [[row] for row in rows]):
                    queries += 1
                    with sv.scope():
                        # fields equal in every case of the chunk are plain
                        # facts; the disjunction names only the others
                        varying = [k for k in range(len(fields)) if len({row[k] for row in chunk}) > 1]
                        sv.s.add([fis(k, chunk[0][k]) for k in range(len(fields)) if k not in varying])
                        if varying:
                            sv.s.add(_or([_and([fis(k, row[k]) for k in varying]) for row in chunk]))
                        sv.s.add(z3.Not(z3.And(want)))
                        res = sv.s.check()
                        if res == z3.sat:
                            m = sv.s.model()
                            bad = next(row for row in chunk if all(
                                z3.is_true(m.eval(fis(k, row[k]), model_completion=True))
                                for k in varying))
                    if res == z3.unknown:
                        return _exh_unknown(op, n_max, t0, cases, sv)
                    if res == z3.sat:
                        return fail(bad)
    return Report("exhaustive", op, "all-cases", "proved", n_max, time.perf_counter() - t0,
                  f"{cases} cases over {states} hook states, {queries} z3 queries, "
                  f"{len(outcomes)} outcomes",
                  rules=tuple(sorted(r for _, r in outcomes)), reps=cases)


def _fast(mk, terms: list) -> z3.BoolRef:
    """z3.And / z3.Or over Boolean terms in one API call: z3's wrappers
    coerce and sort-check every argument, which cost more than the solving
    in the exhaustive mode's tables."""
    arr, n = _to_ast_array(terms)
    ctx = terms[0].ctx
    return z3.BoolRef(mk(ctx.ref(), n, arr), ctx)


def _and(terms: list) -> z3.BoolRef:
    return _fast(z3.z3core.Z3_mk_and, terms) if terms else z3.BoolVal(True)


def _or(terms: list) -> z3.BoolRef:
    return _fast(z3.z3core.Z3_mk_or, terms) if terms else z3.BoolVal(False)


def _exh_unknown(op, n_max, t0, cases, sv) -> Report:
    return Report("exhaustive", op, "all-cases", "unknown", n_max, time.perf_counter() - t0,
                  f"after {cases} cases: {sv.s.reason_unknown()}", reps=cases)


def _exh_violation(op, n_max, t0, slots, rev, flags, s, out, ps, prev, pflags, cases) -> Report:
    detail = (f"state {slots} rev {rev} present/clsact/bundle {flags}, request {s}: executor "
              f"{out.errno} {out.rule} post {ps} rev {prev} {pflags} disagrees with the encoding")
    return Report("exhaustive", op, "all-cases", "violated", n_max, time.perf_counter() - t0, detail,
                  reps=cases)


def default_alphabet(dialect: str, n_max: int) -> dict:
    """The default alphabet of a dialect: the full one for hooks of up to
    two slots (linux; rfc: empty hooks), the lean one beyond.  Batched
    (one z3 check per outcome group), linux's full alphabet at k = 2 is
    1.5 million cases in ~4 min on a loaded 2-core machine."""
    if dialect == "rfc":
        return RFC_ALPHABET if n_max == 0 else RFC_LEAN
    return ALPHABET if n_max <= 2 else LEAN3


def verify_exhaustive(n_max: int, timeout_s: Optional[float] = None, *, step_fn: Callable = None,
                      ops=None, alphabet: dict = None, dialect: str = "linux", batch: bool = True) -> list[Report]:
    """For EVERY hook state with <= n_max slots over the dialect's alphabet
    and EVERY request of it, run the executor and let z3 check that the
    encoding's outcome for exactly those inputs is the executor's (errno,
    rule, post-state with stored pins, revision, device/clsact/bundle, query
    answer)."""
    if (own := own_proofs(dialect)) is not None:
        return own.verify_exhaustive(n_max, timeout_s, step_fn=step_fn, ops=ops)
    E = encoding(dialect)
    step_fn = step_fn or executor_step(dialect)
    a = alphabet or default_alphabet(dialect, n_max)
    return [_exhaustive_op(op, n_max, step_fn, timeout_s, a, E, batch) for op in ops or E.OPS]
