"""The netkit dialect's z3 encoding (spec/netkit/): a delta over
checker.smt.linux, written from spec/netkit/ (not from the executor).

The symbolic hook is one netkit hook of a pair (core.State: its slots and
revision; ``present``: the pair exists; ``bundle``: the embedded bundle,
there exactly while the pair is; ``clsact`` plays no part).  A request
names a device, described by ``req.target``: the pair's primary (TGT_PRIMARY:
the request reaches the hook), its peer (EACCES), a veth (ENXIO) or no device
(ENODEV; a deleted pair's devices are gone too).  Between the prelude and the
bpf_mprog core (linux's, unchanged) sits netkit_dev_fetch() (the Chain's
check_device, where tcx looks the device up); detach on an
empty hook stops before the core; a query of an empty hook answers revision
1 while the core's guards compare with the real revision; a removal keeps
the bundle (revision + 1, also when the hook empties); deleting the primary
or the peer deletes the pair.

Requests on the tcx attach points of the dialect (on veth or netkit devices)
are linux's encoding, over this dialect's rule table: the ops ``tcx.<op>``.
"""
from __future__ import annotations

import functools

import z3

from ..dialects.linux import MPROG_MAX
from ..dialects.netkit import DIALECT
from . import core, linux, names
from .core import ERRNOS, Req as _CoreReq, State, empty_hook, errno_code, same  # noqa: F401

NAME = "netkit"
# Its proofs are its own (netkit worlds: pairs, the device a request names),
# not checker.smt.equiv / bmc's, which build veth worlds (checker.smt.proofs).
PROOFS = "checker.smt.netkit_verify"
TABLE = dict(DIALECT.rules)
RULE_LIST = tuple(sorted(TABLE))
TGT_PRIMARY, TGT_PEER, TGT_VETH, TGT_MISSING = 0, 1, 2, 3
TARGETS = {TGT_PRIMARY: "primary", TGT_PEER: "peer", TGT_VETH: "veth", TGT_MISSING: "missing"}


def rule_code(rule: str) -> int:
    return core.rule_code(TABLE, rule)


class Req(_CoreReq):
    """core.Req and the device the request names (``req<k>.target``)."""
    INTS = _CoreReq.INTS + ("target",)

    def __init__(self, k: int):
        super().__init__(k)
        self.target = z3.Int(names.req(k, "target"))


class Chain(linux.Chain):
    """A request on a netkit hook: this dialect's table; a removal keeps the
    bundle (netkit/keep-when-empty)."""
    TABLE = TABLE

    def check_device(self, op: str) -> None:
        """netkit_dev_fetch() where tcx looks the device up; a detach on an
        empty hook stops here, before the core (no active entry)."""
        fetch(self)
        if op == "detach":
            self.check("netkit/detach-empty", self.pre.n == 0)

    def settle_removal(self, removed) -> None:
        pre, post = self.pre, self.post
        self.effect("netkit/keep-when-empty", removed,
                    z3.And(post.bundle == pre.bundle, post.rev == pre.rev + 1))


class TcxChain(linux.Chain):
    """A request on a tcx hook of this dialect: linux's, over this table."""
    TABLE = TABLE


def fetch(ch: Chain) -> None:
    """spec/netkit/hooks.md: netkit_dev_fetch()."""
    r, pre = ch.req, ch.pre
    gone = z3.Or(r.target == TGT_MISSING, z3.And(r.target != TGT_VETH, z3.Not(pre.present)))
    ch.check("netkit/dev-missing", gone)
    ch.check("netkit/not-netkit", r.target == TGT_VETH)
    ch.check("netkit/not-primary", r.target == TGT_PEER)


def query(k, pre, post, r, ch=None) -> Chain:
    ch = ch or Chain(k, pre, post, r)
    cap, out = linux.query_answer(pre, post, r)
    ch.check("query/flags-unknown", r.qf_unknown)
    fetch(ch)
    ch.check("query/flags-nonzero", z3.Or(r.qf_effective, r.attach_flags))
    # bpf_mprog_query(NULL entry): revision 1, whatever the bundle's is
    ch.check("netkit/query-empty", pre.n == 0, linux.empty_answer(pre, post, r))
    ch.check("query/truncated", z3.And(cap > 0, cap < pre.n), out)
    ch.check("query/ok", z3.BoolVal(True), out)
    ch.terms.update(cap=cap)
    return ch


