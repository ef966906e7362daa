"""What the kernel tests of one session create and touch, recorded by a
session fixture (conftest.py) and checked by test_zz_nothing_left.py: every
program and link id, network namespace and cgroup subtree of the kernel
backends in this process, every directory it makes or removes under the
cgroup v2 mount, and every cgroup a bpf(2) attach, detach or link create of
this process is sent to.

What the run did is recorded at its source (os.mkdir / os.rmdir, and
checker.kernel.bpf.sys_bpf, through which every bpf(2) call of the checker
goes) rather than compared in host state before and after: other processes
on the machine (other sessions' runs, systemd) create and remove cgroups
and attach programs at any time, and must not make the check fail; this
way it covers every cgroup outside the run's own, not only the mount's root.
(A module of its own: ``from conftest import`` is ambiguous between the two
conftest.py files.)"""
from __future__ import annotations

import contextlib
import os
import struct

_DELETED = " (deleted)"


class Created:
    objects: list = []
    netns: set = set()
    subtrees: list = []
    cgroups_made: list = []        # directories this process created under the cgroup2 mount
    cgroups_removed: list = []     # directories it removed there (successfully)
    orphans_removed: list = []     # of those, the ones sweep_orphans removed (dead runs' subtrees)
    cgroup_requests: list = []     # (bpf command, cgroup path) of every attach/detach/link create


def inside(path: str, dirs) -> bool:
    """``path`` is one of ``dirs`` or below one of them."""
    return any(path == d or path.startswith(d + "/") for d in dirs)


def _fd_path(fd: int, mount: str):
    """The cgroup directory an fd of this process names, or None (not open,
    not under the mount: e.g. a tcx request's ifindex in the same field)."""
    try:
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    path = path[:-len(_DELETED)] if path.endswith(_DELETED) else path
    return path if inside(path, [mount]) else None


@contextlib.contextmanager
def record():
    """Wrap the backends' object, namespace and subtree creation, the
    directory calls and bpf(2) to record them."""
    from checker.kernel import KernelBackend, bpf
    from checker.kernel import cgroup
    from checker.kernel.cgroup import CgroupTree, cgroup2_mount
    mount = cgroup2_mount()
    sweep = cgroup.sweep_orphans
    sweeping = []
    declare, open_target, tree_init = KernelBackend._declare, KernelBackend._open_target, CgroupTree.__init__
    mkdir, rmdir, sys_bpf = os.mkdir, os.rmdir, bpf.sys_bpf
    # bpf_attr: PROG_ATTACH / PROG_DETACH carry the target (cgroup fd or
    # ifindex) in their first u32, LINK_CREATE in its second (after prog_fd).
    target_at = {bpf.BPF_PROG_ATTACH: 0, bpf.BPF_PROG_DETACH: 0, bpf.BPF_LINK_CREATE: 4}

    def recording_declare(self, table, name, obj):
        Created.objects.append((obj.kind, obj.id))
        return declare(self, table, name, obj)

    def recording_open_target(self):
        open_target(self)
        inode = getattr(self._ns, "inode", None)
        if inode:
            Created.netns.add(inode)

    def recording_tree_init(self, *a, **kw):
        tree_init(self, *a, **kw)
        Created.subtrees.append(self.base)

    def under_mount(path, dir_fd):
        if mount is None or dir_fd is not None:
            return None     # checker code never passes dir_fd; a relative call is not a cgroup's
        path = os.path.abspath(os.fsdecode(path))
        return path if inside(path, [mount]) else None

    def recording_mkdir(path, mode=0o777, *, dir_fd=None):
        mkdir(path, mode, dir_fd=dir_fd)
        if (p := under_mount(path, dir_fd)) is not None:
            Created.cgroups_made.append(p)

    def recording_rmdir(path, *, dir_fd=None):
        rmdir(path, dir_fd=dir_fd)
        if (p := under_mount(path, dir_fd)) is not None:
            Created.cgroups_removed.append(p)
            if sweeping:
                Created.orphans_removed.append(p)

    def recording_sweep(m):
        sweeping.append(True)
        try:
            return sweep(m)
        finally:
            sweeping.pop()

    def recording_sys_bpf(cmd, attr):
        if cmd in target_at and mount is not None:
            fd, = struct.unpack_from("<I", attr, target_at[cmd])
            if (p := _fd_path(fd, mount)) is not None:
                Created.cgroup_requests.append((cmd, p))
        return sys_bpf(cmd, attr)

    KernelBackend._declare = recording_declare
    KernelBackend._open_target = recording_open_target
    CgroupTree.__init__ = recording_tree_init
    cgroup.sweep_orphans = recording_sweep
    os.mkdir, os.rmdir, bpf.sys_bpf = recording_mkdir, recording_rmdir, recording_sys_bpf
    try:
        yield Created
    finally:
        KernelBackend._declare, KernelBackend._open_target = declare, open_target
        CgroupTree.__init__ = tree_init
        cgroup.sweep_orphans = sweep
        os.mkdir, os.rmdir, bpf.sys_bpf = mkdir, rmdir, sys_bpf
