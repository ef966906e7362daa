"""Object lookups shared by every dialect (kernel/bpf/syscall.c:
bpf_prog_get*, bpf_link_get_from_fd, bpf_prog_by_id, bpf_link_by_id, and
bpf_mprog_tuple_relative() in kernel/bpf/mprog.c).  ``rules`` arguments name
the rule ID of the calling site, so an outcome says where the lookup failed.
"""
from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Optional

from ..model import Raw, Ref, Step
from .driver import Err
from .world import World


def fd_object(w: World, ref: Ref):
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
    obj = fd_object(w, ref)
    if obj is None:
        raise Err("EBADF", closed_rule)          # no such open file
    if obj == "file" or obj[0] != "prog":
        raise Err("EINVAL", notprog_rule)        # file is not a BPF program
    return obj[1]


def link_by_fd(w: World, ref: Ref, closed_rule: str, notlink_rule: str) -> str:
    obj = fd_object(w, ref)
    if obj is None:
        raise Err("EBADF", closed_rule)
    if obj == "file" or obj[0] != "link":
        raise Err("EINVAL", notlink_rule)
    return obj[1]


def resolve_relative(w: World, by_link: bool, by_id: bool, ref: Optional[Ref],
                     ptype: Optional[str], mismatch: str = ""):
    """relative/*: bpf_mprog_tuple_relative().  ``by_link`` / ``by_id`` are
    the request's BPF_F_LINK / BPF_F_ID (their bits differ per dialect).
    Returns (prog, link) or None for "no relative object".  ``ptype`` None =
    no type filter (detach without a prog; cgroup anchors); otherwise a
    relative of another program type fails with the caller's ``mismatch``
    rule (the dialects that filter by type name it)."""
    zero = ref is None or (isinstance(ref, Raw) and ref.value == 0)
    if by_link:
        if by_id:
            name = link_by_id(w, ref)
        elif zero:
            raise Err("EINVAL", "relative/link-fd-zero")
        else:
            name = link_by_fd(w, ref, "relative/fd-closed", "relative/not-link")
        prog = w.links[name].prog
        if ptype is not None and w.progs[prog].type != ptype:
            raise Err("EINVAL", mismatch)
        return (prog, name)
    if not by_id and zero:
        return None
    if by_id:
        prog = prog_by_id(w, ref)
    else:
        prog = prog_by_fd(w, ref, "relative/fd-closed", "relative/not-prog")
    if ptype is not None and w.progs[prog].type != ptype:
        raise Err("EINVAL", mismatch)
    return (prog, None)


def prog_by_id(w: World, ref: Optional[Ref]) -> str:
    # An id that names a link (or nothing) is not a prog id: ENOENT.  (On a
    # live kernel a link id can collide with an unrelated prog id; see spec.)
    if isinstance(ref, str) and ref in w.progs and w.prog_alive(ref):
        return ref
    raise Err("ENOENT", "relative/id-unknown")


def link_by_id(w: World, ref: Optional[Ref]) -> str:
    if isinstance(ref, str) and ref in w.links:
        return ref
    raise Err("ENOENT", "relative/id-unknown")


def link_update_operands(w: World, s: Step, bits: int, replace_bit: int) -> tuple:
    """kernel/bpf/syscall.c link_update(), shared by every link type: the
    flags, the link fd, the new program fd and the old one (with REPLACE
    only); then the link type's first checks, which tcx and cgroup links
    make alike (tcx_link_update(), cgroup_bpf_replace()): a defunct link, an
    old program that is not the link's.  Returns (link name, new program,
    link)."""
    if bits & ~replace_bit:
        raise Err("EINVAL", "link_update/flags")
    name = link_by_fd(w, s.link, "link_update/link-fd-closed", "link_update/not-link")
    new = prog_by_fd(w, s.prog, "link_update/prog-fd-closed", "link_update/prog-not-prog")
    old = None
    old_ref = s.old_prog if s.old_prog is not None else Raw(0)
    if bits & replace_bit:
        old = prog_by_fd(w, old_ref, "link_update/old-fd-closed", "link_update/old-not-prog")
    elif old_ref != Raw(0):
        raise Err("EINVAL", "link_update/old-without-replace")
    link = w.links[name]
    if link.dev is None:
        raise Err("ENOLINK", "link_update/defunct")
    if old is not None and old != link.prog:
        raise Err("EPERM", "link_update/old-mismatch")
    return name, new, link


def closed_object(w: World, s: Step) -> tuple:
    """close(2) of a request's fd, as every dialect sees it: ("prog" or
    "link", name) of the BPF object it names; EBADF for an fd that is not
    open or not a BPF object."""
    obj = fd_object(w, s.link if s.link is not None else s.prog)
    if obj is None or obj == "file":
        raise Err("EBADF", "close/fd-closed")
    return obj


def close_prog(w: World, name: str) -> tuple:
    """Closing a program's fd: the program stays where it is attached."""
    return "close/prog", w.with_prog(name, dc_replace(w.progs[name], fd_open=False)), None, ()
