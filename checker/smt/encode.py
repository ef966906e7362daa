"""The spec's rules as z3 constraints over a symbolic hook state and request.

Written from spec/attach.md, spec/detach.md, spec/objects.md (fds, ids,
relative objects), spec/link.md, spec/query.md and spec/device.md, not from
the executor.  Every constraint is tracked under ``<rule-id>@<step>``; all 88
rules of checker.rules.LINUX have one (``RULE_IDS``).

Symbolic world of one request: the hook (slots, revision, ``hook.bundle``),
its device (``dev.present``, ``dev.clsact``), and one descriptor per fd the
request passes (``req<k>.prog.fd`` etc.: FD_NONE = fd 0 or absent, a file
that is not a BPF object; FD_CLOSED = not open; FD_PROG / FD_LINK = an open
program / link fd) with the object's type (``req<k>.prog.sched_cls``) and,
for links, attached or defunct.  A hook without a bundle is the canonical
empty hook: ``count`` 0, ``rev`` 1 (spec/device.md: bundles start at 1).

Conventions (as kernel/bpf/mprog.c and checker/executor.py):
``n`` = ``count@t``, slots ``0 .. n-1`` in run order, slots ``n .. size-1``
are empty (prog 0, link 0); prog ids and link ids are integers >= 1, 0 means
"none" (no owning link = prog API).  Positions: -1 = not found.

A request is decided by a *chain*: the checks of its chapter in heading
order, each a Boolean ``fires.<rule>@k`` that is true when its condition
holds and no earlier check fired.  The rule that fires fixes ``req<k>.errno``,
``req<k>.rule`` and the post-state (unchanged for every failure).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import z3

from ..constants import MPROG_MAX, QUERY_DEFAULT_COUNT
from ..rules import LINUX
from . import names

ERRNOS = ("ok", "EBADF", "EBUSY", "EEXIST", "EINVAL", "ENOENT", "ENOLINK", "ENOSPC",
          "EPERM", "ERANGE", "ESTALE", "ENODEV")
RULE_LIST = tuple(sorted(LINUX))

# Relative-object kinds (req.rel.kind): what relative_fd / relative_id names.
REL_NONE, REL_RAW, REL_PROG, REL_LINK = 0, 1, 2, 3
REL_KINDS = {REL_NONE: "none", REL_RAW: "raw", REL_PROG: "prog", REL_LINK: "link"}
# What an fd argument names (req.<arg>.fd).
FD_NONE, FD_CLOSED, FD_PROG, FD_LINK = 0, 1, 2, 3
FD_KINDS = {FD_NONE: "zero", FD_CLOSED: "closed", FD_PROG: "prog", FD_LINK: "link"}


def errno_code(name: str) -> int:
    return ERRNOS.index(name)


def rule_code(rule: str) -> int:
    return RULE_LIST.index(rule)


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

    def __init__(self, t: int, size: int):
        self.t, self.size = t, size
        self.n = z3.Int(names.count(t))
        self.rev = z3.Int(names.rev(t))
        self.prog = [z3.Int(names.slot_prog(j, t)) for j in range(size)]
        self.link = [z3.Int(names.slot_link(j, t)) for j in range(size)]
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
            for i in range(j):
                cs.append(z3.Implies(used, self.prog[i] != self.prog[j]))
                cs.append(z3.Implies(z3.And(used, self.link[i] != 0), self.link[i] != self.link[j]))
        return cs

    def member(self, p) -> z3.BoolRef:
        return z3.Or([z3.And(j < self.n, self.prog[j] == p) for j in range(self.size)])

    def owns(self, l) -> z3.BoolRef:
        return z3.Or([z3.And(j < self.n, self.link[j] == l) for j in range(self.size)])

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
             "qf_effective", "attach_flags", "has_count")
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
        self.errno, self.rule = i("errno"), i("rule")
        self.q_count, self.q_rev, self.q_shown = i("out.count"), i("out.revision"), i("out.shown")


# --------------------------------------------------------------------------
# Effects on the post-state

def same_hook(pre: State, post: State) -> z3.BoolRef:
    return z3.And([post.n == pre.n, post.rev == pre.rev]
                  + [post.prog[j] == pre.prog[j] for j in range(pre.size)]
                  + [post.link[j] == pre.link[j] for j in range(pre.size)])


def keep_dev(pre: State, post: State) -> z3.BoolRef:
    return z3.And(post.present == pre.present, post.clsact == pre.clsact)


def same(pre: State, post: State) -> z3.BoolRef:
    return z3.And(same_hook(pre, post), keep_dev(pre, post), post.bundle == pre.bundle)


def insert_at(pre: State, post: State, at, p, l) -> z3.BoolRef:
    """Slots and revision; the bundle is hook/create's (``created``)."""
    cs = [post.n == pre.n + 1, post.rev == pre.rev + 1, keep_dev(pre, post)]
    for j in range(pre.size):
        pp = pre.prog[j - 1] if j else z3.IntVal(0)
        pl = pre.link[j - 1] if j else z3.IntVal(0)
        cs.append(post.prog[j] == z3.If(j < at, pre.prog[j], z3.If(j == at, p, pp)))
        cs.append(post.link[j] == z3.If(j < at, pre.link[j], z3.If(j == at, l, pl)))
    return z3.And(cs)


