"""UAPI constants (include/uapi/linux/bpf.h, linux dialect) and the hook maximum.

spec/constants.md carries the same table; tests/test_spec_xref.py checks that
they agree.
"""
from __future__ import annotations

# enum bpf_attach_type
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47
ATTACH_TYPE = {"ingress": BPF_TCX_INGRESS, "egress": BPF_TCX_EGRESS}

# enum bpf_prog_type
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "sched_act": 4, "xdp": 6}

# Attach flags (linux dialect).  ALLOW_OVERRIDE, ALLOW_MULTI and PREORDER are
# valid kernel flags that the mprog attach/detach mask rejects.
FLAGS = {
    "ALLOW_OVERRIDE": 1 << 0,
    "ALLOW_MULTI": 1 << 1,
    "REPLACE": 1 << 2,
    "BEFORE": 1 << 3,
    "AFTER": 1 << 4,
    "ID": 1 << 5,
    "PREORDER": 1 << 6,
    "LINK": 1 << 13,
}
REPLACE, BEFORE, AFTER, ID, LINK = (FLAGS[n] for n in ("REPLACE", "BEFORE", "AFTER", "ID", "LINK"))
# BPF_F_ATTACH_MASK_MPROG in kernel/bpf/syscall.c
MASK_MPROG = REPLACE | BEFORE | AFTER | ID | LINK
BPF_F_QUERY_EFFECTIVE = 1 << 0

# bpf_mprog_max(): BPF_MPROG_MAX (64) array slots minus the NULL terminator.
MPROG_MAX = 63

# The query array size when a request gives none ("count" absent: large
# enough); more than MPROG_MAX, so a query never truncates by default.
QUERY_DEFAULT_COUNT = 64


_BITS_CACHE: dict = {}


def flag_bits(flags: tuple) -> int:
    """OR together a step's flags (names or raw integer bits); memoised, as a
    sequence uses only a handful of distinct flag tuples."""
    bits = _BITS_CACHE.get(flags)
    if bits is None:
        bits = 0
        for f in flags:
            bits |= f if isinstance(f, int) else FLAGS[f]
        if len(_BITS_CACHE) < 4096:
            _BITS_CACHE[flags] = bits
    return bits
