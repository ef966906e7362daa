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
4. **Template proof.**  From the executor's outcome on the representatives we
   read the outcome *shape* (errno, rule, and the post-state as a function of
   the pre-state: unchanged, insert/replace/remove at an index term such as
   ``ir+1``), and z3 proves that for ALL states of the class (all slot
   contents, counts <= N, revisions, indexes) the encoding's outcome is that
   shape.  The executor's own uniformity inside a class is what the
   representatives test; it is not lifted symbolically.

A disagreement is reported with a minimal (fewest slots) runnable script.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

import z3

from .. import executor as _executor
from ..constants import MPROG_MAX
from ..model import Expect, Raw, Script, Step
from ..script import canonical_flags, render_script
from ..world import World
from . import encode as E
from .encode import REL_LINK, REL_NONE, REL_PROG, REL_RAW

DEV, DEV2, DIR = "veth0", "veth1", "ingress"


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

    def __init__(self, timeout_s: Optional[float]):
        self.s = z3.Solver()
        if timeout_s:
            self.s.set("timeout", max(1, int(timeout_s * 1000)))
        self.track: dict[str, z3.BoolRef] = {}

    def add_tracked(self, tracked: list) -> None:
        for i, t in enumerate(tracked):
            p = z3.Bool(f"{t.label}#{i}")
            self.track[str(p)] = t.label
            self.s.assert_and_track(t.expr, p)

    def core_rules(self) -> tuple:
        return tuple(sorted({E.names.rule_of_label(self.track[str(c)]) for c in self.s.unsat_core()
                             if str(c) in self.track}))


# --------------------------------------------------------------------------
# Problem set-up per op

