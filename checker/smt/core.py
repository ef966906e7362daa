"""What every dialect's z3 encoding shares: the symbolic hook state and
request, the post-state effects (insert / replace / remove at an index
term), and the decision chain that tracks each rule under its ID.

Symbolic world of one request: the hook (slots, revision, ``hook.bundle``),
its device (``dev.present``, ``dev.clsact``), and one descriptor per fd the
request passes (``req<k>.prog.fd`` etc.: FD_NONE = fd 0 or absent, a file
that is not a BPF object; FD_CLOSED = not open; FD_PROG / FD_LINK = an open
program / link fd) with the object's type (``req<k>.prog.sched_cls``) and,
for links, attached or defunct.  A hook without a bundle is the canonical
empty hook: ``count`` 0, ``rev`` 1 (bundles start at 1).

Conventions (as kernel/bpf/mprog.c and checker/exec/mprog.py):
``n`` = ``count@t``, slots ``0 .. n-1`` in run order, slots ``n .. size-1``
are empty (prog 0, link 0); prog ids and link ids are integers >= 1, 0 means
"none" (no owning link = prog API).  Positions: -1 = not found.  A dialect
whose slots store flags (rfc: FIRST / LAST) builds its states with
``pins=True``: two more Booleans per slot (``fpin[j]`` = ``slot[j].first``,
``lpin[j]`` = ``slot[j].last``), false on empty slots, carried by every
effect below.

A request is decided by a *chain*: the checks of its chapter in heading
order, each a Boolean ``fires.<rule>@k`` that is true when its condition
holds and no earlier check fired.  The rule that fires fixes ``req<k>.errno``,
``req<k>.rule`` and the post-state (unchanged for every failure).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import z3

from . import names

ERRNOS = ("ok", "EBADF", "EBUSY", "EEXIST", "EINVAL", "ENOENT", "ENOLINK", "ENOSPC",
          "EPERM", "ERANGE", "ESTALE", "ENODEV", "UNDEFINED",   # UNDEFINED: checker.model
          "EACCES",                                             # rfc: replace off the edge; netkit: the peer
          "EOPNOTSUPP",                                         # device/del-loopback
          "ENXIO")                                              # netkit: not a netkit device

# Relative-object kinds (req.rel.kind): what relative_fd / relative_id names.
REL_NONE, REL_RAW, REL_PROG, REL_LINK = 0, 1, 2, 3
REL_KINDS = {REL_NONE: "none", REL_RAW: "raw", REL_PROG: "prog", REL_LINK: "link"}
# What an fd argument names (req.<arg>.fd).
FD_NONE, FD_CLOSED, FD_PROG, FD_LINK = 0, 1, 2, 3
FD_KINDS = {FD_NONE: "zero", FD_CLOSED: "closed", FD_PROG: "prog", FD_LINK: "link"}


def errno_code(name: str) -> int:
    return ERRNOS.index(name)


@dataclass(frozen=True)
class Tracked:
    """One constraint and the spec rule it encodes (label ``<rule>@<step>``)."""
    label: str
    expr: z3.BoolRef


# --------------------------------------------------------------------------
# Symbolic hook state and request

class State:
    """The hook before request ``t`` (``size`` slots, of which ``n`` used),
    whether it has a bundle, and its device's presence and clsact qdisc."""

    def __init__(self, t: int, size: int, pins: bool = False):
        self.t, self.size = t, size
        self.n = z3.Int(names.count(t))
        self.rev = z3.Int(names.rev(t))
        self.prog = [z3.Int(names.slot_prog(j, t)) for j in range(size)]
        self.link = [z3.Int(names.slot_link(j, t)) for j in range(size)]
        self.pins = pins
        # stored pins (rfc): ``fpin[j]`` FIRST, ``lpin[j]`` LAST
        self.fpin = [z3.Bool(names.slot_pin(j, "first", t)) for j in range(size)] if pins else []
        self.lpin = [z3.Bool(names.slot_pin(j, "last", t)) for j in range(size)] if pins else []
        self.bundle = z3.Bool(names.hook_flag("bundle", t))
        self.present = z3.Bool(names.hook_flag("present", t))
        self.clsact = z3.Bool(names.hook_flag("clsact", t))

    def wellformed(self, n_max: int) -> list:
        """No duplicate program, one slot per link, empty slots zeroed; a hook
        without a bundle is empty at revision 1; a clsact holds a bundle; a
        deleted device has neither; an empty bundle exists only while a
        clsact holds it (hook/free-when-empty)."""
        cs = [self.n >= 0, self.n <= n_max, self.rev >= 1,
              z3.Implies(z3.Not(self.bundle), z3.And(self.n == 0, self.rev == 1)),
              z3.Implies(self.clsact, self.bundle),
              z3.Implies(z3.Not(self.present), z3.And(z3.Not(self.clsact), z3.Not(self.bundle))),
              z3.Implies(z3.And(self.bundle, self.n == 0), self.clsact)]
        for j in range(self.size):
            used = j < self.n
            cs += [z3.Implies(used, self.prog[j] >= 1), z3.Implies(used, self.link[j] >= 0),
                   z3.Implies(z3.Not(used), z3.And(self.prog[j] == 0, self.link[j] == 0))]
            if self.pins:
                cs.append(z3.Implies(z3.Not(used), z3.And(z3.Not(self.fpin[j]), z3.Not(self.lpin[j]))))
            for i in range(j):
                cs.append(z3.Implies(used, self.prog[i] != self.prog[j]))
                cs.append(z3.Implies(z3.And(used, self.link[i] != 0), self.link[i] != self.link[j]))
        return cs

    def member(self, p) -> z3.BoolRef:
        return z3.Or([z3.And(j < self.n, self.prog[j] == p) for j in range(self.size)])

    def owns(self, l) -> z3.BoolRef:
        return z3.Or([z3.And(j < self.n, self.link[j] == l) for j in range(self.size)])

    def columns(self) -> list:
        """The per-slot variables, one list per field: prog, link (and the pins)."""
        return [self.prog, self.link] + ([self.fpin, self.lpin] if self.pins else [])

    def first(self, pred) -> z3.ArithRef:
        """Index of the first used slot j with pred(j), or -1."""
        e = z3.IntVal(-1)
        for j in reversed(range(self.size)):
            e = z3.If(z3.And(j < self.n, pred(j)), j, e)
        return e


