"""The linux-6.6-rc dialect: mainline bpf_mprog / tcx before the 6.6-rc fixes
(spec/linux-6.6-rc/), a delta over ``linux``.

The core as first merged (kernel/bpf/mprog.c@053c8e1f235d, tcx.c@24cc7564e0de)
differs from mainline in exactly three places, each fixed by one commit:

* f9b0e1088bbf (6.6-rc5): the hook maximum was checked only on the target
  index after the position rules, so an insertion before a program, or after
  one that is not last, made a full hook hold 64 programs;
* d210f9735e13 (before 6.6-rc1): detach from an empty bundle (kept by a
  clsact qdisc) read outside the list;
* edfa9af0a73e (6.6-rc6): a query of a hook without a bundle failed with
  ENOENT.

No running kernel implements it here (``kernel=None``): it is a model of a
past kernel, for ``mprog dialects diff`` and as the example of a delta.
"""
from __future__ import annotations

from .linux import DIALECT as LINUX

DIALECT = LINUX.derive(
    "linux-6.6-rc",
    summary="bpf_mprog/tcx before the 6.6-rc fixes: full-hook overflow, empty-bundle detach, "
            "no-bundle query ENOENT",
    kernels="bpf-next from 053c8e1f235d (Jul 2023) to Linux 6.6-rc4 (the empty-bundle detach: "
            "until d210f9735e13, before 6.6-rc1)",
    changed={
        "attach/full": "ERANGE",         # f9b0e1088bbf: only the target index is checked
        "hook/overfull": "UNDEFINED",    # f9b0e1088bbf: what the 64th program leaves behind
        "detach/empty": "UNDEFINED",     # d210f9735e13
        "query/no-entry": "ENOENT",      # edfa9af0a73e
    },
    executor="checker.exec.linux_66rc",
    encoding="checker.smt.linux_66rc",
    kernel=None,
    spec="spec/linux-6.6-rc",
)
