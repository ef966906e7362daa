"""The rfc dialect's z3 encoding: spec/rfc/ (the v2 proposal with sticky
FIRST/LAST) as constraints over checker.smt.core's state with per-slot pins.

Written from spec/rfc/attach.md, detach.md, objects.md, query.md and
link.md; the rules rfc inherits (preludes, fds, devices, clsact, load) are
the linux encoding's functions, run in this dialect's chain.  Every
constraint is tracked under ``<rule-id>@<step>``; every rule of the rfc
table has one (``rule_ids``).  The request's one object (v2's union of
relative_fd / relative_id / replace_bpf_fd) is the relative descriptor
``req.rel.*``: with REPLACE it is the replaced program.
"""
from __future__ import annotations

import functools

import z3

from ..dialects.linux import MPROG_MAX
from ..dialects.rfc import DIALECT, FIRST, FLAGS, LAST, MASK_MPROG
from . import core, names
from . import linux as base
from .core import (FD_CLOSED, FD_LINK, FD_NONE, FD_PROG, REL_NONE, State, created, insert_at,
                   remove_at, replace_at, same, sel, settle)

TABLE = DIALECT.rules
RULE_LIST = tuple(sorted(TABLE))
NAME = DIALECT.name
FLAG_TABLE = FLAGS
MASK = MASK_MPROG
PIN_BITS = (FIRST, LAST)      # a slot's stored word from its (first, last) pins
UNION = True                  # the replaced program is the relative object (v2's union)
EXP_BITS = DIALECT.revision_bits


def rule_code(rule: str) -> int:
    return core.rule_code(TABLE, rule)


def state(t: int, size: int) -> State:
    return State(t, size, pins=True)


class Chain(base.Chain):
    """rfc's rule table; the mainline functions it reuses (link update,
    devices) call linux's chain hooks, which are no-ops here too."""
    TABLE = TABLE


class Req(core.Req):
    """The core request plus FIRST / LAST and the stored pins of the
    request's link (used by its release: link_detach, close)."""

    BOOLS = core.Req.BOOLS + ("first", "last", "own_first", "own_last")

    def __init__(self, k: int):
        super().__init__(k)
        self.first, self.last = z3.Bool(names.req(k, "flags.first")), z3.Bool(names.req(k, "flags.last"))
        self.own_first = z3.Bool(names.req(k, "link.first"))
        self.own_last = z3.Bool(names.req(k, "link.last"))


def selb(arr: list, idx) -> z3.BoolRef:
    """arr[idx] for a symbolic index over Booleans (false outside)."""
    e = z3.BoolVal(False)
    for j in reversed(range(len(arr))):
        e = z3.If(idx == j, arr[j], e)
    return e


def _object(ch: Chain, filtered):
    """spec/rfc/objects.md: without REPLACE/BEFORE/AFTER no object may be
    named; with one, mainline's lookups.  Returns (has_rel, prog, link)."""
    r = ch.req
    rba = z3.Or(r.replace, r.before, r.after)
    ch.check("relative/without-position", z3.And(z3.Not(rba), z3.Or(r.rel_kind != REL_NONE, r.id, r.link_flag)))
    return base._relative(ch, filtered, when=rba)


def _regs(pre: State):
    """Indexes of bpf_mprog_first_reg() (first slot without FIRST) and
    bpf_mprog_last_reg() (the slot before the first LAST pin, or the tail);
    -1 for none."""
    ifr = pre.first(lambda j: z3.Not(pre.fpin[j]))
    il = pre.first(lambda j: pre.lpin[j])
    return ifr, z3.If(il < 0, pre.n - 1, il - 1)


