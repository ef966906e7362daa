"""What the tcx dialects' executor units share: devices, the clsact qdisc and
hook bundles (spec/linux/device.md), loading programs (objects.md), the
syscall preludes of BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_LINK_CREATE /
BPF_LINK_UPDATE, the query answer, BPF_LINK_DETACH and close (link.md).

These requests do not depend on how a dialect orders its slots, so they are
written once over any slot shape ``(prog, link, ...)``; what does depend on
it (releasing a link's slot) is the dialect's ``release`` function, passed
to :func:`link_ops`.  Each function returns ``(rule, world, query,
effects)`` or raises Err, as the driver expects.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from ..dialects.linux import ATTACH_TYPE, LOOPBACK, MPROG_MAX, QUERY_DEFAULT_COUNT
from ..model import QueryResult, Raw, Step
from .driver import Err, QueryErr
from .objects import close_prog, closed_object, link_by_fd, link_update_operands, prog_by_fd
from .world import Device, Hook, Prog, World

POINTS = tuple(ATTACH_TYPE)      # the attach points of a tcx device: ingress, egress


def hook_or_new(dev: Device, dir: str) -> tuple[Hook, tuple]:
    """The attach point's bundle, or a fresh one (hook/create)."""
    h = dev.hook(dir)
    return (h, ()) if h is not None else (Hook(), ("hook/create",))


def present_dev(w: World, name: Optional[str], rule: str) -> Device:
    d = w.devs.get(name)
    if d is None or not d.present:
        raise Err("ENODEV", rule)
    return d


def settle(dev: Device, dir: str, hook: Hook) -> tuple[Device, tuple]:
    """After a successful detach: tcx frees an empty bundle unless a clsact
    qdisc holds it; the revision is then forgotten (hook/free-when-empty)."""
    if not hook.slots and not dev.clsact:
        return dev.with_hook(dir, None), ("hook/free-when-empty",)
    return dev.with_hook(dir, hook), ()


def op_load(w: World, s: Step):
    return "load/ok", w.with_prog(s.prog, Prog(type=s.type or "sched_cls")), None, ()


def op_dev_add(w: World, s: Step):
    d = w.devs.get(s.dev)
    if d is not None and d.present:
        raise Err("EEXIST", "device/add-exists")
    return "device/add", w.with_dev(s.dev, Device()), None, ()


def defunct_links(w: World, dev: Device) -> dict:
    """The links attached to any hook of ``dev``, made defunct (device
    teardown: tcx_uninstall(), netkit_release_all())."""
    return {slot[1]: replace(w.links[slot[1]], dev=None)
            for hook in dev.hooks.values() for slot in hook.slots if slot[1] is not None}


def deletable_dev(w: World, s: Step) -> Device:
    """rtnl_dellink(): the device must be present, and its link type must
    implement deletion (the namespace's loopback does not)."""
    dev = present_dev(w, s.dev, "device/del-missing")
    if s.dev == LOOPBACK:
        raise Err("EOPNOTSUPP", "device/del-loopback")
    return dev


def op_dev_del(w: World, s: Step):
    dev = deletable_dev(w, s)
    # tcx_uninstall(): prog-API entries are released, links become defunct; no revision bump.
    return "device/del", w.with_links(defunct_links(w, dev)).with_dev(s.dev, Device(present=False)), None, ()


def op_clsact_add(w: World, s: Step):
    dev = present_dev(w, s.dev, "clsact/dev-missing")
    if dev.clsact:
        raise Err("EEXIST", "clsact/add-exists")
    # The qdisc holds a bundle on every attach point (tcx_entry_fetch_or_create).
    fx = ("hook/create",) if any(dev.hook(p) is None for p in POINTS) else ()
    dev = Device(True, True, {**dev.hooks, **{p: dev.hook(p) or Hook() for p in POINTS}}, dev.netkit)
    return "clsact/add", w.with_dev(s.dev, dev), None, fx


def op_clsact_del(w: World, s: Step):
    dev = present_dev(w, s.dev, "clsact/dev-missing")
    if not dev.clsact:
        raise Err("ENOENT", "clsact/del-missing")
    dev = replace(dev, clsact=False)
    fx = ()
    for point in POINTS:
        h = dev.hook(point)
        if h is not None and not h.slots:
            dev, fx = dev.with_hook(point, None), ("hook/free-when-empty",)
    return "clsact/del", w.with_dev(s.dev, dev), None, fx


def attach_syscall(w: World, s: Step, bits: int, mask: int) -> str:
    """bpf_prog_attach() before the attach point's own code: the dialect's
    flag mask, the program fd and its type.  Returns the program."""
    if bits & ~mask:
        raise Err("EINVAL", "attach/flags-mask")
    prog = prog_by_fd(w, s.prog, "attach/prog-fd-closed", "attach/prog-not-prog")
    if w.progs[prog].type != "sched_cls":
        raise Err("EINVAL", "attach/prog-type")
    return prog


def attach_prelude(w: World, s: Step, bits: int, mask: int) -> tuple[str, Device]:
    """bpf_prog_attach() / tcx_prog_attach() up to the device.  Returns
    (program, device)."""
    prog = attach_syscall(w, s, bits, mask)
    return prog, present_dev(w, s.dev, "attach/dev-missing")


def detach_syscall(w: World, s: Step, bits: int, mask: int) -> Optional[str]:
    """bpf_prog_detach() before the attach point's own code: the mask and
    the program (fd 0: none).  Returns the program or None."""
    if bits & ~mask:
        raise Err("EINVAL", "detach/flags-mask")
    prog = None
    if s.prog is not None and s.prog != Raw(0):   # fd 0 means "no prog" here
        prog = prog_by_fd(w, s.prog, "detach/prog-fd-closed", "detach/prog-not-prog")
        if w.progs[prog].type != "sched_cls":
            raise Err("EINVAL", "detach/prog-type")
    return prog


