"""Reference executor, linux dialect (mainline since 6.6-rc6), tcx hooks.

Implements spec/attach.md, spec/detach.md, spec/query.md, spec/link.md,
spec/objects.md and spec/device.md.  Pure: ``step(world, request)`` returns
``(Outcome, World)`` and never performs I/O or raises for a request.  Every
check is one line, in the kernel's order (the first failing check decides
the errno), and names the spec rule that it implements.

Conventions follow kernel/bpf/mprog.c: ``n`` = number of slots, ``idx`` = target
position with UNSET (the kernel's -ERANGE sentinel), -1 = front, n = back.
An Err outcome never changes the world; an Ok outcome that changes a hook
bumps its revision by exactly one (bpf_mprog_commit()).
"""
from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Callable, Optional

from .constants import (AFTER, BEFORE, BPF_F_QUERY_EFFECTIVE, ID, LINK, MASK_MPROG,
                        MPROG_MAX, QUERY_DEFAULT_COUNT, REPLACE, flag_bits)
from .errors import SpecCrash
from .model import DIALECTS, OK, Outcome, QueryResult, Raw, Ref, Step
from .world import Device, Hook, Link, Prog, World

UNSET = -34          # mprog.c initialises idx to -ERANGE: "no rule has chosen yet"


class Err(Exception):
    """Internal control flow only: a failed check.  step() turns it into an
    Outcome value; it never escapes this module."""
    __slots__ = ("errno", "rule")

    def __init__(self, errno: str, rule: str):
        self.errno = errno
        self.rule = rule


# --------------------------------------------------------------------------
# Object lookups (kernel/bpf/syscall.c: bpf_prog_get*, bpf_link_get_from_fd,
# bpf_prog_by_id, bpf_link_by_id).  ``rules`` maps the failure kind to the rule
# ID of the calling site, so the outcome names where the lookup happened.

def _fd_object(w: World, ref: Ref):
    """What an fd names: ('prog', name), ('link', name), 'file' (fd 0: a file
    that is not a BPF object) or None (fd not open)."""
    if isinstance(ref, Raw):
        return "file" if ref.value == 0 else None
    p = w.progs.get(ref)
    if p is not None:
        return ("prog", ref) if p.fd_open else None
    l = w.links.get(ref)
    if l is not None and l.fd_open:
        return ("link", ref)
    return None


def prog_by_fd(w: World, ref: Ref, closed_rule: str, notprog_rule: str) -> str:
    obj = _fd_object(w, ref)
    if obj is None:
        raise Err("EBADF", closed_rule)          # no such open file
    if obj == "file" or obj[0] != "prog":
        raise Err("EINVAL", notprog_rule)        # file is not a BPF program
    return obj[1]


def link_by_fd(w: World, ref: Ref, closed_rule: str, notlink_rule: str) -> str:
    obj = _fd_object(w, ref)
    if obj is None:
        raise Err("EBADF", closed_rule)
    if obj == "file" or obj[0] != "link":
        raise Err("EINVAL", notlink_rule)
    return obj[1]


def resolve_relative(w: World, bits: int, ref: Optional[Ref], ptype: Optional[str]):
    """relative/*: bpf_mprog_tuple_relative().  Returns (prog, link) or None
    for "no relative object".  ``ptype`` None = no type filter (detach
    without a prog)."""
    zero = ref is None or (isinstance(ref, Raw) and ref.value == 0)
    if bits & LINK:
        if bits & ID:
            name = _link_by_id(w, ref)
        elif zero:
            raise Err("EINVAL", "relative/link-fd-zero")
        else:
            name = link_by_fd(w, ref, "relative/fd-closed", "relative/not-link")
        prog = w.links[name].prog
        if ptype is not None and w.progs[prog].type != ptype:
            raise Err("EINVAL", "relative/type-mismatch")
        return (prog, name)
    if not bits & ID and zero:
        return None
    if bits & ID:
        prog = _prog_by_id(w, ref)
    else:
        prog = prog_by_fd(w, ref, "relative/fd-closed", "relative/not-prog")
    if ptype is not None and w.progs[prog].type != ptype:
        raise Err("EINVAL", "relative/type-mismatch")
    return (prog, None)


def _prog_by_id(w: World, ref: Optional[Ref]) -> str:
    # An id that names a link (or nothing) is not a prog id: ENOENT.  (On a
    # live kernel a link id can collide with an unrelated prog id; see spec.)
    if isinstance(ref, str) and ref in w.progs and w.prog_alive(ref):
        return ref
    raise Err("ENOENT", "relative/id-unknown")


def _link_by_id(w: World, ref: Optional[Ref]) -> str:
    if isinstance(ref, str) and ref in w.links:
        return ref
    raise Err("ENOENT", "relative/id-unknown")


# --------------------------------------------------------------------------
# Positions (bpf_mprog_pos_*).  A relative given as a prog matches that prog
# whatever owns it; given as a link it matches only that link's slot.

