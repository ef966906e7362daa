"""The rfc dialect's executor unit: the 2023 proposal with sticky FIRST/LAST
(spec/rfc/; v2 series of 7 June 2023, kernel/bpf/mprog.c of 1/7 and
kernel/bpf/tcx.c of 2/7).

Implements spec/rfc/attach.md, detach.md, query.md, link.md and
objects.md; devices, clsact, load, close and the link_update prelude are
mainline's (checker.exec.tcx, spec/linux/).  Pure, like every unit: each
check is one line, in v2's order, naming the rule it implements; the first
failing check decides the errno and a failure changes nothing.

A slot is ``(prog, link, stored)``: ``stored`` holds the slot's FIRST/LAST
bits (the only bits v2 stores; the rfc flag table's values).  v2 has one
union for relative_fd / relative_id / replace_bpf_fd: the object a request
names is its ``replace`` if given, else its ``relative``
(checker.syntax.validate refuses both at once in this dialect).

::

    FIRST: [ F  .  .  .  L ]  LAST      pins are sticky: they stay with the
            0           n-1             slot until it leaves (detach, link
    prepend (BEFORE, none): after F     release) or a prog-API REPLACE of it
    append  (AFTER, none):  before L    drops them
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from ..dialects.linux import BPF_F_QUERY_EFFECTIVE, MPROG_MAX
from ..dialects.rfc import AFTER, BEFORE, FIRST, FLAGS, ID, LAST, LINK, MASK_MPROG, PINS, REPLACE
from ..model import QueryResult, Raw, Ref, Step
from .driver import Err, make_step
from .objects import resolve_relative
from .tcx import (attach_prelude, detach_prelude, hook_or_new, link_create_prog, link_ops,
                  link_update_prelude, op_table, present_dev, query_answer, settle)
from .tcx import hooks as _hooks
from .world import Hook, Link, World

flag_bits = FLAGS.word
POSITION = BEFORE | AFTER


def _object(s: Step) -> Optional[Ref]:
    """The v2 union: the replaced program or the relative object."""
    return s.replace if s.replace is not None else s.relative


def _given(ref: Optional[Ref]) -> bool:
    return not (ref is None or ref == Raw(0))


def _relative(w: World, bits: int, obj: Optional[Ref], ptype: Optional[str]):
    """bpf_mprog_tuple_relative() (mprog.c:8-51): (prog, link), or None."""
    if not bits & (REPLACE | BEFORE | AFTER):
        if _given(obj) or bits & (ID | LINK):
            raise Err("EINVAL", "relative/without-position")
        return None
    return resolve_relative(w, bool(bits & LINK), bool(bits & ID), obj, ptype, "relative/type-mismatch")


def _matches(slot: tuple, rel) -> bool:
    """A relative given as a program matches its slot whoever owns it; given
    as a link, only that link's slot (mprog.c:242-245)."""
    return slot[0] == rel[0] and (rel[1] is None or rel[1] == slot[1])


def first_reg(slots: tuple) -> Optional[str]:
    """bpf_mprog_first_reg(): the first program not pinned FIRST."""
    return next((s[0] for s in slots if not s[2] & FIRST), None)


def last_reg(slots: tuple) -> Optional[str]:
    """bpf_mprog_last_reg(): the program just before the first LAST pin (the
    tail if none); None if slot 0 holds LAST or the hook is empty."""
    prog = None
    for s in slots:
        if s[2] & LAST:
            break
        prog = s[0]
    return prog


def _with(hook: Hook, slots: tuple) -> Hook:
    return Hook(slots, hook.revision + 1)


# --------------------------------------------------------------------------
# The attach core: bpf_mprog_attach() and its three procedures