def replace_at(pre: State, post: State, at, p, l) -> z3.BoolRef:
    cs = [post.n == pre.n, post.rev == pre.rev + 1, keep_dev(pre, post), post.bundle == pre.bundle]
    for j in range(pre.size):
        cs.append(post.prog[j] == z3.If(j == at, p, pre.prog[j]))
        cs.append(post.link[j] == z3.If(j == at, l, pre.link[j]))
    return z3.And(cs)


def remove_at(pre: State, post: State, at) -> z3.BoolRef:
    """Slots only; revision and bundle are hook/free-when-empty's (``settle``)."""
    cs = [post.n == pre.n - 1, keep_dev(pre, post)]
    for j in range(pre.size):
        np_ = pre.prog[j + 1] if j + 1 < pre.size else z3.IntVal(0)
        nl = pre.link[j + 1] if j + 1 < pre.size else z3.IntVal(0)
        cs.append(post.prog[j] == z3.If(j < at, pre.prog[j], np_))
        cs.append(post.link[j] == z3.If(j < at, pre.link[j], nl))
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
        [x == 0 for x in post.prog + post.link]


# --------------------------------------------------------------------------
# The decision chain

class Chain:
    """Checks in spec order; ``check`` adds one rule, tracked under its ID;
    ``effect`` adds an effect rule (hook/*) that shapes a success."""

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
            self.req.errno == errno_code(LINUX[rule]), self.req.rule == rule_code(rule), eff))))
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


def _fd_checks(ch: Chain, fd, cls, closed: str, notprog: str, wrong_type: str = None, when=True):
    """objects.md: an fd that is not open (EBADF), open but not a program
    (EINVAL; fd 0 is a file), then the program type (EINVAL)."""
    ch.check(closed, z3.And(when, fd == FD_CLOSED))
    ch.check(notprog, z3.And(when, fd != FD_PROG))
    if wrong_type:
        ch.check(wrong_type, z3.And(when, z3.Not(cls)))


