"""The netkit dialect's executor unit (spec/netkit/): netkit pairs
(drivers/net/netkit.c) beside tcx.

A request on a tcx attach point (ingress, egress), on a veth or on either
device of a netkit pair, is the linux dialect's (checker.exec.linux).  A
request on a netkit attach point (primary, peer) runs the same syscall
prelude and the same bpf_mprog core (checker.exec.mprog); what differs is
netkit's own part in between, one line per check in the kernel's order:

* the device lookup ``netkit_dev_fetch()``: ENODEV, ENXIO (not a netkit
  device), EACCES (the peer: both hooks are managed through the primary);
* the bundle: embedded in the device from its creation and never freed, so
  its revision keeps counting across empty periods; an empty hook has no
  active entry, which makes a detach fail with ENOENT before the core and a
  query answer count 0 at revision 1 (the revision the core's
  ``expected_revision`` check does *not* use: spec/netkit/hooks.md);
* pair deletion: either device takes the other with it.

Where the netkit bundles live in the world: both on the primary's record,
under the attach point names (the peer's bundle is embedded in the peer
device in the kernel, but it is only reachable through the primary, so the
two are observationally the same).  A link keeps the primary's name and the
attach point, so BPF_LINK_UPDATE and the link release find its bundle the
way they find a tcx link's (checker.exec.linux / tcx).
"""
from __future__ import annotations

from typing import Callable

from ..dialects.linux import BPF_F_QUERY_EFFECTIVE, MASK_MPROG
from ..dialects.netkit import NETKIT_POINTS
from ..model import QueryResult, Step
from . import linux, tcx
from .driver import Err, make_step
from .mprog import CORE
from .world import Device, Hook, Link, NetkitEnd, World

flag_bits = linux.flag_bits
POINTS = tuple(NETKIT_POINTS)        # primary, peer


def fetch(w: World, s: Step) -> Device:
    """netkit_dev_fetch(): the device behind the ifindex must exist, be a
    netkit device, and be the primary.  Returns the primary's record (it
    holds both bundles)."""
    d = w.devs.get(s.dev)
    if d is None or not d.present:
        raise Err("ENODEV", "netkit/dev-missing")
    if d.netkit is None:
        raise Err("ENXIO", "netkit/not-netkit")
    if not d.netkit.primary:
        raise Err("EACCES", "netkit/not-primary")
    return d


def settle(dev: Device, point: str, hook: Hook) -> tuple[Device, tuple]:
    """After a successful detach: a netkit bundle stays (an empty one only
    loses its active entry); a tcx one may be freed (tcx.settle)."""
    if point in NETKIT_POINTS:
        return dev.with_hook(point, hook), (() if hook.slots else ("netkit/keep-when-empty",))
    return tcx.settle(dev, point, hook)


# -- requests on the netkit attach points -------------------------------------

def op_attach(w: World, s: Step):
    if s.dir not in NETKIT_POINTS:
        return linux.op_attach(w, s)
    bits = flag_bits(s.flags)
    prog = tcx.attach_syscall(w, s, bits, MASK_MPROG)
    dev = fetch(w, s)
    old = linux.replaced_prog(w, s, bits, prog)
    # netkit_entry_fetch(dev, true): the embedded bundle when nothing is active.
    new = CORE.attach(w, dev.hook(s.dir), prog, None, old, bits, s.relative, s.expected_revision)
    rule = "attach/replace" if old is not None else "attach/insert"
    return rule, w.with_dev(s.dev, dev.with_hook(s.dir, new)), None, ()


def op_detach(w: World, s: Step):
    if s.dir not in NETKIT_POINTS:
        return linux.op_detach(w, s)
    bits = flag_bits(s.flags)
    prog = tcx.detach_syscall(w, s, bits, MASK_MPROG)
    dev = fetch(w, s)
    hook = dev.hook(s.dir)
    if not hook.slots:                       # netkit_entry_fetch(dev, false) == NULL
        raise Err("ENOENT", "netkit/detach-empty")
    new = CORE.detach(w, hook, prog, None, bits, s.relative, s.expected_revision)
    dev, fx = settle(dev, s.dir, new)
    return "detach/remove", w.with_dev(s.dev, dev), None, fx