def sel(arr: list, idx) -> z3.ArithRef:
    """arr[idx] for a symbolic index (0 outside the array)."""
    e = z3.IntVal(0)
    for j in reversed(range(len(arr))):
        e = z3.If(idx == j, arr[j], e)
    return e


class Req:
    """Request ``k``: flags, fd descriptors, objects (as ids) and the
    relative-object descriptor."""

    BOOLS = ("replace", "before", "after", "id", "link_flag", "stray", "prog_cls", "repl_cls",
             "rel_fd_open", "rel_alive", "rel_type_ok", "defunct", "type_ok", "qf_unknown",
             "qf_effective", "attach_flags", "has_count", "loopback")
    INTS = ("prog_fd", "prog", "repl_fd", "old", "link_fd", "owner", "old_fd", "cur", "exp",
            "rel_kind", "rel_prog", "rel_link", "qcap")

    def __init__(self, k: int):
        b = lambda f: z3.Bool(names.req(k, f))   # noqa: E731
        i = lambda f: z3.Int(names.req(k, f))    # noqa: E731
        self.k = k
        self.replace, self.before, self.after = b("flags.replace"), b("flags.before"), b("flags.after")
        self.id, self.link_flag = b("flags.id"), b("flags.link")
        self.stray = b("flags.stray")            # any bit the flag mask rejects
        self.prog_fd, self.prog_cls = i("prog.fd"), b("prog.sched_cls")
        self.prog = i("prog")                    # program of the request (0 = none)
        self.repl_fd, self.repl_cls = i("replace.fd"), b("replace.sched_cls")
        self.old = i("old")                      # replaced / old program (0 = none)
        self.link_fd = i("link.fd")              # link_update / link_detach / close: the fd
        self.owner = i("owner")                  # link of the request (0 = prog API)
        self.old_fd = i("old.fd")                # link_update: the old-program fd
        self.exp = i("expected_revision")
        self.rel_kind = i("rel.kind")
        self.rel_fd_open, self.rel_alive = b("rel.fd_open"), b("rel.alive")
        self.rel_type_ok = b("rel.type_ok")      # same type as the type filter
        self.rel_prog, self.rel_link = i("rel.prog"), i("rel.link")
        self.defunct = b("link.defunct")         # the request's link is defunct
        self.cur = i("link.prog")                # link_update: the link's program
        self.type_ok = b("prog.type_ok")         # link_update: new prog has cur's type
        self.qf_unknown, self.qf_effective = b("query_flags.unknown"), b("query_flags.effective")
        self.attach_flags = b("attach_flags.nonzero")
        self.has_count, self.qcap = b("count.given"), i("count")
        self.loopback = b("dev.loopback")        # the device named is the namespace's loopback
        self.errno, self.rule = i("errno"), i("rule")
        self.q_count, self.q_rev, self.q_shown = i("out.count"), i("out.revision"), i("out.shown")


