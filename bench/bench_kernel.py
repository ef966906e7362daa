"""Kernel backend throughput vs a minimal raw-ctypes loop issuing the same
bpf(2) syscalls, measured in the same run, with and without expedited RCU.
Reports numbers; asserts nothing.  Needs root and tcx.

    python bench/bench_kernel.py [--requests N] [--slow-requests N]

The stream: attach 8 programs one after the other (append), query, detach
them front to back, query; repeated.  Every mutation succeeds, so both sides
pay the same synchronize_rcu() per change.  The baseline fills one
preallocated attr buffer with struct.pack_into and calls syscall(2) directly
on pre-resolved fds and ifindex: the floor of any Python backend.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import struct
import sys
import time

from checker.kernel import KernelBackend, kernel_available
from checker.kernel import bpf
from checker.kernel.netns import Devices, new_netns
from checker.kernel.rcu import expedited_rcu
from checker.model import Step

N_PROGS = 8


def stream(n: int) -> list[Step]:
    progs = [f"p{i}" for i in range(N_PROGS)]
    out = []
    while len(out) < n:
        out += [Step("attach", prog=p, dev="d0", dir="ingress") for p in progs]
        out.append(Step("query", dev="d0", dir="ingress"))
        out += [Step("detach", prog=p, dev="d0", dir="ingress") for p in progs]
        out.append(Step("query", dev="d0", dir="ingress"))
    return out[:n]


def run_backend(steps) -> float:
    with KernelBackend() as k:
        k.apply(Step("dev_add", dev="d0"))
        for i in range(N_PROGS):
            k.apply(Step("load", prog=f"p{i}"))
        with k.session():
            t = time.perf_counter()
            for s in steps:
                o = k.apply(s)
                if o.errno != "ok":
                    raise SystemExit(f"unexpected {o.errno} for {s}")
            return len(steps) / (time.perf_counter() - t)


def run_raw(steps) -> float:
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    nr_bpf = bpf._SYS_BPF[platform.machine()]     # the raw loop calls syscall(2) itself
    buf = ctypes.create_string_buffer(160)
    ids = (ctypes.c_uint32 * 64)()
    with new_netns() as ns:          # the thread stays inside for the whole loop
        devs = Devices(ns)
        fds = {}
        try:
            ifindex, err = devs.add("d0")
            for i in range(N_PROGS):
                fd, err = bpf.prog_load(bpf.PROG_TYPE["sched_cls"])
                fds[f"p{i}"] = fd
            plan = []
            for s in steps:
                if s.op == "query":
                    plan.append((bpf.BPF_PROG_QUERY, 0))
                else:
                    plan.append((bpf.BPF_PROG_ATTACH if s.op == "attach" else bpf.BPF_PROG_DETACH,
                                 fds[s.prog]))
            ids_addr = ctypes.addressof(ids)
            t = time.perf_counter()
            for cmd, fd in plan:
                ctypes.memset(buf, 0, 160)
                if cmd == bpf.BPF_PROG_QUERY:
                    struct.pack_into("IIIIQI", buf, 0, ifindex, bpf.BPF_TCX_INGRESS, 0, 0, ids_addr, 64)
                else:
                    struct.pack_into("III", buf, 0, ifindex, fd, bpf.BPF_TCX_INGRESS)
                if syscall(nr_bpf, cmd, buf, 160) < 0:
                    raise SystemExit(f"raw loop: errno {ctypes.get_errno()}")
            return len(plan) / (time.perf_counter() - t)
        finally:
            for fd in fds.values():
                if fd is not None:
                    os.close(fd)
            devs.close()


def require_kernel() -> None:
    """Exit 2 with the reason when this machine cannot run the kernel backend."""
    reason = kernel_available()
    if reason:
        print(f"kernel backend unavailable: {reason}", file=sys.stderr)
        raise SystemExit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=6000, help="requests per side, expedited RCU")
    ap.add_argument("--slow-requests", type=int, default=180, help="requests per side, normal RCU")
    a = ap.parse_args()
    require_kernel()
    for label, n, fast in (("normal RCU", a.slow_requests, False), ("expedited RCU", a.requests, True)):
        steps = stream(n)
        with expedited_rcu(fast):
            raw = run_raw(steps)
            backend = run_backend(steps)
        print(f"{label:14}: backend {backend:,.0f} requests/s, raw ctypes loop {raw:,.0f} requests/s, "
              f"ratio {backend / raw:.2f} (target >= 0.6; {n:,} requests each)")


if __name__ == "__main__":
    main()
