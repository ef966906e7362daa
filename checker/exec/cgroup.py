"""The cgroup dialect's executor unit: cgroup BPF programs (spec/cgroup/).

Implements spec/cgroup/objects.md, hierarchy.md, attach.md, detach.md,
query.md and link.md: kernel/bpf/cgroup.c and the cgroup paths of
kernel/bpf/syscall.c since the "mprog API on top of existing cgroup progs"
series (Linux 6.17).  Pure: ``step(world, request)`` returns ``(Outcome,
World)`` and never performs I/O or raises for a request.  Every check is one
line, in the kernel's order (the first failing check decides the errno), and
names the spec rule it implements.

::

    cgroup a (MULTI)   [a1 a2ᴾ]          effective list of c, attach type T:
      cgroup b (NONE)  [b1]  <- skipped: c contributed first, b is not MULTI
        cgroup c (MULTI) [c1ᴾ c2]        [a2 c1 | c2 a1]
                                          PREORDER entries root-most level
                                          first, then the others from c up
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from ..dialects.cgroup import (AFTER, ATTACH_TYPE, BEFORE, BPF_F_QUERY_EFFECTIVE,
                               CGROUP_MAX_PROGS, DEFAULT_PROG_TYPE, EXPECTED_MUST_MATCH, FLAGS,
                               ID, LINK, LOAD_EXPECTED, LOAD_FIXUP, MASK_ATTACH, MASK_LINK, MODES,
                               MULTI, OVERRIDE, POINT_PROG_TYPE, PREORDER, QUERY_DEFAULT_COUNT,
                               REPLACE)
from ..model import QueryResult, Raw, Step, owners_by_program
from .driver import Err, QueryErr, make_step
from .objects import (close_prog, closed_object, fd_object, link_by_fd, link_update_operands, prog_by_fd,
                      resolve_relative)
from .world import CGroup, CgList, Link, Prog, World

flag_bits = FLAGS.word
_LOADABLE = {p: frozenset(ATTACH_TYPE[a] for a in pts) for p, pts in LOAD_EXPECTED.items()}

# Each op returns (rule, world, query, effects) or raises Err.


def _present(w: World, name: Optional[str], rule: str) -> CGroup:
    """cgroup_get_from_fd(): the fd of a removed cgroup gives ENOENT."""
    c = w.cgroups.get(name)
    if c is None or not c.present:
        raise Err("ENOENT", rule)
    return c


def _nonzero(ref) -> bool:
    return ref is not None and ref != Raw(0)


# --------------------------------------------------------------------------
# The hierarchy (hierarchy_allows_attach, compute_effective_progs)

def hierarchy_allows(w: World, parent: Optional[str], point: str) -> bool:
    """Walking up from the parent: the first MULTI ancestor allows; the first
    ancestor holding one entry allows iff it is OVERRIDE; empty ones are
    skipped; no such ancestor allows."""
    while parent is not None:
        c = w.cgroups[parent]
        lst = c.list(point)
        if lst.mode & MULTI:
            return True
        if len(lst.entries) == 1:
            return bool(lst.mode & OVERRIDE)
        parent = c.parent
    return True


def effective(w: World, name: str, point: str) -> tuple:
    """The effective (run) order of ``name``: a level contributes its whole
    list if nothing below it contributed yet or it is MULTI; PREORDER
    entries run first, root-most level first, then the others from ``name``
    upwards, each level in list order."""
    levels, count = [], 0
    while name is not None:
        c = w.cgroups[name]
        lst = c.list(point)
        if count == 0 or lst.mode & MULTI:
            levels.append(lst.entries)
            count += len(lst.entries)
        name = c.parent
    pre = [e for lvl in reversed(levels) for e in lvl if e[2]]
    return tuple(pre + [e for lvl in levels for e in lvl if not e[2]])


# --------------------------------------------------------------------------
# Core attach (__cgroup_bpf_attach), shared by PROG_ATTACH and LINK_CREATE

def _position(w: World, entries: tuple, prog: str, link: Optional[str], bits: int,
              relative) -> int:
    """get_prog_list(): the index a new entry goes to."""
    is_link, is_id = bool(bits & LINK), bool(bits & ID)
    before, after = bool(bits & BEFORE), bool(bits & AFTER)
    given = is_link or is_id or _nonzero(relative)
    if given:
        if before == after:
            raise Err("EINVAL", "attach/relative-no-direction")
        if is_link != (link is not None):
            raise Err("EINVAL", "attach/relative-kind")      # links anchor on links, progs on progs
    elif entries and before and after:
        raise Err("EINVAL", "attach/both-directions")
    if not given:
        return 0 if before else len(entries)                 # prepend / append
    ap, al = resolve_relative(w, is_link, is_id, relative, None)   # any prog type may anchor
    preorder = bool(bits & PREORDER)
    for i, (p, l, pre) in enumerate(entries):
        # A prog anchor matches only prog-owned entries; a link anchor its own.
        if (l == al) if al is not None else (l is None and p == ap):
            if pre != preorder:
                raise Err("EINVAL", "attach/relative-preorder")
            return i if before else i + 1
    raise Err("ENOENT", "attach/relative-missing")


def _core_attach(w: World, name: str, point: str, prog: str, link: Optional[str],
                 old: Optional[str], bits: int, relative, expected_revision: int):
    """Returns (rule, new list) or raises Err."""
    if bits & OVERRIDE and bits & MULTI:
        raise Err("EINVAL", "attach/override-multi")
    if bits & REPLACE and not bits & MULTI:
        raise Err("EINVAL", "attach/replace-without-multi")
    if bits & REPLACE and bits & (BEFORE | AFTER):
        raise Err("EINVAL", "attach/replace-position")
    c = w.cgroups[name]
    lst = c.list(point)
    if expected_revision and expected_revision != lst.revision:
        raise Err("ESTALE", "attach/stale-revision")
    if not hierarchy_allows(w, c.parent, point):
        raise Err("EPERM", "attach/hierarchy")
    mode = bits & (OVERRIDE | MULTI)
    entries = lst.entries
    if entries and lst.mode != mode:
        raise Err("EPERM", "attach/mode-mismatch")
    if len(entries) >= CGROUP_MAX_PROGS:
        raise Err("E2BIG", "attach/full")
    new = (prog, link, bool(bits & PREORDER))
    if mode & MULTI:
        # find_attach_entry(): a prog once through the prog API (any number
        # of times through links); a new link is never listed yet.
        if link is None and any(l is None and p == prog != old for p, l, _ in entries):
            raise Err("EINVAL", "attach/duplicate")
        if old is not None:
            for i, (p, l, _) in enumerate(entries):
                if l is None and p == old:
                    # REPLACE keeps the position, rewrites the prog and its flags.
                    return "attach/replace", CgList(entries[:i] + (new,) + entries[i + 1:], mode,
                                                    lst.revision + 1)
            raise Err("ENOENT", "attach/replace-missing")
    elif entries:
        # NONE / OVERRIDE: the single entry is replaced; no position check.
        return "attach/replace-single", CgList((new,), mode, lst.revision + 1)
    at = _position(w, entries, prog, link, bits, relative)
    return "attach/insert", CgList(entries[:at] + (new,) + entries[at:], mode, lst.revision + 1)


def _detach_entry(lst: CgList, i: int) -> CgList:
    """Remove entry i; an emptied list's mode goes back to none."""
    entries = lst.entries[:i] + lst.entries[i + 1:]
    return CgList(entries, lst.mode if entries else 0, lst.revision + 1)