def op_query(w: World, s: Step):
    if s.dir not in NETKIT_POINTS:
        return linux.op_query(w, s)
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    dev = fetch(w, s)
    if s.query_flags or s.attach_flags:
        raise Err("EINVAL", "query/flags-nonzero")
    hook = dev.hook(s.dir)
    if not hook.slots:
        # bpf_mprog_query(NULL entry): count 0 at revision 1, whatever the
        # bundle's revision is (the next attach checks the real one).
        return "netkit/query-empty", w, QueryResult(0, 1), ()
    return tcx.query_answer(w, s, hook)


def op_link_create(w: World, s: Step):
    if s.dir not in NETKIT_POINTS:
        return linux.op_link_create(w, s)
    prog = tcx.link_create_prog(w, s)
    dev = fetch(w, s)
    # No flag mask on this path either: every bit reaches the core.
    new = CORE.attach(w, dev.hook(s.dir), prog, s.link, None, flag_bits(s.flags), s.relative,
                      s.expected_revision)
    w = w.with_dev(s.dev, dev.with_hook(s.dir, new))
    return "attach/insert", w.with_link(s.link, Link(prog, s.dev, s.dir)), None, ()


# -- devices --------------------------------------------------------------------

def op_netkit_add(w: World, s: Step):
    """netkit_new_link(): the peer is registered first, then the primary; a
    name taken (or both the same) fails the whole request."""
    for name in (s.peer, s.dev):
        d = w.devs.get(name)
        if d is not None and d.present:
            raise Err("EEXIST", "netkit/add-exists")
    if s.dev == s.peer:
        raise Err("EEXIST", "netkit/add-exists")
    # Each device embeds a bundle at revision 1 (bpf_mprog_bundle_init()).
    primary = Device(hooks={p: Hook() for p in POINTS}, netkit=NetkitEnd(True, s.peer))
    peer = Device(netkit=NetkitEnd(False, s.dev))
    return "netkit/add", w.with_dev(s.peer, peer).with_dev(s.dev, primary), None, ()


def op_dev_del(w: World, s: Step):
    dev = tcx.present_dev(w, s.dev, "device/del-missing")
    if dev.netkit is None:
        return linux.op_dev_del(w, s)
    # netkit_del_link(): both devices are unregistered; each one's
    # netkit_release_all() and tcx_uninstall() drop the prog-API entries and
    # make every link defunct, without a revision bump.
    other = dev.netkit.other
    defunct = {**tcx.defunct_links(w, dev), **tcx.defunct_links(w, w.devs[other])}
    w = w.with_links(defunct).with_dev(s.dev, Device(present=False))
    return "netkit/del-pair", w.with_dev(other, Device(present=False)), None, ()


_release, op_link_detach, op_close = linux.release_ops(CORE, settle)

OPS: dict[str, Callable] = tcx.op_table(
    attach=op_attach, detach=op_detach, query=op_query, link_create=op_link_create,
    link_update=linux.op_link_update, link_detach=op_link_detach, close=op_close,
    dev_del=op_dev_del, netkit_add=op_netkit_add)

step = make_step(OPS)


def hooks(w: World) -> dict[tuple[str, str], QueryResult]:
    """What a query of every hook answers: the tcx hooks of every present
    device, and the netkit hooks of every primary (an empty one as count 0
    at revision 1, as its query answers)."""
    res = tcx.hooks(w)
    for name, d in w.devs.items():
        if not (d.present and d.netkit is not None and d.netkit.primary):
            continue
        for point in POINTS:
            h = d.hook(point)
            res[(name, point)] = (QueryResult(0, 1) if not h.slots else QueryResult(
                len(h.slots), h.revision, tuple(x[0] for x in h.slots), tuple(x[1] for x in h.slots)))
    return res
