"""The cgroup dialect: BEFORE/AFTER ordering of cgroup BPF programs (Linux
6.17 and later), spec/cgroup/.

Data only: the UAPI constants (include/uapi/linux/bpf.h), the flag table,
the attach points (the cgroup attach types with their kernel numbers), the
program types and which attach types each serves, and the rule table.
spec/cgroup/constants.md carries the same constants and
tests/test_spec_xref.py checks that they agree.

Unlike tcx, cgroup programs are not built on bpf_mprog: the list lives in
``struct cgroup_bpf`` (kernel/bpf/cgroup.c), holds 64 entries, has an attach
mode (none / ALLOW_OVERRIDE / ALLOW_MULTI) and a per-entry PREORDER bit, and
its effective run order is composed from the cgroup's ancestors.
"""
from __future__ import annotations

from ..flags import FlagTable
from .base import LINK_UPDATE_OPERANDS, Dialect

# Attach flags: the same bits as the linux dialect, but here ALLOW_OVERRIDE,
# ALLOW_MULTI and PREORDER are real (BPF_F_ATTACH_MASK_BASE).
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
OVERRIDE, MULTI, REPLACE, BEFORE, AFTER, ID, PREORDER, LINK = (
    FLAGS[n] for n in ("ALLOW_OVERRIDE", "ALLOW_MULTI", "REPLACE", "BEFORE", "AFTER", "ID",
                       "PREORDER", "LINK"))
# kernel/bpf/syscall.c: BPF_F_ATTACH_MASK_BASE | BPF_F_ATTACH_MASK_MPROG, the
# PROG_ATTACH mask of a cgroup program type.
MASK_ATTACH = OVERRIDE | MULTI | REPLACE | PREORDER | BEFORE | AFTER | ID | LINK
# kernel/bpf/cgroup.c: BPF_F_LINK_ATTACH_MASK (LINK_CREATE; MULTI is implied).
MASK_LINK = ID | BEFORE | AFTER | PREORDER | LINK
BPF_F_QUERY_EFFECTIVE = 1 << 0

# BPF_CGROUP_MAX_PROGS: entries per (cgroup, attach type).
CGROUP_MAX_PROGS = 64

# The query array size when a request gives none ("count" absent: large
# enough).  An effective list holds up to 64 entries per level; 4096 covers
# 64 levels, far more than any script or fuzz hierarchy.
QUERY_DEFAULT_COUNT = 4096

# enum bpf_attach_type: the cgroup attach types (BPF_LSM_CGROUP needs BTF
# programs and is not modelled).
ATTACH_TYPE = {
    "cgroup_inet_ingress": 0,
    "cgroup_inet_egress": 1,
    "cgroup_inet_sock_create": 2,
    "cgroup_sock_ops": 3,
    "cgroup_device": 6,
    "cgroup_inet4_bind": 8,
    "cgroup_inet6_bind": 9,
    "cgroup_inet4_connect": 10,
    "cgroup_inet6_connect": 11,
    "cgroup_inet4_post_bind": 12,
    "cgroup_inet6_post_bind": 13,
    "cgroup_udp4_sendmsg": 14,
    "cgroup_udp6_sendmsg": 15,
    "cgroup_sysctl": 18,
    "cgroup_udp4_recvmsg": 19,
    "cgroup_udp6_recvmsg": 20,
    "cgroup_getsockopt": 21,
    "cgroup_setsockopt": 22,
    "cgroup_inet4_getpeername": 29,
    "cgroup_inet6_getpeername": 30,
    "cgroup_inet4_getsockname": 31,
    "cgroup_inet6_getsockname": 32,
    "cgroup_inet_sock_release": 34,
    "cgroup_unix_connect": 49,
    "cgroup_unix_sendmsg": 50,
    "cgroup_unix_recvmsg": 51,
    "cgroup_unix_getpeername": 52,
    "cgroup_unix_getsockname": 53,
}