# --------------------------------------------------------------------------
# Requests

def op_load(w: World, s: Step):
    ptype = s.type or DEFAULT_PROG_TYPE
    expected = ATTACH_TYPE[s.expected_attach_type] if s.expected_attach_type else 0
    if not expected and ptype in LOAD_FIXUP:
        expected = ATTACH_TYPE[LOAD_FIXUP[ptype]]
    if ptype in _LOADABLE and expected not in _LOADABLE[ptype]:
        raise Err("EINVAL", "load/expected-attach-type")
    return "load/ok", w.with_prog(s.prog, Prog(type=ptype, expected=expected)), None, ()


def _attach_type_check(w: World, prog: str, point: str, type_rule: str, expected_rule: str,
                       typed: bool) -> None:
    """bpf_prog_attach_check_attach_type(); with ``typed`` the type was
    already checked by the typed fd lookup (PROG_ATTACH)."""
    p = w.progs[prog]
    if p.type in EXPECTED_MUST_MATCH:
        if typed and p.type != POINT_PROG_TYPE[point]:
            raise Err("EINVAL", type_rule)
        if p.expected != ATTACH_TYPE[point]:
            raise Err("EINVAL", expected_rule)
    elif p.type != POINT_PROG_TYPE[point]:
        raise Err("EINVAL", type_rule)