def _relative(ch: Chain, filtered) -> tuple:
    """spec/objects.md "Relative-object resolution": returns (has_rel, prog, link)
    of the relative object (link 0 for a program relative)."""
    r = ch.req
    K, zero = r.rel_kind, r.rel_kind == REL_NONE
    L, I = r.link_flag, r.id
    ch.check("relative/link-fd-zero", z3.And(L, z3.Not(I), zero))
    ch.check("relative/fd-closed", z3.And(z3.Not(I), z3.Not(zero), z3.Or(
        K == REL_RAW, z3.And(z3.Or(K == REL_PROG, K == REL_LINK), z3.Not(r.rel_fd_open)))))
    ch.check("relative/not-link", z3.And(L, z3.Not(I), K == REL_PROG, r.rel_fd_open))
    ch.check("relative/not-prog", z3.And(z3.Not(L), z3.Not(I), K == REL_LINK, r.rel_fd_open))
    ch.check("relative/id-unknown", z3.And(I, z3.If(
        L, z3.Not(z3.And(K == REL_LINK, r.rel_fd_open)), z3.Not(z3.And(K == REL_PROG, r.rel_alive)))))
    has_rel = z3.Or(L, I, z3.Not(zero))
    ch.check("relative/type-mismatch", z3.And(filtered, has_rel, z3.Not(r.rel_type_ok)))
    return has_rel, r.rel_prog, z3.If(L, r.rel_link, 0)


def _relative_index(pre: State, rp, rl):
    """A program relative matches its slot whatever owns it; a link relative
    matches only its own slot."""
    return pre.first(lambda j: z3.And(pre.prog[j] == rp, z3.Or(rl == 0, pre.link[j] == rl)))


# The BEFORE/AFTER rules of attach and detach, in check order (rule IDs as
# literals, as in the executor's _POSITION_RULES).
_POSITION_RULES = {
    "attach": ("attach/before-missing", "attach/before-conflict", "attach/after-missing",
               "attach/after-conflict", "attach/relative-without-position"),
    "detach": ("detach/before-missing", "detach/before-conflict", "detach/after-missing",
               "detach/after-conflict", "detach/relative-without-position"),
}


def _position(ch: Chain, op: str, has_rel, ir, anchored, anchor):
    """BEFORE R picks index(R) - 1 (none: -1), AFTER R index(R) + 1 (none:
    n); each must agree with the anchor (attach: the REPLACEd slot; detach:
    the named program) and with each other.  Returns the two target terms."""
    r, pre = ch.req, ch.pre
    B, A = r.before, r.after
    missing_b, conflict_b, missing_a, conflict_a, without = _POSITION_RULES[op]
    t_before = z3.If(has_rel, ir - 1, -1)
    t_after = z3.If(has_rel, ir + 1, pre.n)
    ch.check(missing_b, z3.And(B, has_rel, ir < 0))
    ch.check(conflict_b, z3.And(B, anchored, t_before != anchor))
    ch.check(missing_a, z3.And(A, has_rel, ir < 0))
    ch.check(conflict_a, z3.And(A, z3.Or(anchored, B), t_after != z3.If(anchored, anchor, t_before)))
    ch.check(without, z3.And(z3.Not(anchored), z3.Not(B), z3.Not(A),
                             z3.Or(has_rel, r.id, r.link_flag, r.stray)))
    return t_before, t_after