def detach_prelude(w: World, s: Step, bits: int, mask: int) -> tuple[Optional[str], Device, Hook]:
    """bpf_prog_detach() / tcx_prog_detach() up to the bundle: the syscall's
    checks, the device, the bundle.  Returns (program or None, device, hook)."""
    prog = detach_syscall(w, s, bits, mask)
    dev = present_dev(w, s.dev, "detach/dev-missing")
    hook = dev.hook(s.dir)
    if hook is None:
        raise Err("ENOENT", "detach/no-entry")
    return prog, dev, hook


def query_answer(w: World, s: Step, hook: Hook, stored: bool = False):
    """bpf_mprog_query() once the checks passed: the count, the revision and
    the first ``count`` entries (with their stored flags in dialects that
    keep them); ENOSPC when the caller's array is too small."""
    slots = hook.slots
    cap = QUERY_DEFAULT_COUNT if s.count is None else s.count
    n = len(slots)
    # bpf_mprog_query() lists at most bpf_mprog_max() entries (its loop bound).
    shown = slots[:min(cap, n, MPROG_MAX)] if cap else ()
    q = QueryResult(n, hook.revision, tuple(x[0] for x in shown), tuple(x[1] for x in shown),
                    tuple(x[2] for x in shown) if stored else ())
    if cap and n and cap < n:
        raise QueryErr("ENOSPC", "query/truncated", q)
    return "query/ok", w, q, ()


def link_create_prog(w: World, s: Step) -> str:
    """link_create(): the program fd and its type (attach type vs prog type)."""
    prog = prog_by_fd(w, s.prog, "link_create/prog-fd-closed", "link_create/prog-not-prog")
    if w.progs[prog].type != "sched_cls":
        raise Err("EINVAL", "link_create/prog-type")
    return prog


def link_update_prelude(w: World, s: Step, bits: int, replace_bit: int):
    """kernel/bpf/syscall.c link_update(): the flags, the link fd, the new
    program fd and the old one (with REPLACE only); then tcx_link_update()'s
    first checks: a defunct link, an old program that is not the link's.
    Returns None when the new program is the link's own (the caller's
    link_update/same-prog: nothing changes), else (link name, new program,
    link, device, hook)."""
    name, new, link = link_update_operands(w, s, bits, replace_bit)
    if new == link.prog:
        return None
    dev = w.devs[link.dev]
    return name, new, link, dev, dev.hook(link.dir)


def link_ops(detach_slot: Callable[[World, Hook, str], Hook],
             settle_hook: Callable[[Device, str, Hook], tuple] = settle) -> tuple[Callable, Callable, Callable]:
    """tcx_link_release() over a dialect's detach core, and BPF_LINK_DETACH
    and close over it: (release, op_link_detach, op_close).  ``detach_slot(w,
    hook, link name)`` removes the attached link's slot from its hook;
    ``settle_hook`` stores the hook afterwards (tcx: :func:`settle`)."""
    def release(w: World, name: str) -> tuple[World, tuple]:
        link = w.links[name]
        dev = w.devs[link.dev]
        dev, fx = settle_hook(dev, link.dir, detach_slot(w, dev.hook(link.dir), name))
        return w.with_dev(link.dev, dev).with_link(name, replace(link, dev=None)), fx

    def op_link_detach(w: World, s: Step):
        name = link_by_fd(w, s.link, "link_detach/link-fd-closed", "link_detach/not-link")
        if w.links[name].dev is None:
            return "link_detach/defunct", w, None, ()
        w, fx = release(w, name)
        return "link_detach/detach", w, None, fx

    def op_close(w: World, s: Step):
        kind, name = closed_object(w, s)
        if kind == "prog":
            return close_prog(w, name)
        if w.links[name].dev is not None:
            w, fx = release(w, name)
        else:
            fx = ()
        return "close/link", w.with_link(name, None), None, fx

    return release, op_link_detach, op_close


def op_table(**ops: Callable) -> dict[str, Callable]:
    """A dialect's op table: its own ops (attach, detach, query, link_create,
    link_update, link_detach, close) and the shared device/clsact/load ops."""
    return {"load": op_load, "dev_add": op_dev_add, "dev_del": op_dev_del,
            "clsact_add": op_clsact_add, "clsact_del": op_clsact_del, **ops}


UNUSED_HOOK = QueryResult(0, 1)     # what a query of a hook nobody used answers


def hooks(w: World, stored: bool = False) -> dict[tuple[str, str], QueryResult]:
    """What a query of every attach point of every present device answers
    (a hook without a bundle as count 0 at revision 1); ``stored``: with the
    slots' stored flags (dialects that report them).  The loopback, present
    in every namespace, is listed only where its hook reads otherwise
    (``shown_hook``)."""
    res = {}
    for name, d in w.devs.items():
        if not d.present:
            continue
        for point in POINTS:
            h = d.hook(point)
            q = UNUSED_HOOK if h is None else QueryResult(
                len(h.slots), h.revision, tuple(s[0] for s in h.slots), tuple(s[1] for s in h.slots),
                tuple(s[2] for s in h.slots) if stored else ())
            if shown_hook(name, q):
                res[(name, point)] = q
    return res


def shown_hook(dev: str, q: QueryResult) -> bool:
    """Whether a final-state listing shows this hook: every hook of a device
    the file added, and the loopback's once it reads other than unused
    (both backends apply this, so their listings compare equal)."""
    return dev != LOOPBACK or (q.count, q.revision) != (UNUSED_HOOK.count, UNUSED_HOOK.revision)