def op_attach(w: World, s: Step):
    bits = flag_bits(s.flags)
    if bits & ~MASK_ATTACH:
        raise Err("EINVAL", "attach/flags-mask")
    prog = prog_by_fd(w, s.prog, "attach/prog-fd-closed", "attach/prog-not-prog")
    _attach_type_check(w, prog, s.dir, "attach/prog-type", "attach/prog-attach-type", True)
    c = _present(w, s.cgroup, "attach/cgroup-removed")
    old = None
    if bits & MULTI and bits & REPLACE:         # replace_bpf_fd is read only then
        ref = s.replace if s.replace is not None else Raw(0)
        old = prog_by_fd(w, ref, "attach/replace-fd-closed", "attach/replace-not-prog")
        if w.progs[old].type != POINT_PROG_TYPE[s.dir]:
            raise Err("EINVAL", "attach/replace-type")
    rule, lst = _core_attach(w, s.cgroup, s.dir, prog, None, old, bits, s.relative,
                             s.expected_revision)
    return rule, w.with_cgroup(s.cgroup, c.with_list(s.dir, lst)), None, ()


def op_detach(w: World, s: Step):
    if flag_bits(s.flags) or _nonzero(s.relative):
        raise Err("EINVAL", "detach/flags-nonzero")
    c = _present(w, s.cgroup, "detach/cgroup-removed")
    # The typed prog lookup never fails the request: a bad fd, another kind
    # of object or another program type all mean "no prog".
    prog = None
    obj = fd_object(w, s.prog) if s.prog is not None else None
    if isinstance(obj, tuple) and obj[0] == "prog" \
            and w.progs[obj[1]].type == POINT_PROG_TYPE[s.dir]:
        prog = obj[1]
    lst = c.list(s.dir)
    if s.expected_revision and s.expected_revision != lst.revision:
        raise Err("ESTALE", "detach/stale-revision")
    if not lst.mode & MULTI:
        if not lst.entries:
            raise Err("ENOENT", "detach/empty")
        # Legacy: the single entry goes, whatever program was named.
        return "detach/single", w.with_cgroup(s.cgroup, c.with_list(s.dir, _detach_entry(lst, 0))), \
            None, ()
    if prog is None:
        raise Err("EINVAL", "detach/multi-no-prog")
    for i, (p, l, _) in enumerate(lst.entries):
        if l is None and p == prog:
            return "detach/remove", w.with_cgroup(s.cgroup, c.with_list(s.dir, _detach_entry(lst, i))), \
                None, ()
    raise Err("ENOENT", "detach/not-found")


def op_query(w: World, s: Step):
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    c = _present(w, s.cgroup, "query/cgroup-removed")
    eff = bool(s.query_flags & BPF_F_QUERY_EFFECTIVE)
    if eff and s.prog_attach_flags:
        raise Err("EINVAL", "query/effective-flags-array")
    if eff:
        entries = effective(w, s.cgroup, s.dir)
        progs, links = tuple(e[0] for e in entries), (None,) * len(entries)
        rev, mode, rule = 0, MODES[0], "query/effective"
    else:
        lst = c.list(s.dir)
        progs = tuple(e[0] for e in lst.entries)
        links = owners_by_program(progs, tuple(e[1] for e in lst.entries))
        rev, mode, rule = lst.revision, MODES[lst.mode], "query/ok"
    cap = QUERY_DEFAULT_COUNT if s.count is None else s.count
    n = len(progs)
    if cap == 0 or n == 0:
        return "query/count-only", w, QueryResult(n, rev, (), (), mode=mode), ()
    q = QueryResult(n, rev, progs[:cap], links[:cap], mode=mode)
    if cap < n:
        raise QueryErr("ENOSPC", "query/truncated", q)
    return rule, w, q, ()


def op_link_create(w: World, s: Step):
    prog = prog_by_fd(w, s.prog, "link_create/prog-fd-closed", "link_create/prog-not-prog")
    _attach_type_check(w, prog, s.dir, "link_create/prog-type", "link_create/prog-attach-type",
                       False)
    bits = flag_bits(s.flags)
    if bits & ~MASK_LINK:
        raise Err("EINVAL", "link_create/flags-mask")
    c = _present(w, s.cgroup, "link_create/cgroup-removed")
    rule, lst = _core_attach(w, s.cgroup, s.dir, prog, s.link, None, bits | MULTI, s.relative,
                             s.expected_revision)
    w = w.with_cgroup(s.cgroup, c.with_list(s.dir, lst))
    return rule, w.with_link(s.link, Link(prog, s.cgroup, s.dir)), None, ()