def attach_core(k: int, pre: State, post: State, r: Req, owner, ch: Chain) -> Chain:
    """spec/rfc/attach.md "Core": revision, object, then replace (REPLACE),
    head/tail (FIRST or LAST) or insert; plus hook/create."""
    R, B, A, F, L = r.replace, r.before, r.after, r.first, r.last
    n = pre.n
    ch.check("attach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    has_rel, rp, rl = _object(ch, z3.BoolVal(True))
    relp = z3.If(has_rel, rp, 0)
    member = pre.member(r.prog)
    # replace (mprog.c:61-108)
    io = z3.If(has_rel, pre.first(lambda j: pre.prog[j] == rp), -1)
    ch.check("attach/replace-flags", z3.And(R, z3.Or(B, A, r.link_flag)))
    ch.check("attach/replace-prog-exists", z3.And(R, relp != r.prog, member))
    ch.check("attach/replace-missing", z3.And(R, io < 0))
    ch.check("attach/replace-owner", z3.And(R, sel(pre.link, io) != owner))
    ch.check("attach/replace-first-not-head", z3.And(R, F, z3.Not(selb(pre.fpin, io)), io != 0))
    ch.check("attach/replace-last-not-tail", z3.And(R, L, z3.Not(selb(pre.lpin, io)), io != n - 1))
    f_rep = ch.check("attach/replace", R, replace_at(pre, post, io, r.prog, sel(pre.link, io), pins=(F, L)))
    # head/tail (mprog.c:110-183)
    tail_p, tail_l, tail_last = sel(pre.prog, n - 1), sel(pre.link, n - 1), selb(pre.lpin, n - 1)
    ch.check("attach/pin-prog-exists", z3.And(z3.Or(F, L), member))
    ch.check("attach/first-after", z3.And(F, A))
    ch.check("attach/first-taken", z3.And(F, pre.fpin[0]))
    ch.check("attach/first-last-before", z3.And(F, L, B))
    ch.check("attach/first-last-not-empty", z3.And(F, L, n > 0))
    f_fl = ch.check("attach/first-last", z3.And(F, L), insert_at(pre, post, 0, r.prog, owner, pins=(True, True)))
    ch.check("attach/first-before-not-head",
             z3.And(F, B, z3.Or(pre.prog[0] != relp, z3.And(rl != 0, rl != pre.link[0]))))
    ch.check("attach/first-full", z3.And(F, n >= MPROG_MAX))
    f_f = ch.check("attach/first", F, insert_at(pre, post, 0, r.prog, owner, pins=(True, False)))
    ch.check("attach/last-before", z3.And(L, B))
    ch.check("attach/last-taken", z3.And(L, n > 0, tail_last))
    ch.check("attach/last-after-not-tail",
             z3.And(L, A, z3.Or(n == 0, tail_p != relp, z3.And(rl != 0, rl != tail_l))))
    ch.check("attach/last-full", z3.And(L, n >= MPROG_MAX))
    f_l = ch.check("attach/last", L, insert_at(pre, post, n, r.prog, owner, pins=(False, True)))
    # insert (mprog.c:185-271)
    ch.check("attach/full", n >= MPROG_MAX)
    ch.check("attach/before-after", z3.And(B, A))
    ch.check("attach/prog-exists", member)
    ifr, ilr = _regs(pre)
    i_rel = pre.first(lambda j: z3.And(pre.prog[j] == rp, z3.Or(rl == 0, pre.link[j] == rl)))
    ir = z3.If(has_rel, i_rel, z3.If(B, ifr, ilr))
    placed = z3.And(z3.Or(B, A), ir >= 0)
    ch.check("attach/before-first", z3.And(B, placed, selb(pre.fpin, ir)))
    ch.check("attach/after-last", z3.And(A, placed, selb(pre.lpin, ir)))
    tail_lock = z3.And(n > 0, tail_last)
    ch.check("attach/locked", z3.And(z3.Not(placed), tail_lock, selb(pre.fpin, n - 1)))
    ch.check("attach/relative-missing", z3.And(has_rel, i_rel < 0))
    at = z3.If(placed, z3.If(B, ir, ir + 1), z3.If(tail_lock, n - 1, n))
    f_ins = ch.check("attach/insert", z3.BoolVal(True), insert_at(pre, post, at, r.prog, owner))
    ch.effect("hook/create", z3.Or(f_rep, f_fl, f_f, f_l, f_ins), created(pre, post))
    ch.terms.update(ip=pre.first(lambda j: pre.prog[j] == r.prog), io=io, ir=ir, placed=placed,
                    tail_lock=tail_lock, at=at)
    return ch


def detach_core(k: int, pre: State, post: State, r: Req, prog, owner, first, last, success: str,
                ch: Chain) -> Chain:
    """spec/rfc/detach.md "Core"; ``first``/``last`` are the request's
    FIRST/LAST (a link release: the link's stored pins); ``success`` the
    outcome rule of a removal; plus hook/free-when-empty."""
    R, B, A = r.replace, r.before, r.after
    n = pre.n
    named = prog != 0
    ch.check("detach/stale-revision", z3.And(r.exp != 0, r.exp != pre.rev))
    has_rel, rp, rl = _object(ch, named)
    ch.check("detach/replace-flag", R)
    head, tail = pre.prog[0], sel(pre.prog, n - 1)          # 0 on an empty hook
    ch.check("detach/first-mismatch", z3.And(first, named, prog != head))
    t1 = z3.If(first, head, prog)
    ch.check("detach/last-mismatch", z3.And(last, t1 != 0, t1 != tail))
    t2 = z3.If(last, tail, t1)
    edge = z3.And(z3.Not(has_rel), z3.Or(B, A))            # detach head/tail: no relative
    ch.check("detach/position-with-target", z3.And(edge, t2 != 0))
    ifr, ilr = _regs(pre)
    t3 = z3.If(edge, z3.If(A, sel(pre.prog, ilr), sel(pre.prog, ifr)), t2)
    ir = pre.first(lambda j: z3.And(pre.prog[j] == rp, z3.Or(rl == 0, pre.link[j] == rl)))
    found = z3.And(has_rel, ir >= 0)
    ch.check("detach/before-head", z3.And(B, found, ir == 0))
    cand_b, cand_a = sel(pre.prog, ir - 1), sel(pre.prog, ir + 1)   # 0 past the tail
    ch.check("detach/before-mismatch", z3.And(B, found, t3 != 0, t3 != cand_b))
    ch.check("detach/after-mismatch", z3.And(z3.Not(B), A, found, t3 != 0, t3 != cand_a))
    t4 = z3.If(found, z3.If(B, cand_b, cand_a), t3)
    ch.check("detach/no-target", z3.Or(t4 == 0, z3.And(has_rel, z3.Not(found))))
    kx = pre.first(lambda j: pre.prog[j] == t4)
    ch.check("detach/prog-missing", z3.And(kx < 0, n > 0))
    bump = z3.And(core.same_slots(pre, post) + [post.n == pre.n, core.keep_dev(pre, post)])
    f_empty = ch.check("detach/empty-bundle", kx < 0, bump)
    ch.check("detach/link-owned", sel(pre.link, kx) != owner)
    f = ch.check(success, z3.BoolVal(True), remove_at(pre, post, kx))
    ch.effect("hook/free-when-empty", z3.Or(f, f_empty), settle(pre, post))
    ch.terms.update(ip=pre.first(lambda j: pre.prog[j] == prog), ir=ir, ifr=ifr, ilr=ilr, k=kx)
    return ch


def attach(k, pre, post, r, ch=None) -> Chain:
    """spec/rfc/attach.md: the prelude (prog API, v2's mask), then the core
    with no owner."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("attach/flags-mask", r.stray)
    base._fd_checks(ch, r.prog_fd, r.prog_cls, "attach/prog-fd-closed", "attach/prog-not-prog",
                    "attach/prog-type")
    ch.check("attach/dev-missing", z3.Not(pre.present))
    return attach_core(k, pre, post, r, z3.IntVal(0), ch)


def link_create(k, pre, post, r, ch=None) -> Chain:
    """spec/rfc/link.md BPF_LINK_CREATE: no flag mask, a missing device is
    EINVAL, then the core with the new link as owner."""
    ch = ch or Chain(k, pre, post, r)
    base._fd_checks(ch, r.prog_fd, r.prog_cls, "link_create/prog-fd-closed", "link_create/prog-not-prog",
                    "link_create/prog-type")
    ch.check("link_create/dev-missing", z3.Not(pre.present))
    return attach_core(k, pre, post, r, r.owner, ch)


def detach(k, pre, post, r, ch=None) -> Chain:
    """spec/rfc/detach.md: the prelude (a program fd of 0 = none), then the core."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("detach/flags-mask", r.stray)
    base._fd_checks(ch, r.prog_fd, r.prog_cls, "detach/prog-fd-closed", "detach/prog-not-prog",
                    "detach/prog-type", when=r.prog_fd != FD_NONE)
    ch.check("detach/dev-missing", z3.Not(pre.present))
    ch.check("detach/no-entry", z3.Not(pre.bundle))
    return detach_core(k, pre, post, r, r.prog, z3.IntVal(0), r.first, r.last, "detach/remove", ch)


def link_update(k, pre, post, r, ch=None) -> Chain:
    """spec/rfc/link.md BPF_LINK_UPDATE: FIRST/LAST are refused like any
    flag but REPLACE, the type check comes before the duplicate check, and
    the slot keeps its owner and its pins."""
    return base.link_update(k, pre, post, r, ch or Chain(k, pre, post, r),
                            extra_flags=z3.Or(r.first, r.last), type_first=True)


def link_detach(k, pre, post, r, ch=None) -> Chain:
    """BPF_LINK_DETACH: a defunct link is a no-op success; otherwise the
    detach core with the link as owner and its stored pins as flags."""
    ch = ch or Chain(k, pre, post, r)
    base._link_fd(ch, "link_detach/link-fd-closed", "link_detach/not-link")
    ch.check("link_detach/defunct", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, r.own_first, r.own_last, "link_detach/detach", ch)


def close(k, pre, post, r, ch=None) -> Chain:
    """close: a program fd, a defunct link, or an attached link's release."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("close/fd-closed", z3.Or(r.link_fd == FD_CLOSED, r.link_fd == FD_NONE))
    ch.check("close/prog", r.link_fd == FD_PROG)
    ch.check("close/link", r.defunct)
    return detach_core(k, pre, post, r, r.prog, r.owner, r.own_first, r.own_last, "close/link", ch)


def query(k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    """spec/rfc/query.md: no bundle is ENOENT, before the flags check; the
    entries (with their pins) are the pre-state's first ``shown`` slots."""
    ch = ch or Chain(k, pre, post, r)
    cap = z3.If(r.has_count, r.qcap, base.QUERY_DEFAULT_COUNT)
    shown = z3.If(cap == 0, 0, z3.If(cap < pre.n, cap, pre.n))
    out = z3.And(same(pre, post), r.q_count == pre.n, r.q_rev == pre.rev, r.q_shown == shown)
    ch.check("query/flags-unknown", r.qf_unknown)
    ch.check("query/dev-missing", z3.Not(pre.present))
    ch.check("query/no-entry", z3.Not(pre.bundle))
    ch.check("query/flags-nonzero", z3.Or(r.qf_effective, r.attach_flags))
    ch.check("query/truncated", z3.And(cap > 0, pre.n > 0, cap < pre.n), out)
    ch.check("query/ok", z3.BoolVal(True), out)
    ch.terms.update(cap=cap)
    return ch


# --------------------------------------------------------------------------
# Requests of the equivalence check: op -> encoding and request domain

OPS = base.OPS
ENCODERS = dict(base.ENCODERS, attach=attach, link_create=link_create, detach=detach,
                link_update=link_update, link_detach=link_detach, close=close, query=query)


def encode(op: str, k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    if op not in ENCODERS:
        raise ValueError(f"unknown op {op!r} (known: {', '.join(OPS)})")
    return ENCODERS[op](k, pre, post, r, ch or Chain(k, pre, post, r))


_PINS = {"first", "last"}
USED = dict(base.USED,
            attach=(base.USED["attach"] - {"repl_fd", "repl_cls", "old"}) | _PINS,
            link_create=base.USED["link_create"] | _PINS,
            detach=base.USED["detach"] | _PINS,
            link_update=base.USED["link_update"] | _PINS,
            link_detach=base.USED["link_detach"] | {"own_first", "own_last"},
            close=base.USED["close"] | {"own_first", "own_last"})


def pins_reachable(pre: State) -> list:
    """What every reachable rfc hook satisfies (spec/rfc/invariants.md
    RFC-FIRST, RFC-LAST, RFC-ALONE): FIRST only at index 0, LAST only at the
    last index, FIRST|LAST only alone."""
    cs = []
    for j in range(pre.size):
        cs += [z3.Implies(pre.fpin[j], j == 0), z3.Implies(pre.lpin[j], j == pre.n - 1),
               z3.Implies(z3.And(pre.fpin[j], pre.lpin[j]), pre.n == 1)]
    return cs


def own_pins(pre: State, r: Req) -> list:
    """An attached link's stored pins are its slot's (RFC-LINKPINS); other
    requests carry none."""
    attached = z3.And(r.link_fd == FD_LINK, z3.Not(r.defunct))
    cs = [z3.Implies(z3.Not(attached), z3.And(z3.Not(r.own_first), z3.Not(r.own_last)))]
    for j in range(pre.size):
        cs.append(z3.Implies(z3.And(attached, j < pre.n, pre.link[j] == r.owner),
                             z3.And(r.own_first == pre.fpin[j], r.own_last == pre.lpin[j])))
    return cs


def domain(op: str, pre: State, r: Req, n_max: int) -> list:
    """Every reachable (hook state, request) pair of ``op`` in rfc."""
    cs = base.domain(op, pre, r, n_max, used=USED, replace_fd=False, exp_bits=EXP_BITS)
    cs += pins_reachable(pre)
    if op in ("link_detach", "close"):
        cs += own_pins(pre, r)
    return cs


def class_shapes(pb, rule: str) -> list:
    """The request shapes that split a success class of ``rule`` so that its
    outcome has one template (checker.smt.equiv.Problem.classes)."""
    r, p, t = pb.req, pb.pre, pb.chain.terms
    has_rel = z3.Or(r.link_flag, r.id, r.rel_kind != REL_NONE)
    freed = ("freed", z3.And(p.n == 1, z3.Not(p.clsact)))
    return {
        "attach/insert": [("BEFORE", r.before), ("AFTER", r.after), ("rel", has_rel),
                          ("placed", t.get("placed", z3.BoolVal(False))),
                          ("tail-last", t.get("tail_lock", z3.BoolVal(False))), ("new-bundle", z3.Not(p.bundle))],
        "attach/replace": [("FIRST", r.first), ("LAST", r.last)],
        "attach/first": [("new-bundle", z3.Not(p.bundle))],
        "attach/last": [("new-bundle", z3.Not(p.bundle))],
        "attach/first-last": [("new-bundle", z3.Not(p.bundle))],
        "detach/remove": [("prog", r.prog != 0), ("FIRST", r.first), ("LAST", r.last), ("BEFORE", r.before),
                          ("AFTER", r.after), ("rel", has_rel), freed],
        "link_detach/detach": [freed],
        "close/link": [("defunct", r.defunct), freed],
        "query/ok": [("count0", t.get("cap", z3.IntVal(0)) == 0)],
        "query/truncated": [],
        "clsact/del": [("empty", p.n == 0)],
    }.get(rule, [])


def atoms(pb) -> list:
    """Boundary conditions of rfc's own, beside the common ones."""
    r, p, t = pb.req, pb.pre, pb.chain.terms
    a = [("fpin[0]", p.fpin[0]), ("lpin[n-1]", selb(p.lpin, p.n - 1))]
    if pb.op in ("attach", "link_create", "detach"):
        a += [("FIRST", r.first), ("LAST", r.last)]
    if pb.op in ("attach", "link_create"):
        a += [("placed", t["placed"]), ("tail-last", t["tail_lock"])]
    if pb.op in ("link_detach", "close"):
        a += [("own_first", r.own_first), ("own_last", r.own_last)]
    return a


def op_rules(op: str) -> set:
    """Rule IDs with a tracked constraint in ``op``'s encoding."""
    pre, post, r = state(0, 2), state(1, 2), Req(0)
    return encode(op, 0, pre, post, r).rules()


@functools.cache
def rule_ids() -> frozenset:
    return frozenset().union(*(op_rules(op) for op in OPS))