# --------------------------------------------------------------------------
# Effects on the post-state

def _empty(col: list):
    """The value of an empty slot in a column (0, or no pin)."""
    return z3.BoolVal(False) if z3.is_bool(col[0]) else z3.IntVal(0)


def same_slots(pre: State, post: State) -> list:
    return [b[j] == a[j] for a, b in zip(pre.columns(), post.columns()) for j in range(pre.size)]


def same_hook(pre: State, post: State) -> z3.BoolRef:
    return z3.And([post.n == pre.n, post.rev == pre.rev] + same_slots(pre, post))


def keep_dev(pre: State, post: State) -> z3.BoolRef:
    return z3.And(post.present == pre.present, post.clsact == pre.clsact)


def same(pre: State, post: State) -> z3.BoolRef:
    return z3.And(same_hook(pre, post), keep_dev(pre, post), post.bundle == pre.bundle)


NO_PINS = (False, False)


def _slot(pre: State, p, l, pins) -> list:
    """A new slot's values, one per column (pins: (first, last) Booleans)."""
    return [p, l] + ([z3.BoolVal(x) if isinstance(x, bool) else x for x in pins] if pre.pins else [])


def insert_at(pre: State, post: State, at, p, l, pins=NO_PINS) -> z3.BoolRef:
    """Slots and revision; the bundle is hook/create's (``created``)."""
    cs = [post.n == pre.n + 1, post.rev == pre.rev + 1, keep_dev(pre, post)]
    cols = list(zip(pre.columns(), post.columns(), _slot(pre, p, l, pins)))
    for j in range(pre.size):
        for a, b, v in cols:
            prev = a[j - 1] if j else _empty(a)
            cs.append(b[j] == z3.If(j < at, a[j], z3.If(j == at, v, prev)))
    return z3.And(cs)


def replace_at(pre: State, post: State, at, p, l, pins=None) -> z3.BoolRef:
    """``pins`` None: the slot keeps its pins."""
    cs = [post.n == pre.n, post.rev == pre.rev + 1, keep_dev(pre, post), post.bundle == pre.bundle]
    new = _slot(pre, p, l, pins) if pins is not None else [p, l] + [None] * (len(pre.columns()) - 2)
    cols = list(zip(pre.columns(), post.columns(), new))
    for j in range(pre.size):
        for a, b, v in cols:
            cs.append(b[j] == (a[j] if v is None else z3.If(j == at, v, a[j])))
    return z3.And(cs)


def remove_at(pre: State, post: State, at) -> z3.BoolRef:
    """Slots only; revision and bundle are hook/free-when-empty's (``settle``)."""
    cs = [post.n == pre.n - 1, keep_dev(pre, post)]
    cols = list(zip(pre.columns(), post.columns()))
    for j in range(pre.size):
        for a, b in cols:
            nxt = a[j + 1] if j + 1 < pre.size else _empty(a)
            cs.append(b[j] == z3.If(j < at, a[j], nxt))
    return z3.And(cs)


