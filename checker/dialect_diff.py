"""Where two dialects answer differently: the shortest request sequences on
which they diverge (``mprog dialects diff``; README "Dialects").

A bounded breadth-first search over a request alphabet, from the empty
world, running both dialects' executors side by side.  A sequence diverges
at its first step whose answers differ (errno, query count, revision, order,
owners, and anything else a dialect's query reports), or, after a step that
changed a world, when a query of the hook would answer differently.  Search
nodes are deduplicated by the pair of worlds, so every pair of states is
expanded once, at its least depth; a diverging sequence is not extended.
The first sequence found for each distinct first divergence (the rule that
decided the step in A, the rule in B) is kept: breadth-first order makes it
a shortest one (fewest letters; ties go to the earlier letter of the
alphabet).

The alphabet (depth counts letters; the setup is not counted):

* setup: ``load p1``, ``load p2``, ``load p3``;
* one device ``d0`` and one attach point (the first that both dialects
  have): ``dev_add``, ``dev_del``, ``clsact_add``, ``clsact_del``, ``query``
  (every letter naming d0 comes after its ``dev_add``, as in a script).  A
  dialect with a ``diff_hook`` the other lacks (netkit: ``primary``, on a
  pair made by ``netkit_add d0 d0p``) writes every letter on its own hook:
  the other dialect's requests on its first attach point, its own on its
  hook (dev_add becomes its device's request);
* ``attach X``, ``detach [X]``, ``link_create L X`` with X in p1..p3, a flag
  word W and a relative R; W is 0, every bit that either dialect's flag
  table names, or any two of them, sent as the same raw word to both
  dialects; R is none, p1..p3, a declared link, or the first or last program
  of the last fill; a W holding a bit that either dialect names REPLACE also
  takes a replaced program O in p1..p3; L is the next fresh link name (l1,
  l2: at most two links);
* directive letters, where the two dialects implement a directive
  differently (checker.dialects.base.Dialect.directive_flags): ``attach X``
  and ``link_create L X`` with what each dialect sends for FIRST, for LAST,
  and for both (mainline: BEFORE / AFTER with no relative, for both the
  FIRST one; the 2023 proposal: its FIRST / LAST pins): the same intent,
  each dialect's request;
* ``link_update L X``, ``link_detach L``, ``close L`` for a declared link L;
* ``fill``: load and append fresh programs f1, f2, ... until an append
  fails (the hook is full; the failed append is not part of the letter).

Not in the alphabet: expected revisions, raw fds and ids, other program
types, a second device or attach point, closing program fds.
"""
from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from typing import Iterator, Optional

from . import dialects
from .exec.world import World
from .flags import canonical
from .model import Outcome, Script, Step
from .runner import outcome_summary, stored_flags_table
from .syntax.vectors import with_expectations

PROGS = ("p1", "p2", "p3")
LINKS = ("l1", "l2")
DEV = "d0"
FILL_LIMIT = 256          # appends a fill letter tries before giving up (no dialect holds more)


@dataclass(frozen=True)
class Divergence:
    """A shortest sequence (setup included) whose last step is the first on
    which the dialects answer differently, with both dialects' answers to
    every step."""
    a: str
    b: str
    rules: tuple            # (rule that decided the last step in A, in B)
    steps_a: tuple          # Step, ..., the diverging one last: A's requests
    steps_b: tuple          # B's (the same, except for directive letters)
    answers_a: tuple        # Outcome per step
    answers_b: tuple
    depth: int              # letters (the setup loads not counted)
    legend: tuple           # lines explaining raw flag words and directive letters used

    def script(self, which: str) -> Script:
        """The sequence as a script of dialect ``which`` (a or b) with that
        dialect's answers as expectations: it replays with ``mprog run``."""
        name, answers = (self.a, self.answers_a) if which == "a" else (self.b, self.answers_b)
        other = self.b if which == "a" else self.a
        lines = [f"shortest sequence on which {self.a} and {self.b} answer differently "
                 f"({self.depth} request{'s' * (self.depth != 1)} after the setup); its last step:",
                 f"  {self.a}: {self.answer('a')}",
                 f"  {self.b}: {self.answer('b')}"]
        lines += self.legend
        lines.append(f"expectations: {name}'s answers (mprog dialects diff; {other} answers "
                     f"{self.summary('b' if which == 'a' else 'a')} to the last step)")
        steps = self.steps_a if which == "a" else self.steps_b
        return with_expectations(Script(steps, dialect=name, description="\n".join(lines)), answers)

    @property
    def last(self) -> str:
        """The diverging request, as each dialect writes it."""
        from .syntax.render import render_step
        ra, rb = render_step(self.steps_a[-1]), render_step(self.steps_b[-1])
        return ra if ra == rb else f"{ra}  ({self.a}) / {rb}  ({self.b})"

    def summary(self, which: str) -> str:
        """The last step's answer in dialect ``which`` (a or b)."""
        name, o = (self.a, self.answers_a[-1]) if which == "a" else (self.b, self.answers_b[-1])
        return outcome_summary(o, stored_flags_table(name))

    def answer(self, which: str) -> str:
        """The last step's answer with the rule that decided it."""
        o = self.answers_a[-1] if which == "a" else self.answers_b[-1]
        return f"{self.summary(which)}  [{o.rule}]"


