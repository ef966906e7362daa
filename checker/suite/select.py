"""From candidates to the vectors of a suite: run every candidate request of
a family on the reference executor, then choose few that cover everything.

What must be covered, per (op, rule) where ``rule`` decides a request of
``op`` (or shapes its success: hook/* effects):

* the pair itself, on the first attach point and its twin (the mirror, made
  by checker.suite.generate);
* every value of every *dimension that matters to the rule*: the hook's size
  (empty, 1, 2, 3, max-1, max, max+1), its kind (no bundle, clsact, deleted
  device), the program, the relative (program or link, by fd or by id,
  first / middle / last / off the hook, closed, defunct, raw), the position
  flags, REPLACE and the replaced program, the expected revision (none,
  current, stale), stray flag bits, the pins, the link and old program of
  link requests, query counts and flags, devices.

A dimension *matters* to a rule when changing only that dimension's
arguments can change whether the rule decides: two candidates that differ
in nothing else, one decided by the rule and one not.  That is read from
the candidates themselves (no list of rules per dimension to keep up to
date), so a rule decided before the relative is looked at gets no vector
per relative kind, and the relative rules get one per kind.

The choice is a greedy set cover (the candidate covering most uncovered
items first, ties to the earlier candidate): deterministic, and within a
logarithmic factor of the fewest vectors.
"""
from __future__ import annotations

import heapq
import operator
from dataclasses import dataclass, replace

from ..exec import Executor
from ..model import OK, UNDEFINED, Outcome
from .family import Candidate, Fixture, Tcx

# dimension -> (the candidate parts it varies, how its value is read)
_LINK_ROLES = ("link-first", "link-middle", "link-last", "other-link", "defunct-link", "closed-link",
               "gone-dev-link")


def _kind(role: str) -> str:
    if role in ("none", "zero", "raw"):
        return role
    return "link" if role in _LINK_ROLES else "prog"


_COARSE = {"free": "off-hook", "other": "off-hook", "closed-held": "closed", "closed-link": "closed",
           "link-first": "hook-link", "link-middle": "hook-link", "link-last": "hook-link",
           "gone-dev-link": "gone-dev"}


def _coarse(role: str) -> str:
    """Where a relative is, in the words of the rules: on the hook (first,
    middle, last; a link owning a slot), off it, closed, defunct, ..."""
    return _COARSE.get(role, role)


def _rev(c: Candidate) -> str:
    v = c.step.expected_revision
    return "none" if v == 0 else "current" if v == c.fixture.rev else "one" if v == 1 else "stale"


def _dims(fam: Tcx) -> dict:
    role = fam.role
    return {
        "size": (("fx.size",), lambda c: c.part("fx.size")),
        "hook": (("fx.hook",), lambda c: c.part("fx.hook")),
        "pins": (("fx.pins",), lambda c: c.part("fx.pins")),
        "links": (("fx.links",), lambda c: c.part("fx.links")),
        "history": (("fx.history",), lambda c: c.part("fx.history")),
        "prog": (("prog",), lambda c: role(c.fixture, c.step.prog)),
        "rel": (("relative", "ref"), lambda c: f"{_kind(role(c.fixture, c.step.relative))}:{c.part('ref')}"),
        "relpos": (("relative",), lambda c: _coarse(role(c.fixture, c.step.relative))),
        "pos": (("pos",), lambda c: c.part("pos")),
        "replace": (("replace",), lambda c: "-" if c.part("replace") == "-" else
                    role(c.fixture, c.step.replace)),
        "rev": (("rev",), _rev),
        "stray": (("stray",), lambda c: "no" if c.part("stray") == "-" else "yes"),
        "pin": (("pin",), lambda c: c.part("pin")),
        "link": (("link",), lambda c: role(c.fixture, c.step.link if c.step.link is not None else c.step.prog)
                 if c.step.op in ("link_update", "link_detach", "close") else "-"),
        "old": (("old",), lambda c: role(c.fixture, c.step.old_prog) if c.step.op == "link_update" else "-"),
        "own": (("own",), lambda c: c.part("own")),
        "count": (("count",), lambda c: c.part("count")),
        "qflags": (("qflags",), lambda c: c.part("qflags")),
        "dev": (("dev",), lambda c: c.part("dev")),
        "type": (("type",), lambda c: c.part("type")),
        "target": (("target",), lambda c: c.part("target")),
        "mode": (("mode",), lambda c: c.part("mode")),
    }


