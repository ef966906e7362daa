"""The linux dialect's z3 encoding: the spec's rules (spec/linux/) as
constraints over checker.smt.core's symbolic hook state and request.

Written from spec/linux/attach.md, detach.md, objects.md (fds, ids,
relative objects), link.md, query.md and device.md, not from the executor.
Every constraint is tracked under ``<rule-id>@<step>``; every rule of the
dialect's table has one (``RULE_IDS``).

What the proofs (checker.smt.equiv, checker.smt.bmc) read from an encoding
unit, here and in every other dialect's (checker.smt.rfc): ``TABLE``,
``RULE_LIST``, ``NAME``, ``FLAG_TABLE``, ``MASK``, ``PIN_BITS`` (None: slots
store no flags), ``UNION`` (the replaced program is the relative object),
``EXP_BITS``, ``state()``, ``Req``, ``Chain``, ``encode``, ``domain``,
``OPS``, ``USED``, ``rule_code``, ``rule_ids``; optionally
``class_shapes(problem, rule)`` and ``atoms(problem)``.
"""
from __future__ import annotations

import functools

import z3

from ..dialects.linux import FLAGS, LINUX, MASK_MPROG, MPROG_MAX, QUERY_DEFAULT_COUNT
from . import core
from .core import (ERRNOS, FD_CLOSED, FD_KINDS, FD_LINK, FD_NONE, FD_PROG, REL_KINDS,  # noqa: F401
                   REL_LINK, REL_NONE, REL_PROG, REL_RAW, Req, State, Tracked, created,
                   empty_hook, errno_code, insert_at, remove_at, replace_at, same, same_hook, same_slots,
                   sel, settle)

RULE_LIST = tuple(sorted(LINUX))
TABLE = LINUX
NAME = "linux"
FLAG_TABLE = FLAGS
MASK = MASK_MPROG
PIN_BITS = None               # linux slots store no flags
UNION = False                  # the replaced program is the relative object (v2's union)
EXP_BITS = 64


def state(t: int, size: int) -> State:
    return State(t, size)


def rule_code(rule: str) -> int:
    return core.rule_code(LINUX, rule)


_DEV_MISSING = {"attach": "attach/dev-missing", "link_create": "link_create/dev-missing",
                "detach": "detach/dev-missing"}


class Chain(core.Chain):
    """The linux decision chain: its rule table, and the core checks whose
    place kernel history moved (a delta dialect's Chain overrides them, as
    its executor overrides checker.exec.mprog.Core's)."""
    TABLE = LINUX

    def enter_core(self) -> None:
        """The request reaches the hook's bpf_mprog state (attach and detach
        cores, link update, device teardown): nothing to check on mainline."""

    def check_room(self, R) -> None:
        """attach/full: a non-REPLACE attach on a full hook, before the
        position rules (since f9b0e1088bbf)."""
        self.check("attach/full", z3.And(z3.Not(R), self.pre.n == MPROG_MAX))

    def check_nonempty(self) -> None:
        """detach/empty: right after the revision guard (since d210f9735e13)."""
        self.check("detach/empty", self.pre.n == 0)

    def check_fetch(self, idx) -> None:
        """Before the victim at ``idx`` is read: nothing on mainline."""

    def check_device(self, op: str) -> None:
        """The device lookup of attach / link_create / detach (tcx: the device
        must exist; a detach needs a bundle too).  netkit's is
        netkit_dev_fetch() (checker.smt.netkit)."""
        self.check(_DEV_MISSING[op], z3.Not(self.pre.present))
        if op == "detach":
            self.check("detach/no-entry", z3.Not(self.pre.bundle))

    def settle_removal(self, removed) -> None:
        """After a removal (``removed``: its success): hook/free-when-empty
        (a netkit bundle stays: checker.smt.netkit)."""
        self.effect("hook/free-when-empty", removed, settle(self.pre, self.post))


def _fd_checks(ch: Chain, fd, cls, closed: str, notprog: str, wrong_type: str = None, when=True):
    """objects.md: an fd that is not open (EBADF), open but not a program
    (EINVAL; fd 0 is a file), then the program type (EINVAL)."""
    ch.check(closed, z3.And(when, fd == FD_CLOSED))
    ch.check(notprog, z3.And(when, fd != FD_PROG))
    if wrong_type:
        ch.check(wrong_type, z3.And(when, z3.Not(cls)))


