"""The rfc dialect: the 2023 tcx proposal with sticky BPF_F_FIRST / BPF_F_LAST
(bpf-next v2 series of 7 June 2023, Message-Id
20230607192625.22641-*-daniel@iogearbox.net), spec/rfc/.

Data only, as a delta over the linux dialect: its UAPI flag table (v2 1/7
include/uapi/linux/bpf.h), and the rules that differ from mainline (new,
changed, removed).  No kernel implements it: it runs on the model backend
and in the z3 encoding only.  tests/test_spec_xref.py checks spec/rfc/
against this table (headings of the changed rules) and spec/rfc/constants.md
against the flag table.
"""
from __future__ import annotations

from ..flags import FlagTable
from . import linux

# Flag bits of the v2 UAPI: FIRST and LAST take 1 << 5 and 1 << 6, so BPF_F_ID
# moves to 1 << 7; LINK keeps the existing constant.  Mainline's ID (0x20) is
# rfc's FIRST and mainline's PREORDER (0x40) is rfc's LAST.
FLAGS = FlagTable({
    "ALLOW_OVERRIDE": 1 << 0,
    "ALLOW_MULTI": 1 << 1,
    "REPLACE": 1 << 2,
    "BEFORE": 1 << 3,
    "AFTER": 1 << 4,
    "FIRST": 1 << 5,
    "LAST": 1 << 6,
    "ID": 1 << 7,
    "LINK": 1 << 13,
})
REPLACE, BEFORE, AFTER, FIRST, LAST, ID, LINK = (
    FLAGS[n] for n in ("REPLACE", "BEFORE", "AFTER", "FIRST", "LAST", "ID", "LINK"))
PINS = FIRST | LAST          # the only bits a slot (and a tcx link) ever stores
# BPF_F_ATTACH_MASK_MPROG of v2 2/7 kernel/bpf/syscall.c
MASK_MPROG = REPLACE | BEFORE | AFTER | FIRST | LAST | ID | LINK

# rule ID -> errno, for the rules whose meaning differs from linux's (spec/rfc/)
CHANGED: dict[str, str] = {
    # spec/rfc/objects.md
    "relative/without-position": "EINVAL",
    # spec/rfc/attach.md
    "attach/flags-mask": "EINVAL",
    "attach/stale-revision": "ESTALE",
    "attach/replace-flags": "EINVAL",
    "attach/replace-prog-exists": "EEXIST",
    "attach/replace-missing": "ENOENT",
    "attach/replace-owner": "EBUSY",
    "attach/replace-first-not-head": "EACCES",
    "attach/replace-last-not-tail": "EACCES",
    "attach/replace": "ok",
    "attach/pin-prog-exists": "EEXIST",
    "attach/first-after": "EINVAL",
    "attach/first-taken": "EBUSY",
    "attach/first-last-before": "EINVAL",
    "attach/first-last-not-empty": "EBUSY",
    "attach/first-last": "ok",
    "attach/first-before-not-head": "EBUSY",
    "attach/first-full": "ENOSPC",
    "attach/first": "ok",
    "attach/last-before": "EINVAL",
    "attach/last-taken": "EBUSY",
    "attach/last-after-not-tail": "EBUSY",
    "attach/last-full": "ENOSPC",
    "attach/last": "ok",
    "attach/full": "ENOSPC",
    "attach/before-after": "EINVAL",
    "attach/prog-exists": "EEXIST",
    "attach/before-first": "EBUSY",
    "attach/after-last": "EBUSY",
    "attach/locked": "EBUSY",
    "attach/relative-missing": "ENOENT",
    "attach/insert": "ok",
    # spec/rfc/detach.md
    "detach/flags-mask": "EINVAL",
    "detach/stale-revision": "ESTALE",
    "detach/replace-flag": "EINVAL",
    "detach/first-mismatch": "ENOENT",
    "detach/last-mismatch": "ENOENT",
    "detach/position-with-target": "EINVAL",
    "detach/before-head": "ENOENT",
    "detach/before-mismatch": "ENOENT",
    "detach/after-mismatch": "ENOENT",
    "detach/no-target": "ENOENT",
    "detach/prog-missing": "ENOENT",
    "detach/empty-bundle": "ok",
    "detach/link-owned": "EBUSY",
    # spec/rfc/query.md
    "query/no-entry": "ENOENT",
    "query/flags-nonzero": "EINVAL",
    "query/truncated": "ENOSPC",
    "query/ok": "ok",
    # spec/rfc/link.md
    "link_create/dev-missing": "EINVAL",
    "link_update/prog-type": "EINVAL",
    "link_update/prog-exists": "EEXIST",
    "link_update/replace": "ok",
}

# Mainline rules with no counterpart in v2: the replace fd is the relative
# union (no separate replace_bpf_fd lookup), positions are not evaluated
# independently (no ERANGE), and an empty bundle is not checked up front.
REMOVED = (
    "attach/replace-fd-closed", "attach/replace-not-prog", "attach/replace-type",
    "attach/before-missing", "attach/before-conflict", "attach/after-missing",
    "attach/after-conflict", "attach/relative-without-position",
    "detach/empty", "detach/prog-owner", "detach/before-missing", "detach/before-conflict",
    "detach/after-missing", "detach/after-conflict", "detach/relative-without-position",
    "detach/position-max",
)

DIALECT = linux.DIALECT.derive(
    "rfc",
    summary="the 2023 proposal (v2): sticky BPF_F_FIRST/BPF_F_LAST pins, BEFORE/AFTER at attach time",
    kernels="no kernel: the bpf-next v2 tcx series of 7 June 2023 (never merged; FIRST/LAST were "
            "dropped in v3)",
    changed=CHANGED,
    removed=REMOVED,
    flags=FLAGS,
    executor="checker.exec.rfc",
    encoding="checker.smt.rfc",
    kernel=None,
    since=(),
    query_flags=True,
    relative_union=True,
    revision_bits=32,
    spec="spec/rfc",
)