@dataclass(frozen=True)
class Run:
    """A candidate and what the executor answered."""
    cand: Candidate
    outcome: Outcome

    @property
    def rules(self) -> tuple:
        """The rule that decided, then the effects that shaped a success."""
        return (self.outcome.rule,) + tuple(e for e in self.outcome.effects if e != self.outcome.rule)


def build_fixture(fam: Tcx, fx: Fixture):
    """(fixture with its revision, pre-world) if the executor builds it as
    intended (every step ok, the slots in order), else None: a state the
    dialect cannot reach (a 64th program where the maximum is enforced)."""
    ex = Executor(fam.dialect)
    for s in fx.steps:
        if ex.apply(s).errno != OK:
            return None
    got, rev = fam.site_state(ex.world, fx)
    if got is not None and got != tuple((p, l) for p, l, _ in fx.slots):
        return None
    return replace(fx, rev=rev), ex.world


def run_candidates(fam: Tcx, built_out: list = None) -> list[Run]:
    """Every candidate of every buildable fixture, with its outcome; the
    fixtures built are appended to ``built_out``."""
    step_fn = fam.d.unit("executor").step
    runs = []
    for fx in fam.fixtures():
        built = build_fixture(fam, fx)
        if built is None:
            continue
        fx, world = built
        if built_out is not None:
            built_out.append(fx)
        objects = fam.objects(fx.point)
        worlds = {(): world}      # the pre-world with exactly the parked objects a request names
        for cand in fam.requests(fx):
            w = worlds.get(cand.objects)
            if w is None:
                w = world
                for name in cand.objects:
                    for s in objects[name]:
                        o, w = step_fn(w, s)
                        if o.errno != OK:
                            raise AssertionError(f"parked object {name}: {s} answered {o.errno}")
                worlds[cand.objects] = w
            out, _ = step_fn(w, cand.step)
            runs.append(Run(cand, out))
    return runs


def relevance(runs: list[Run], dims: dict, undefined: frozenset = frozenset()) -> dict:
    """(op, rule) -> the dimensions that matter to it (see the module
    docstring): some pair of candidates differing only in that dimension's
    parts, one with the rule among its rules and one without.  A dimension
    whose parts an op's candidates do not have does not apply to the op.
    An answer decided by an ``undefined`` rule (UNDEFINED: the model
    predicts nothing) is evidence for that rule only: a hook that overflows
    (linux-6.6-rc) makes every later request UNDEFINED, which says nothing
    about how the hook's size matters to the rules of a defined request."""
    keys = sorted({k for r in runs for k, _ in r.cand.parts})
    by_op: dict = {}
    small: dict = {}          # the same, without the largest hooks
    values: dict = {}         # op -> key -> the values it takes
    for r in runs:
        parts = dict(r.cand.parts)
        op = r.cand.step.op
        for k, v in parts.items():
            values.setdefault(op, {}).setdefault(k, set()).add(v)
        row = (tuple(parts.get(k, "-") for k in keys), frozenset(r.rules))
        by_op.setdefault(op, {})[row] = None
        if r.cand.fixture.size not in BIG:
            small.setdefault(op, {})[row] = None
    out: dict = {}
    for op in by_op:
        for dim, (drop, _) in dims.items():
            # A dimension whose parts take one value (or none) in this op
            # cannot show that it matters.
            if all(len(values[op].get(k, ())) < 2 for k in drop):
                continue
            # The largest hooks show how the hook's own dimensions matter;
            # every other dimension is seen on the small ones (cheaper).
            rows = by_op[op] if drop[0].startswith("fx.") else small.get(op, {})
            get = operator.itemgetter(*[i for i, k in enumerate(keys) if k not in drop])
            buckets: dict = {}
            for vals, rules in rows:
                key = get(vals)
                b = buckets.get(key)
                if b is None:
                    buckets[key] = [rules]
                elif rules not in b:
                    b.append(rules)
            for seen in buckets.values():
                if len(seen) < 2:
                    continue
                defined = [s for s in seen if s.isdisjoint(undefined)]
                for rule in set().union(*seen):
                    among = seen if rule in undefined else defined
                    if any(rule in s for s in among) and any(rule not in s for s in among):
                        out.setdefault((op, rule), set()).add(dim)
    return out