def _relative(ch: Chain, filtered, when=None) -> tuple:
    """spec/linux/objects.md "Relative-object resolution": returns (has_rel, prog, link)
    of the relative object (link 0 for a program relative).  ``when``: the
    lookup runs only under this condition (rfc: REPLACE, BEFORE or AFTER)."""
    r = ch.req
    K, zero = r.rel_kind, r.rel_kind == REL_NONE
    L, I = r.link_flag, r.id
    g = (lambda c: c) if when is None else (lambda c: z3.And(when, c))   # noqa: E731
    ch.check("relative/link-fd-zero", g(z3.And(L, z3.Not(I), zero)))
    ch.check("relative/fd-closed", g(z3.And(z3.Not(I), z3.Not(zero), z3.Or(
        K == REL_RAW, z3.And(z3.Or(K == REL_PROG, K == REL_LINK), z3.Not(r.rel_fd_open))))))
    ch.check("relative/not-link", g(z3.And(L, z3.Not(I), K == REL_PROG, r.rel_fd_open)))
    ch.check("relative/not-prog", g(z3.And(z3.Not(L), z3.Not(I), K == REL_LINK, r.rel_fd_open)))
    ch.check("relative/id-unknown", g(z3.And(I, z3.If(
        L, z3.Not(z3.And(K == REL_LINK, r.rel_fd_open)), z3.Not(z3.And(K == REL_PROG, r.rel_alive))))))
    has_rel = g(z3.Or(L, I, z3.Not(zero)))
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
    """spec/linux/attach.md "Core": from attach/stale-revision to attach/replace,
    plus hook/create (the bundle exists after a success)."""
    ch = ch or Chain(k, pre, post, r)
    R, B, A = r.replace, r.before, r.after
    ch.enter_core()
    ch.check("attach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    ip = pre.first(lambda j: pre.prog[j] == r.prog)
    ch.check("attach/prog-exists", ip >= 0)
    has_rel, rp, rl = _relative(ch, z3.BoolVal(True))
    io = pre.first(lambda j: pre.prog[j] == old)
    ch.check("attach/replace-missing", z3.And(R, io < 0))
    ch.check("attach/replace-owner", z3.And(R, sel(pre.link, io) != owner))
    ch.check_room(R)
    ir = _relative_index(pre, rp, rl)
    t_before, t_after = _position(ch, "attach", has_rel, ir, R, io)
    idx = z3.If(B, t_before, z3.If(A, t_after, pre.n))
    # The kernel keeps the maximum check after the position rules too; on
    # mainline check_room() has refused every insertion that reaches it.
    ch.check("attach/full", z3.If(R, io, idx) >= MPROG_MAX)
    at = z3.If(B, idx + 1, idx)                   # "before" index i - 1 means at i
    f_rep = ch.check("attach/replace", R, replace_at(pre, post, io, r.prog, sel(pre.link, io)))
    f_ins = ch.check("attach/insert", z3.BoolVal(True), insert_at(pre, post, at, r.prog, owner))
    ch.effect("hook/create", z3.Or(f_rep, f_ins), created(pre, post))
    ch.terms.update(ip=ip, io=io, ir=ir)
    return ch


def detach_core(k: int, pre: State, post: State, r: Req, prog, owner, success: str,
                ch: Chain = None) -> Chain:
    """spec/linux/detach.md "Core"; ``success`` is the outcome rule of a removal
    (detach/remove, or link_detach/detach / close/link for link release),
    plus hook/free-when-empty."""
    ch = ch or Chain(k, pre, post, r)
    R, B, A = r.replace, r.before, r.after
    named = prog != 0
    ch.enter_core()
    ch.check("detach/replace-flag", R)
    ch.check("detach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    ch.check_nonempty()
    has_rel, rp, rl = _relative(ch, named)
    ip = pre.first(lambda j: pre.prog[j] == prog)
    ch.check("detach/prog-missing", z3.And(named, ip < 0))
    ch.check("detach/prog-owner", z3.And(named, sel(pre.link, ip) != owner))
    ir = _relative_index(pre, rp, rl)
    t_before, t_after = _position(ch, "detach", has_rel, ir, named, ip)
    idx = z3.If(named, ip, z3.If(B, t_before, z3.If(A, t_after, pre.n)))
    ch.check("detach/position-max", idx >= MPROG_MAX)
    ch.check_fetch(idx)
    victim = z3.If(idx == -1, 0, z3.If(idx == pre.n, pre.n - 1, idx))
    vo = sel(pre.link, victim)
    ch.check("detach/link-owned", z3.And(vo != 0, vo != owner))
    f = ch.check(success, z3.BoolVal(True), remove_at(pre, post, victim))
    ch.settle_removal(f)
    ch.terms.update(ip=ip, ir=ir)
    return ch


def attach(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/attach.md: prelude (prog API), then the core with no owner."""
    ch = ch or Chain(k, pre, post, r)
    R = r.replace
    ch.check("attach/flags-mask", r.stray)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "attach/prog-fd-closed", "attach/prog-not-prog", "attach/prog-type")
    ch.check_device("attach")
    _fd_checks(ch, r.repl_fd, r.repl_cls, "attach/replace-fd-closed", "attach/replace-not-prog",
               "attach/replace-type", when=R)
    return attach_core(k, pre, post, r, z3.IntVal(0), r.old, ch)


def link_create(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/link.md BPF_LINK_CREATE: prelude (no flag mask), then the core
    with the new link as owner and no replaced program."""
    ch = ch or Chain(k, pre, post, r)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "link_create/prog-fd-closed", "link_create/prog-not-prog",
               "link_create/prog-type")
    ch.check_device("link_create")
    return attach_core(k, pre, post, r, r.owner, z3.IntVal(0), ch)


def detach(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/detach.md: prelude (a program fd of 0 = none), then the core."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("detach/flags-mask", r.stray)
    _fd_checks(ch, r.prog_fd, r.prog_cls, "detach/prog-fd-closed", "detach/prog-not-prog",
               "detach/prog-type", when=r.prog_fd != FD_NONE)
    ch.check_device("detach")
    return detach_core(k, pre, post, r, r.prog, z3.IntVal(0), "detach/remove", ch)


def _link_fd(ch: Chain, closed: str, notlink: str) -> None:
    r = ch.req
    ch.check(closed, r.link_fd == FD_CLOSED)
    ch.check(notlink, r.link_fd != FD_LINK)


def link_update_prelude(ch: Chain, extra_flags=None) -> None:
    """spec/linux/link.md BPF_LINK_UPDATE up to link_update/same-prog: the
    syscall's checks and tcx_link_update()'s first ones (``extra_flags``: a
    dialect's further flag bits, all refused)."""
    r = ch.req
    R = r.replace
    bad = [r.stray, r.before, r.after, r.id, r.link_flag] + ([extra_flags] if extra_flags is not None else [])
    ch.check("link_update/flags", z3.Or(bad))
    _link_fd(ch, "link_update/link-fd-closed", "link_update/not-link")
    _fd_checks(ch, r.prog_fd, None, "link_update/prog-fd-closed", "link_update/prog-not-prog")
    _fd_checks(ch, r.old_fd, None, "link_update/old-fd-closed", "link_update/old-not-prog", when=R)
    ch.check("link_update/old-without-replace", z3.And(z3.Not(R), r.old_fd != FD_NONE))
    ch.check("link_update/defunct", r.defunct)
    ch.check("link_update/old-mismatch", z3.And(R, r.old != r.cur))
    ch.check("link_update/same-prog", r.prog == r.cur)



def link_update(k: int, pre: State, post: State, r: Req, ch: Chain = None, *, extra_flags=None,
                type_first: bool = False) -> Chain:
    """spec/linux/link.md BPF_LINK_UPDATE (the hook is the link's).  A
    dialect built on this one may refuse further flag bits and check the
    program type before the duplicate (rfc); the slot keeps its pins."""
    ch = ch or Chain(k, pre, post, r)
    link_update_prelude(ch, extra_flags)
    ch.enter_core()
    checks = [("link_update/prog-exists", pre.member(r.prog)), ("link_update/prog-type", z3.Not(r.type_ok))]
    for rule, cond in (reversed(checks) if type_first else checks):
        ch.check(rule, cond)
    il = pre.first(lambda j: pre.link[j] == r.owner)
    ch.check("link_update/replace", z3.BoolVal(True), replace_at(pre, post, il, r.prog, r.owner))
    ch.terms.update(il=il)
    return ch


def link_detach(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/link.md BPF_LINK_DETACH: a defunct link is a no-op success;
    otherwise the detach core with the link as owner."""
    ch = ch or Chain(k, pre, post, r)
    _link_fd(ch, "link_detach/link-fd-closed", "link_detach/not-link")
    ch.check("link_detach/defunct", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, "link_detach/detach", ch)


def close(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/link.md close: the fd (``req.link.fd``) names a program or a link;
    a link's release runs the detach core when it is attached."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("close/fd-closed", z3.Or(r.link_fd == FD_CLOSED, r.link_fd == FD_NONE))
    ch.check("close/prog", r.link_fd == FD_PROG)
    ch.check("close/link", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, "close/link", ch)


def query_answer(pre: State, post: State, r: Req) -> tuple:
    """(the caller's array size, what a query that reaches the hook writes
    back): the count, the revision, the first entries; nothing changes."""
    cap = z3.If(r.has_count, r.qcap, QUERY_DEFAULT_COUNT)
    # bpf_mprog_query() lists at most bpf_mprog_max() entries (its loop bound).
    listed = z3.If(pre.n > MPROG_MAX, MPROG_MAX, pre.n)
    shown = z3.If(cap == 0, 0, z3.If(cap < listed, cap, listed))
    return cap, z3.And(same(pre, post), r.q_count == pre.n, r.q_rev == pre.rev, r.q_shown == shown)


def empty_answer(pre: State, post: State, r: Req) -> z3.BoolRef:
    """A query answered as a hook without a bundle: count 0 at revision 1."""
    return z3.And(same(pre, post), r.q_count == 0, r.q_rev == 1, r.q_shown == 0)


def query(k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    """spec/linux/query.md; a hook without a bundle is the empty hook at revision 1."""
    ch = ch or Chain(k, pre, post, r)
    cap, out = query_answer(pre, post, r)
    ch.check("query/flags-unknown", r.qf_unknown)
    ch.check("query/dev-missing", z3.Not(pre.present))
    ch.check("query/flags-nonzero", z3.Or(r.qf_effective, r.attach_flags))
    ch.check("query/no-entry", z3.Not(pre.bundle), empty_answer(pre, post, r))
    ch.check("query/truncated", z3.And(cap > 0, pre.n > 0, cap < pre.n), out)
    ch.check("query/ok", z3.BoolVal(True), out)
    ch.terms.update(cap=cap)
    return ch


def load(k, pre, post, r, ch=None) -> Chain:
    """spec/linux/objects.md load/ok: a new program; the hook does not change."""
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
    ch.check("device/del-loopback", r.loopback)
    ch.enter_core()
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
        [post.n == pre.n, post.present == pre.present, z3.Not(post.clsact)] + same_slots(pre, post)))
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
    for f in type(r).BOOLS:
        if f not in used:
            out.append(z3.Not(getattr(r, f)) if f != "rel_type_ok" else r.rel_type_ok)
    for f in type(r).INTS:
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
    "dev_add": {"loopback"}, "dev_del": {"loopback"},
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


def domain(op: str, pre: State, r: Req, n_max: int, used: dict = None, replace_fd: bool = True,
           exp_bits: int = 64) -> list:
    """Every reachable (hook state, request) pair of ``op``.  A dialect built
    on this one passes its own ``used`` fields, whether attach has a
    separate replace fd, and the width of expected_revision."""
    used = USED if used is None else used
    cs = pre.wellformed(n_max) + [r.exp >= 0, r.exp < 2 ** exp_bits] + _pinned(r, used.get(op, set()))
    cs.append(z3.Implies(r.loopback, pre.present))      # lo is never absent
    if op in ("attach", "link_create", "detach"):
        cs += _prog_arg(pre, r, r.prog_fd, r.prog, r.prog_cls)
        cs += _relative_domain(pre, r, [r.prog])
        cs += [z3.Implies(z3.And(r.rel_kind == REL_PROG, r.old != 0, r.rel_prog == r.old),
                          z3.And(r.rel_fd_open, r.rel_type_ok == r.repl_cls)),
               z3.Implies(z3.And(r.old != 0, r.old == r.prog), r.repl_cls == r.prog_cls),
               # a link's program is sched_cls
               z3.Implies(z3.And(r.rel_kind == REL_LINK, r.rel_prog == r.prog), r.prog_cls),
               z3.Implies(z3.And(r.rel_kind == REL_LINK, r.rel_prog == r.old), r.repl_cls)]
    if op == "attach" and replace_fd:
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
    elif op not in ("attach", "detach", "load", "dev_add", "dev_del", "clsact_add", "clsact_del"):
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


@functools.cache
def rule_ids() -> frozenset:
    return core.encoded_rules(encode, OPS)


def __getattr__(name: str):
    # RULE_IDS is built on first use: encoding every op once costs ~0.06 s,
    # which `mprog solve` / `plan` (they import this package) need not pay.
    if name == "RULE_IDS":
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