class Problem:
    def __init__(self, op: str, n_max: int):
        self.op, self.n_max = op, n_max
        self.size = n_max + 1
        self.pre, self.post, self.req = E.State(0, self.size), E.State(1, self.size), E.Req(0)
        self.chain = E.encode(op, 0, self.pre, self.post, self.req)
        self.domain = E.domain(op, self.pre, self.req, n_max)
        r = self.req
        self.has_rel = z3.Or(r.link_flag, r.id, r.rel_kind != REL_NONE)

    # Classes: (name, rule, predicate)
    def classes(self) -> list:
        r = self.req
        shapes = {
            "attach": [("REPLACE", r.replace), ("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel)],
            "link_create": [("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel)],
            "detach": [("prog", r.prog != 0), ("BEFORE", r.before), ("AFTER", r.after), ("rel", self.has_rel),
                       # BEFORE the first / AFTER the last entry: the victim is R itself
                       ("edge", z3.Or(z3.And(r.before, self.chain.terms.get("ir", -2) == 0),
                                      z3.And(r.after, self.chain.terms.get("ir", -2) == self.pre.n - 1)))],
            "query": [("count0", self.chain.terms.get("cap", z3.IntVal(0)) == 0)],
        }.get(self.op, [])
        out = []
        for rule, f in self.chain.fires.items():
            if E.LINUX[rule] != "ok" or rule == "link_update/same-prog":
                out.append((rule, rule, f))
                continue
            for vals in itertools.product((True, False), repeat=len(shapes)):
                tag = ",".join(n if v else "!" + n for (n, _), v in zip(shapes, vals))
                pred = z3.And([f] + [e if v else z3.Not(e) for (_, e), v in zip(shapes, vals)])
                out.append((f"{rule}[{tag}]" if tag else rule, rule, pred))
        return out

    def atoms(self) -> list:
        """Boundary conditions each class is sampled on both sides of."""
        p, r, t = self.pre, self.req, self.chain.terms
        a = [("n=0", p.n == 0), ("n=1", p.n == 1), ("n=N", p.n == self.n_max),
             ("n=62", p.n == MPROG_MAX - 1), ("exp=0", r.exp == 0), ("exp=rev", r.exp == p.rev),
             ("link[0]", p.link[0] != 0), ("link[n-1]", E.sel(p.link, p.n - 1) != 0)]
        if self.op in ("attach", "link_create", "detach"):
            a += [("REPLACE", r.replace), ("BEFORE", r.before), ("AFTER", r.after), ("ID", r.id),
                  ("LINK", r.link_flag), ("stray", r.stray), ("fd_open", r.rel_fd_open),
                  ("alive", r.rel_alive), ("type_ok", r.rel_type_ok)]
            a += [(f"rel={v}", r.rel_kind == k) for k, v in E.REL_KINDS.items()]
            ir = t["ir"]
            a += [("ir=0", ir == 0), ("ir=n-1", ir == p.n - 1), ("ir=62", ir == MPROG_MAX - 1),
                  ("link[ir]", E.sel(p.link, ir) != 0), ("rel=prog", r.rel_prog == r.prog),
                  ("rel_in_hook", p.member(r.rel_prog))]
            other = t.get("io", t["ip"])
            a += [("x=ir-1", other == ir - 1), ("x=ir+1", other == ir + 1), ("link[x]", E.sel(p.link, other) != 0)]
        if self.op == "link_update":
            a += [("REPLACE", r.replace), ("defunct", r.defunct), ("old=cur", r.old == r.cur),
                  ("type_ok", r.type_ok), ("prog_in_hook", p.member(r.prog))]
        if self.op == "query":
            cap = self.chain.terms["cap"]
            a += [("count_given", r.has_count), ("cap=n", cap == p.n), ("cap<n", cap < p.n)]
        return a

    def rep_constraints(self) -> list:
        """A representative must be buildable by a script from an empty world:
        clsact_add then n attaches gives revision n + 1; small ids, short revs."""
        p, r = self.pre, self.req
        cs = [p.rev == p.n + 1, r.exp <= p.rev + 3]
        for v in [r.prog, r.old, r.owner, r.rel_prog, r.rel_link, r.cur] + p.prog + p.link:
            cs.append(v <= 4 * self.size + 8)
        cs.append(r.qcap <= p.n + 3)
        return cs

    def vocab(self) -> dict:
        """Index terms a template may use."""
        p = self.pre
        v = {"0": z3.IntVal(0), "n": p.n, "n-1": p.n - 1}
        for name, t in self.chain.terms.items():
            v[name] = t
            if name != "cap":
                v[f"{name}-1"], v[f"{name}+1"] = t - 1, t + 1
        return v


# --------------------------------------------------------------------------
# Representatives: z3 model -> values -> script -> executor

def _values(pb: Problem, m: z3.ModelRef) -> dict:
    ev = lambda e: m.eval(e, model_completion=True)   # noqa: E731
    iv = lambda e: ev(e).as_long()                     # noqa: E731
    bv = lambda e: z3.is_true(ev(e))                   # noqa: E731
    p, q, r = pb.pre, pb.post, pb.req
    n, n2 = iv(p.n), iv(q.n)
    vals = {"n": n, "rev": iv(p.rev),
            "slots": tuple((iv(p.prog[j]), iv(p.link[j])) for j in range(n)),
            "post_slots": tuple((iv(q.prog[j]), iv(q.link[j])) for j in range(max(n2, 0))),
            "post_rev": iv(q.rev), "errno": E.ERRNOS[iv(r.errno)], "rule": E.RULE_LIST[iv(r.rule)]}
    for f in ("replace", "before", "after", "id", "link_flag", "stray", "rel_fd_open", "rel_alive",
              "rel_type_ok", "defunct", "type_ok", "qf_unknown", "qf_effective", "attach_flags", "has_count"):
        vals[f] = bv(getattr(r, f))
    for f in ("prog", "owner", "old", "old_kind", "exp", "rel_kind", "rel_prog", "rel_link", "cur",
              "qcap", "q_count", "q_rev", "q_shown"):
        vals[f] = iv(getattr(r, f))
    vals["terms"] = {k: iv(t) for k, t in pb.vocab().items()}
    return vals


def _p(i: int) -> str:
    return f"p{i}"


def _l(i: int) -> str:
    return f"l{i}"


def _flags(v: dict, *, position=True) -> tuple:
    names = [n for n, f in (("REPLACE", "replace"), ("BEFORE", "before"), ("AFTER", "after"),
                            ("ID", "id"), ("LINK", "link_flag")) if v[f]]
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


def build_steps(op: str, v: dict) -> tuple[list, Step]:
    """Setup steps that build the pre-state of ``v`` on veth0 ingress, and the request."""
    ok = Expect("ok")
    setup = [Step("dev_add", dev=DEV, expect=ok), Step("dev_add", dev=DEV2, expect=ok),
             Step("clsact_add", dev=DEV, expect=ok)]
    in_hook = {p for p, _ in v["slots"]}
    progs = {p for p, _ in v["slots"]} | {v["prog"], v["old"], v["cur"]}
    xdp = set()
    if v["rel_kind"] in (REL_PROG, REL_LINK):
        progs.add(v["rel_prog"])
        if v["rel_kind"] == REL_PROG and not v["rel_type_ok"]:
            xdp.add(v["rel_prog"])
    if op == "link_update" and not v["type_ok"]:
        xdp.add(v["prog"])
    progs.discard(0)
    for p in sorted(progs):
        setup.append(Step("load", prog=_p(p), type="xdp" if p in xdp else None, expect=ok))
    for p, l in v["slots"]:
        setup.append(Step("attach", dev=DEV, dir=DIR, prog=_p(p), expect=ok) if l == 0 else
                     Step("link_create", link=_l(l), prog=_p(p), dev=DEV, dir=DIR, expect=ok))
    owners = {l for _, l in v["slots"] if l}
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
    if op == "link_update" and v["defunct"]:
        setup.append(Step("link_create", link=_l(v["owner"]), prog=_p(v["cur"]), dev=DEV2, dir="egress", expect=ok))
        setup.append(Step("link_detach", link=_l(v["owner"]), expect=ok))
    setup += closes
    if not any(st.dev == DEV2 for st in setup[2:]):
        setup.remove(setup[1])            # veth1 only holds objects outside the hook
    hook = dict(dev=DEV, dir=DIR)
    if op in ("attach", "link_create", "detach"):
        common = dict(hook, flags=_flags(v), relative=_relative_ref(v), expected_revision=v["exp"])
        if op == "attach":
            req = Step("attach", prog=_p(v["prog"]), replace=_p(v["old"]) if v["replace"] else None, **common)
        elif op == "link_create":
            req = Step("link_create", link=_l(v["owner"]), prog=_p(v["prog"]), **common)
        else:
            req = Step("detach", prog=_p(v["prog"]) if v["prog"] else None, **common)
    elif op == "link_detach":
        req = Step("link_detach", link=_l(v["owner"]))
    elif op == "close_link":
        req = Step("close", link=_l(v["owner"]))
    elif op == "link_update":
        flags = (("REPLACE",) if v["replace"] else ()) + (("ALLOW_MULTI",) if v["stray"] else ())
        req = Step("link_update", link=_l(v["owner"]), prog=_p(v["prog"]), flags=canonical_flags(flags),
                   old_prog=_p(v["old"]) if v["old_kind"] == REL_PROG else None)
    else:
        req = Step("query", **hook, count=v["qcap"] if v["has_count"] else None,
                   query_flags=(2 if v["qf_unknown"] else 0) | (1 if v["qf_effective"] else 0),
                   attach_flags=1 if v["attach_flags"] else 0)
    return setup, req


def _ids(slots) -> tuple:
    return tuple((int(p[1:]), int(l[1:]) if l else 0) for p, l in slots)


def _hook(w: World):
    d = w.devs.get(DEV)
    h = d.hook(DIR) if d is not None else None
    return ((), 1) if h is None else (_ids(h.slots), h.revision)


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


def run_executor(step_fn: Callable, setup: list, req: Step, v: dict) -> Run:
    w = World()
    for i, s in enumerate(setup):
        out, w = step_fn(w, s)
        if out.errno != "ok":
            return Run(False, f"setup step {i + 1} ({s.op}) returned {out.errno} ({out.rule})")
    pre, pre_rev = _hook(w)
    if (pre, pre_rev) != (v["slots"], v["rev"]):
        return Run(False, f"setup built {pre} rev {pre_rev}, wanted {v['slots']} rev {v['rev']}")
    out, w2 = step_fn(w, req)
    post, post_rev = _hook(w2)
    q = ()
    if out.query is not None:
        qr = out.query
        q = (qr.count, qr.revision, _ids(zip(qr.progs, qr.links)))
    return Run(True, "", out.errno, out.rule, pre, pre_rev, post, post_rev, q)


def _model_side(op: str, v: dict) -> tuple:
    q = ()
    if op == "query" and v["errno"] in ("ok", "ENOSPC"):
        q = (v["q_count"], v["q_rev"], v["slots"][:v["q_shown"]])
    return (v["errno"], v["rule"], v["post_slots"], v["post_rev"], q)


def _exec_side(run: Run) -> tuple:
    return (run.errno, run.rule, run.post, run.post_rev, run.query)


def _shape(op: str, run: Run, v: dict):
    """The executor's outcome as (kind, concrete index) on this representative."""
    pre, post = list(run.pre), list(run.post)
    if op == "query" and run.query:
        return ("query", len(run.query[2]))
    if pre == post and run.pre_rev == run.post_rev:
        return ("same", None)
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


def _effect(pb: Problem, kind: str, term):
    p, q, r = pb.pre, pb.post, pb.req
    if kind == "same":
        return E.same(p, q)
    if kind == "insert":
        owner = r.owner if pb.op == "link_create" else z3.IntVal(0)
        return E.insert_at(p, q, term, r.prog, owner)
    if kind == "replace":
        return E.replace_at(p, q, term, r.prog, E.sel(p.link, term))
    if kind == "remove":
        return E.remove_at(p, q, term)
    if kind == "query":
        return z3.And(E.same(p, q), r.q_count == p.n, r.q_rev == p.rev, r.q_shown == term)
    raise AssertionError(kind)


def render_counterexample(op: str, setup: list, req: Step, v: dict, title: str, detail: str) -> str:
    """The representative as a script whose expectations are the encoding's
    (spec) outcome: replayed on a diverging executor, an expectation fails."""
    exp = Expect(v["errno"])
    if op == "query" and v["errno"] in ("ok", "ENOSPC"):
        shown = v["slots"][:v["q_shown"]]
        exp = Expect(v["errno"], v["q_count"], v["q_rev"], tuple(_p(p) for p, _ in shown),
                     tuple(_l(l) if l else None for _, l in shown))
    post = v["post_slots"]
    check = Step("query", dev=DEV, dir=DIR, expect=Expect(
        "ok", len(post), v["post_rev"], tuple(_p(p) for p, _ in post),
        tuple(_l(l) if l else None for _, l in post)))
    steps = tuple(setup) + (replace(req, expect=exp), check)
    return render_script(Script(steps, name=title, description=detail))


# --------------------------------------------------------------------------
# The check

def _atoms_values(m: z3.ModelRef, atoms: list) -> tuple:
    return tuple(z3.is_true(m.eval(e, model_completion=True)) for _, e in atoms)


def _check_class(pb: Problem, name: str, rule: str, pred, step_fn, timeout_s, sample: str) -> Report:
    t0 = time.perf_counter()
    sv = _Solver(timeout_s)
    sv.add_tracked(pb.chain.tracked)
    sv.s.add(pb.domain)
    sv.s.add(pred)
    rep = lambda status, **kw: Report("equivalence", pb.op, name, status, pb.n_max,  # noqa: E731
                                      time.perf_counter() - t0, **kw)
    # Representatives
    atoms = pb.atoms() if sample == "atoms" else []
    sv.s.push()
    sv.s.add(pb.rep_constraints())
    first = sv.s.check()
    if first == z3.unknown:
        return rep("unknown", detail=f"representative search: {sv.s.reason_unknown()}")
    if first == z3.unsat:
        sv.s.pop()
        # No buildable member: is the class empty, or only our build constraints exclude it?
        res = sv.s.check()
        if res == z3.unsat:
            return rep("vacuous", detail="no state with <= N slots reaches this class")
        if res == z3.unknown:
            return rep("unknown", detail=sv.s.reason_unknown())
        return rep("unproved", detail="class has members but none buildable by a script")
    models = [sv.s.model()]
    seen = {_atoms_values(models[0], atoms)}
    covered = [set() for _ in atoms]
    for i, val in enumerate(seen.pop()):
        covered[i].add(val)
    for i, (_, a) in enumerate(atoms):
        for want in (True, False):
            if want in covered[i]:
                continue
            sv.s.push()
            sv.s.add(a if want else z3.Not(a))
            if sv.s.check() == z3.sat:
                m = sv.s.model()
                models.append(m)
                for j, val in enumerate(_atoms_values(m, atoms)):
                    covered[j].add(val)
            sv.s.pop()
    sv.s.pop()
    # Differential run of each representative
    shapes = []
    for m in models:
        v = _values(pb, m)
        setup, req = build_steps(pb.op, v)
        run = run_executor(step_fn, setup, req, v)
        if not run.setup_ok or _model_side(pb.op, v) != _exec_side(run):
            v, setup, req, run = _minimize(pb, sv, m, atoms, step_fn, v, setup, req, run)
            what = (run.setup_error if not run.setup_ok else
                    f"spec {_model_side(pb.op, v)[:2]} post {v['post_slots']} rev {v['post_rev']}"
                    f" <--spec-vs-executor--> executor {(run.errno, run.rule)} post {run.post} rev {run.post_rev}")
            return rep("violated", detail=what, reps=len(models),
                       script=render_counterexample(pb.op, setup, req, v, f"{pb.op}: {name}", what))
        shapes.append((_shape(pb.op, run, v), v, run))
    kinds = {s[0][0] for s in shapes}
    base = shapes[0][1]
    if len(kinds) != 1 or "other" in kinds or {(s[1]["errno"], s[1]["rule"]) for s in shapes} != {(base["errno"], base["rule"])}:
        return rep("unproved", detail=f"executor outcome shapes differ inside the class: {sorted(kinds)}",
                   reps=len(models))
    kind = kinds.pop()
    vocab = pb.vocab()
    cands = [k for k in vocab if all(s[0][1] == s[1]["terms"][k] for s in shapes)] if kind != "same" else [None]
    if kind == "query":
        cands = [k for k in ("0", "n", "cap") if all(s[0][1] == s[1]["terms"][k] for s in shapes)]
    # Template proof: for all members, the encoding's outcome is the shape
    last = "no index term fits every representative"
    for c in cands:
        term = vocab[c] if c is not None else None
        goal = z3.And(pb.req.errno == E.errno_code(base["errno"]), pb.req.rule == E.rule_code(base["rule"]),
                      _effect(pb, kind, term))
        sv.s.push()
        sv.s.add(z3.Not(goal))
        res = sv.s.check()
        if res == z3.unsat:
            core = sv.core_rules()
            sv.s.pop()
            shape = kind if c is None else f"{kind} at {c}"
            return rep("proved", detail=f"{base['errno']} {base['rule']}, {shape}", rules=core, reps=len(models))
        if res == z3.unknown:
            sv.s.pop()
            return rep("unknown", detail=f"template proof: {sv.s.reason_unknown()}", reps=len(models))
        last = f"template {kind} at {c} fails for a class member"
        sv.s.pop()
    return rep("unproved", detail=last, reps=len(models))


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
            s2, r2 = build_steps(pb.op, v2)
            run2 = run_executor(step_fn, s2, r2, v2)
            if not run2.setup_ok or _model_side(pb.op, v2) != _exec_side(run2):
                return v2, s2, r2, run2
    return v, setup, req, run


def _coverage(pb: Problem, timeout_s) -> Report:
    t0 = time.perf_counter()
    sv = _Solver(timeout_s)
    sv.add_tracked(pb.chain.tracked)
    sv.s.add(pb.domain)
    fires = list(pb.chain.fires.values())
    sv.s.add(z3.Not(z3.PbEq([(f, 1) for f in fires], 1)))
    res = sv.s.check()
    dt = time.perf_counter() - t0
    if res == z3.unsat:
        return Report("coverage", pb.op, "exactly-one-rule", "proved", pb.n_max, dt,
                      detail=f"{len(fires)} rules", rules=sv.core_rules())
    if res == z3.unknown:
        return Report("coverage", pb.op, "exactly-one-rule", "unknown", pb.n_max, dt, sv.s.reason_unknown())
    m = sv.s.model()
    fired = [r for r, f in pb.chain.fires.items() if z3.is_true(m.eval(f, model_completion=True))]
    return Report("coverage", pb.op, "exactly-one-rule", "violated", pb.n_max, dt,
                  detail=f"rules fired: {fired or 'none'}")


def verify_equivalence(n_max: int, timeout_s: Optional[float] = None, *, step_fn: Callable = None,
                       ops=E.OPS, sample: str = "atoms") -> list[Report]:
    """Prove encoding and executor agree for every hook state with <= n_max
    slots and every request of ``ops``.  ``step_fn`` is the executor's step
    function (default checker.executor.step); tests pass a planted-bug copy.
    ``sample`` = "atoms" (boundary-covering representatives) or "one"."""
    if not 0 <= n_max <= MPROG_MAX:
        raise ValueError(f"n_max must be from 0 to {MPROG_MAX} (the kernel maximum), not {n_max}")
    step_fn = step_fn or _executor.step
    reports = []
    for op in ops:
        pb = Problem(op, n_max)
        reports.append(_coverage(pb, timeout_s))
        for name, rule, pred in pb.classes():
            reports.append(_check_class(pb, name, rule, pred, step_fn, timeout_s, sample))
    return reports
