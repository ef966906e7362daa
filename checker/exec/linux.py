"""The linux dialect's executor unit: mainline tcx (spec/linux/).

Implements spec/linux/attach.md, detach.md, query.md, link.md, objects.md
and device.md.  Pure: ``step(world, request)`` returns ``(Outcome, World)``
and never performs I/O or raises for a request.  Every check is one line, in
the kernel's order (the first failing check decides the errno), and names
the spec rule that it implements.  The bpf_mprog core is checker.exec.mprog.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Callable, Optional

from ..dialects.linux import BPF_F_QUERY_EFFECTIVE, FLAGS, MASK_MPROG, REPLACE
from ..errors import SpecCrash
from ..model import QueryResult, Raw, Step
from .driver import Err, make_step
from . import tcx
from .mprog import CORE, Core
from .objects import prog_by_fd
from .tcx import (attach_prelude, detach_prelude, hook_or_new, hooks, link_create_prog,  # noqa: F401
                  link_ops, link_update_prelude, op_table, present_dev, query_answer, settle)
from .world import Hook, Link, World

flag_bits = FLAGS.word

# Each op returns (rule, world, query, effects) or raises Err.  The syscall
# preludes, devices, clsact, load and close are checker.exec.tcx's.

def replaced_prog(w: World, s: Step, bits: int, prog: str) -> Optional[str]:
    """With REPLACE: the replaced program, by fd, of P's type (looked up
    after the device, before the bundle's core)."""
    if not bits & REPLACE:
        return None
    ref = s.replace if s.replace is not None else Raw(0)
    old = prog_by_fd(w, ref, "attach/replace-fd-closed", "attach/replace-not-prog")
    if w.progs[old].type != w.progs[prog].type:
        raise Err("EINVAL", "attach/replace-type")
    return old


def op_attach(w: World, s: Step, core: Core = CORE):
    bits = flag_bits(s.flags)
    prog, dev = attach_prelude(w, s, bits, MASK_MPROG)
    old = replaced_prog(w, s, bits, prog)
    hook, fx = hook_or_new(dev, s.dir)
    new = core.attach(w, hook, prog, None, old, bits, s.relative, s.expected_revision)
    rule = "attach/replace" if bits & REPLACE else "attach/insert"
    return rule, w.with_dev(s.dev, dev.with_hook(s.dir, new)), None, fx


def op_detach(w: World, s: Step, core: Core = CORE):
    bits = flag_bits(s.flags)
    prog, dev, hook = detach_prelude(w, s, bits, MASK_MPROG)
    new = core.detach(w, hook, prog, None, bits, s.relative, s.expected_revision)
    dev, fx = settle(dev, s.dir, new)
    return "detach/remove", w.with_dev(s.dev, dev), None, fx


def op_query(w: World, s: Step):
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    dev = present_dev(w, s.dev, "query/dev-missing")
    if s.query_flags or s.attach_flags:
        raise Err("EINVAL", "query/flags-nonzero")
    hook = dev.hook(s.dir)
    if hook is None:
        return "query/no-entry", w, QueryResult(0, 1), ()
    return query_answer(w, s, hook)


def op_link_create(w: World, s: Step, core: Core = CORE):
    prog = link_create_prog(w, s)
    dev = present_dev(w, s.dev, "link_create/dev-missing")
    hook, fx = hook_or_new(dev, s.dir)
    # LINK_CREATE has no flag mask: every bit reaches the core, and REPLACE
    # there looks for the prog "none" (ENOENT).
    new = core.attach(w, hook, prog, s.link, None, flag_bits(s.flags), s.relative,
                      s.expected_revision)
    w = w.with_dev(s.dev, dev.with_hook(s.dir, new))
    return "attach/insert", w.with_link(s.link, Link(prog, s.dev, s.dir)), None, fx


def op_link_update(w: World, s: Step, core: Core = CORE):
    target = link_update_prelude(w, s, flag_bits(s.flags), REPLACE)
    if target is None:
        return "link_update/same-prog", w, None, ()
    name, new, link, dev, hook = target
    if hook is None:
        raise SpecCrash("attached link without a hook")
    # tcx_link_update() -> bpf_mprog_attach(REPLACE|ID, id of the current prog)
    core.enter(hook)
    if any(p == new for p, _ in hook.slots):
        raise Err("EEXIST", "link_update/prog-exists")
    if w.progs[new].type != w.progs[link.prog].type:
        raise Err("EINVAL", "link_update/prog-type")
    slots = tuple((new, l) if l == name else (p, l) for p, l in hook.slots)
    w = w.with_dev(link.dev, dev.with_hook(link.dir, Hook(slots, hook.revision + 1)))
    return "link_update/replace", w.with_link(name, replace(link, prog=new)), None, ()


def op_dev_del(w: World, s: Step, core: Core = CORE):
    dev = tcx.deletable_dev(w, s)
    for hook in dev.hooks.values():
        core.enter(hook)              # tcx_uninstall() walks every bundle
    return tcx.op_dev_del(w, s)


def release_ops(core: Core, settle_hook: Callable = settle) -> tuple:
    """(release, op_link_detach, op_close) over ``core``: tcx_link_release()
    runs the detach core with the link as owner and target; ``settle_hook``
    stores the hook afterwards (netkit keeps an empty bundle)."""
    def release_slot(w: World, hook: Hook, name: str) -> Hook:
        return core.detach(w, hook, w.links[name].prog, name, 0, None, 0)
    return link_ops(release_slot, settle_hook)


_, op_link_detach, op_close = release_ops(CORE)


def ops(core: Core = CORE) -> dict[str, Callable]:
    """The op table over ``core``: a delta dialect passes its own Core
    (checker.exec.mprog) and replaces the ops that differ."""
    if core is CORE:
        return op_table(attach=op_attach, detach=op_detach, query=op_query, link_create=op_link_create,
                        link_update=op_link_update, link_detach=op_link_detach, close=op_close,
                        dev_del=op_dev_del)
    _, link_detach, close = release_ops(core)
    over = {op: functools.partial(fn, core=core) for op, fn in (
        ("attach", op_attach), ("detach", op_detach), ("link_create", op_link_create),
        ("link_update", op_link_update), ("dev_del", op_dev_del))}
    return op_table(query=op_query, link_detach=link_detach, close=close, **over)


OPS: dict[str, Callable] = ops()
step = make_step(OPS)