# enum bpf_prog_type: the cgroup program types, and three foreign ones (for
# the wrong-type rules).
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "xdp": 6, "cgroup_skb": 8, "cgroup_sock": 9,
             "sock_ops": 13, "cgroup_device": 15, "cgroup_sock_addr": 18, "cgroup_sysctl": 23,
             "cgroup_sockopt": 25}
DEFAULT_PROG_TYPE = "cgroup_skb"

_SOCK_ADDR = ("cgroup_inet4_bind", "cgroup_inet6_bind", "cgroup_inet4_connect",
              "cgroup_inet6_connect", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg",
              "cgroup_udp4_recvmsg", "cgroup_udp6_recvmsg", "cgroup_inet4_getpeername",
              "cgroup_inet6_getpeername", "cgroup_inet4_getsockname", "cgroup_inet6_getsockname",
              "cgroup_unix_connect", "cgroup_unix_sendmsg", "cgroup_unix_recvmsg",
              "cgroup_unix_getpeername", "cgroup_unix_getsockname")
_SOCK = ("cgroup_inet_sock_create", "cgroup_inet_sock_release", "cgroup_inet4_post_bind",
         "cgroup_inet6_post_bind")

# attach_type_to_prog_type() (kernel/bpf/syscall.c): the program type each
# attach point takes.
POINT_PROG_TYPE = {
    "cgroup_inet_ingress": "cgroup_skb", "cgroup_inet_egress": "cgroup_skb",
    **{p: "cgroup_sock" for p in _SOCK},
    "cgroup_sock_ops": "sock_ops", "cgroup_device": "cgroup_device",
    **{p: "cgroup_sock_addr" for p in _SOCK_ADDR},
    "cgroup_sysctl": "cgroup_sysctl",
    "cgroup_getsockopt": "cgroup_sockopt", "cgroup_setsockopt": "cgroup_sockopt",
}

# bpf_prog_load_check_attach(): the expected attach types a program type may
# be loaded with (absent: any).  bpf_prog_load_fixup_attach_type() first
# turns a cgroup_sock program's 0 into cgroup_inet_sock_create.
LOAD_EXPECTED = {
    "cgroup_skb": ("cgroup_inet_ingress", "cgroup_inet_egress"),
    "cgroup_sock": _SOCK,
    "cgroup_sock_addr": _SOCK_ADDR,
    "cgroup_sockopt": ("cgroup_getsockopt", "cgroup_setsockopt"),
}
LOAD_FIXUP = {"cgroup_sock": "cgroup_inet_sock_create"}

# bpf_prog_attach_check_attach_type(): program types whose expected attach
# type must equal the attach type (cgroup_skb checks it only when the
# verifier set enforce_expected_attach_type, never for this tool's programs).
EXPECTED_MUST_MATCH = frozenset(("cgroup_sock", "cgroup_sock_addr", "cgroup_sockopt"))

# The attach mode of a list, as a query expectation names it (the plain
# query's attach_flags).
MODES = {0: "none", OVERRIDE: "override", MULTI: "multi"}

OPS = frozenset(("load", "attach", "detach", "query", "link_create", "link_update",
                 "link_detach", "close", "cgroup_add", "cgroup_del"))

