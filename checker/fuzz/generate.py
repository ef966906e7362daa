"""The campaign's request generator for the tcx dialects: cheap, seeded,
state-aware and steered by coverage.

Written once against a :class:`Draw` (a source of bounded integers), it runs
two ways:

* :class:`RandomDraw`: a seeded ``random.Random``, a few microseconds per
  request, recording every integer it hands out.  The campaign generates
  with it.
* :class:`HypothesisDraw`: every integer is a hypothesis ``st.integers(lo,
  hi)`` draw, so a sequence is hypothesis's choice sequence, one integer per
  draw.  :func:`replay` is a hypothesis strategy that draws through it; a
  diverging sequence's recorded integers, saved to hypothesis's example
  database, are replayed by it and shrunk by hypothesis (checker.fuzz.shrink).

The generator reads the model's world before each request (it runs
interleaved with the reference executor): the relative object, the
replaced or detached program and the revision guard are often taken from
the hook the request names, so the position, ownership and replace rules
are reached at the rate of everything else instead of by luck.  A sequence
is a pure function of its integers, its :class:`Bias` and the executor, so
replaying the integers gives the same requests.

:class:`Coverage` keeps which rules and which (rule, errno, boundary) cells
the campaign has reached and turns that into the next sequences' Bias: an
operation whose rules are not all reached, or whose recent requests still
find new cells, is drawn more often (spec/fuzz: coverage-guided generation).
The boundary of a request is the size of the hook it names before it runs:
0, 1, 2..61, 62 or 63 entries (``-`` for requests that name no hook).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Protocol

from ..dialects.linux import LOOPBACK
from ..flags import canonical as canonical_flags
from ..model import Raw, Step
from .strategies import DIRS, RAW_FD, RAW_ID, _STRAY

N_PROGS = 5                 # p0..p4 (sched_cls) and x0 (xdp)
N_LINKS = 3
DEVS = ("d0", "d1")
# The device a request names: the two veths, and now and then the
# namespace's own loopback (undeclared, never deletable: device/del-loopback).
TARGETS = DEVS * 4 + (LOOPBACK,)
FILL = tuple(f"f{i}" for i in range(63))
FULL_HOOK_ONE_IN = 10       # one sequence in this many starts from a full d0 ingress
MAX_REQUESTS = 30           # body length is drawn from 1..MAX_REQUESTS
# A full-hook sequence's body is longer: its 63 attaches (and the 63
# detaches that undo them) are paid once for more requests.
MAX_REQUESTS_FULL = 90

# The operations of a body and their base weights: the bpf(2) requests in
# the old hypothesis strategy's mix (attach 6, detach 3, query 2,
# link_create 3, link_update 2, link_detach and close 1), the netlink ones
# (device and clsact) far rarer once their rules are reached: a device
# deletion costs the kernel ~16 ms (unregister_netdevice waits for RCU
# several times), a pyroute2 request ~0.3 ms, a bpf(2) request 10-60 us.
OPS = ("attach", "detach", "query", "link_create", "link_update", "link_detach", "close",
       "dev_del", "dev_add", "clsact_add", "clsact_del")
BASE_WEIGHTS = (600, 300, 200, 300, 200, 100, 100, 1, 2, 4, 4)
# What a request of each operation costs the kernel, in bpf(2) attaches
# (measured with expedited RCU on Linux 6.18: attach ~130 us, a veth
# deletion ~13 ms, its re-creation by the restore ~1 ms, a clsact change
# ~0.5 ms): the coverage boost of an operation lasts for a fixed cost, so
# an expensive one gets few tries at a rule it cannot reach.
COST = dict(zip(OPS, (1, 1, 1, 3, 1, 1, 1, 110, 10, 4, 4)))

# Which operations can decide a rule, by the rule ID's chapter (the part
# before "/").  relative/* and attach/* are reached through link_create too.
RULE_OPS = {
    "attach": ("attach", "link_create"), "relative": ("attach", "detach", "link_create"),
    "detach": ("detach",), "query": ("query",), "link_create": ("link_create",),
    "link_update": ("link_update",), "link_detach": ("link_detach",), "close": ("close",),
    "device": ("dev_add", "dev_del"), "clsact": ("clsact_add", "clsact_del"),
    "hook": ("detach", "link_detach", "close", "clsact_add", "clsact_del", "attach"),
}


class Draw(Protocol):
    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""


class RandomDraw:
    """Integers from a seeded random.Random; ``choices`` records them."""
    __slots__ = ("_random", "choices")

    def __init__(self, seed):
        self._random = random.Random(seed).random
        self.choices: list[int] = []

    def int(self, lo: int, hi: int) -> int:
        v = lo + int(self._random() * (hi - lo + 1))
        self.choices.append(v)
        return v

    def length(self, lo: int, hi: int) -> int:
        """A body length, uniform in [lo, hi]; not a choice itself: each
        step is preceded by a "more" choice (:meth:`more`)."""
        return lo + int(self._random() * (hi - lo + 1))

    def more(self, wanted: bool) -> bool:
        self.choices.append(int(wanted))
        return wanted

    def span(self, fn):
        return fn()


class HypothesisDraw:
    """Integers drawn by hypothesis (inside a strategy): one choice each.
    A body is drawn as hypothesis draws a list (a "more" choice, then the
    element, in one span), so its shrinker deletes whole requests."""
    __slots__ = ("_draw",)
    _cache: dict = {}

    def __init__(self, draw):
        self._draw = draw

    def int(self, lo: int, hi: int) -> int:
        s = self._cache.get((lo, hi))
        if s is None:
            from hypothesis import strategies as st
            s = self._cache[(lo, hi)] = st.integers(lo, hi)
        return self._draw(s)

    def length(self, lo: int, hi: int) -> int:
        return hi

    def more(self, wanted: bool) -> bool:
        return bool(self.int(0, 1))

    def span(self, fn):
        from hypothesis import strategies as st
        outer = self._draw

        def inner(draw):
            self._draw = draw
            try:
                return fn()
            finally:
                self._draw = outer
        return outer(st.composite(inner)())


def pick(d: Draw, seq):
    return seq[d.int(0, len(seq) - 1)]


def chance(d: Draw, one_in: int) -> bool:
    """True once in ``one_in`` draws (on the largest integer: hypothesis
    shrinks towards 0, so towards False)."""
    return d.int(0, one_in - 1) == one_in - 1


@dataclass(frozen=True)
class Bias:
    """The operation weights of a sequence (in OPS order)."""
    weights: tuple = BASE_WEIGHTS


def prelude(full: bool) -> list[Step]:
    """The declarations every sequence starts with (and, for a full-hook
    sequence, 63 programs loaded and attached to d0 ingress)."""
    progs = [f"p{i}" for i in range(N_PROGS)]
    steps = [Step("dev_add", dev=d) for d in DEVS]
    steps += [Step("load", prog=p) for p in progs] + [Step("load", prog="x0", type="xdp")]
    if full:
        steps += [Step("load", prog=p) for p in FILL]
        steps += [Step("attach", prog=p, dev=DEVS[0], dir="ingress") for p in FILL]
    return steps


class Generator:
    """The body of one sequence, request by request, from a Draw and the
    model's world before each request."""

    def __init__(self, d: Draw, bias: Bias, full: bool, dialect: str = "linux"):
        self.d = d
        self.dialect = dialect
        self.rfc = dialect == "rfc"
        self.stray = _STRAY.get(dialect, _STRAY["linux"])
        self.weights = bias.weights
        self.progs = [f"p{i}" for i in range(N_PROGS)] + ["x0"] + (list(FILL[:3]) if full else [])
        self.sched = [p for p in self.progs if p != "x0"]
        self.links_left = [f"l{i}" for i in range(N_LINKS)]
        self.links: list[str] = []
        self.limit = MAX_REQUESTS_FULL if full else MAX_REQUESTS
        self.n = d.length(1, self.limit)
        self.drawn = dict.fromkeys(OPS, 0)     # requests per operation (Coverage.tried)

    # -- picks ----------------------------------------------------------------

    def _pool(self):
        return self.progs + self.links + [RAW_FD, RAW_ID, Raw(0)]

    def _ref(self):
        return pick(self.d, self._pool())

    def _entries(self, world, dev, dir) -> tuple:
        devs = world.devs.get(dev)
        h = devs.hook(dir) if devs is not None else None
        return h.slots if h is not None else ()

    def _on_hook(self, slots, links: bool = True):
        """An object on the hook (its program, or its link), or any reference."""
        if slots and self.d.int(0, 2):
            slot = pick(self.d, slots)
            if links and slot[1] is not None and chance(self.d, 2):
                return slot[1]
            return slot[0]
        return self._ref()

    def _flags(self, position: bool = True) -> tuple:
        d = self.d
        flags: list = []
        if position:
            flags += pick(d, ([], ["BEFORE"], ["AFTER"], ["BEFORE"], ["AFTER"], ["BEFORE", "AFTER"]))
        if self.rfc:
            flags += pick(d, ([], [], ["FIRST"], ["LAST"], ["FIRST", "LAST"]))
        if chance(d, 4):
            flags.append("ID")
        if chance(d, 5):
            flags.append("LINK")
        if chance(d, 31):
            flags.append(pick(d, self.stray))
        return canonical_flags(flags)

    def _revision(self, world, dev, dir) -> int:
        """Mostly unguarded: a nonzero guard is usually stale and ESTALE is
        checked first, which would hide every later rule; sometimes the
        hook's current revision (a guard that passes), sometimes a stale one."""
        k = self.d.int(0, 11)
        if k < 9:
            return 0
        devs = world.devs.get(dev)
        h = devs.hook(dir) if devs is not None else None
        rev = h.revision if h is not None else 1
        return (rev, rev + 1, max(rev - 1, 1) if rev > 1 else 3)[k - 9]

    # -- the body -------------------------------------------------------------

    def op(self) -> str:
        w = self.weights
        feasible = [(o, x) for o, x in zip(OPS, w)
                    if x and (o != "link_create" or self.links_left)
                    and (o not in ("link_update", "link_detach") or self.links)]
        total = sum(x for _, x in feasible)
        k = self.d.int(0, total - 1)
        for o, x in feasible:
            if k < x:
                self.drawn[o] += 1
                return o
            k -= x
        raise AssertionError("unreachable")

    def steps(self, world_of) -> Iterator[Step]:
        """The body: ``world_of()`` is the model's world before each request
        (the caller applies each step to the model before asking for the next)."""
        d = self.d
        for i in range(self.limit):
            s = d.span(lambda: self.step(self.op(), world_of()) if i == 0 or d.more(i < self.n) else None)
            if s is None:
                return
            yield s

    def step(self, op: str, world) -> Step:
        d = self.d
        dev = pick(d, TARGETS)
        dir = pick(d, DIRS)
        slots = self._entries(world, dev, dir)
        if op == "attach":
            return self._attach(world, dev, dir, slots)
        if op == "detach":
            return self._detach(world, dev, dir, slots)
        if op == "query":
            return Step("query", dev=dev, dir=dir, count=pick(d, (None, None, None, 0, 1, 2)),
                        query_flags=pick(d, (0,) * 12 + (1, 2)), attach_flags=pick(d, (0,) * 12 + (1,)))
        if op == "link_create":
            name = self.links_left.pop(0)
            prog = self._unattached(slots) if d.int(0, 8) else self._ref()
            # Links should mostly come to exist, so later requests can use them.
            flags = self._flags() if chance(d, 3) else ()
            rel = self._on_hook(slots) if flags and d.int(0, 1) else None
            self.links.append(name)
            return Step("link_create", link=name, prog=prog, dev=dev, dir=dir, flags=flags,
                        relative=rel, expected_revision=self._revision(world, dev, dir))
        if op == "link_update":
            return self._link_update(world)
        if op == "link_detach":
            return Step("link_detach", link=pick(d, self.links + self.progs[:1] + [RAW_FD]))
        if op == "close":
            if self.links and d.int(0, 1):
                return Step("close", link=pick(d, self.links))
            return Step("close", prog=pick(d, self.progs))
        return Step(op, dev=dev)          # dev_del, dev_add, clsact_add, clsact_del

    def _unattached(self, slots):
        """Mostly a sched_cls program not on the hook (the request can succeed)."""
        on = {s[0] for s in slots}
        free = [p for p in self.sched if p not in on]
        if free and self.d.int(0, 3):
            return pick(self.d, free)
        return pick(self.d, self.progs)

    def _attach(self, world, dev, dir, slots) -> Step:
        d = self.d
        flags = self._flags()
        rel = self._on_hook(slots) if d.int(0, 1) else None
        rep = None
        if chance(d, 4):
            flags = canonical_flags(flags + ("REPLACE",))
            rep = self._on_hook(slots, links=False) if d.int(0, 3) else pick(d, self.progs)
            if d.int(0, 1):
                flags = ("REPLACE",)          # plain in-place replace
                rel = None
        if rep is not None and self.rfc:
            rel = None                        # one union: the replaced program is the object
        prog = self._unattached(slots) if d.int(0, 5) else pick(d, self.links[:1] + [RAW_FD] + self.progs)
        return Step("attach", dev=dev, dir=dir, prog=prog, flags=flags, relative=rel, replace=rep,
                    expected_revision=self._revision(world, dev, dir))

    def _detach(self, world, dev, dir, slots) -> Step:
        d = self.d
        k = d.int(0, 3)
        prog = None if k == 0 else (self._on_hook(slots, links=False) if k < 3 else self._ref())
        flags = self._flags()
        rel = self._on_hook(slots) if d.int(0, 1) else None
        if chance(d, 21):
            flags = canonical_flags(flags + ("REPLACE",))
        return Step("detach", dev=dev, dir=dir, prog=prog, flags=flags, relative=rel,
                    expected_revision=self._revision(world, dev, dir))

    def _link_update(self, world) -> Step:
        # Mostly well-formed updates; sometimes a wrong kind, a raw fd or a stray flag.
        d = self.d
        link = pick(d, self.links) if d.int(0, 6) else self._ref()
        slots = ()
        l = world.links.get(link) if isinstance(link, str) else None
        if l is not None and l.dev is not None:
            slots = self._entries(world, l.dev, l.dir)
        old = None
        k = d.int(0, 3)
        if k == 1 and l is not None:
            old = l.prog
        elif k >= 2:
            old = self._ref()
        flags = ("REPLACE",) if old is not None and d.int(0, 5) else ()
        if chance(d, 13):
            flags = canonical_flags(flags + (pick(d, ("BEFORE", "ID")),))
        if d.int(0, 6):
            new = self._on_hook(slots, links=False) if chance(d, 4) else self._unattached(slots)
        else:
            new = self._ref()
        return Step("link_update", link=link, prog=new, old_prog=old, flags=flags)


