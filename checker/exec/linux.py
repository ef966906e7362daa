"""The linux dialect's executor unit: mainline tcx (spec/linux/).

Implements spec/linux/attach.md, detach.md, query.md, link.md, objects.md
and device.md.  Pure: ``step(world, request)`` returns ``(Outcome, World)``
and never performs I/O or raises for a request.  Every check is one line, in
the kernel's order (the first failing check decides the errno), and names
the spec rule that it implements.  The bpf_mprog core is checker.exec.mprog.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from ..dialects.linux import (ATTACH_TYPE, BPF_F_QUERY_EFFECTIVE, FLAGS, MASK_MPROG,
                              QUERY_DEFAULT_COUNT, REPLACE)
from ..errors import SpecCrash
from ..model import QueryResult, Raw, Step
from .driver import Err, QueryErr, make_step
from .mprog import core_attach, core_detach, settle
from .objects import fd_object, link_by_fd, prog_by_fd
from .world import Device, Hook, Link, Prog, World

POINTS = tuple(ATTACH_TYPE)      # the attach points of a tcx device: ingress, egress
flag_bits = FLAGS.word

# Each op returns (rule, world, query, effects) or raises Err.

def _hook_or_new(dev: Device, dir: str) -> tuple[Hook, tuple]:
    h = dev.hook(dir)
    return (h, ()) if h is not None else (Hook(), ("hook/create",))


def _present_dev(w: World, name: Optional[str], rule: str) -> Device:
    d = w.devs.get(name)
    if d is None or not d.present:
        raise Err("ENODEV", rule)
    return d


def op_load(w: World, s: Step):
    return "load/ok", w.with_prog(s.prog, Prog(type=s.type or "sched_cls")), None, ()


def op_attach(w: World, s: Step):
    bits = flag_bits(s.flags)
    if bits & ~MASK_MPROG:
        raise Err("EINVAL", "attach/flags-mask")
    prog = prog_by_fd(w, s.prog, "attach/prog-fd-closed", "attach/prog-not-prog")
    ptype = w.progs[prog].type
    if ptype != "sched_cls":
        raise Err("EINVAL", "attach/prog-type")
    dev = _present_dev(w, s.dev, "attach/dev-missing")
    old = None
    if bits & REPLACE:
        ref = s.replace if s.replace is not None else Raw(0)
        old = prog_by_fd(w, ref, "attach/replace-fd-closed", "attach/replace-not-prog")
        if w.progs[old].type != ptype:
            raise Err("EINVAL", "attach/replace-type")
    hook, fx = _hook_or_new(dev, s.dir)
    new = core_attach(w, hook, prog, None, old, bits, s.relative, s.expected_revision)
    rule = "attach/replace" if bits & REPLACE else "attach/insert"
    return rule, w.with_dev(s.dev, dev.with_hook(s.dir, new)), None, fx


def op_detach(w: World, s: Step):
    bits = flag_bits(s.flags)
    if bits & ~MASK_MPROG:
        raise Err("EINVAL", "detach/flags-mask")
    prog = None
    if s.prog is not None and s.prog != Raw(0):   # fd 0 means "no prog" here
        prog = prog_by_fd(w, s.prog, "detach/prog-fd-closed", "detach/prog-not-prog")
        if w.progs[prog].type != "sched_cls":
            raise Err("EINVAL", "detach/prog-type")
    dev = _present_dev(w, s.dev, "detach/dev-missing")
    hook = dev.hook(s.dir)
    if hook is None:
        raise Err("ENOENT", "detach/no-entry")
    new = core_detach(w, hook, prog, None, bits, s.relative, s.expected_revision)
    dev, fx = settle(dev, s.dir, new)
    return "detach/remove", w.with_dev(s.dev, dev), None, fx


def op_query(w: World, s: Step):
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    dev = _present_dev(w, s.dev, "query/dev-missing")
    if s.query_flags or s.attach_flags:
        raise Err("EINVAL", "query/flags-nonzero")
    hook = dev.hook(s.dir)
    if hook is None:
        return "query/no-entry", w, QueryResult(0, 1), ()
    slots = hook.slots
    cap = QUERY_DEFAULT_COUNT if s.count is None else s.count
    n = len(slots)
    shown = slots[:min(cap, n)] if cap else ()
    q = QueryResult(n, hook.revision, tuple(p for p, _ in shown), tuple(l for _, l in shown))
    if cap and n and cap < n:
        raise QueryErr("ENOSPC", "query/truncated", q)
    return "query/ok", w, q, ()


def op_link_create(w: World, s: Step):
    prog = prog_by_fd(w, s.prog, "link_create/prog-fd-closed", "link_create/prog-not-prog")
    if w.progs[prog].type != "sched_cls":
        raise Err("EINVAL", "link_create/prog-type")   # attach type vs prog type
    dev = _present_dev(w, s.dev, "link_create/dev-missing")
    hook, fx = _hook_or_new(dev, s.dir)
    # LINK_CREATE has no flag mask: every bit reaches the core, and REPLACE
    # there looks for the prog "none" (ENOENT).
    new = core_attach(w, hook, prog, s.link, None, flag_bits(s.flags), s.relative,
                      s.expected_revision)
    w = w.with_dev(s.dev, dev.with_hook(s.dir, new))
    return "attach/insert", w.with_link(s.link, Link(prog, s.dev, s.dir)), None, fx


def op_link_update(w: World, s: Step):
    bits = flag_bits(s.flags)
    if bits & ~REPLACE:
        raise Err("EINVAL", "link_update/flags")
    name = link_by_fd(w, s.link, "link_update/link-fd-closed", "link_update/not-link")
    new = prog_by_fd(w, s.prog, "link_update/prog-fd-closed", "link_update/prog-not-prog")
    old = None
    old_ref = s.old_prog if s.old_prog is not None else Raw(0)
    if bits & REPLACE:
        old = prog_by_fd(w, old_ref, "link_update/old-fd-closed", "link_update/old-not-prog")
    elif old_ref != Raw(0):
        raise Err("EINVAL", "link_update/old-without-replace")
    link = w.links[name]
    if link.dev is None:
        raise Err("ENOLINK", "link_update/defunct")
    if old is not None and old != link.prog:
        raise Err("EPERM", "link_update/old-mismatch")
    if new == link.prog:
        return "link_update/same-prog", w, None, ()
    dev = w.devs[link.dev]
    hook = dev.hook(link.dir)
    if hook is None:
        raise SpecCrash("attached link without a hook")
    # tcx_link_update() -> bpf_mprog_attach(REPLACE|ID, id of the current prog)
    if any(p == new for p, _ in hook.slots):
        raise Err("EEXIST", "link_update/prog-exists")
    if w.progs[new].type != w.progs[link.prog].type:
        raise Err("EINVAL", "link_update/prog-type")
    slots = tuple((new, l) if l == name else (p, l) for p, l in hook.slots)
    w = w.with_dev(link.dev, dev.with_hook(link.dir, Hook(slots, hook.revision + 1)))
    return "link_update/replace", w.with_link(name, replace(link, prog=new)), None, ()


def _link_release(w: World, name: str) -> tuple[World, tuple]:
    """tcx_link_release(): detach an attached link's slot and make it defunct."""
    link = w.links[name]
    if link.dev is None:
        return w, ()
    dev = w.devs[link.dev]
    new = core_detach(w, dev.hook(link.dir), link.prog, name, 0, None, 0)
    dev, fx = settle(dev, link.dir, new)
    return w.with_dev(link.dev, dev).with_link(name, replace(link, dev=None)), fx