def core_attach(w: World, hook: Hook, prog: str, link: Optional[str], bits: int,
                obj: Optional[Ref], expected_revision: int) -> tuple[str, Hook]:
    """(outcome rule, new hook).  REPLACE wins over FIRST/LAST, FIRST/LAST
    over a plain insert (mprog.c:389-394)."""
    if expected_revision and expected_revision != hook.revision:
        raise Err("ESTALE", "attach/stale-revision")
    rel = _relative(w, bits, obj, w.progs[prog].type)
    if bits & REPLACE:
        return _replace(hook, prog, link, bits, rel)
    if bits & PINS:
        return _head_tail(hook, prog, link, bits, rel)
    return _insert(hook, prog, link, bits, rel)


def _replace(hook: Hook, prog: str, link: Optional[str], bits: int, rel) -> tuple[str, Hook]:
    """bpf_mprog_replace() (mprog.c:61-108): the slot keeps its place and
    owner; its pins become the request's, each only at its edge."""
    slots = hook.slots
    if bits & (BEFORE | AFTER | LINK):
        raise Err("EINVAL", "attach/replace-flags")
    old = rel[0] if rel is not None else None
    if old != prog and any(s[0] == prog for s in slots):
        raise Err("EEXIST", "attach/replace-prog-exists")
    i = next((k for k, s in enumerate(slots) if s[0] == old), None)
    if i is None:
        raise Err("ENOENT", "attach/replace-missing")
    _, owner, stored = slots[i]
    if owner != link:
        raise Err("EBUSY", "attach/replace-owner")
    if (stored ^ bits) & FIRST:
        stored ^= FIRST
        if stored & FIRST and i != 0:
            raise Err("EACCES", "attach/replace-first-not-head")
    if (stored ^ bits) & LAST:
        stored ^= LAST
        if stored & LAST and i != len(slots) - 1:
            raise Err("EACCES", "attach/replace-last-not-tail")
    return "attach/replace", _with(hook, slots[:i] + ((prog, owner, stored),) + slots[i + 1:])


def _head_tail(hook: Hook, prog: str, link: Optional[str], bits: int, rel) -> tuple[str, Hook]:
    """bpf_mprog_head_tail() (mprog.c:110-183): claim index 0 (FIRST), the
    tail (LAST) or the whole hook (both)."""
    slots = hook.slots
    n = len(slots)
    head = slots[0] if n else (None, None, 0)
    tail = slots[-1] if n else (None, None, 0)
    rp, rl = rel if rel is not None else (None, None)
    if any(s[0] == prog for s in slots):
        raise Err("EEXIST", "attach/pin-prog-exists")
    if bits & FIRST:
        if bits & AFTER:
            raise Err("EINVAL", "attach/first-after")
        if head[2] & FIRST:
            raise Err("EBUSY", "attach/first-taken")
        if bits & LAST:
            if bits & BEFORE:
                raise Err("EINVAL", "attach/first-last-before")
            if n:
                raise Err("EBUSY", "attach/first-last-not-empty")
            return "attach/first-last", _with(hook, ((prog, link, FIRST | LAST),))
        # FIRST|BEFORE R: insert before the current head, which must be R
        if bits & BEFORE and (head[0] != rp or (rl is not None and rl != head[1])):
            raise Err("EBUSY", "attach/first-before-not-head")
        if n >= MPROG_MAX:
            raise Err("ENOSPC", "attach/first-full")
        return "attach/first", _with(hook, ((prog, link, FIRST),) + slots)
    if bits & BEFORE:
        raise Err("EINVAL", "attach/last-before")
    if n and tail[2] & LAST:
        raise Err("EBUSY", "attach/last-taken")
    # LAST|AFTER R: append after the current tail, which must be R (none on an empty hook)
    if bits & AFTER and (not n or tail[0] != rp or (rl is not None and rl != tail[1])):
        raise Err("EBUSY", "attach/last-after-not-tail")
    if n >= MPROG_MAX:
        raise Err("ENOSPC", "attach/last-full")
    return "attach/last", _with(hook, slots + ((prog, link, LAST),))