def hook_size(world, s: Step) -> str:
    """The boundary class of a request: the size of the hook it names
    before it runs ("-": the request names no hook)."""
    if s.dir is None or s.dev is None:
        return "-"
    dev = world.devs.get(s.dev)
    h = dev.hook(s.dir) if dev is not None else None
    n = len(h.slots) if h is not None else 0
    return "0" if n == 0 else "1" if n == 1 else "62" if n == 62 else "63" if n >= 63 else "n"


def start(d: Draw, bias: Bias, dialect: str = "linux") -> tuple[bool, list[Step], Generator]:
    """Begin a sequence: whether it starts from a full hook (the first
    integer), its prelude, and the Generator of its body."""
    full = chance(d, FULL_HOOK_ONE_IN)
    return full, prelude(full), Generator(d, bias, full, dialect)


def sequence(d: Draw, bias: Bias, dialect: str = "linux", unit=None) -> list[Step]:
    """One whole sequence drawn from ``d``, interleaved with a fresh
    executor of ``dialect`` (or of ``unit``) as the campaign's is."""
    from ..exec import Executor
    ex = Executor(dialect, unit)
    _, steps, g = start(d, bias, dialect)
    for s in steps:
        ex.apply(s)
    out = list(steps)
    for s in g.steps(lambda: ex.world):
        ex.apply(s)
        out.append(s)
    return out


