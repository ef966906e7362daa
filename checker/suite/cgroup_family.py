"""The scenario family of the cgroup dialect (spec/cgroup/): cgroup lists,
their attach modes and the hierarchy, as fixtures and requests for
checker.suite.select.

The family applies to every dialect whose attach target is a cgroup
(``target == "cgroup"``), decided from the dialect's record.  The lists
under test are ``cgroup_getsockopt`` (and its twin ``cgroup_setsockopt``):
the attach points of the kernel selftest (cgroup_mprog_opts.c) and of the
z3 encoding (checker.smt.cgroup), whose programs (``cgroup_sockopt``) carry
an expected attach type that must match, so that every type rule is
reachable.  Programs are loaded as ``cgroup_sockopt`` expecting the list's
attach point; twins swap the attach points and the expected attach types.

Cgroups: ``cg`` exists in every vector (the list under test, and the
parking place of the objects a request may name, on its *other* attach
point, as the tcx family parks on lo's other hook); ``top`` is its parent
in the hierarchy fixtures (a parent's mode decides whether the child may
attach: attach/hierarchy; its entries run in the child's effective order);
``sub`` is a child of ``cg`` (cgroup/del-busy, inherited effective order);
``rm`` is a child of ``cg`` that was removed (every ``*/cgroup-removed``
rule, the defunct links of cgroup/release, cgroup/parent-removed).

=====  ===============================================================
p4     a program of the list's type and expected attach type, on no list
p5     a program of another cgroup type (cgroup_skb)
p11    a cgroup_sockopt program expecting the other attach point
p6     a program whose fd is closed, still held by a prog-API entry
p7     a program whose fd is closed and that nothing holds (gone)
l8     a link on cg's other attach point (its program p8)
l9     a link detached by BPF_LINK_DETACH (defunct, fd open; program p9)
l10    a link whose fd is closed (gone; program p10)
=====  ===============================================================
"""
from __future__ import annotations

import itertools
from typing import Iterator

from ..dialects.cgroup import CGROUP_MAX_PROGS
from ..flags import canonical
from ..model import Step
from .family import NEW_LINK, NEW_PROG, RAW_FD, RAW_ID, UNKNOWN_BIT, ZERO, Candidate, Fixture, Tcx, _name

SITE, TOP, SUB, RM, NEW = "cg", "top", "sub", "rm", "new"
SOCKOPT = "cgroup_sockopt"
MODES = {"none": (), "override": ("ALLOW_OVERRIDE",), "multi": ("ALLOW_MULTI",),
         "both": ("ALLOW_OVERRIDE", "ALLOW_MULTI")}
PRE = ("PREORDER",)
POSITION, REF = ("BEFORE", "AFTER"), ("ID", "LINK")


def _mode_of(flags) -> str:
    o, m = "ALLOW_OVERRIDE" in flags, "ALLOW_MULTI" in flags
    return "both" if o and m else "override" if o else "multi" if m else "none"