def op_link_detach(w: World, s: Step):
    name = link_by_fd(w, s.link, "link_detach/link-fd-closed", "link_detach/not-link")
    if w.links[name].dev is None:
        return "link_detach/defunct", w, None, ()
    w, fx = _link_release(w, name)
    return "link_detach/detach", w, None, fx


def op_close(w: World, s: Step):
    ref = s.link if s.link is not None else s.prog
    obj = fd_object(w, ref)
    if obj is None or obj == "file":
        raise Err("EBADF", "close/fd-closed")
    kind, name = obj
    if kind == "prog":
        return "close/prog", w.with_prog(name, replace(w.progs[name], fd_open=False)), None, ()
    w, fx = _link_release(w, name)
    return "close/link", w.with_link(name, None), None, fx


def op_dev_add(w: World, s: Step):
    d = w.devs.get(s.dev)
    if d is not None and d.present:
        raise Err("EEXIST", "device/add-exists")
    return "device/add", w.with_dev(s.dev, Device()), None, ()


def op_dev_del(w: World, s: Step):
    dev = _present_dev(w, s.dev, "device/del-missing")
    # tcx_uninstall(): prog-API entries are released, links become defunct; no revision bump.
    defunct = {l: replace(w.links[l], dev=None)
               for hook in dev.hooks.values() for _, l in hook.slots if l is not None}
    return "device/del", w.with_links(defunct).with_dev(s.dev, Device(present=False)), None, ()


def op_clsact_add(w: World, s: Step):
    dev = _present_dev(w, s.dev, "clsact/dev-missing")
    if dev.clsact:
        raise Err("EEXIST", "clsact/add-exists")
    # The qdisc holds a bundle on every attach point (tcx_entry_fetch_or_create).
    fx = ("hook/create",) if any(dev.hook(p) is None for p in POINTS) else ()
    dev = Device(True, True, {p: dev.hook(p) or Hook() for p in POINTS})
    return "clsact/add", w.with_dev(s.dev, dev), None, fx


def op_clsact_del(w: World, s: Step):
    dev = _present_dev(w, s.dev, "clsact/dev-missing")
    if not dev.clsact:
        raise Err("ENOENT", "clsact/del-missing")
    dev = replace(dev, clsact=False)
    fx = ()
    for point in POINTS:
        h = dev.hook(point)
        if h is not None and not h.slots:
            dev, fx = dev.with_hook(point, None), ("hook/free-when-empty",)
    return "clsact/del", w.with_dev(s.dev, dev), None, fx


OPS: dict[str, Callable] = {
    "load": op_load, "attach": op_attach, "detach": op_detach, "query": op_query,
    "link_create": op_link_create, "link_update": op_link_update,
    "link_detach": op_link_detach, "close": op_close, "dev_add": op_dev_add,
    "dev_del": op_dev_del, "clsact_add": op_clsact_add, "clsact_del": op_clsact_del,
}

step = make_step(OPS)


def hooks(w: World) -> dict[tuple[str, str], QueryResult]:
    """What a query of every attach point of every present device answers."""
    res = {}
    for name, d in w.devs.items():
        if not d.present:
            continue
        for point in POINTS:
            h = d.hook(point)
            res[(name, point)] = (QueryResult(0, 1) if h is None else QueryResult(
                len(h.slots), h.revision, tuple(s[0] for s in h.slots),
                tuple(s[1] for s in h.slots)))
    return res