def dev_del(k, pre, post, r, ch=None) -> Chain:
    """netkit/del-pair through the primary or the peer; a veth's deletion
    leaves the hook as it is (device/del)."""
    ch = ch or Chain(k, pre, post, r)
    gone = z3.Or(r.target == TGT_MISSING, z3.And(r.target != TGT_VETH, z3.Not(pre.present)))
    ch.check("device/del-missing", gone)
    ch.check("device/del", r.target == TGT_VETH)
    ch.check("netkit/del-pair", z3.BoolVal(True), z3.And(
        [z3.Not(post.present), z3.Not(post.clsact)] + empty_hook(post)))
    return ch


def netkit_add(k, pre, post, r, ch=None) -> Chain:
    """netkit/add-exists when the pair (or the veth, by name) is there;
    otherwise a new pair whose hook is empty at revision 1."""
    ch = ch or Chain(k, pre, post, r)
    ch.check("netkit/add-exists", z3.Or(pre.present, r.target == TGT_VETH))
    ch.check("netkit/add", z3.BoolVal(True), z3.And(
        [post.present, post.bundle, z3.Not(post.clsact), post.n == 0, post.rev == 1]
        + [x == 0 for x in post.prog + post.link]))
    return ch


# -- ops ---------------------------------------------------------------------

ENCODERS = {"attach": linux.attach, "link_create": linux.link_create, "detach": linux.detach,
            "link_detach": linux.link_detach, "close": linux.close, "link_update": linux.link_update,
            "query": query, "load": linux.load, "dev_del": dev_del, "netkit_add": netkit_add}
OPS = tuple(ENCODERS)                                  # on a netkit hook
TCX_OPS = tuple(f"tcx.{op}" for op in linux.OPS)      # on a tcx hook


def encode(op: str, k: int, pre: State, post: State, r: Req, ch: Chain = None) -> Chain:
    if op.startswith("tcx."):
        return linux.encode(op[4:], k, pre, post, r, ch or TcxChain(k, pre, post, r))
    if op not in ENCODERS:
        raise ValueError(f"unknown op {op!r} (known: {', '.join(OPS + TCX_OPS)})")
    # (linux's encoders make a linux.Chain when given none: this dialect's table and removal)
    return ENCODERS[op](k, pre, post, r, ch or Chain(k, pre, post, r))


def state(t: int, size: int) -> State:
    return State(t, size)


def wellformed(pre: State, n_max: int) -> list:
    """A netkit hook: the bundle is there exactly while the pair is (empty
    or not, at any revision); a deleted pair's hook reads empty at revision
    1; no duplicate program, one slot per link, empty slots zeroed."""
    cs = [pre.n >= 0, pre.n <= n_max, pre.rev >= 1, pre.bundle == pre.present, z3.Not(pre.clsact),
          z3.Implies(z3.Not(pre.present), z3.And(pre.n == 0, pre.rev == 1))]
    for j in range(pre.size):
        used = j < pre.n
        cs += [z3.Implies(used, pre.prog[j] >= 1), z3.Implies(used, pre.link[j] >= 0),
               z3.Implies(z3.Not(used), z3.And(pre.prog[j] == 0, pre.link[j] == 0))]
        for i in range(j):
            cs.append(z3.Implies(used, pre.prog[i] != pre.prog[j]))
            cs.append(z3.Implies(z3.And(used, pre.link[i] != 0), pre.link[i] != pre.link[j]))
    return cs


@functools.cache
def rule_ids() -> frozenset:
    pre, post, r = State(0, 2), State(1, 2), Req(0)
    return frozenset().union(*(encode(op, 0, pre, post, r).rules() for op in OPS + TCX_OPS))
