"""What the kernel tests of one session create (every program and link id,
network namespace and cgroup subtree of the kernel backends in this
process), recorded by a session fixture (conftest.py) and checked by
test_zz_nothing_left.py; and the host's cgroup v2 root as it was before.
(A module of its own: ``from conftest import`` is ambiguous between the two
conftest.py files.)"""
from __future__ import annotations

import contextlib
import os


class Created:
    objects: list = []
    netns: set = set()
    subtrees: list = []
    cgroup_root = None


def cgroup_root_state():
    """The host's cgroup v2 root: its children (not this tool's subtrees) and
    the lists of every cgroup attach point (plain and effective)."""
    from checker.dialects.cgroup import ATTACH_TYPE
    from checker.kernel import bpf
    from checker.kernel.cgroup import cgroup2_mount
    mount = cgroup2_mount()
    if mount is None:
        return None
    fd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY)
    try:
        lists = {(p, eff): bpf.prog_query(fd, at, 64, query_flags=eff, flags_array=False)
                 for p, at in ATTACH_TYPE.items() for eff in (0, 1)}
    finally:
        os.close(fd)
    return {"children": {d for d in os.listdir(mount) if not d.startswith("mprog-")}, "lists": lists}


@contextlib.contextmanager
def record():
    """Wrap the backends' object, namespace and subtree creation to record them."""
    from checker.kernel import KernelBackend
    from checker.kernel.cgroup import CgroupTree
    Created.cgroup_root = cgroup_root_state()
    declare, open_target, tree_init = KernelBackend._declare, KernelBackend._open_target, CgroupTree.__init__

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

    KernelBackend._declare = recording_declare
    KernelBackend._open_target = recording_open_target
    CgroupTree.__init__ = recording_tree_init
    try:
        yield Created
    finally:
        KernelBackend._declare, KernelBackend._open_target = declare, open_target
        CgroupTree.__init__ = tree_init