# rule ID -> errno the rule decides ("ok" for successes and effects)
CGROUP: dict[str, str] = {
    # spec/cgroup/objects.md
    "load/ok": "ok",
    "load/expected-attach-type": "EINVAL",
    "relative/link-fd-zero": "EINVAL",
    "relative/fd-closed": "EBADF",
    "relative/not-link": "EINVAL",
    "relative/not-prog": "EINVAL",
    "relative/id-unknown": "ENOENT",
    # spec/cgroup/hierarchy.md
    "cgroup/add": "ok",
    "cgroup/add-exists": "EEXIST",
    "cgroup/parent-removed": "ENOENT",
    "cgroup/del": "ok",
    "cgroup/del-missing": "ENOENT",
    "cgroup/del-busy": "EBUSY",
    "cgroup/release": "ok",
    # spec/cgroup/attach.md
    "attach/flags-mask": "EINVAL",
    "attach/prog-fd-closed": "EBADF",
    "attach/prog-not-prog": "EINVAL",
    "attach/prog-type": "EINVAL",
    "attach/prog-attach-type": "EINVAL",
    "attach/cgroup-removed": "ENOENT",
    "attach/replace-fd-closed": "EBADF",
    "attach/replace-not-prog": "EINVAL",
    "attach/replace-type": "EINVAL",
    "attach/override-multi": "EINVAL",
    "attach/replace-without-multi": "EINVAL",
    "attach/replace-position": "EINVAL",
    "attach/stale-revision": "ESTALE",
    "attach/hierarchy": "EPERM",
    "attach/mode-mismatch": "EPERM",
    "attach/full": "E2BIG",
    "attach/duplicate": "EINVAL",
    "attach/replace-missing": "ENOENT",
    "attach/relative-no-direction": "EINVAL",
    "attach/relative-kind": "EINVAL",
    "attach/both-directions": "EINVAL",
    "attach/relative-preorder": "EINVAL",
    "attach/relative-missing": "ENOENT",
    "attach/insert": "ok",
    "attach/replace": "ok",
    "attach/replace-single": "ok",
    # spec/cgroup/detach.md
    "detach/flags-nonzero": "EINVAL",
    "detach/cgroup-removed": "ENOENT",
    "detach/stale-revision": "ESTALE",
    "detach/empty": "ENOENT",
    "detach/single": "ok",
    "detach/multi-no-prog": "EINVAL",
    "detach/not-found": "ENOENT",
    "detach/remove": "ok",
    # spec/cgroup/query.md
    "query/flags-unknown": "EINVAL",
    "query/cgroup-removed": "ENOENT",
    "query/effective-flags-array": "EINVAL",
    "query/count-only": "ok",
    "query/truncated": "ENOSPC",
    "query/ok": "ok",
    "query/effective": "ok",
    # spec/cgroup/link.md
    "link_create/prog-fd-closed": "EBADF",
    "link_create/prog-not-prog": "EINVAL",
    "link_create/prog-attach-type": "EINVAL",
    "link_create/prog-type": "EINVAL",
    "link_create/flags-mask": "EINVAL",
    "link_create/cgroup-removed": "ENOENT",
    **LINK_UPDATE_OPERANDS,
    "link_update/prog-type": "EINVAL",
    "link_update/replace": "ok",
    "link_detach/link-fd-closed": "EBADF",
    "link_detach/not-link": "EINVAL",
    "link_detach/defunct": "ok",
    "link_detach/detach": "ok",
    "close/fd-closed": "EBADF",
    "close/prog": "ok",
    "close/link": "ok",
}


DIALECT = Dialect(
    name="cgroup",
    summary="cgroup BPF programs (kernel/bpf/cgroup.c): BEFORE/AFTER, attach modes, PREORDER, "
            "64 entries, effective order composed over the hierarchy",
    kernels="Linux 6.17 and later (and the 6.12 stable line from 6.12.110), cgroup v2",
    flags=FLAGS,
    attach_points=ATTACH_TYPE,
    prog_types=PROG_TYPE,
    default_prog_type=DEFAULT_PROG_TYPE,
    rules=CGROUP,
    ops=OPS,
    executor="checker.exec.cgroup",
    encoding="checker.smt.cgroup",
    plan="checker.smt.plan_cgroup",
    kernel="cgroup",
    # The ordering API: 6.17 (bpf-next 9b8367b604c7, 1209339844601; spec/cgroup/README.md).
    # Debian 6.12.117's changelog lists the same commits under stable 6.12.110
    # (Debian's 6.12.95 refuses them: mprog matrix shows both).
    since=(6, 17),
    stable=((6, 12, 110),),
    target="cgroup",
    spec="spec/cgroup",
)
