"""Read one tcx hook, or one cgroup's list, of the running system:
BPF_PROG_QUERY plus the programs' kernel names (and, for a cgroup, the links
attached to it and the PREORDER bits its effective order shows).  Read-only:
it queries, looks programs and links up by id and closes what it opened; it
never attaches, detaches or changes a device or cgroup, so it may look at
any namespace or cgroup, the host's included (``mprog plan --live``).

Names.  A program is named by its kernel name (bpf_prog_info.name) when
that is usable in scripts and directive files — an identifier, not a word of
either language, unique on the hook — and ``id<N>`` (its program id)
otherwise; a link is ``link<N>`` (its link id).  ``LiveHook.legend`` says
which name is which kernel object, so a plan can be carried out by id.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from typing import Optional

from ..dialects.linux import ATTACH_TYPE, QUERY_DEFAULT_COUNT
from ..errors import BackendUnavailable, BadInput
from ..syntax.lexicon import NAME_RE
from . import bpf
from .backend import kernel_available
from .netns import NetNS

_GENERATED = re.compile(r"(?:id|link)[0-9]+\Z")
# Words of the script and directive languages: a program named like one of
# them would read as the keyword.
_RESERVED = {"before", "after", "replace", "rev", "flags", "relative", "expected_revision", "id",
             "link", "type", "dialect", "ingress", "egress", "first", "last", "app", "ok", "count"}


@dataclass(frozen=True)
class LiveHook:
    dev: str
    dir: str
    revision: int
    slots: tuple                     # ((prog name, link name or None), ...)
    legend: tuple[str, ...]          # "name = prog id N (kernel name 'x')", per slot


class _Existing(NetNS):
    """A namespace somebody else made, opened by path (/run/netns/NAME,
    /proc/PID/ns/net); closing drops only our reference."""

    def __init__(self, path: str):          # noqa: D401 - no unshare here
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.inode = os.fstat(self.fd).st_ino

    def close(self) -> None:
        # Only our reference: the namespace is not ours to end (and may be
        # the one we are in, e.g. /proc/self/ns/net).
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


def _names(prog_ids, kernel_names) -> list[str]:
    seen: dict[str, int] = {}
    for n in kernel_names:
        seen[n] = seen.get(n, 0) + 1
    out = []
    for pid, n in zip(prog_ids, kernel_names):
        usable = (n and NAME_RE.match(n) and n.lower() not in _RESERVED and not _GENERATED.match(n)
                  and seen[n] == 1)
        out.append(n if usable else f"id{pid}")
    return out


def _query(dev: str, dir: str, where: str):
    try:
        ifindex = socket.if_nametoindex(dev)
    except OSError:
        raise BadInput(f"--live {dev}:{dir}: no device {dev!r} in {where}", "--live", 0, 0) from None
    q = bpf.prog_query(ifindex, ATTACH_TYPE[dir], QUERY_DEFAULT_COUNT)
    if q.errno != "ok":
        raise BadInput(f"--live {dev}:{dir}: BPF_PROG_QUERY failed with {q.errno}", "--live", 0, 0)
    return q


def read_hook(dev: str, dir: str, netns: Optional[str] = None, retries: int = 3) -> LiveHook:
    """Query ``dev``'s tcx ``dir`` hook in the caller's namespace, or in the
    namespace at path ``netns``.  A hook that changes while it is read (a
    program gone, or the revision moved) is read again, up to ``retries``."""
    reason = kernel_available()
    if reason is not None:
        raise BackendUnavailable(reason)
    ns = None
    if netns is not None:
        try:
            ns = _Existing(netns)
        except OSError as e:
            raise BadInput(f"--netns {netns}: {e.strerror}", "--netns", 0, 0) from None
    where = f"network namespace {netns}" if netns else "this network namespace"
    try:
        for _ in range(retries):
            inside = ns.entered() if ns is not None else None
            if inside is not None:
                try:
                    inside.__enter__()
                except OSError as e:
                    raise BadInput(f"--netns {netns}: not a network namespace ({e.strerror})",
                                   "--netns", 0, 0) from None
            try:
                q = _query(dev, dir, where)
                kernel_names, gone = [], False
                for pid in q.prog_ids:
                    name, err = bpf.prog_name(pid)
                    gone |= err == "ENOENT"
                    kernel_names.append(name or "")
                again = _query(dev, dir, where)
            finally:
                if inside is not None:
                    inside.__exit__(None, None, None)
            if gone or again.revision != q.revision:
                continue                       # raced with a change: read again
            names = _names(q.prog_ids, kernel_names)
            links = [f"link{i}" if i else None for i in q.link_ids]
            legend = tuple(
                f"{n} = prog id {pid} (kernel name {k!r})" + (f", owned by {l} = link id {lid}" if l else "")
                for n, pid, k, l, lid in zip(names, q.prog_ids, kernel_names, links, q.link_ids))
            return LiveHook(dev, dir, q.revision, tuple(zip(names, links)), legend)
        raise BadInput(f"--live {dev}:{dir}: the hook kept changing while it was read "
                       f"({retries} attempts)", "--live", 0, 0)
    finally:
        if ns is not None:
            ns.close()


# ---------------------------------------------------------------------------
# cgroup lists

@dataclass(frozen=True)
class LiveList:
    path: str
    point: str
    revision: int
    mode: str                        # none, override, multi
    slots: tuple                     # ((prog name, link name or None), ...) in list order
    preorder: frozenset              # the programs inferred to be PREORDER
    legend: tuple[str, ...]


def _split_preorder(listed: tuple, run: tuple) -> Optional[int]:
    """The fewest PREORDER entries consistent with the effective order: the
    cgroup's own entries run as one window of it, its PREORDER entries first
    (in list order), then the others; returns the bitmask (bit i: entry i is
    PREORDER), None if no window explains the effective order."""
    k = len(listed)
    for j in range(k + 1):                    # j PREORDER entries
        for i in range(len(run) - k + 1):
            pre, norm = run[i:i + j], run[i + j:i + k]
            mask, a, b = 0, 0, 0
            for x, pid in enumerate(listed):  # greedy interleaving, PREORDER first
                if a < len(pre) and pre[a] == pid:
                    a, mask = a + 1, mask | 1 << x
                elif b < len(norm) and norm[b] == pid:
                    b += 1
                else:
                    break
            else:
                if a == len(pre) and b == len(norm):
                    return mask
    return None


def read_cgroup(path: str, point: str, retries: int = 3) -> LiveList:
    """The list of attach type ``point`` of the cgroup v2 directory ``path``."""
    from ..dialects.cgroup import ATTACH_TYPE, MODES, QUERY_DEFAULT_COUNT
    try:
        bpf._init()
    except OSError as e:
        raise BackendUnavailable(str(e)) from None
    where = f"--live {path}:{point}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise BadInput(f"{where}: {e.strerror}", "--live", 0, 0) from None
    at = ATTACH_TYPE[point]
    try:
        cid = os.fstat(fd).st_ino
        for _ in range(retries):
            q = bpf.prog_query(fd, at, QUERY_DEFAULT_COUNT, flags_array=False)
            if q.errno != "ok":
                raise BadInput(f"{where}: BPF_PROG_QUERY failed with {q.errno} (not a cgroup v2 "
                               f"directory?)", "--live", 0, 0)
            eff = bpf.prog_query(fd, at, QUERY_DEFAULT_COUNT, query_flags=1, flags_array=False)
            owners: dict[int, list] = {}
            for lid in bpf.link_ids():
                lfd, err = bpf.fd_by_id("link", lid)
                if err is not None:
                    continue
                try:
                    info, err = bpf.cgroup_link_info(lfd)
                    kind, _ = bpf.obj_info(lfd)[0] or (None, None)
                finally:
                    bpf.close_fd(lfd)
                if err is None and kind == BPF_LINK_TYPE_CGROUP and info[1] == cid and info[2] == at:
                    owners.setdefault(info[0], []).append(lid)
            kernel_names, gone = [], False
            for pid in q.prog_ids:
                name, err = bpf.prog_name(pid)
                gone |= err == "ENOENT"
                kernel_names.append(name or "")
            again = bpf.prog_query(fd, at, 0, flags_array=False)
            if not gone and again.revision == q.revision:
                break
        else:
            raise BadInput(f"{where}: the list kept changing while it was read ({retries} attempts)",
                           "--live", 0, 0)
    finally:
        os.close(fd)
    names = _names(q.prog_ids, kernel_names)
    links = [f"link{owners[pid].pop()}" if owners.get(pid) else None for pid in q.prog_ids]
    mask = _split_preorder(q.prog_ids, eff.prog_ids if eff.errno == "ok" else ())
    pre = frozenset(n for x, n in enumerate(names) if mask and mask >> x & 1)
    legend = [f"{n} = prog id {pid} (kernel name {k!r})" + (f", owned by {l} = link id {l[4:]}" if l else "")
              for n, pid, k, l in zip(names, q.prog_ids, kernel_names, links)]
    legend.append("PREORDER (not reported by the kernel; inferred from the effective order, the "
                  f"fewest that explain it): {' '.join(sorted(pre)) or 'none'}")
    return LiveList(path, point, q.revision, MODES.get(q.attach_flags, hex(q.attach_flags)),
                    tuple(zip(names, links)), pre, tuple(legend))


BPF_LINK_TYPE_CGROUP = 3