def _pos_exact(slots: tuple, prog: Optional[str], link: Optional[str], missing: str, busy: str) -> int:
    for i, (p, l) in enumerate(slots):
        if p == prog:
            if l != link:
                raise Err("EBUSY", busy)
            return i
    raise Err("ENOENT", missing)


def _pos_rel(slots: tuple, rel, before: bool) -> Optional[int]:
    """Target index for BEFORE (i - 1) / AFTER (i + 1) of the relative; with
    no relative: -1 (front) / n (back).  None = relative not in the list."""
    if rel is None:
        return -1 if before else len(slots)
    rp, rl = rel
    for i, (p, l) in enumerate(slots):
        if p == rp and (rl is None or rl == l):
            return i - 1 if before else i + 1
    return None


# (flag, picks "before", rule when R is missing, rule when positions disagree)
_POSITION_RULES = {
    "attach": ((BEFORE, True, "attach/before-missing", "attach/before-conflict"),
               (AFTER, False, "attach/after-missing", "attach/after-conflict")),
    "detach": ((BEFORE, True, "detach/before-missing", "detach/before-conflict"),
               (AFTER, False, "detach/after-missing", "detach/after-conflict")),
}


def _positions(slots: tuple, bits: int, rel, idx: int, op: str) -> int:
    """Apply the BEFORE and AFTER rules: each picks a position independently;
    all chosen positions must agree (mprog.c: "If all rules agree ...")."""
    for flag, before, missing, conflict in _POSITION_RULES[op]:
        if bits & flag:
            t = _pos_rel(slots, rel, before)
            if t is None:
                raise Err("ENOENT", missing)
            if idx != UNSET and t != idx:
                raise Err("ERANGE", conflict)
            idx = t
    return idx


# --------------------------------------------------------------------------
# Core attach / detach (bpf_mprog_attach / bpf_mprog_detach)

def core_attach(w: World, hook: Hook, prog: str, link: Optional[str], old: Optional[str],
                bits: int, relative: Optional[Ref], expected_revision: int) -> Hook:
    slots = hook.slots
    # Verify the optimistic-concurrency guard first.
    if expected_revision and expected_revision != hook.revision:
        raise Err("ESTALE", "attach/stale-revision")
    # Verify the prog is not on this hook already, whoever owns it.
    if any(p == prog for p, _ in slots):
        raise Err("EEXIST", "attach/prog-exists")
    rel = resolve_relative(w, bits & ~REPLACE, relative, w.progs[prog].type)
    idx = UNSET
    if bits & REPLACE:
        idx = _pos_exact(slots, old, link, "attach/replace-missing", "attach/replace-owner")
    elif len(slots) == MPROG_MAX:
        raise Err("ERANGE", "attach/full")       # since f9b0e1088bbf (6.6-rc5)
    idx = _positions(slots, bits, rel, idx, "attach")
    if idx == UNSET:
        if rel is not None or bits:
            raise Err("EINVAL", "attach/relative-without-position")
        idx = len(slots)
        bits = AFTER
    if idx >= MPROG_MAX:
        raise SpecCrash("attach reached idx >= max after the full check")
    new = (prog, link)
    if bits & REPLACE:
        return Hook(slots[:idx] + (new,) + slots[idx + 1:], hook.revision + 1)
    # Insert: BEFORE R chose i - 1 and means "at i"; AFTER R chose i + 1.
    at = idx + 1 if (bits & BEFORE and idx != len(slots)) else idx
    return Hook(slots[:at] + (new,) + slots[at:], hook.revision + 1)


def core_detach(w: World, hook: Hook, prog: Optional[str], link: Optional[str],
                bits: int, relative: Optional[Ref], expected_revision: int) -> Hook:
    slots = hook.slots
    if bits & REPLACE:
        raise Err("EINVAL", "detach/replace-flag")
    if expected_revision and expected_revision != hook.revision:
        raise Err("ESTALE", "detach/stale-revision")
    if not slots:
        raise Err("ENOENT", "detach/empty")      # d210f9735e13
    rel = resolve_relative(w, bits, relative, w.progs[prog].type if prog else None)
    idx = UNSET
    if prog is not None:
        idx = _pos_exact(slots, prog, link, "detach/prog-missing", "detach/prog-owner")
    idx = _positions(slots, bits, rel, idx, "detach")
    if idx == UNSET:
        if rel is not None or bits:
            raise Err("EINVAL", "detach/relative-without-position")
        idx = len(slots)
    if idx >= MPROG_MAX:
        raise Err("ERANGE", "detach/position-max")
    k = 0 if idx == -1 else (len(slots) - 1 if idx == len(slots) else idx)
    # bpf_mprog_fetch(): a link-owned slot can only go through its link.
    if slots[k][1] is not None and link is None:
        raise Err("EBUSY", "detach/link-owned")
    return Hook(slots[:k] + slots[k + 1:], hook.revision + 1)


