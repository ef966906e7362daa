"""Scenario families of the conformance suite: the hook states (fixtures),
objects and requests from which checker.suite.select picks vectors.

A family covers every dialect whose requests it knows how to set up, decided
from the dialect's record (its ops, flag table, attach points), never from
its name: :class:`Tcx` covers every dialect with devices (``dev_add``) and
tcx-style hooks; FIRST/LAST pins are used where the flag table has them.

Everything here is deterministic (lists in a fixed order, no set or hash
order), so the suite is byte-identical on every machine.

Conventions of the generated vectors: the hook under test is ``lo``'s (the
namespace's loopback, spec/linux/device.md) except where a device must be
added or deleted (``veth0``); programs ``p1 p2 p3`` sit on the hook (links
``l1 l2 l3`` own slots), ``f1 f2 ...`` fill large hooks; the objects a
request may name beside them are parked on ``lo``'s other attach point:

=====  ===============================================================
p4     a sched_cls program on no hook
p5     an xdp program (another type)
p6     a program whose fd is closed, still held by a prog-API entry
p7     a program whose fd is closed and that nothing holds (gone)
l8     a link attached to the other hook (its program p8)
l9     a link detached by BPF_LINK_DETACH (defunct, fd open; program p9)
l10    a link whose fd is closed (gone; program p10)
=====  ===============================================================
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Iterator

from .. import dialects
from ..dialects.linux import LOOPBACK, MPROG_MAX
from ..model import Raw, Step
from ..flags import canonical

VETH = "veth0"
RAW_FD = Raw(999999)          # an fd that is not open
RAW_ID = Raw(2147483000)      # an id that names nothing
ZERO = Raw(0)
NEW_LINK = "l20"              # the link a link_create candidate declares
NEW_PROG = "p20"              # the program a load candidate declares
UNKNOWN_BIT = 1 << 10         # a flag bit no dialect names
STRAY = ("ALLOW_OVERRIDE", "ALLOW_MULTI", "PREORDER")   # valid kernel flags the mprog masks reject
POSITION = ("BEFORE", "AFTER")
REF = ("ID", "LINK")
PINS = ("FIRST", "LAST")


@dataclass(frozen=True)
class Fixture:
    """A hook state built by ``steps`` (no expectations) on ``dev``/``point``:
    ``slots`` in run order as (prog, link or None, pin names)."""
    key: str
    size: str                  # "0", "1", "2", "3", "max-1", "max", "max+1"
    hook: str                  # nobundle | clsact | plain | gone
    dev: str
    point: str
    steps: tuple
    slots: tuple
    rev: int = 0               # revision after the steps (filled in by the executor)

    def features(self) -> dict:
        """The fixture as dimension values (checker.suite.select): its size,
        its kind, the pins of its slots, which slots links own, and whether
        its revision runs ahead of its changes (churn)."""
        n = len(self.slots)
        owned = [i for i, s in enumerate(self.slots) if s[1]]
        where = "+".join(dict.fromkeys("first" if i == 0 else "last" if i == n - 1 else "middle"
                                       for i in owned)) or "none"
        pins = "+".join(p for p in PINS + ("PREORDER",) if any(p in s[2] for s in self.slots)) or "none"
        churn = "churn" if any(s.op == "detach" for s in self.steps) else "plain"
        return {"fx.size": self.size, "fx.hook": self.hook, "fx.pins": pins, "fx.links": where,
                "fx.history": churn}

    @property
    def progs(self) -> tuple:
        return tuple(s[0] for s in self.slots)

    @property
    def links(self) -> tuple:
        return tuple(s[1] for s in self.slots if s[1])


@dataclass(frozen=True)
class Candidate:
    """One request on one fixture.  ``parts``: the request's components as
    short strings, in a fixed key order (checker.suite.select compares
    candidates that differ in one dimension's components)."""
    fixture: Fixture
    step: Step
    parts: tuple                # ((component, value), ...)
    objects: tuple = ()         # parked objects the request names

    def part(self, key: str) -> str:
        for k, v in self.parts:
            if k == key:
                return v
        return "-"


def _name(ref) -> str:
    if ref is None:
        return "-"
    return f"raw{ref.value}" if isinstance(ref, Raw) else ref


@dataclass
class Tcx:
    """Devices with tcx-style hooks: the family of every dialect whose ops
    include ``dev_add`` (linux and its deltas, rfc, netkit's tcx hooks)."""
    dialect: str
    d: object = field(init=False)

    def __post_init__(self):
        self.d = dialects.get(self.dialect)
        self._features: dict = {}
        names = self.d.flags.names()
        self.stray = [n for n in STRAY if n in names] + [UNKNOWN_BIT]
        self.pins = [n for n in PINS if n in names]
        # The tcx attach points of the family (ingress / egress): the ones a
        # veth and lo have.  Other attach points (netkit's) need their own devices.
        self.points = [p for p in ("ingress", "egress") if p in self.d.attach_points]
        self.site_point = self.points[0]

    @staticmethod
    def applies(d) -> bool:
        return "dev_add" in d.ops and "ingress" in d.attach_points and "egress" in d.attach_points

    def other(self, point: str) -> str:
        """Where objects are parked: lo's other tcx attach point."""
        return self.points[1] if point == self.points[0] else self.points[0]

    def mirror(self) -> dict:
        """Attach points that behave alike, swapped to make a vector's twin."""
        return {self.points[0]: self.points[1], self.points[1]: self.points[0]}

    def final_queries(self, steps: list) -> list:
        """A query of every attach point of every device the vector names
        (lo always), in a fixed order: the state after the request."""
        devs = [LOOPBACK] + sorted({s.dev for s in steps if s.dev and s.dev != LOOPBACK})
        return [Step("query", dev=d, dir=p) for d in devs for p in self.points]

    def site_state(self, world, fx: Fixture):
        """(slots as (prog, link) in run order, revision) of the fixture's
        hook in the executor's ``world``; (None, 1) where it is gone."""
        dev = world.devs.get(fx.dev)
        hook = dev.hook(fx.point) if dev is not None and dev.present else None
        if fx.hook == "gone":
            return None, 1
        got = tuple((s[0], s[1]) for s in hook.slots) if hook is not None else ()
        return got, (hook.revision if hook is not None else 1)

    def query_step(self, fx: Fixture) -> Step:
        """A query of the fixture's hook (its state before the request)."""
        return Step("query", dev=fx.dev, dir=fx.point)

    def hook_text(self, fx: Fixture, slots: str) -> str:
        """The fixture's hook in a vector's description."""
        return {"nobundle": "no bundle yet", "clsact": "empty, held by a clsact qdisc",
                "plain": f"[{slots}]", "plain-clsact": f"[{slots}], clsact qdisc",
                "gone": f"[{slots}] before the device was deleted",
                "netkit-empty": "empty (a netkit bundle exists from the pair's creation)"}[fx.hook]

    # -- objects ------------------------------------------------------------

    def objects(self, point: str) -> dict:
        """Name -> setup steps of the parked objects (see the module docstring)."""
        o = self.other(point)
        at = dict(dev=LOOPBACK, dir=o)
        return {
            "p4": (Step("load", prog="p4"),),
            "p5": (Step("load", prog="p5", type="xdp"),),
            "p6": (Step("load", prog="p6"), Step("attach", prog="p6", **at), Step("close", prog="p6")),
            "p7": (Step("load", prog="p7"), Step("close", prog="p7")),
            "l8": (Step("load", prog="p8"), Step("link_create", link="l8", prog="p8", **at)),
            "l9": (Step("load", prog="p9"), Step("link_create", link="l9", prog="p9", **at),
                   Step("link_detach", link="l9")),
            "l10": (Step("load", prog="p10"), Step("link_create", link="l10", prog="p10", **at),
                    Step("close", link="l10")),
        }

    # link_update: the programs of another type (or attach type) a request
    # may name, and flags beside the pins and stray bits the link's mask rejects.
    FOREIGN = ("p5",)
    LINK_UPDATE_FLAGS = ()

    ROLE = {"p4": "free", "p5": "xdp", "p6": "closed-held", "p7": "closed", "l8": "other-link",
            "l9": "defunct-link", "l10": "closed-link"}

    def role(self, fx: Fixture, ref) -> str:
        """What a reference names, as a dimension value."""
        if ref is None:
            return "none"
        if isinstance(ref, Raw):
            return "zero" if ref.value == 0 else "raw"
        if ref in self.ROLE:
            return self.ROLE[ref]
        progs = fx.progs
        if ref in progs:
            if fx.hook == "gone":
                return "gone-dev"
            i = progs.index(ref)
            return "first" if i == 0 else "last" if i == len(progs) - 1 else "middle"
        if ref in fx.links:
            if fx.hook == "gone":
                return "gone-dev-link"
            i = next(j for j, s in enumerate(fx.slots) if s[1] == ref)
            return "link-first" if i == 0 else "link-last" if i == len(progs) - 1 else "link-middle"
        return "other"

    # -- fixtures -----------------------------------------------------------

    def fixtures(self) -> list[Fixture]:
        """Every hook state of the family, on lo's first attach point unless a
        device must come and go.  Sizes: empty (no bundle, clsact), 1, 2, 3,
        the maximum minus one, the maximum and one more where the dialect
        lets a hook overflow (kept only if the executor builds it)."""
        out = []
        p = self.site_point
        add = lambda *a, **k: out.append(self._fixture(*a, **k))   # noqa: E731
        add("empty", "0", [], point=p)
        add("clsact", "0", [], clsact=True, point=p)
        add("clsact-rev3", "0", [], clsact=True, churn=True, point=p)
        for key, slots in (("p", [("p1", None)]), ("l", [("p1", "l1")]),
                           ("pp", [("p1", None), ("p2", None)]), ("pl", [("p1", None), ("p2", "l2")]),
                           ("lp", [("p1", "l1"), ("p2", None)]), ("ll", [("p1", "l1"), ("p2", "l2")]),
                           ("ppp", [("p1", None), ("p2", None), ("p3", None)]),
                           ("plp", [("p1", None), ("p2", "l2"), ("p3", None)]),
                           ("lpl", [("p1", "l1"), ("p2", None), ("p3", "l3")])):
            add(key, str(len(slots)), slots, point=p)
        add("ppp-churn", "3", [("p1", None), ("p2", None), ("p3", None)], churn=True, point=p)
        add("ppp-clsact", "3", [("p1", None), ("p2", None), ("p3", None)], clsact=True, point=p)
        for n, size in ((MPROG_MAX - 1, "max-1"), (MPROG_MAX, "max"), (MPROG_MAX + 1, "max+1")):
            fill = [(f"f{i}", None) for i in range(1, n - 2)]
            # One more than the maximum: the last program goes in front (BEFORE,
            # no relative), where a dialect without the full-hook check lets it.
            add(size, size, [("p1", None)] + fill + [("p2", None), ("p3", None)], point=p,
                prepend_first=n > MPROG_MAX)
        fill = [(f"f{i}", None) for i in range(1, MPROG_MAX - 2)]
        add("max-links", "max", [("p1", "l1")] + fill + [("p2", None), ("p3", "l3")], point=p)
        add("max+1-links", "max+1", [("p1", "l1")] + fill + [("f62", None), ("p2", None), ("p3", "l3")],
            point=p, prepend_first=True)
        if self.pins:
            first, last = ("FIRST",) if "FIRST" in self.pins else (), ("LAST",) if "LAST" in self.pins else ()
            for key, slots in (("P", [("p1", None, first)]), ("Pl", [("p1", "l1", first)]),
                               ("PL", [("p1", None, first + last)]),
                               ("P-p", [("p1", None, first), ("p2", None)]),
                               ("p-L", [("p1", None), ("p2", None, last)]),
                               ("P-p-L", [("p1", None, first), ("p2", None), ("p3", None, last)]),
                               ("Pl-p-Ll", [("p1", "l1", first), ("p2", None), ("p3", "l3", last)])):
                add(key, str(len(slots)), slots, point=p)
            fill = [(f"f{i}", None) for i in range(1, MPROG_MAX - 2)]
            add("max-P-L", "max", [("p1", None, first)] + fill + [("p2", None), ("p3", None, last)], point=p)
        # A device that can be deleted: with hooks, links and a clsact; empty; deleted.
        add("veth", "2", [("p1", None), ("p2", "l2")], dev=VETH, clsact=True, point=p)
        add("veth-empty", "0", [], dev=VETH, point=p)
        add("gone", "2", [("p1", None), ("p2", "l2")], dev=VETH, gone=True, point=p)
        fill = [(f"f{i}", None) for i in range(1, MPROG_MAX - 1)]
        add("veth-max+1", "max+1", [("p1", None)] + fill + [("p2", None), ("p3", "l3")], dev=VETH,
            point=p, prepend_first=True)
        return out

    def _fixture(self, key: str, size: str, slots: list, *, point: str, dev: str = LOOPBACK,
                 clsact: bool = False, churn: bool = False, gone: bool = False,
                 prepend_first: bool = False) -> Fixture:
        slots = [s if len(s) == 3 else (s[0], s[1], ()) for s in slots]
        at = dict(dev=dev, dir=point)
        steps = []
        if dev != LOOPBACK:
            steps.append(Step("dev_add", dev=dev))
        if clsact:
            steps.append(Step("clsact_add", dev=dev))
        steps += [Step("load", prog=prog) for prog, _, _ in slots]
        # Pinned-LAST slots go in last, so appends land before them; the
        # order of the others is their run order.
        order = sorted(slots, key=lambda s: "LAST" in s[2])
        if prepend_first:
            order = order[1:] + order[:1]
        for prog, link, pins in order:
            flags = canonical(pins + (("BEFORE",) if prepend_first and prog == slots[0][0] else ()))
            if link is None:
                steps.append(Step("attach", prog=prog, flags=flags, **at))
            else:
                steps.append(Step("link_create", link=link, prog=prog, flags=flags, **at))
        if churn:                # two more changes: the revision runs ahead of the count
            steps += [Step("load", prog="c1"), Step("attach", prog="c1", **at),
                      Step("detach", prog="c1", **at)]
        if gone:
            steps.append(Step("dev_del", dev=dev))
        hook = ("gone" if gone else "nobundle" if not (slots or clsact) else
                "clsact" if not slots else "plain-clsact" if clsact else "plain")
        return Fixture(key, size, hook, dev, point, tuple(steps), tuple(slots))

    # -- requests -----------------------------------------------------------

    def requests(self, fx: Fixture) -> Iterator[Candidate]:
        """Every request of every op of the dialect on ``fx``, along axes: each
        axis varies a few arguments over all their kinds with the rest fixed
        (the cross product of all arguments would repeat the same checks)."""
        for op in ("attach", "link_create", "detach", "link_update", "link_detach", "close",
                   "query", "load", "dev_add", "dev_del", "clsact_add", "clsact_del", "netkit_add"):
            if op in self.d.ops:
                yield from getattr(self, "_" + op)(fx)

    # Shared pieces

    def _in_hook(self, fx: Fixture) -> list:
        return [p for p in ("p1", "p2", "p3") if p in fx.progs]

    def _relatives(self, fx: Fixture, flags: tuple) -> list:
        """The relative objects of a request with ``flags``.  By id, a program
        is named only as a program and a link only as a link: a link's id
        passed as a program id (or the reverse) names whatever object of the
        other kind has that number on a live kernel (ids are per kind), so
        its answer is not portable."""
        progs = self._in_hook(fx) + ["p4", "p5", "p6", "p7"]
        links = list(fx.links) + ["l8", "l9", "l10"]
        if "ID" in flags:
            return [None] + (links if "LINK" in flags else progs) + [ZERO, RAW_ID]
        return [None] + progs + links + [ZERO, RAW_FD]

    def _pin_sets(self) -> list:
        """Every non-empty subset of the dialect's pins (FIRST, LAST)."""
        return [s for s in (("FIRST",), ("LAST",), ("FIRST", "LAST")) if set(s) <= set(self.pins)]

    def _flag_sets(self, extra=(), pins: bool = False) -> list:
        """Every subset of BEFORE, AFTER, ID, LINK (and, with ``pins``, of the
        pins), plus ``extra``."""
        names = list(POSITION + REF) + (self.pins if pins else [])
        out = []
        for bits in itertools.product((0, 1), repeat=len(names)):
            out.append(canonical([n for n, b in zip(names, bits) if b] + list(extra)))
        return out

    def _cand(self, fx: Fixture, step: Step, **parts) -> Candidate:
        flags = step.flags
        parts.setdefault("pos", "+".join(f for f in POSITION if f in flags) or "none")
        parts.setdefault("ref", "+".join(f for f in REF if f in flags) or "fd")
        parts.setdefault("pin", "+".join(f for f in PINS if f in flags) or "none")
        parts.setdefault("stray", str(next((f for f in flags if f in self.stray), "-")))
        parts.setdefault("replace", ("REPLACE:" + _name(step.replace)) if "REPLACE" in flags else "-")
        objs = [r for r in (step.prog, step.link, step.relative, step.replace, step.old_prog)
                if isinstance(r, str) and r in self.ROLE]
        objs = ["l" + r[1:] if r in ("p8", "p9", "p10") else r for r in objs]
        order = tuple(k for k in self.ROLE if k in objs)
        feats = self._features.get(fx.key)
        if feats is None:
            feats = self._features[fx.key] = fx.features()
        parts.update(feats)
        return Candidate(fx, step, tuple(sorted(parts.items())), order)

    def _rev_values(self, fx: Fixture) -> list:
        vals = [0, fx.rev, fx.rev + 1]
        if fx.rev != 1:
            vals.append(1)
        return vals

    # Ops

    def _attach_like(self, fx: Fixture, op: str) -> Iterator[Candidate]:
        at = dict(dev=fx.dev, dir=fx.point)
        base = dict(link=NEW_LINK) if op == "link_create" else {}
        progs = ["p4"] + self._in_hook(fx)[:1] + ["p5", "p6", "p7", "l8", ZERO, RAW_FD]
        main = ["p4"] + self._in_hook(fx)[:1]
        union = self.d.relative_union
        takes_replace = op == "attach" or union       # rfc: link_create reads the union too

        def c(prog, flags=(), relative=None, replace=None, rev=0, **parts):
            s = Step(op, prog=prog, flags=canonical(flags), relative=relative, replace=replace,
                     expected_revision=rev, **at, **base)
            return self._cand(fx, s, prog=_name(prog), relative=_name(relative),
                              replace=("REPLACE:" + _name(replace)) if "REPLACE" in flags else "-",
                              rev=str(rev), **parts)

        for prog in progs:                                      # the program argument
            yield c(prog)
            if takes_replace:
                yield c(prog, ("REPLACE",), replace="p1" if "p1" in fx.progs else "p4")
        for prog in main:                                       # relatives, by fd and by id
            for flags in self._flag_sets():
                for rel in self._relatives(fx, flags):
                    yield c(prog, flags, rel)
        replaces = self._in_hook(fx) + ["p4", "p5", "p7", "l8", ZERO] + ([None] if takes_replace else [])
        hook = self._in_hook(fx)
        for prog in main:                                       # REPLACE
            for flags in self._flag_sets(("REPLACE",), pins=False):
                for rep in (replaces if takes_replace else [None]):
                    rels = [None] if (union and rep is not None) else [None] + hook[:1] + hook[-1:]
                    for rel in rels:
                        yield c(prog, flags, rel, rep)
        for prog in main:                                       # the pins, around the relatives
            for pins in self._pin_sets():
                for flags in self._flag_sets(pins, pins=False):
                    for rel in [None] + hook[:1] + hook[-1:] + list(fx.links)[:1] + ["p4"]:
                        yield c(prog, flags, rel)
                if takes_replace:
                    for rep in hook:
                        yield c(prog, pins + ("REPLACE",), None, rep)
        for prog in main:                                       # expected_revision
            for flags, rep in (((), None), (("BEFORE",), None), (("AFTER",), None),
                               (("REPLACE",), self._in_hook(fx)[0] if self._in_hook(fx) else "p4")):
                if rep is not None and not takes_replace:
                    continue
                for rev in self._rev_values(fx):
                    yield c(prog, flags, None, rep, rev)
        for bit in self.stray:                                  # bits the mask rejects
            for flags in ((bit,), (bit, "BEFORE"), (bit, "AFTER")):
                yield c("p4", flags)

    def _attach(self, fx):
        return self._attach_like(fx, "attach")

    def _link_create(self, fx):
        return self._attach_like(fx, "link_create")

    def _detach(self, fx: Fixture) -> Iterator[Candidate]:
        at = dict(dev=fx.dev, dir=fx.point)

        def c(prog, flags=(), relative=None, rev=0, **parts):
            s = Step("detach", prog=prog, flags=canonical(flags), relative=relative,
                     expected_revision=rev, **at)
            return self._cand(fx, s, prog=_name(prog), relative=_name(relative), rev=str(rev), **parts)

        hook = self._in_hook(fx)
        for prog in [None] + hook + ["p4", "p5", "p6", "p7", "l8", ZERO, RAW_FD]:
            yield c(prog)
        named = [None] + hook[:1] + hook[-1:] if hook else [None, "p4"]
        for prog in named:
            for flags in self._flag_sets():
                for rel in self._relatives(fx, flags):
                    yield c(prog, flags, rel)
            for pins in self._pin_sets():
                for flags in self._flag_sets(pins):
                    for rel in [None] + hook[:1] + hook[-1:] + list(fx.links)[:1]:
                        yield c(prog, flags, rel)
            for flags in (("REPLACE",), ("REPLACE", "BEFORE")):
                yield c(prog, flags)
            for flags in ((), ("BEFORE",), ("AFTER",)):
                for rev in self._rev_values(fx):
                    yield c(prog, flags, None, rev)
        for bit in self.stray:
            yield c(None, (bit,))
            yield c(hook[0] if hook else "p4", (bit,))

    def _link_update(self, fx: Fixture) -> Iterator[Candidate]:
        own = {l: p for p, l, _ in fx.slots if l}
        own.update({"l8": "p8", "l9": "p9", "l10": "p10"})
        links = list(fx.links) + ["l8", "l9", "l10", "p4", ZERO, RAW_FD]
        flag_sets = [(), ("REPLACE",), ("BEFORE",), ("ID",)] + [(p,) for p in self.pins] + \
            list(self.LINK_UPDATE_FLAGS) + [(self.stray[0],), ("REPLACE", self.stray[0])]

        def c(link, new, flags=(), old=None):
            mine = own.get(link) if isinstance(link, str) else None
            s = Step("link_update", link=link, prog=new, flags=canonical(flags), old_prog=old)
            return self._cand(fx, s, link=_name(link), prog=_name(new), old=_name(old),
                              own="yes" if new == mine else "no")

        for link in links:
            mine = own.get(link) if isinstance(link, str) else None
            news = ["p4"] + self._in_hook(fx)[:1] + ([mine] if mine else []) + list(self.FOREIGN) + \
                ["p7", "l8", ZERO, RAW_FD]
            olds = [None] + ([mine] if mine else []) + ["p4", "p7", "l8", ZERO]
            for new in news:                                    # the new program
                yield c(link, new)
                for old in olds:                                # REPLACE and the old program
                    yield c(link, new, ("REPLACE",), old)
            for flags in flag_sets:                             # the flags, with and without old
                for old in olds:
                    yield c(link, "p4", flags, old)
    def _link_detach(self, fx: Fixture) -> Iterator[Candidate]:
        for link in list(fx.links) + ["l8", "l9", "l10", "p4", ZERO, RAW_FD]:
            yield self._cand(fx, Step("link_detach", link=link), link=_name(link))

    def _close(self, fx: Fixture) -> Iterator[Candidate]:
        for ref in self._in_hook(fx)[:1] + self._in_hook(fx)[-1:] + ["p4", "p5", "p6", "p7"]:
            yield self._cand(fx, Step("close", prog=ref), link=_name(ref))
        for ref in list(fx.links) + ["l8", "l9", "l10"]:
            yield self._cand(fx, Step("close", link=ref), link=_name(ref))
        yield self._cand(fx, Step("close", prog=RAW_FD), link=_name(RAW_FD))

    def _query(self, fx: Fixture) -> Iterator[Candidate]:
        n = len(fx.slots)
        counts = [None] + sorted({0, 1, max(n - 1, 0), n, n + 1})
        for count in counts:
            for qf, af in ((0, 0), (1, 0), (2, 0), (3, 0), (0, 1)):
                s = Step("query", dev=fx.dev, dir=fx.point, count=count, query_flags=qf, attach_flags=af)
                cnt = "-" if count is None else "0" if count == 0 else "<n" if count < n else "=n" if count == n else ">n"
                yield self._cand(fx, s, count=cnt, qflags=f"{qf}/{af}")

    def _load(self, fx: Fixture) -> Iterator[Candidate]:
        if fx.key != "empty":
            return
        for t in self.d.prog_types:
            yield self._cand(fx, Step("load", prog=NEW_PROG, type=None if t == "sched_cls" else t), type=t)

    def _dev_ops(self, fx: Fixture, op: str) -> Iterator[Candidate]:
        devs = [LOOPBACK] + ([fx.dev] if fx.dev != LOOPBACK else [])
        if op == "dev_add" and fx.dev == LOOPBACK:
            devs.append(VETH)          # a new device
        for dev in devs:
            role = "lo" if dev == LOOPBACK else ("gone" if fx.hook == "gone" else
                                                 "site" if dev == fx.dev else "new")
            yield self._cand(fx, Step(op, dev=dev), dev=role)

    def _dev_add(self, fx):
        return self._dev_ops(fx, "dev_add")

    def _dev_del(self, fx):
        return self._dev_ops(fx, "dev_del")

    def _clsact_add(self, fx):
        return self._dev_ops(fx, "clsact_add")

    def _clsact_del(self, fx):
        return self._dev_ops(fx, "clsact_del")


class Netkit(Tcx):
    """Tcx with netkit pairs (dialects whose ops include ``netkit_add``): the
    tcx fixtures and requests, plus the same hook shapes on the ``primary``
    attach point of a pair (``nk1``, its peer ``nk0``), requests addressed
    through the peer device (EACCES) and through a device that is not
    netkit (ENXIO), pair creation and deletion.  Twins swap primary and peer
    as they swap ingress and egress."""
    PRIMARY, PEER = "nk1", "nk0"

    @staticmethod
    def applies(d) -> bool:
        return "netkit_add" in d.ops and Tcx.applies(d)

    def __post_init__(self):
        super().__post_init__()
        self.nk_points = [p for p in ("primary", "peer") if p in self.d.attach_points]

    def mirror(self) -> dict:
        return {**super().mirror(), self.nk_points[0]: self.nk_points[1], self.nk_points[1]: self.nk_points[0]}

    def final_queries(self, steps: list) -> list:
        out = super().final_queries(steps)
        primaries = sorted({s.dev for s in steps if s.op == "netkit_add"})
        return out + [Step("query", dev=d, dir=p) for d in primaries for p in self.nk_points]

    def fixtures(self) -> list:
        out = super().fixtures()
        pair = (Step("netkit_add", dev=self.PRIMARY, peer=self.PEER),)
        p = self.nk_points[0]
        add = lambda *a, **k: out.append(self._netkit_fixture(pair, *a, point=p, **k))   # noqa: E731
        add("nk-empty", "0", [])
        add("nk-empty-rev3", "0", [], churn=True)
        for key, slots in (("nk-p", [("p1", None)]), ("nk-l", [("p1", "l1")]),
                           ("nk-pl", [("p1", None), ("p2", "l2")]),
                           ("nk-ppp", [("p1", None), ("p2", None), ("p3", None)])):
            add(key, str(len(slots)), slots)
        for n, size in ((MPROG_MAX - 1, "max-1"), (MPROG_MAX, "max")):
            fill = [(f"f{i}", None) for i in range(1, n - 2)]
            add("nk-" + size, size, [("p1", None)] + fill + [("p2", None), ("p3", "l3")])
        add("nk-gone", "2", [("p1", None), ("p2", "l2")], gone=True)
        return out

    def _netkit_fixture(self, pair: tuple, key: str, size: str, slots: list, *, point: str,
                        churn: bool = False, gone: bool = False) -> Fixture:
        fx = self._fixture(key, size, slots, point=point, dev=self.PRIMARY, churn=churn, gone=gone)
        # The pair replaces dev_add; a netkit bundle exists from the pair's
        # creation (an empty one is not "no bundle").
        steps = pair + tuple(s for s in fx.steps if s.op != "dev_add")
        hook = fx.hook if fx.hook in ("gone", "plain") else "netkit-empty"
        return Fixture(fx.key, fx.size, hook, fx.dev, point, steps, fx.slots)

    def requests(self, fx: Fixture) -> Iterator[Candidate]:
        yield from super().requests(fx)
        if fx.dev != self.PRIMARY:
            return
        # The same hook through the peer device (EACCES), through lo (not
        # netkit: ENXIO), on the other netkit attach point.
        for dev, point in ((self.PEER, fx.point), (LOOPBACK, fx.point), (fx.dev, self.nk_points[1])):
            role = "peer-dev" if dev == self.PEER else "not-netkit" if dev == LOOPBACK else "other-point"
            at = dict(dev=dev, dir=point)
            hook = self._in_hook(fx)
            for s in (Step("attach", prog="p4", **at), Step("link_create", link=NEW_LINK, prog="p4", **at),
                      Step("detach", prog=hook[0] if hook else None, **at), Step("detach", **at),
                      Step("query", **at), Step("query", count=0, **at)):
                yield self._cand(fx, s, target=role, prog=_name(s.prog))

    def _dev_ops(self, fx: Fixture, op: str) -> Iterator[Candidate]:
        yield from super()._dev_ops(fx, op)
        if fx.dev == self.PRIMARY and op in ("dev_del", "clsact_add", "clsact_del"):
            yield self._cand(fx, Step(op, dev=self.PEER), dev="peer-dev")

    def _netkit_add(self, fx: Fixture) -> Iterator[Candidate]:
        if fx.dev == self.PRIMARY:
            yield self._cand(fx, Step("netkit_add", dev=self.PRIMARY, peer="nk5"), dev="site")
            yield self._cand(fx, Step("netkit_add", dev="nk4", peer=self.PEER), dev="peer-dev")
        if fx.key in ("empty", "nk-empty", "nk-gone"):
            for mode in (None, "l2", "l3"):
                yield self._cand(fx, Step("netkit_add", dev="nk2", peer="nk3", mode=mode), dev=f"new-{mode or 'default'}")
            yield self._cand(fx, Step("netkit_add", dev=LOOPBACK, peer="nk3"), dev="lo")