def created(pre: State, post: State) -> z3.BoolRef:
    """hook/create: after a successful attach the hook has a bundle."""
    return post.bundle


def settle(pre: State, post: State) -> z3.BoolRef:
    """hook/free-when-empty: a removal that leaves the hook empty without a
    clsact frees the bundle (revision forgotten: 1); otherwise revision + 1."""
    freed = z3.And(post.n == 0, z3.Not(pre.clsact))
    return z3.And(post.bundle == z3.Not(freed), post.rev == z3.If(freed, 1, pre.rev + 1))


def empty_hook(post: State) -> list:
    return [post.n == 0, post.rev == 1, z3.Not(post.bundle)] + \
        [x == 0 for x in post.prog + post.link] + [z3.Not(x) for x in post.fpin + post.lpin]

def encoded_rules(encode, ops) -> frozenset:
    """Rule IDs with a tracked constraint in ``encode``'s chains over ``ops``
    (a dialect's encoding: ``encode(op, k, pre, post, req)``)."""
    pre, post, r = State(0, 2), State(1, 2), Req(0)
    return frozenset().union(*(encode(op, 0, pre, post, r).rules() for op in ops))


_CODES: dict = {}


def rule_code(table: dict, rule: str) -> int:
    """The code of ``rule`` in a dialect's rule table (its index in sorted order)."""
    codes = _CODES.get(id(table))
    if codes is None:
        codes = _CODES[id(table)] = {r: i for i, r in enumerate(sorted(table))}
    return codes[rule]


# --------------------------------------------------------------------------
# The decision chain

class Chain:
    """Checks in spec order; ``check`` adds one rule, tracked under its ID;
    ``effect`` adds an effect rule (hook/*) that shapes a success.  A
    dialect's encoding subclasses it with its rule table (``TABLE``: rule
    ID -> errno); rule codes are indexes into the sorted table."""

    TABLE: dict = {}

    def __init__(self, k: int, pre: State, post: State, req: Req, scope: str = ""):
        self.k, self.pre, self.post, self.req, self.scope = k, pre, post, req, scope
        self.tracked: list[Tracked] = []
        self.decided = z3.BoolVal(False)
        self.fires: dict[str, z3.BoolRef] = {}
        self.effects: dict[str, z3.BoolRef] = {}
        self._keys: set = set()
        self.terms: dict[str, z3.ArithRef] = {}   # index terms (templates; checker.smt.equiv)

    def _key(self, rule: str) -> str:
        key = f"{self.scope}.{rule}" if self.scope else rule
        while key in self._keys:
            key += "'"                                    # a rule that occurs twice in a chain
        self._keys.add(key)
        return key

    def check(self, rule: str, cond, effect=None) -> z3.BoolRef:
        """Rule ``rule`` decides the request when ``cond`` holds and no earlier
        check fired: its errno (spec), its rule code, and ``effect`` (default:
        nothing changes)."""
        lab = names.label(rule, self.k)
        f = z3.Bool(names.fires(self._key(rule), self.k))
        eff = same(self.pre, self.post) if effect is None else effect
        self.tracked.append(Tracked(lab, f == z3.And(z3.Not(self.decided), cond)))
        self.tracked.append(Tracked(lab, z3.Implies(f, z3.And(
            self.req.errno == errno_code(self.TABLE[rule]), self.req.rule == rule_code(self.TABLE, rule),
            eff))))
        self.decided = z3.Or(self.decided, f)
        self.fires[rule] = z3.Or(self.fires[rule], f) if rule in self.fires else f
        return f

    def effect(self, rule: str, when, eff) -> None:
        """Effect rule ``rule`` (errno ok, decides nothing): ``eff`` holds
        whenever ``when`` (a success of this chain) does."""
        g = z3.Bool(names.effect(self._key(rule), self.k))
        self.tracked.append(Tracked(names.label(rule, self.k), g == when))
        self.tracked.append(Tracked(names.label(rule, self.k), z3.Implies(g, eff)))
        self.effects[rule] = z3.Or(self.effects[rule], g) if rule in self.effects else g

    def rules(self) -> set:
        return set(self.fires) | set(self.effects)