def attach_core(k: int, pre: State, post: State, r: Req, owner, old, ch: Chain = None) -> Chain:
    """spec/attach.md "Core": from attach/stale-revision to attach/replace,
    plus hook/create (the bundle exists after a success)."""
    ch = ch or Chain(k, pre, post, r)
    R, B, A = r.replace, r.before, r.after
    ch.check("attach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    ip = pre.first(lambda j: pre.prog[j] == r.prog)
    ch.check("attach/prog-exists", ip >= 0)
    has_rel, rp, rl = _relative(ch, z3.BoolVal(True))
    io = pre.first(lambda j: pre.prog[j] == old)
    ch.check("attach/replace-missing", z3.And(R, io < 0))
    ch.check("attach/replace-owner", z3.And(R, sel(pre.link, io) != owner))
    ch.check("attach/full", z3.And(z3.Not(R), pre.n == MPROG_MAX))
    ir = _relative_index(pre, rp, rl)
    t_before, t_after = _position(ch, "attach", has_rel, ir, R, io)
    idx = z3.If(B, t_before, z3.If(A, t_after, pre.n))
    at = z3.If(B, idx + 1, idx)                   # "before" index i - 1 means at i
    f_rep = ch.check("attach/replace", R, replace_at(pre, post, io, r.prog, sel(pre.link, io)))
    f_ins = ch.check("attach/insert", z3.BoolVal(True), insert_at(pre, post, at, r.prog, owner))
    ch.effect("hook/create", z3.Or(f_rep, f_ins), created(pre, post))
    ch.terms.update(ip=ip, io=io, ir=ir)
    return ch


def detach_core(k: int, pre: State, post: State, r: Req, prog, owner, success: str,
                ch: Chain = None) -> Chain:
    """spec/detach.md "Core"; ``success`` is the outcome rule of a removal
    (detach/remove, or link_detach/detach / close/link for link release),
    plus hook/free-when-empty."""
    ch = ch or Chain(k, pre, post, r)
    R, B, A = r.replace, r.before, r.after
    named = prog != 0
    ch.check("detach/replace-flag", R)
    ch.check("detach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    ch.check("detach/empty", pre.n == 0)
    has_rel, rp, rl = _relative(ch, named)
    ip = pre.first(lambda j: pre.prog[j] == prog)
    ch.check("detach/prog-missing", z3.And(named, ip < 0))
    ch.check("detach/prog-owner", z3.And(named, sel(pre.link, ip) != owner))
    ir = _relative_index(pre, rp, rl)
    t_before, t_after = _position(ch, "detach", has_rel, ir, named, ip)
    idx = z3.If(named, ip, z3.If(B, t_before, z3.If(A, t_after, pre.n)))
    ch.check("detach/position-max", idx >= MPROG_MAX)
    victim = z3.If(idx == -1, 0, z3.If(idx == pre.n, pre.n - 1, idx))
    vo = sel(pre.link, victim)
    ch.check("detach/link-owned", z3.And(vo != 0, vo != owner))
    f = ch.check(success, z3.BoolVal(True), remove_at(pre, post, victim))
    ch.effect("hook/free-when-empty", f, settle(pre, post))
    ch.terms.update(ip=ip, ir=ir)
    return ch


def attach(k, pre, post, r, ch=None) -> Chain:
    """spec/attach.md: prelude (prog API), then the core with no owner."""
    ch = ch or Chain(k, pre, post, r)
    R = r.replace
    ch.check("attach/flags-mask", r.stray)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "attach/prog-fd-closed", "attach/prog-not-prog", "attach/prog-type")
    ch.check("attach/dev-missing", z3.Not(pre.present))
    _fd_checks(ch, r.repl_fd, r.repl_cls, "attach/replace-fd-closed", "attach/replace-not-prog",
               "attach/replace-type", when=R)
    return attach_core(k, pre, post, r, z3.IntVal(0), r.old, ch)


def link_create(k, pre, post, r, ch=None) -> Chain:
    """spec/link.md BPF_LINK_CREATE: prelude (no flag mask), then the core
    with the new link as owner and no replaced program."""
    ch = ch or Chain(k, pre, post, r)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "link_create/prog-fd-closed", "link_create/prog-not-prog",
               "link_create/prog-type")
    ch.check("link_create/dev-missing", z3.Not(pre.present))
    return attach_core(k, pre, post, r, r.owner, z3.IntVal(0), ch)