def _insert(hook: Hook, prog: str, link: Optional[str], bits: int, rel) -> tuple[str, Hook]:
    """bpf_mprog_add() (mprog.c:185-271): BEFORE/AFTER R, prepend/append
    (no relative: beside the FIRST/LAST pins, not past them), or append."""
    slots = hook.slots
    n = len(slots)
    if n >= MPROG_MAX:
        raise Err("ENOSPC", "attach/full")
    if bits & POSITION == POSITION:
        raise Err("EINVAL", "attach/before-after")
    if any(s[0] == prog for s in slots):
        raise Err("EEXIST", "attach/prog-exists")
    pos = bits & POSITION
    if rel is None and pos:
        anchor = (first_reg(slots) if pos & BEFORE else last_reg(slots)) if n else None
        rel = (anchor, None) if anchor is not None else None
        pos = pos if rel is not None else 0
    at = None
    if pos:
        i = next((k for k, s in enumerate(slots) if _matches(s, rel)), None)
        if i is not None and pos & BEFORE:
            if slots[i][2] & FIRST:
                raise Err("EBUSY", "attach/before-first")
            at = i
        elif i is not None:
            if slots[i][2] & LAST:
                raise Err("EBUSY", "attach/after-last")
            at = i + 1
    if at is None:                       # append, but never past a LAST pin
        at = n
        if n and slots[-1][2] & LAST:
            if slots[-1][2] & FIRST:
                raise Err("EBUSY", "attach/locked")
            at = n - 1
    if rel is not None and not any(_matches(s, rel) for s in slots):
        raise Err("ENOENT", "attach/relative-missing")
    return "attach/insert", _with(hook, slots[:at] + ((prog, link, 0),) + slots[at:])


# --------------------------------------------------------------------------
# The detach core: bpf_mprog_detach() / bpf_mprog_del()

def core_detach(w: World, hook: Hook, prog: Optional[str], link: Optional[str], bits: int,
                obj: Optional[Ref], expected_revision: int) -> tuple[str, Hook]:
    """(outcome rule, new hook).  FIRST/LAST are positional: the program at
    the head / tail, whatever it stores (mprog.c:286-299)."""
    if expected_revision and expected_revision != hook.revision:
        raise Err("ESTALE", "detach/stale-revision")
    rel = _relative(w, bits, obj, w.progs[prog].type if prog else None)
    if bits & REPLACE:
        raise Err("EINVAL", "detach/replace-flag")
    slots = hook.slots
    n = len(slots)
    target = prog
    if bits & FIRST:
        head = slots[0][0] if n else None
        if target is not None and target != head:
            raise Err("ENOENT", "detach/first-mismatch")
        target = head
    if bits & LAST:
        tail = slots[-1][0] if n else None
        if target is not None and target != tail:
            raise Err("ENOENT", "detach/last-mismatch")
        target = tail
    pos = bits & POSITION
    if rel is None and pos:
        if target is not None:
            raise Err("EINVAL", "detach/position-with-target")
        if pos & BEFORE:
            target = first_reg(slots)
        if pos & AFTER:
            target = last_reg(slots)
        pos = 0 if target is not None else pos
    found = False
    if pos and rel is not None:
        i = next((k for k, s in enumerate(slots) if _matches(s, rel)), None)
        found = i is not None
        if found and pos & BEFORE:
            if i == 0:
                raise Err("ENOENT", "detach/before-head")
            if target is not None and target != slots[i - 1][0]:
                raise Err("ENOENT", "detach/before-mismatch")
            target = slots[i - 1][0]
        elif found:
            after = slots[i + 1][0] if i + 1 < n else None
            if target is not None and target != after:
                raise Err("ENOENT", "detach/after-mismatch")
            target = after
    if target is None or (rel is not None and not found):
        raise Err("ENOENT", "detach/no-target")
    k = next((i for i, s in enumerate(slots) if s[0] == target), None)
    if k is None and n:
        raise Err("ENOENT", "detach/prog-missing")
    if k is None:
        # An empty bundle (a clsact holds it): the "free" path succeeds
        # although nothing was detached, and the revision moves (A9).
        return "detach/empty-bundle", _with(hook, ())
    if slots[k][1] != link:
        raise Err("EBUSY", "detach/link-owned")
    return "detach/remove", _with(hook, slots[:k] + slots[k + 1:])