def op_link_update(w: World, s: Step):
    name, new, link = link_update_operands(w, s, flag_bits(s.flags), REPLACE)
    if w.progs[new].type != w.progs[link.prog].type:    # the type only, not the attach type
        raise Err("EINVAL", "link_update/prog-type")
    c = w.cgroups[link.dev]
    lst = c.list(link.dir)
    # In place, flags kept; no duplicate check; a bump even for the same prog.
    entries = tuple((new, l, pre) if l == name else (p, l, pre) for p, l, pre in lst.entries)
    w = w.with_cgroup(link.dev, c.with_list(link.dir, CgList(entries, lst.mode, lst.revision + 1)))
    return "link_update/replace", w.with_link(name, replace(link, prog=new)), None, ()


def _link_release(w: World, name: str) -> World:
    """bpf_cgroup_link_release(): an attached link's entry leaves its list and
    the link becomes defunct; a defunct link changes nothing."""
    link = w.links[name]
    if link.dev is None:
        return w
    c = w.cgroups[link.dev]
    lst = c.list(link.dir)
    i = next(i for i, e in enumerate(lst.entries) if e[1] == name)
    w = w.with_cgroup(link.dev, c.with_list(link.dir, _detach_entry(lst, i)))
    return w.with_link(name, replace(link, dev=None))


def op_link_detach(w: World, s: Step):
    name = link_by_fd(w, s.link, "link_detach/link-fd-closed", "link_detach/not-link")
    if w.links[name].dev is None:
        return "link_detach/defunct", w, None, ()
    return "link_detach/detach", _link_release(w, name), None, ()


def op_close(w: World, s: Step):
    kind, name = closed_object(w, s)
    if kind == "prog":
        return close_prog(w, name)
    return "close/link", _link_release(w, name).with_link(name, None), None, ()


def op_cgroup_add(w: World, s: Step):
    c = w.cgroups.get(s.cgroup)
    if c is not None and c.present:
        raise Err("EEXIST", "cgroup/add-exists")
    if s.parent is not None:
        _present(w, s.parent, "cgroup/parent-removed")
    # A new cgroup: every list empty, every revision 1 (also for a name
    # added again after cgroup_del: it is another cgroup).
    return "cgroup/add", w.with_cgroup(s.cgroup, CGroup(s.parent)), None, ()


def op_cgroup_del(w: World, s: Step):
    c = _present(w, s.cgroup, "cgroup/del-missing")
    if any(o.present and o.parent == s.cgroup for o in w.cgroups.values()):
        raise Err("EBUSY", "cgroup/del-busy")
    # cgroup_bpf_release() (asynchronous in the kernel; the kernel backend
    # waits for it): prog-API entries go, links become defunct, no revision
    # is observable any more.
    links, fx = {}, ()
    for lst in c.lists.values():
        for _, l, _ in lst.entries:
            if l is not None:
                links[l] = replace(w.links[l], dev=None)
        fx = fx or (("cgroup/release",) if lst.entries else ())
    w = w.with_links(links)
    return "cgroup/del", w.with_cgroup(s.cgroup, CGroup(c.parent, present=False)), None, fx


OPS: dict[str, Callable] = {
    "load": op_load, "attach": op_attach, "detach": op_detach, "query": op_query,
    "link_create": op_link_create, "link_update": op_link_update,
    "link_detach": op_link_detach, "close": op_close, "cgroup_add": op_cgroup_add,
    "cgroup_del": op_cgroup_del,
}

step = make_step(OPS)


def list_result(lst: CgList) -> QueryResult:
    """A plain query of one list, as both backends report it."""
    progs = tuple(e[0] for e in lst.entries)
    return QueryResult(len(progs), lst.revision, progs,
                       owners_by_program(progs, tuple(e[1] for e in lst.entries)), mode=MODES[lst.mode])


def hooks(w: World) -> dict[tuple[str, str], QueryResult]:
    """A plain query of every list of every present cgroup that was ever
    changed (revision > 1); untouched lists are empty at revision 1."""
    return {(name, point): list_result(lst)
            for name, c in w.cgroups.items() if c.present
            for point, lst in c.lists.items() if lst.revision > 1}