def replay(bias: Bias, dialect: str = "linux", unit=None):
    """The hypothesis strategy of sequences made with ``bias``: lists of
    Steps drawn through HypothesisDraw by the campaign's own generator
    (against the executor of ``dialect``, or of ``unit``, as the campaign's)."""
    from hypothesis import strategies as st

    @st.composite
    def sequences(draw):
        return sequence(HypothesisDraw(draw), bias, dialect, unit)
    return sequences()


class Coverage:
    """Rules and (rule, errno, boundary) cells reached, and the Bias that
    steers the next sequences towards what is missing."""

    # An operation with unreached rules weighs up to MISSING_WEIGHT times
    # the share of them more, until it has spent PATIENCE (in COST units)
    # without reaching a new rule (a rule no request can reach must not
    # keep an expensive operation boosted for the whole campaign); recent
    # discoveries (a rate that decays per sequence) add up to NOVELTY_WEIGHT.
    MISSING_WEIGHT = 600
    NOVELTY_WEIGHT = 300
    DECAY = 0.95
    PATIENCE = 6000

    def __init__(self, rules):
        self.rules = frozenset(rules)
        self.reached: set = set()
        self.cells: set = set()
        self.timeline: list = []         # (requests, rules reached, cells reached)
        self._novelty = {o: 0.0 for o in OPS}
        self._spent = {o: 0 for o in OPS}    # cost since the operation last reached a new rule
        self._reach = {o: [r for r in self.rules if o in RULE_OPS.get(r.split("/", 1)[0], ())]
                       for o in OPS}

    def record(self, s: Step, rule: str, effects: tuple, errno: str, boundary: str,
               requests: int) -> None:
        cell = (rule, errno, boundary)
        new = cell not in self.cells
        if new:
            self.cells.add(cell)
        grew = False
        if rule and rule not in self.reached:
            self.reached.add(rule)
            grew = True
        for r in effects:
            if r not in self.reached:
                self.reached.add(r)
                grew = True
        if new or grew:
            nov = self._novelty
            if s.op in nov:
                nov[s.op] += 1.0 + 4.0 * grew
                if grew:
                    self._spent[s.op] = 0
            self.timeline.append((requests, len(self.reached & self.rules), len(self.cells)))

    def tried(self, drawn: dict) -> None:
        """Count a finished sequence's requests (Generator.drawn) against
        each operation's patience."""
        spent = self._spent
        for o, n in drawn.items():
            if n:
                spent[o] += n * COST[o]

    def bias(self) -> Bias:
        """Base weights, raised for operations with unreached rules (while
        their patience lasts) and for those whose recent requests found new
        cells."""
        out = []
        nov = self._novelty
        for o, base in zip(OPS, BASE_WEIGHTS):
            rules = self._reach[o]
            w = float(base)
            if rules:
                missing = sum(1 for r in rules if r not in self.reached)
                left = max(0.0, 1.0 - self._spent[o] / self.PATIENCE)
                w += self.MISSING_WEIGHT * missing / len(rules) * left
            w += self.NOVELTY_WEIGHT * min(nov[o], 1.0)
            nov[o] *= self.DECAY
            out.append(max(1, int(round(w))))
        return Bias(tuple(out))