class Cgroup(Tcx):
    """cgroup lists: modes, PREORDER, progs and links, the hierarchy."""

    FOREIGN = ("p5", "p11")
    LINK_UPDATE_FLAGS = (PRE, ("ALLOW_MULTI",))
    ROLE = {"p4": "free", "p5": "other-type", "p11": "other-expected", "p6": "closed-held",
            "p7": "closed", "l8": "other-link", "l9": "defunct-link", "l10": "closed-link"}

    def __post_init__(self):
        from .. import dialects
        self.d = dialects.get(self.dialect)
        self._features: dict = {}
        self.points = [p for p in ("cgroup_getsockopt", "cgroup_setsockopt") if p in self.d.attach_points]
        self.site_point = self.points[0]
        self.pins = []
        self.stray = [UNKNOWN_BIT]

    @staticmethod
    def applies(d) -> bool:
        return d.target == "cgroup" and "cgroup_add" in d.ops

    @staticmethod
    def _load_step(prog: str, point: str) -> Step:
        return Step("load", prog=prog, type=SOCKOPT, expected_attach_type=point)

    def final_queries(self, steps: list) -> list:
        """A plain query of both attach points of every cgroup the vector
        adds (in order of appearance), and the effective query of both for
        each one with a parent: the state after the request."""
        names, parents = [], {}
        for s in steps:
            if s.op == "cgroup_add" and s.cgroup not in names:
                names.append(s.cgroup)
                parents[s.cgroup] = s.parent
        out = [Step("query", cgroup=c, dir=p) for c in names for p in self.points]
        out += [Step("query", cgroup=c, dir=p, query_flags=1) for c in names if parents[c] for p in self.points]
        return out

    def site_state(self, world, fx: Fixture):
        c = world.cgroups.get(fx.dev)
        if c is None or not c.present:
            return None, 1
        lst = c.list(fx.point)
        if tuple(pre for _, _, pre in lst.entries) != tuple("PREORDER" in s[2] for s in fx.slots):
            return (), lst.revision        # not the fixture intended: rejected by the caller
        return tuple((p, l) for p, l, _ in lst.entries), lst.revision

    def query_step(self, fx: Fixture) -> Step:
        return Step("query", cgroup=fx.dev, dir=fx.point)

    def hook_text(self, fx: Fixture, slots: str) -> str:
        mode, _, parent = fx.hook.partition("-under-")
        mode, _, child = mode.partition("-with-")
        where = (f", under {TOP} (mode {parent})" if parent != "empty" else f", under an empty {TOP}") \
            if parent else f", with a child {SUB}" if child else ""
        if mode == "removed":
            return f"[{slots}] before the cgroup was removed"
        if mode == "empty":
            return "empty" + where
        return f"[{slots}], mode {mode}{where}"

    # -- objects ------------------------------------------------------------

    def objects(self, point: str) -> dict:
        o = self.other(point)
        at = dict(cgroup=SITE, dir=o)
        return {
            "p4": (self._load_step("p4", point),),
            "p5": (Step("load", prog="p5", type="cgroup_skb"),),
            "p11": (self._load_step("p11", o),),
            "p6": (self._load_step("p6", o), Step("attach", prog="p6", flags=("ALLOW_MULTI",), **at),
                   Step("close", prog="p6")),
            "p7": (self._load_step("p7", point), Step("close", prog="p7")),
            "l8": (self._load_step("p8", o), Step("link_create", link="l8", prog="p8", **at)),
            "l9": (self._load_step("p9", o), Step("link_create", link="l9", prog="p9", **at),
                   Step("link_detach", link="l9")),
            "l10": (self._load_step("p10", o), Step("link_create", link="l10", prog="p10", **at),
                    Step("close", link="l10")),
        }

    def role(self, fx: Fixture, ref) -> str:
        r = super().role(fx, ref)
        return {"gone-dev": "removed-cg", "gone-dev-link": "removed-cg-link"}.get(r, r)

    # -- fixtures -----------------------------------------------------------

    def fixtures(self) -> list[Fixture]:
        """Lists of every size (0, 1, 2, 3, 63, 64 = the maximum) in every
        mode, PREORDER entries, links, a list whose revision ran ahead, the
        site under a parent in each mode, a parent with a child, a removed
        cgroup with its defunct link."""
        out = []
        add = lambda *a, **k: out.append(self._cg_fixture(*a, **k))   # noqa: E731
        add("empty", "0", [], "none")
        add("empty-rev3", "0", [], "none", churn=True)
        add("none-p", "1", [("p1", None)], "none")
        add("override-p", "1", [("p1", None)], "override")
        add("none-P", "1", [("p1", None, PRE)], "none")
        for key, slots in (("p", [("p1", None)]), ("l", [("p1", "l1")]),
                           ("pp", [("p1", None), ("p2", None)]), ("pl", [("p1", None), ("p2", "l2")]),
                           ("lp", [("p1", "l1"), ("p2", None)]), ("ll", [("p1", "l1"), ("p2", "l2")]),
                           ("ppp", [("p1", None), ("p2", None), ("p3", None)]),
                           ("plp", [("p1", None), ("p2", "l2"), ("p3", None)]),
                           ("lpl", [("p1", "l1"), ("p2", None), ("p3", "l3")]),
                           ("P", [("p1", None, PRE)]), ("Pl", [("p1", "l1", PRE)]),
                           ("P-p", [("p1", None, PRE), ("p2", None)]),
                           ("p-P-l", [("p1", None), ("p2", None, PRE), ("p3", "l3")]),
                           ("l-P", [("p1", "l1"), ("p2", "l2", PRE)])):
            add("multi-" + key, str(len(slots)), slots, "multi")
        add("multi-ppp-churn", "3", [("p1", None), ("p2", None), ("p3", None)], "multi", churn=True)
        for n, size in ((CGROUP_MAX_PROGS - 1, "max-1"), (CGROUP_MAX_PROGS, "max")):
            fill = [(f"f{i}", None) for i in range(1, n - 2)]
            add("multi-" + size, size, [("p1", None)] + fill + [("p2", None), ("p3", None)], "multi")
        fill = [(f"f{i}", None) for i in range(1, CGROUP_MAX_PROGS - 2)]
        add("multi-max-links", "max", [("p1", "l1")] + fill + [("p2", None), ("p3", "l3", PRE)], "multi")
        # The hierarchy: the site under a parent holding one entry in each
        # mode, or MULTI entries (one PREORDER); a parent with a child.
        for pmode in ("none", "override"):
            add(f"under-{pmode}", "0", [], "none", top=(pmode, [("t1", None)]))
        add("under-override-p", "1", [("p1", None)], "override", top=("override", [("t1", None)]))
        add("under-multi", "2", [("p1", None, PRE), ("p2", "l2")], "multi",
            top=("multi", [("t1", None), ("t2", None, PRE)]))
        add("under-empty-p", "1", [("p1", None)], "none", top=("none", []))
        add("parent-pl", "2", [("p1", None), ("p2", "l2")], "multi", child=True)
        add("parent-none-p", "1", [("p1", None)], "none", child=True)
        add("parent-empty", "0", [], "none", child=True)
        # A removed cgroup: its prog-API entry released, its link defunct.
        add("removed", "2", [("p1", None), ("p2", "l2")], "multi", removed=True)
        add("removed-empty", "0", [], "none", removed=True)
        return out

    def _cg_fixture(self, key: str, size: str, slots: list, mode: str, *, churn: bool = False,
                    top=None, child: bool = False, removed: bool = False) -> Fixture:
        p = self.site_point
        slots = [s if len(s) == 3 else (s[0], s[1], ()) for s in slots]
        site = RM if removed else SITE
        steps = []
        if top is not None:
            steps += [Step("cgroup_add", cgroup=TOP), Step("cgroup_add", cgroup=SITE, parent=TOP)]
            tmode, tslots = top
            for prog, _, *pins in tslots:
                pins = pins[0] if pins else ()
                steps += [self._load_step(prog, p),
                          Step("attach", prog=prog, cgroup=TOP, dir=p, flags=canonical(MODES[tmode] + pins))]
        else:
            steps.append(Step("cgroup_add", cgroup=SITE))
        if child:
            steps.append(Step("cgroup_add", cgroup=SUB, parent=SITE))
        if removed:
            steps.append(Step("cgroup_add", cgroup=RM, parent=SITE))
        at = dict(cgroup=site, dir=p)
        steps += [self._load_step(prog, p) for prog, _, _ in slots]
        for prog, link, pins in slots:
            if link is None:
                steps.append(Step("attach", prog=prog, flags=canonical(MODES[mode] + pins), **at))
            else:
                steps.append(Step("link_create", link=link, prog=prog, flags=canonical(pins), **at))
        if churn:          # two more changes: the revision runs ahead of the count
            steps += [self._load_step("c1", p), Step("attach", prog="c1", flags=canonical(MODES["multi"]), **at),
                      Step("detach", prog="c1", **at)]
        if removed:
            steps.append(Step("cgroup_del", cgroup=RM))
        hook = "removed" if removed else "empty" if not slots else mode
        if top is not None:
            hook += f"-under-{top[0] if top[1] else 'empty'}"
        elif child:
            hook += "-with-child"
        return Fixture(key, size, hook, site, p, tuple(steps), tuple(slots))

    # -- requests -----------------------------------------------------------

    def requests(self, fx: Fixture) -> Iterator[Candidate]:
        for op in ("attach", "link_create", "detach", "link_update", "link_detach", "close",
                   "query", "load", "cgroup_add", "cgroup_del"):
            if op in self.d.ops:
                yield from getattr(self, "_" + op)(fx)

    def _relatives(self, fx: Fixture, flags: tuple) -> list:
        progs = self._in_hook(fx) + ["p4", "p5", "p6", "p7"]
        links = list(fx.links) + ["l8", "l9", "l10"]
        if "ID" in flags:
            return [None] + (links if "LINK" in flags else progs) + [ZERO, RAW_ID]
        return [None] + progs + links + [ZERO, RAW_FD]

    def _cand(self, fx: Fixture, step: Step, **parts) -> Candidate:
        flags = step.flags
        parts.setdefault("pin", "PREORDER" if "PREORDER" in flags else "none")
        parts.setdefault("stray", str(next((f for f in flags if f == UNKNOWN_BIT), "-")))
        return super()._cand(fx, step, **parts)

    def _attach_like(self, fx: Fixture, op: str) -> Iterator[Candidate]:
        at = dict(cgroup=fx.dev, dir=fx.point)
        base = dict(link=NEW_LINK) if op == "link_create" else {}
        attach = op == "attach"
        hook = self._in_hook(fx)
        progs = ["p4"] + hook[:1] + ["p5", "p11", "p6", "p7", "l8", ZERO, RAW_FD]
        main = ["p4"] + hook[:1]
        modes = list(MODES) if attach else ["none"]
        multi = "multi" if attach else "none"

        def c(prog, flags=(), relative=None, replace=None, rev=0, mode="none"):
            fl = canonical(tuple(MODES[mode]) + tuple(flags))
            s = Step(op, prog=prog, flags=fl, relative=relative, replace=replace,
                     expected_revision=rev, **at, **base)
            return self._cand(fx, s, prog=_name(prog), relative=_name(relative),
                               replace=("REPLACE:" + _name(replace)) if "REPLACE" in fl else "-",
                               rev=str(rev), mode=mode)

        for prog in progs:                                      # the program, in every mode
            for mode in modes:
                yield c(prog, mode=mode)
                yield c(prog, PRE, mode=mode)
        names = list(POSITION + REF)
        flag_sets = [tuple(n for n, b in zip(names, bits) if b)
                     for bits in itertools.product((0, 1), repeat=len(names))]
        for prog in main:                                       # relatives, by fd and by id
            for flags in flag_sets:
                for pre in ((), PRE):
                    for rel in self._relatives(fx, flags):
                        yield c(prog, flags + pre, rel, mode=multi)
                if attach:
                    for mode in ("none", "override"):           # positions outside MULTI
                        for rel in [None, "p4"] + hook[:1]:
                            yield c(prog, flags, rel, mode=mode)
        if attach:                                              # REPLACE
            for prog in main:
                for mode in modes:
                    for pos in ((), ("BEFORE",), ("AFTER",)):
                        for rep in hook + ["p4", "p5", "p11", "p7", "l8", ZERO, None]:
                            yield c(prog, ("REPLACE",) + pos, None, rep, mode=mode)
                        if pos:
                            yield c(prog, ("REPLACE",) + pos, hook[0] if hook else "p4",
                                    hook[0] if hook else "p4", mode=mode)
        for prog in main:                                       # expected_revision
            for mode in modes:
                for flags, rep in (((), None), (("BEFORE",), None),
                                   (("REPLACE",), hook[0] if hook else "p4")):
                    if rep is not None and not attach:
                        continue
                    for rev in self._rev_values(fx):
                        yield c(prog, flags, None, rep, rev, mode=mode)
        if attach:                                              # bits the mask rejects
            for flags in ((UNKNOWN_BIT,), (UNKNOWN_BIT, "BEFORE")):
                yield c("p4", flags, mode="multi")
        else:                                                   # LINK_CREATE's mask
            for bit in ("ALLOW_OVERRIDE", "ALLOW_MULTI", "REPLACE", UNKNOWN_BIT):
                s = Step(op, prog="p4", flags=canonical((bit,)), **at, **base)
                yield self._cand(fx, s, prog="p4", relative="-", rev="0", stray=str(bit), mode="none")

    def _detach(self, fx: Fixture) -> Iterator[Candidate]:
        at = dict(cgroup=fx.dev, dir=fx.point)
        hook = self._in_hook(fx)

        def c(prog, flags=(), relative=None, rev=0):
            s = Step("detach", prog=prog, flags=canonical(flags), relative=relative,
                     expected_revision=rev, **at)
            return self._cand(fx, s, prog=_name(prog), relative=_name(relative), rev=str(rev),
                               mode=_mode_of(flags))

        for prog in [None] + hook + ["p4", "p5", "p11", "p6", "p7", "l8", ZERO, RAW_FD]:
            yield c(prog)
        for prog in [None] + hook[:1] + ["p4"]:
            for flags in (("ALLOW_MULTI",), ("ALLOW_OVERRIDE",), ("BEFORE",), ("REPLACE",), PRE,
                          (UNKNOWN_BIT,)):
                yield c(prog, flags)
            yield c(prog, (), "p4")
            for rev in self._rev_values(fx):
                yield c(prog, (), None, rev)

    def _query(self, fx: Fixture) -> Iterator[Candidate]:
        n = len(fx.slots)
        counts = [None] + sorted({0, 1, max(n - 1, 0), n, n + 1})
        for count in counts:
            for qf, paf in ((0, False), (1, False), (2, False), (3, False), (0, True), (1, True)):
                s = Step("query", cgroup=fx.dev, dir=fx.point, count=count, query_flags=qf,
                         prog_attach_flags=paf)
                cnt = "-" if count is None else "0" if count == 0 else "<n" if count < n else \
                    "=n" if count == n else ">n"
                yield self._cand(fx, s, count=cnt, qflags=f"{qf}/{int(paf)}")

    def _load(self, fx: Fixture) -> Iterator[Candidate]:
        if fx.key != "empty":
            return iter(())
        return (self._cand(fx, Step("load", prog=NEW_PROG, type=t, expected_attach_type=e),
                            type=f"{t}:{e or '-'}")
                for t in self.d.prog_types for e in (None, fx.point, "cgroup_inet_egress"))

    def _cgroup_add(self, fx: Fixture) -> Iterator[Candidate]:
        parent = {s.cgroup: s.parent for s in fx.steps if s.op == "cgroup_add"}
        yield self._cand(fx, Step("cgroup_add", cgroup=fx.dev, parent=parent[fx.dev]), dev="site")
        yield self._cand(fx, Step("cgroup_add", cgroup=NEW), dev="new")
        yield self._cand(fx, Step("cgroup_add", cgroup=NEW, parent=fx.dev), dev="new-child")

    def _cgroup_del(self, fx: Fixture) -> Iterator[Candidate]:
        yield self._cand(fx, Step("cgroup_del", cgroup=fx.dev), dev="site")
        if any(s.cgroup == TOP for s in fx.steps):
            yield self._cand(fx, Step("cgroup_del", cgroup=TOP), dev="parent")


__all__ = ["Cgroup"]