def _settle(dev: Device, dir: str, hook: Hook) -> tuple[Device, tuple]:
    """After a successful detach: tcx frees an empty bundle unless a clsact
    qdisc holds it; the revision is then forgotten (hook/free-when-empty)."""
    if not hook.slots and not dev.clsact:
        return dev.with_hook(dir, None), ("hook/free-when-empty",)
    return dev.with_hook(dir, hook), ()


# --------------------------------------------------------------------------
# Operations.  Each returns (rule, world, query, effects) or raises Err.

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
    dev, fx = _settle(dev, s.dir, new)
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
        raise _QueryErr("ENOSPC", "query/truncated", q)
    return "query/ok", w, q, ()


class _QueryErr(Err):
    """ENOSPC still writes the count, revision and the first entries."""
    __slots__ = ("query",)

    def __init__(self, errno, rule, query):
        super().__init__(errno, rule)
        self.query = query


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
    dev, fx = _settle(dev, link.dir, new)
    return w.with_dev(link.dev, dev).with_link(name, replace(link, dev=None)), fx


def op_link_detach(w: World, s: Step):
    name = link_by_fd(w, s.link, "link_detach/link-fd-closed", "link_detach/not-link")
    if w.links[name].dev is None:
        return "link_detach/defunct", w, None, ()
    w, fx = _link_release(w, name)
    return "link_detach/detach", w, None, fx


def op_close(w: World, s: Step):
    ref = s.link if s.link is not None else s.prog
    obj = _fd_object(w, ref)
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
    links = dict(w.links)
    for hook in (dev.ingress, dev.egress):
        for _, l in (hook.slots if hook else ()):
            if l is not None:
                links[l] = replace(links[l], dev=None)
    return "device/del", replace(w, links=links).with_dev(s.dev, Device(present=False)), None, ()


def op_clsact_add(w: World, s: Step):
    dev = _present_dev(w, s.dev, "clsact/dev-missing")
    if dev.clsact:
        raise Err("EEXIST", "clsact/add-exists")
    fx = ("hook/create",) if dev.ingress is None or dev.egress is None else ()
    dev = Device(True, True, dev.ingress or Hook(), dev.egress or Hook())
    return "clsact/add", w.with_dev(s.dev, dev), None, fx


def op_clsact_del(w: World, s: Step):
    dev = _present_dev(w, s.dev, "clsact/dev-missing")
    if not dev.clsact:
        raise Err("ENOENT", "clsact/del-missing")
    dev = replace(dev, clsact=False)
    fx = ()
    for dir in ("ingress", "egress"):
        h = dev.hook(dir)
        if h is not None and not h.slots:
            dev, fx = dev.with_hook(dir, None), ("hook/free-when-empty",)
    return "clsact/del", w.with_dev(s.dev, dev), None, fx


OPS: dict[str, Callable] = {
    "load": op_load, "attach": op_attach, "detach": op_detach, "query": op_query,
    "link_create": op_link_create, "link_update": op_link_update,
    "link_detach": op_link_detach, "close": op_close, "dev_add": op_dev_add,
    "dev_del": op_dev_del, "clsact_add": op_clsact_add, "clsact_del": op_clsact_del,
}


_PLAIN: dict = {}   # shared Outcome values without query/effects, keyed (errno, rule)


def _plain(errno: str, rule: str) -> Outcome:
    o = _PLAIN.get((errno, rule))
    if o is None:
        o = _PLAIN[(errno, rule)] = Outcome(errno, rule)
    return o


def step(w: World, s: Step) -> tuple[Outcome, World]:
    """Apply one request.  Total: kernel errors come back as Outcome values."""
    try:
        rule, w2, q, fx = OPS[s.op](w, s)
    except _QueryErr as e:
        return Outcome(e.errno, e.rule, e.query), w
    except Err as e:
        return _plain(e.errno, e.rule), w
    if q is None and not fx:
        return _plain(OK, rule), w2
    return Outcome(OK, rule, q, fx), w2


class Executor:
    """The reference executor as a Backend (checker.backend)."""
    name = "model"

    def __init__(self, dialect: str = "linux"):
        if dialect not in DIALECTS:
            raise ValueError(f"dialect {dialect!r} is not implemented (known: {', '.join(DIALECTS)})")
        self.dialect = dialect
        self.world = World()

    def apply(self, s: Step) -> Outcome:
        out, self.world = step(self.world, s)
        return out

    def hooks(self) -> dict[tuple[str, str], QueryResult]:
        res = {}
        for name, d in self.world.devs.items():
            if not d.present:
                continue
            for dir in ("ingress", "egress"):
                h = d.hook(dir)
                res[(name, dir)] = (QueryResult(0, 1) if h is None else QueryResult(
                    len(h.slots), h.revision, tuple(p for p, _ in h.slots),
                    tuple(l for _, l in h.slots)))
        return res

    def session(self):
        return contextlib.nullcontext(self)   # nothing to enter: a pure function of the world

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