# On the largest hooks (60+ slots, 120+ setup steps per vector) only the
# size is an item: every other dimension is covered on small hooks, where a
# vector costs a few steps.
BIG = frozenset(("max-1", "max", "max+1"))
BIG_DIMS = frozenset(("size",))
# Ops whose successes act on a hook: their success rules are covered at
# every hook size and kind (the boundaries), whether or not the size could
# change which rule decides.
HOOK_OPS = frozenset(("attach", "link_create", "detach", "link_detach", "close", "link_update", "query"))


FORCED = ("size", "hook")


def acts_on_site(c: Candidate) -> bool:
    """Whether the request acts on the fixture's hook (its attach point, or a
    link or program on it), not on a parked object elsewhere."""
    s, fx = c.step, c.fixture
    site = s.dev if s.dev is not None else s.cgroup
    if site is not None:
        return (site, s.dir) == (fx.dev, fx.point)
    ref = s.link if s.link is not None else s.prog
    return isinstance(ref, str) and (ref in fx.links or ref in fx.progs)


def items_of(run: Run, dims: dict, rel: dict, forced: frozenset = frozenset()) -> frozenset:
    """What a run covers: (op, rule) for each of its rules, and (op, rule,
    dimension, value) for the dimensions that matter to the rule; the
    success rules of ``forced`` also at every hook size and kind when the
    request acts on the hook."""
    op = run.cand.step.op
    items = set()
    for rule in run.rules:
        items.add((op, rule))
        for dim in used_dims(run, rule, rel, forced):
            items.add((op, rule, dim, dims[dim][1](run.cand)))
    return frozenset(items)


def used_dims(run: Run, rule: str, rel: dict, forced: frozenset) -> list:
    """The dimensions whose values ``run`` covers for ``rule`` (sorted)."""
    op = run.cand.step.op
    use = set(rel.get((op, rule), ()))
    if (op, rule) in forced and acts_on_site(run.cand):
        use.update(FORCED)
    if run.cand.fixture.size in BIG:
        use &= BIG_DIMS
    return sorted(use)


def cost(run: Run) -> int:
    """Steps of the vector the run becomes (setup, objects, request, queries)."""
    return len(run.cand.fixture.steps) + 3 * len(run.cand.objects) + 4


def choose(runs: list[Run], dims: dict, rel: dict, forced: frozenset = frozenset()) -> list[Run]:
    """Weighted greedy set cover of every item of every run (module
    docstring): the run with the most uncovered items per step first, ties
    to the earlier run; returns the chosen runs in generation order."""
    first: dict = {}
    for i, r in enumerate(runs):
        key = items_of(r, dims, rel, forced)
        if key not in first:
            first[key] = i
    covered: set = set()
    heap = [(-len(key) / cost(runs[i]), i, key) for key, i in first.items()]
    heapq.heapify(heap)
    chosen = []
    while heap:
        neg, i, key = heapq.heappop(heap)
        gain = len(key - covered)
        if gain == 0:
            continue
        ratio = gain / cost(runs[i])
        if ratio < -neg:                     # stale estimate: put back with the true gain
            heapq.heappush(heap, (-ratio, i, key))
            continue
        chosen.append(i)
        covered |= key
    return [runs[i] for i in sorted(chosen)]


@dataclass
class Selection:
    runs: list          # every candidate with its outcome
    chosen: list        # the runs that become vectors
    relevant: dict      # (op, rule) -> dimensions that matter to it
    fixtures: list      # the fixtures the dialect can build
    forced: frozenset   # (op, rule) covered at every hook size and kind

    @property
    def largest_hook(self) -> int:
        return max(len(f.slots) for f in self.fixtures)


def select(fam: Tcx) -> Selection:
    """Every run of a family's dialect, the chosen ones, the relevance."""
    fixtures: list = []
    runs = run_candidates(fam, fixtures)
    dims = _dims(fam)
    table = fam.d.rules
    rel = relevance(runs, dims, frozenset(r for r, e in table.items() if e == UNDEFINED))
    forced = frozenset((op, rule) for op, rule in {(r.cand.step.op, x) for r in runs for x in r.rules}
                       if op in HOOK_OPS and table.get(rule) == "ok")
    return Selection(runs, choose(runs, dims, rel, forced), rel, fixtures, forced)


def dims_of(fam: Tcx) -> dict:
    return _dims(fam)


__all__ = ["Run", "Selection", "select", "dims_of", "items_of"]