@dataclass
class Report:
    a: str
    b: str
    depth: int
    point: str
    divergences: list
    states: int = 0          # distinct world pairs reached
    requests: int = 0        # requests run on each dialect (probe queries not counted)
    alphabet: int = 0        # letters once d0 is declared (more with links and fills)
    seconds: float = 0.0
    complete: bool = True    # False: the search stopped at max_states


def flag_names(names: tuple) -> str:
    return "|".join(n if isinstance(n, str) else hex(n) for n in names) or "0"


def observable(o: Outcome):
    """What a caller sees of an answer: the errno and whatever the query
    wrote back (every field of the dialect's query result).  A dialect whose
    queries report no stored flags writes zeros there (mainline's
    prog_attach_flags / link_attach_flags)."""
    q = o.query
    if q is not None and not q.flags and q.progs:
        q = dataclasses.replace(q, flags=(0,) * len(q.progs))
    return o.errno, q


class _Freezer:
    """Hashable values of worlds (frozen dataclasses holding mappings,
    tuples, strings), memoised by identity: successive worlds share most of
    their parts, which are frozen once."""

    def __init__(self):
        self._memo: dict = {}       # id -> (object, value): the object is kept so its id stays unique
        self._fields: dict = {}

    def __call__(self, x):
        hit = self._memo.get(id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        t = type(x)
        if isinstance(x, tuple):
            v = tuple(self(e) for e in x)
        elif hasattr(t, "items"):                       # dict, immutables.Map
            v = tuple(sorted((k, self(e)) for k, e in x.items()))
        elif hasattr(t, "__dataclass_fields__"):
            names = self._fields.get(t)
            if names is None:
                names = self._fields[t] = tuple(f.name for f in dataclasses.fields(x))
            v = (t.__name__,) + tuple(self(getattr(x, n)) for n in names)
        else:
            return x
        self._memo[id(x)] = (x, v)
        return v


PEER = "d0p"              # the peer of d0 in a dialect whose hook is on a pair (netkit)


class _View:
    """How one dialect writes the letters: on its attach point, with its
    device request (module docstring)."""

    def __init__(self, d, point: str, shared: str):
        self.point, self.shared = point, shared
        self.device_op = d.diff_hook[1] if d.diff_hook and d.diff_hook[0] == point else "dev_add"

    def __call__(self, s: Step) -> Step:
        if s.op == "dev_add" and self.device_op != "dev_add":
            return Step(self.device_op, dev=s.dev, peer=PEER)
        if s.dir == self.shared and self.point != self.shared:
            return dataclasses.replace(s, dir=self.point)
        return s


def points(a, b) -> tuple:
    """The attach point each dialect is compared on: its diff_hook if the
    other has no such point, else the first point both have."""
    shared = next((p for p in a.attach_points if p in b.attach_points), None)
    pa = a.diff_hook[0] if a.diff_hook and a.diff_hook[0] not in b.attach_points else shared
    pb = b.diff_hook[0] if b.diff_hook and b.diff_hook[0] not in a.attach_points else shared
    if pa is None or pb is None:
        # No request of one runs on the other (e.g. tcx hooks of a device
        # against cgroup attach points): nothing to search; say where the
        # differences are written down instead.
        raise ValueError(
            f"dialects {a.name!r} and {b.name!r} have no attach point in common ({a.name}: "
            f"{_points(a)}; {b.name}: {_points(b)}), so no request sequence runs on both; "
            f"their rules are in {a.spec}/ and {b.spec}/")
    return pa, pb


def _points(d) -> str:
    names = list(d.attach_points)
    return " ".join(names) if len(names) <= 3 else f"{' '.join(names[:2])} ... ({len(names)})"


class _Alphabet:
    """The letters of a node: the request alphabet over the names the
    sequence has declared so far (module docstring)."""

    def __init__(self, a, b, point: str, views: tuple = (None, None)):
        self.a, self.b, self.point = a, b, point
        self.view_a, self.view_b = (v or (lambda s: s) for v in views)
        self.ops = a.ops & b.ops
        bits = sorted({bit for d in (a, b) for bit in d.flags.bits.values()})
        self.words = (0,) + tuple(bits) + tuple(x | y for x, y in itertools.combinations(bits, 2))
        replace_bits = {d.flags["REPLACE"] for d in (a, b) if "REPLACE" in d.flags}
        self.flag_steps = {w: self._flags(a, b, w) for w in self.words}
        self.legend = {w: f"flags={hex(w)} is {flag_names(a.flags.decode(w))} in {a.name}, "
                          f"{flag_names(b.flags.decode(w))} in {b.name}"
                       for w in self.words if a.flags.decode(w) != b.flags.decode(w)}
        self.replacing = {w for w in self.words if any(w & rb for rb in replace_bits)}
        # A dialect whose replaced program and relative share one field (rfc)
        # takes one of them per request.
        self.union = a.relative_union or b.relative_union
        # Directive letters: (what, flags in A, flags in B) where they differ.
        self.intents = []
        for kinds in (("FIRST",), ("LAST",), ("FIRST", "LAST")):
            fa, fb = canonical(a.directive_flags(*kinds)), canonical(b.directive_flags(*kinds))
            if fa != fb:
                self.intents.append(("|".join(kinds), fa, fb))

    @staticmethod
    def _flags(a, b, word: int) -> tuple:
        """The word as flag names when both dialects name its bits alike,
        else the raw word (the same bits, meaning different things)."""
        if word == 0:
            return ()
        na, nb = a.flags.decode(word), b.flags.decode(word)
        return na if na == nb and all(isinstance(n, str) for n in na) else (word,)

    def letters(self, node) -> Iterator[tuple]:
        """(kind, A's step, B's step) in a fixed order; kind "fill" is the
        macro (no steps), "directive" a letter each dialect writes its way."""
        hook = dict(dev=DEV, dir=self.point)
        for op in ("dev_add", "dev_del", "clsact_add", "clsact_del"):
            if op in self.ops and (node.declared or op == "dev_add"):
                s = Step(op, dev=DEV)
                yield op, self.view_a(s), self.view_b(s)
        if not node.declared:         # a script names a device only after its dev_add
            return
        if "query" in self.ops:
            s = Step("query", **hook)
            yield "query", self.view_a(s), self.view_b(s)
        relatives = (None,) + PROGS + node.links + node.fill_ends
        new_link = LINKS[len(node.links)] if len(node.links) < len(LINKS) else None
        for op in ("attach", "detach", "link_create"):
            if op not in self.ops or (op == "link_create" and new_link is None):
                continue
            extra = {"link": new_link} if op == "link_create" else {}
            progs = PROGS + ((None,) if op == "detach" else ())
            for prog, word, rel in itertools.product(progs, self.words, relatives):
                flags = self.flag_steps[word]
                olds = PROGS if (op == "attach" and word in self.replacing) else (None,)
                for old in olds:
                    if old is not None and rel is not None and self.union:
                        continue
                    s = Step(op, prog=prog, flags=flags, relative=rel, replace=old, **hook, **extra)
                    yield op, self.view_a(s), self.view_b(s)
            if op == "detach":
                continue
            for (what, fa, fb), prog in itertools.product(self.intents, PROGS):
                yield ("directive", self.view_a(Step(op, prog=prog, flags=fa, **hook, **extra)),
                       self.view_b(Step(op, prog=prog, flags=fb, **hook, **extra)))
        for link in node.links:
            if "link_update" in self.ops:
                for prog in PROGS:
                    s = Step("link_update", link=link, prog=prog)
                    yield "link_update", s, s
            for op in ("link_detach", "close"):
                if op in self.ops:
                    s = Step(op, link=link)
                    yield op, s, s
        yield "fill", None, None

    def explain(self, steps_a, steps_b) -> tuple:
        """Legend lines for the raw words and directive letters of a sequence."""
        from .syntax.render import render_step
        words = sorted({f for s in steps_a for f in s.flags if isinstance(f, int)})
        lines = [self.legend[w] for w in words if w in self.legend]
        for sa, sb in zip(steps_a, steps_b):
            if sa.flags != sb.flags:
                what = next(w for w, fa, fb in self.intents if (fa, fb) == (sa.flags, sb.flags))
                lines.append(f"directive {what}: {self.a.name} writes '{render_step(sa)}', "
                             f"{self.b.name} '{render_step(sb)}'")
        return tuple(lines)


@dataclass(frozen=True)
class _Node:
    parent: Optional["_Node"]
    steps_a: tuple           # this letter's steps in A (with their answers below)
    steps_b: tuple
    answers_a: tuple
    answers_b: tuple
    world_a: object
    world_b: object
    links: tuple             # declared link names
    fill_ends: tuple         # first and last program of the last fill
    fills: int               # fill programs declared so far
    depth: int
    declared: bool = False   # d0 declared (dev_add sent)

    def history(self):
        chain, n = [], self
        while n is not None:
            chain.append(n)
            n = n.parent
        out = ([], [], [], [])
        for n in reversed(chain):
            for acc, part in zip(out, (n.steps_a, n.steps_b, n.answers_a, n.answers_b)):
                acc += part
        return out


def common_point(a, b) -> str:
    """The attach point the report names (both dialects' when they differ)."""
    pa, pb = points(a, b)
    return pa if pa == pb else f"{pa} ({a.name}) / {pb} ({b.name})"


def diff(name_a: str, name_b: str, depth: int = 3, max_states: int = 200_000) -> Report:
    """The first divergences of dialects ``name_a`` and ``name_b`` up to
    ``depth`` letters (module docstring).  Raises LookupError for an unknown
    dialect, ValueError when the two share no attach point."""
    a, b = dialects.get(name_a), dialects.get(name_b)
    pa, pb = points(a, b)
    shared = next((p for p in a.attach_points if p in b.attach_points), pa)
    views = (_View(a, pa, shared), _View(b, pb, shared))
    step_a, step_b = a.unit("executor").step, b.unit("executor").step
    alpha = _Alphabet(a, b, shared, views)
    probe_a, probe_b = (v(Step("query", dev=DEV, dir=shared)) for v in views)
    t0 = time.perf_counter()
    report = Report(a.name, b.name, depth, common_point(a, b), [])
    found: dict = {}

    def run(world_a, world_b, steps_a, steps_b):
        """Both dialects over their steps, up to the first divergence:
        (answers_a, answers_b, world_a, world_b, its index or None)."""
        aa, bb = [], []
        for i, (sa, sb) in enumerate(zip(steps_a, steps_b)):
            oa, world_a = step_a(world_a, sa)
            ob, world_b = step_b(world_b, sb)
            aa.append(oa)
            bb.append(ob)
            if observable(oa) != observable(ob):
                return aa, bb, world_a, world_b, i
        return aa, bb, world_a, world_b, None

    setup = tuple(Step("load", prog=p) for p in PROGS)
    aa, bb, wa, wb, bad = run(World(), World(), setup, setup)
    root = _Node(None, setup[:len(aa)], setup[:len(aa)], tuple(aa), tuple(bb), wa, wb, (), (), 0, 0, False)
    report.alphabet = sum(1 for _ in alpha.letters(dataclasses.replace(root, declared=True)))
    if bad is not None:                              # the dialects differ on load
        _record(found, report, root, alpha)
        return _finish(report, found, t0)
    freeze = _Freezer()
    frontier, seen = [root], {(freeze(wa), freeze(wb), (), (), False)}
    for d in range(1, depth + 1):
        nxt = []
        for node in frontier:
            for kind, sa, sb in alpha.letters(node):
                if kind == "fill":
                    steps_a, steps_b, aa, bb, wa, wb, bad, ends, fills = _fill(node, run, shared, views)
                    if not steps_a:
                        continue
                else:
                    steps_a, steps_b = (sa,), (sb,)
                    aa, bb, wa, wb, bad = run(node.world_a, node.world_b, steps_a, steps_b)
                    ends, fills = node.fill_ends, node.fills
                report.requests += len(aa)
                links = node.links + ((sa.link,) if sa is not None and sa.op == "link_create" else ())
                declared = node.declared or kind == "dev_add"
                child = _Node(node, tuple(steps_a[:len(aa)]), tuple(steps_b[:len(bb)]), tuple(aa),
                              tuple(bb), wa, wb, links, ends, fills, d, declared)
                if bad is not None:
                    _record(found, report, child, alpha)
                    continue
                if wa is not node.world_a or wb is not node.world_b:
                    # A changed world that a query would show differently: the
                    # sequence with that query appended diverges (this one not yet).
                    oa, _ = step_a(wa, probe_a)
                    ob, _ = step_b(wb, probe_b)
                    if observable(oa) != observable(ob):
                        _record(found, report, _Node(child, (probe_a,), (probe_b,), (oa,), (ob,), wa, wb,
                                                     links, ends, fills, d + 1, declared), alpha,
                                witnessed=True)
                key = (freeze(wa), freeze(wb), links, ends, declared)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > max_states:
                    report.complete = False
                    report.states = len(seen)
                    return _finish(report, found, t0)
                nxt.append(child)
        frontier = nxt
    report.states = len(seen)
    return _finish(report, found, t0)


def _fill(node: _Node, run, point: str, views: tuple):
    """The fill letter: load and append fresh programs until an append fails."""
    steps_a, steps_b, aa, bb = [], [], [], []
    wa, wb, fills = node.world_a, node.world_b, node.fills
    first = None
    for _ in range(FILL_LIMIT):
        name = f"f{fills + 1}"
        pair = (Step("load", prog=name), Step("attach", prog=name, dev=DEV, dir=point))
        pair_a, pair_b = (tuple(v(s) for s in pair) for v in views)
        a2, b2, wa2, wb2, bad = run(wa, wb, pair_a, pair_b)
        if bad is None and a2[-1].errno != "ok":       # the hook is full in both: done
            break
        steps_a += pair_a[:len(a2)]
        steps_b += pair_b[:len(b2)]
        aa += a2
        bb += b2
        wa, wb, fills = wa2, wb2, fills + 1
        first = first or name
        if bad is not None:
            return tuple(steps_a), tuple(steps_b), aa, bb, wa, wb, len(steps_a) - 1, node.fill_ends, fills
    if first is None:
        return (), (), [], [], wa, wb, None, node.fill_ends, fills
    return tuple(steps_a), tuple(steps_b), aa, bb, wa, wb, None, (first, f"f{fills}"), fills


def _record(found: dict, report: Report, node: _Node, alpha: _Alphabet, witnessed: bool = False) -> None:
    steps_a, steps_b, aa, bb = node.history()
    # A query appended to witness a state difference: when it answers alike
    # but shows different hooks, the letter before it made the difference
    # and names it.
    i = -2 if witnessed and (aa[-1].errno, aa[-1].rule) == (bb[-1].errno, bb[-1].rule) else -1
    key = (aa[i].rule, bb[i].rule)
    if key in found:
        return
    found[key] = Divergence(report.a, report.b, key, tuple(steps_a), tuple(steps_b), tuple(aa),
                            tuple(bb), node.depth, alpha.explain(steps_a, steps_b))


def _finish(report: Report, found: dict, t0: float) -> Report:
    report.divergences = sorted(found.values(), key=lambda d: (d.depth, len(d.steps_a), d.rules))
    report.seconds = time.perf_counter() - t0
    return report