# --------------------------------------------------------------------------
# Requests.  Each returns (rule, world, query, effects) or raises Err; the
# syscall preludes, devices, clsact, load and close are checker.exec.tcx's.

def op_attach(w: World, s: Step):
    bits = flag_bits(s.flags)
    prog, dev = attach_prelude(w, s, bits, MASK_MPROG)
    hook, fx = hook_or_new(dev, s.dir)
    rule, new = core_attach(w, hook, prog, None, bits, _object(s), s.expected_revision)
    return rule, w.with_dev(s.dev, dev.with_hook(s.dir, new)), None, fx


def op_detach(w: World, s: Step):
    bits = flag_bits(s.flags)
    prog, dev, hook = detach_prelude(w, s, bits, MASK_MPROG)
    rule, new = core_detach(w, hook, prog, None, bits, _object(s), s.expected_revision)
    dev, fx = settle(dev, s.dir, new)
    return rule, w.with_dev(s.dev, dev), None, fx


def op_query(w: World, s: Step):
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    dev = present_dev(w, s.dev, "query/dev-missing")
    hook = dev.hook(s.dir)
    if hook is None:
        raise Err("ENOENT", "query/no-entry")
    if s.query_flags or s.attach_flags:
        raise Err("EINVAL", "query/flags-nonzero")
    return query_answer(w, s, hook, stored=True)


def op_link_create(w: World, s: Step):
    prog = link_create_prog(w, s)
    d = w.devs.get(s.dev)
    if d is None or not d.present:
        raise Err("EINVAL", "link_create/dev-missing")      # dev_get_by_index() in tcx_link_attach()
    hook, fx = hook_or_new(d, s.dir)
    # No flag mask on this path: every bit reaches the core; the link keeps FIRST/LAST.
    bits = flag_bits(s.flags)
    rule, new = core_attach(w, hook, prog, s.link, bits, _object(s), s.expected_revision)
    w = w.with_dev(s.dev, d.with_hook(s.dir, new))
    return rule, w.with_link(s.link, Link(prog, s.dev, s.dir, flags=bits & PINS)), None, fx


def op_link_update(w: World, s: Step):
    target = link_update_prelude(w, s, flag_bits(s.flags), REPLACE)
    if target is None:
        return "link_update/same-prog", w, None, ()
    name, new, link, dev, hook = target
    # tcx_link_update() -> bpf_mprog_attach(REPLACE|ID|stored pins, id of the
    # current prog): the type check of the relative lookup comes first.
    if w.progs[new].type != w.progs[link.prog].type:
        raise Err("EINVAL", "link_update/prog-type")
    if any(x[0] == new for x in hook.slots):
        raise Err("EEXIST", "link_update/prog-exists")
    slots = tuple((new, l, f) if l == name else (p, l, f) for p, l, f in hook.slots)
    w = w.with_dev(link.dev, dev.with_hook(link.dir, _with(hook, slots)))
    return "link_update/replace", w.with_link(name, replace(link, prog=new)), None, ()


def _release_slot(w: World, hook: Hook, name: str) -> Hook:
    """tcx_link_release(): the detach core with the link as owner, its
    program as target and its stored pins as flags (they always hold, I1/I2)."""
    link = w.links[name]
    return core_detach(w, hook, link.prog, name, link.flags, None, 0)[1]


_link_release, op_link_detach, op_close = link_ops(_release_slot)

OPS: dict[str, Callable] = op_table(
    attach=op_attach, detach=op_detach, query=op_query, link_create=op_link_create,
    link_update=op_link_update, link_detach=op_link_detach, close=op_close)

step = make_step(OPS)


def hooks(w: World) -> dict[tuple[str, str], QueryResult]:
    """Every attach point of every present device with its stored flags (a
    hook without a bundle reads count 0 at revision 1; its query answers
    ENOENT)."""
    return _hooks(w, stored=True)
