"""The linux dialect: mainline tcx (Linux 6.6-rc6 and later), spec/linux/.

Data only: the UAPI constants (include/uapi/linux/bpf.h), the flag table and
the rule table.  spec/linux/constants.md carries the same constants and
tests/test_spec_xref.py checks that they agree; the spec headings are the
rule IDs, and the same test checks that this table, the spec, the executor,
the z3 encoding and the conformance vectors name the same set of rules.
"""
from __future__ import annotations

from ..flags import FlagTable
from .base import LINK_UPDATE_OPERANDS, Dialect

# enum bpf_attach_type
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47
ATTACH_TYPE = {"ingress": BPF_TCX_INGRESS, "egress": BPF_TCX_EGRESS}

# enum bpf_prog_type
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "sched_act": 4, "xdp": 6}

# Attach flags.  ALLOW_OVERRIDE, ALLOW_MULTI and PREORDER are valid kernel
# flags (cgroup) that the mprog attach/detach mask rejects.
FLAGS = FlagTable({
    "ALLOW_OVERRIDE": 1 << 0,
    "ALLOW_MULTI": 1 << 1,
    "REPLACE": 1 << 2,
    "BEFORE": 1 << 3,
    "AFTER": 1 << 4,
    "ID": 1 << 5,
    "PREORDER": 1 << 6,
    "LINK": 1 << 13,
})
REPLACE, BEFORE, AFTER, ID, LINK = (FLAGS[n] for n in ("REPLACE", "BEFORE", "AFTER", "ID", "LINK"))
# BPF_F_ATTACH_MASK_MPROG in kernel/bpf/syscall.c
MASK_MPROG = REPLACE | BEFORE | AFTER | ID | LINK
BPF_F_QUERY_EFFECTIVE = 1 << 0

# Every network namespace has its loopback device from the start; scripts
# and vectors use it without dev_add (as the kernel selftests do), and it
# cannot be deleted (device/del-loopback).
LOOPBACK = "lo"

# bpf_mprog_max(): BPF_MPROG_MAX (64) array slots minus the NULL terminator.
MPROG_MAX = 63

# The query array size when a request gives none ("count" absent: large
# enough); more than MPROG_MAX, so a query never truncates by default.
QUERY_DEFAULT_COUNT = 64

OPS = frozenset(("load", "attach", "detach", "query", "link_create", "link_update",
                 "link_detach", "close", "dev_add", "dev_del", "clsact_add", "clsact_del"))

# rule ID -> errno the rule decides ("ok" for successes and effects)
LINUX: dict[str, str] = {
    # spec/linux/objects.md
    "relative/link-fd-zero": "EINVAL",
    "relative/fd-closed": "EBADF",
    "relative/not-link": "EINVAL",
    "relative/not-prog": "EINVAL",
    "relative/id-unknown": "ENOENT",
    "relative/type-mismatch": "EINVAL",
    "load/ok": "ok",
    # spec/linux/attach.md
    "attach/flags-mask": "EINVAL",
    "attach/prog-fd-closed": "EBADF",
    "attach/prog-not-prog": "EINVAL",
    "attach/prog-type": "EINVAL",
    "attach/dev-missing": "ENODEV",
    "attach/replace-fd-closed": "EBADF",
    "attach/replace-not-prog": "EINVAL",
    "attach/replace-type": "EINVAL",
    "attach/stale-revision": "ESTALE",
    "attach/prog-exists": "EEXIST",
    "attach/replace-missing": "ENOENT",
    "attach/replace-owner": "EBUSY",
    "attach/full": "ERANGE",
    "attach/before-missing": "ENOENT",
    "attach/before-conflict": "ERANGE",
    "attach/after-missing": "ENOENT",
    "attach/after-conflict": "ERANGE",
    "attach/relative-without-position": "EINVAL",
    "attach/insert": "ok",
    "attach/replace": "ok",
    # spec/linux/detach.md
    "detach/flags-mask": "EINVAL",
    "detach/prog-fd-closed": "EBADF",
    "detach/prog-not-prog": "EINVAL",
    "detach/prog-type": "EINVAL",
    "detach/dev-missing": "ENODEV",
    "detach/no-entry": "ENOENT",
    "detach/replace-flag": "EINVAL",
    "detach/stale-revision": "ESTALE",
    "detach/empty": "ENOENT",
    "detach/prog-missing": "ENOENT",
    "detach/prog-owner": "EBUSY",
    "detach/before-missing": "ENOENT",
    "detach/before-conflict": "ERANGE",
    "detach/after-missing": "ENOENT",
    "detach/after-conflict": "ERANGE",
    "detach/relative-without-position": "EINVAL",
    "detach/position-max": "ERANGE",
    "detach/link-owned": "EBUSY",
    "detach/remove": "ok",
    # spec/linux/query.md
    "query/flags-unknown": "EINVAL",
    "query/dev-missing": "ENODEV",
    "query/flags-nonzero": "EINVAL",
    "query/no-entry": "ok",
    "query/truncated": "ENOSPC",
    "query/ok": "ok",
    # spec/linux/link.md
    "link_create/prog-fd-closed": "EBADF",
    "link_create/prog-not-prog": "EINVAL",
    "link_create/prog-type": "EINVAL",
    "link_create/dev-missing": "ENODEV",
    **LINK_UPDATE_OPERANDS,
    "link_update/same-prog": "ok",
    "link_update/prog-exists": "EEXIST",
    "link_update/prog-type": "EINVAL",
    "link_update/replace": "ok",
    "link_detach/link-fd-closed": "EBADF",
    "link_detach/not-link": "EINVAL",
    "link_detach/defunct": "ok",
    "link_detach/detach": "ok",
    "close/fd-closed": "EBADF",
    "close/prog": "ok",
    "close/link": "ok",
    # spec/linux/device.md
    "device/add": "ok",
    "device/add-exists": "EEXIST",
    "device/del": "ok",
    "device/del-missing": "ENODEV",
    "device/del-loopback": "EOPNOTSUPP",
    "clsact/dev-missing": "ENODEV",
    "clsact/add": "ok",
    "clsact/add-exists": "EEXIST",
    "clsact/del": "ok",
    "clsact/del-missing": "ENOENT",
    "hook/create": "ok",
    "hook/free-when-empty": "ok",
}


DIALECT = Dialect(
    name="linux",
    summary="mainline tcx (bpf_mprog): BEFORE/AFTER at attach time, revision guard",
    kernels="Linux 6.6 (from 6.6-rc6) and later, with CONFIG_NET_XGRESS",
    flags=FLAGS,
    attach_points=ATTACH_TYPE,
    prog_types=PROG_TYPE,
    rules=LINUX,
    ops=OPS,
    executor="checker.exec.linux",
    encoding="checker.smt.linux",
    kernel="tcx",
    since=(6, 6),
    spec="spec/linux",
)