def detach(k, pre, post, r, ch=None) -> Chain:
    """spec/detach.md: prelude (a program fd of 0 = none), then the core."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("detach/flags-mask", r.stray)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "detach/prog-fd-closed", "detach/prog-not-prog",
               "detach/prog-type", when=r.prog_fd != FD_NONE)
    ch.check("detach/dev-missing", z3.Not(pre.present))
    ch.check("detach/no-entry", z3.Not(pre.bundle))
    return detach_core(k, pre, post, r, r.prog, z3.IntVal(0), "detach/remove", ch)


def _link_fd(ch: Chain, closed: str, notlink: str) -> None:
    r = ch.req
    ch.check(closed, r.link_fd == FD_CLOSED)
    ch.check(notlink, r.link_fd != FD_LINK)


def link_update(k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    """spec/link.md BPF_LINK_UPDATE (the hook is the link's)."""
    ch = ch or Chain(k, pre, post, r)
    R = r.replace
    ch.check("link_update/flags", z3.Or(r.stray, r.before, r.after, r.id, r.link_flag))
    _link_fd(ch, "link_update/link-fd-closed", "link_update/not-link")
    _fd_checks(ch, r.prog_fd, None, "link_update/prog-fd-closed", "link_update/prog-not-prog")
    _fd_checks(ch, r.old_fd, None, "link_update/old-fd-closed", "link_update/old-not-prog", when=R)
    ch.check("link_update/old-without-replace", z3.And(z3.Not(R), r.old_fd != FD_NONE))
    ch.check("link_update/defunct", r.defunct)
    ch.check("link_update/old-mismatch", z3.And(R, r.old != r.cur))
    ch.check("link_update/same-prog", r.prog == r.cur)
    ch.check("link_update/prog-exists", pre.member(r.prog))
    ch.check("link_update/prog-type", z3.Not(r.type_ok))
    il = pre.first(lambda j: pre.link[j] == r.owner)
    ch.check("link_update/replace", z3.BoolVal(True), replace_at(pre, post, il, r.prog, r.owner))
    ch.terms.update(il=il)
    return ch


def link_detach(k, pre, post, r, ch=None) -> Chain:
    """spec/link.md BPF_LINK_DETACH: a defunct link is a no-op success;
    otherwise the detach core with the link as owner."""
    ch = ch or Chain(k, pre, post, r)
    _link_fd(ch, "link_detach/link-fd-closed", "link_detach/not-link")
    ch.check("link_detach/defunct", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, "link_detach/detach", ch)


def close(k, pre, post, r, ch=None) -> Chain:
    """spec/link.md close: the fd (``req.link.fd``) names a program or a link;
    a link's release runs the detach core when it is attached."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("close/fd-closed", z3.Or(r.link_fd == FD_CLOSED, r.link_fd == FD_NONE))
    ch.check("close/prog", r.link_fd == FD_PROG)
    ch.check("close/link", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, "close/link", ch)


def query(k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    """spec/query.md; a hook without a bundle is the empty hook at revision 1."""
    ch = ch or Chain(k, pre, post, r)
    cap = z3.If(r.has_count, r.qcap, QUERY_DEFAULT_COUNT)
    shown = z3.If(cap == 0, 0, z3.If(cap < pre.n, cap, pre.n))
    out = z3.And(same(pre, post), r.q_count == pre.n, r.q_rev == pre.rev, r.q_shown == shown)
    ch.check("query/flags-unknown", r.qf_unknown)
    ch.check("query/dev-missing", z3.Not(pre.present))
    ch.check("query/flags-nonzero", z3.Or(r.qf_effective, r.attach_flags))
    ch.check("query/no-entry", z3.Not(pre.bundle), z3.And(same(pre, post), r.q_count == 0, r.q_rev == 1,
                                                            r.q_shown == 0))
    ch.check("query/truncated", z3.And(cap > 0, pre.n > 0, cap < pre.n), out)
    ch.check("query/ok", z3.BoolVal(True), out)
    ch.terms.update(cap=cap)
    return ch


def load(k, pre, post, r, ch=None) -> Chain:
    """spec/objects.md load/ok: a new program; the hook does not change."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("load/ok", z3.BoolVal(True))
    return ch


def dev_add(k, pre, post, r, ch=None) -> Chain:
    ch = ch or Chain(k, pre, post, r)
    ch.check("device/add-exists", pre.present)
    ch.check("device/add", z3.BoolVal(True), z3.And(
        [post.present, z3.Not(post.clsact)] + empty_hook(post)))
    return ch


def dev_del(k, pre, post, r, ch=None) -> Chain:
    """device/del: every bundle goes with the device (links turn defunct)."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("device/del-missing", z3.Not(pre.present))
    ch.check("device/del", z3.BoolVal(True), z3.And(
        [z3.Not(post.present), z3.Not(post.clsact)] + empty_hook(post)))
    return ch


def clsact_add(k, pre, post, r, ch=None) -> Chain:
    ch = ch or Chain(k, pre, post, r)
    ch.check("clsact/dev-missing", z3.Not(pre.present))
    ch.check("clsact/add-exists", pre.clsact)
    f = ch.check("clsact/add", z3.BoolVal(True), z3.And(
        same_hook(pre, post), post.present == pre.present, post.clsact))
    ch.effect("hook/create", f, created(pre, post))
    return ch


def clsact_del(k, pre, post, r, ch=None) -> Chain:
    ch = ch or Chain(k, pre, post, r)
    ch.check("clsact/dev-missing", z3.Not(pre.present))
    ch.check("clsact/del-missing", z3.Not(pre.clsact))
    f = ch.check("clsact/del", z3.BoolVal(True), z3.And(
        [post.n == pre.n, post.present == pre.present, z3.Not(post.clsact)]
        + [post.prog[j] == pre.prog[j] for j in range(pre.size)]
        + [post.link[j] == pre.link[j] for j in range(pre.size)]))
    ch.effect("hook/free-when-empty", f, settle_clsact(pre, post))
    return ch


def settle_clsact(pre: State, post: State) -> z3.BoolRef:
    """hook/free-when-empty after clsact/del: an empty bundle is freed."""
    freed = pre.n == 0
    return z3.And(post.bundle == z3.Not(freed), post.rev == z3.If(freed, 1, pre.rev))


# --------------------------------------------------------------------------
# Requests of the equivalence check: op -> encoding and request domain

OPS = ("attach", "link_create", "detach", "link_detach", "close", "link_update", "query",
       "load", "dev_add", "dev_del", "clsact_add", "clsact_del")
ENCODERS = {"attach": attach, "link_create": link_create, "detach": detach,
            "link_detach": link_detach, "close": close, "link_update": link_update,
            "query": query, "load": load, "dev_add": dev_add, "dev_del": dev_del,
            "clsact_add": clsact_add, "clsact_del": clsact_del}


def encode(op: str, k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    if op not in ENCODERS:
        raise ValueError(f"unknown op {op!r} (known: {', '.join(OPS)})")
    return ENCODERS[op](k, pre, post, r, ch)


def _relative_domain(pre: State, r: Req, own_progs: list) -> list:
    """What a relative descriptor can be in a reachable world."""
    K = r.rel_kind
    cs = [K >= REL_NONE, K <= REL_LINK,
          z3.Implies(z3.Or(K == REL_NONE, K == REL_RAW), z3.And(
              r.rel_prog == 0, r.rel_link == 0, z3.Not(r.rel_fd_open), z3.Not(r.rel_alive), r.rel_type_ok)),
          z3.Implies(K == REL_PROG, z3.And(r.rel_prog >= 1, r.rel_link == 0,
                                           z3.Implies(r.rel_fd_open, r.rel_alive),
                                           # only a sched_cls prog can be held by a hook or link
                                           z3.Implies(z3.Not(r.rel_type_ok), r.rel_alive == r.rel_fd_open),
                                           # on this hook: alive and of the hook's type
                                           z3.Implies(pre.member(r.rel_prog), z3.And(r.rel_alive, r.rel_type_ok)))),
          # a tcx link's program is always sched_cls; a closed link owns no slot
          z3.Implies(K == REL_LINK, z3.And(r.rel_prog >= 1, r.rel_link >= 1, r.rel_type_ok,
                                           z3.Not(r.rel_alive),
                                           z3.Implies(z3.Not(r.rel_fd_open), z3.Not(pre.owns(r.rel_link)))))]
    for j in range(pre.size):
        cs.append(z3.Implies(z3.And(K == REL_LINK, j < pre.n, pre.link[j] == r.rel_link),
                             pre.prog[j] == r.rel_prog))
    for p in own_progs:   # the request's own (open, sched_cls) programs
        cs.append(z3.Implies(z3.And(K == REL_PROG, p != 0, r.rel_prog == p),
                             z3.And(r.rel_fd_open, r.rel_type_ok)))
    return cs


def _pinned(r: Req, used: set) -> list:
    """Fields the op does not read are 0 / False (one canonical request)."""
    out = []
    for f in Req.BOOLS:
        if f not in used:
            out.append(z3.Not(getattr(r, f)) if f != "rel_type_ok" else r.rel_type_ok)
    for f in Req.INTS:
        if f not in used:
            out.append(getattr(r, f) == 0)
    return out


def _prog_arg(pre: State, r: Req, fd, p, cls) -> list:
    """An fd argument naming a program: id only for an open program fd; a
    program on a hook is sched_cls; non-programs are canonical (cls True)."""
    return [fd >= FD_NONE, fd <= FD_LINK, z3.If(fd == FD_PROG, p >= 1, p == 0),
            z3.Implies(fd != FD_PROG, cls), z3.Implies(pre.member(p), cls)]


_FLAGS = {"replace", "before", "after", "id", "link_flag", "stray"}
_REL = {"rel_kind", "rel_fd_open", "rel_alive", "rel_type_ok", "rel_prog", "rel_link"}
_LINKARG = {"link_fd", "defunct", "owner", "prog"}
USED = {
    "attach": _FLAGS | _REL | {"prog_fd", "prog", "prog_cls", "repl_fd", "repl_cls", "old", "exp"},
    "link_create": _FLAGS | _REL | {"prog_fd", "prog", "prog_cls", "owner", "exp"},
    "detach": _FLAGS | _REL | {"prog_fd", "prog", "prog_cls", "exp"},
    "link_detach": _LINKARG, "close": _LINKARG,
    "link_update": {"replace", "stray", "link_fd", "defunct", "owner", "cur", "prog_fd", "prog",
                    "old_fd", "old", "type_ok"},
    "query": {"qf_unknown", "qf_effective", "attach_flags", "has_count", "qcap"},
}


def _link_arg(pre: State, r: Req) -> list:
    """The request's link: an open link fd is attached (owns exactly the slot
    of its program, on a present device) or defunct (owns nothing)."""
    is_link = r.link_fd == FD_LINK
    return [r.link_fd >= FD_NONE, r.link_fd <= FD_LINK,
            z3.Implies(z3.Not(is_link), z3.And(r.owner == 0, z3.Not(r.defunct))),
            z3.Implies(is_link, r.owner >= 1),
            z3.Implies(z3.And(is_link, r.defunct), z3.Not(pre.owns(r.owner))),
            z3.Implies(z3.And(is_link, z3.Not(r.defunct)), z3.And(pre.present, z3.Or(
                [z3.And(j < pre.n, pre.link[j] == r.owner, pre.prog[j] == r.cur) for j in range(pre.size)])))]


def domain(op: str, pre: State, r: Req, n_max: int) -> list:
    """Every reachable (hook state, request) pair of ``op``."""
    cs = pre.wellformed(n_max) + [r.exp >= 0, r.exp < 2 ** 64] + _pinned(r, USED.get(op, set()))
    if op in ("attach", "link_create", "detach"):
        cs += _prog_arg(pre, r, r.prog_fd, r.prog, r.prog_cls)
        cs += _relative_domain(pre, r, [r.prog])
        cs += [z3.Implies(z3.And(r.rel_kind == REL_PROG, r.old != 0, r.rel_prog == r.old),
                          z3.And(r.rel_fd_open, r.rel_type_ok == r.repl_cls)),
               z3.Implies(z3.And(r.old != 0, r.old == r.prog), r.repl_cls == r.prog_cls),
               # a link's program is sched_cls
               z3.Implies(z3.And(r.rel_kind == REL_LINK, r.rel_prog == r.prog), r.prog_cls),
               z3.Implies(z3.And(r.rel_kind == REL_LINK, r.rel_prog == r.old), r.repl_cls)]
    if op == "attach":
        cs += _prog_arg(pre, r, r.repl_fd, r.old, r.repl_cls)
        cs += [z3.Implies(z3.Not(r.replace), z3.And(r.repl_fd == FD_NONE, r.old == 0))]
    elif op == "link_create":   # a new link: owns nothing yet, cannot be its own relative
        cs += [r.owner >= 1, z3.Not(pre.owns(r.owner)), r.rel_link != r.owner]
    elif op in ("link_detach", "close"):
        cs += _link_arg_release(pre, r)
    elif op == "link_update":
        cs += _link_arg(pre, r)
        cs += _prog_arg(pre, r, r.prog_fd, r.prog, z3.BoolVal(True))
        cs += [r.old_fd >= FD_NONE, r.old_fd <= FD_LINK, z3.If(r.old_fd == FD_PROG, r.old >= 1, r.old == 0),
               z3.Implies(z3.Not(r.link_fd == FD_LINK), r.cur == 0),
               z3.Implies(r.link_fd == FD_LINK, r.cur >= 1),
               # programs on the hook, and the link's own, are sched_cls like cur
               z3.Implies(z3.Or(pre.member(r.prog), r.prog == r.cur, r.prog_fd != FD_PROG,
                                r.link_fd != FD_LINK), r.type_ok)]
    elif op == "query":
        cs += [r.qcap >= 0, r.qcap < 2 ** 32, z3.Implies(z3.Not(r.has_count), r.qcap == 0)]
    elif op not in ("detach", "load", "dev_add", "dev_del", "clsact_add", "clsact_del"):
        raise ValueError(f"unknown op {op!r}")
    return cs


def _link_arg_release(pre: State, r: Req) -> list:
    """link_detach / close: the fd names a link (attached: ``prog`` is its
    slot's program; defunct: owns nothing) or something else (close: a
    program fd is FD_PROG)."""
    is_link = r.link_fd == FD_LINK
    return [r.link_fd >= FD_NONE, r.link_fd <= FD_LINK,
            z3.Implies(z3.Not(is_link), z3.And(r.owner == 0, r.prog == 0, z3.Not(r.defunct))),
            z3.Implies(is_link, z3.And(r.owner >= 1, r.prog >= 1)),
            z3.Implies(z3.And(is_link, r.defunct), z3.Not(pre.owns(r.owner))),
            z3.Implies(z3.And(is_link, z3.Not(r.defunct)), z3.And(pre.present, z3.Or(
                [z3.And(j < pre.n, pre.link[j] == r.owner, pre.prog[j] == r.prog) for j in range(pre.size)])))]


def op_rules(op: str) -> set:
    """Rule IDs with a tracked constraint in ``op``'s encoding."""
    pre, post, r = State(0, 2), State(1, 2), Req(0)
    return encode(op, 0, pre, post, r).rules()


@functools.cache
def rule_ids() -> frozenset:
    return frozenset().union(*(op_rules(op) for op in OPS))


def __getattr__(name: str):
    # RULE_IDS is built on first use: encoding every op once costs ~0.06 s,
    # which `mprog solve` / `plan` (they import this package) need not pay.
    if name == "RULE_IDS":
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
