"""Differential fuzzing end to end against the kernel's own rate, in one
run: the raw ctypes loop of bench_kernel.py (attach/query/detach through
syscall(2), the floor of any Python backend) and ``run_campaign`` (what
``mprog fuzz`` runs: generation, the executor, the kernel backend, the
comparison, the coverage bookkeeping, the restore between sequences),
back to back, with expedited RCU, in this process.  Reports the ratio
(issue 13's acceptance: >= 0.25) and rules reached vs requests; asserts
nothing.  Needs root and tcx.

    python bench/bench_fuzz.py [--requests N] [--seed S] [--rounds R] [--jobs J]

Each round measures raw, then fuzz, then raw again and divides by the mean
of the two raw rates (the machine is shared: the load drifts).  ``--jobs J``
also runs J campaigns in parallel processes (checker.fuzz.parallel) and
reports their combined rate against one.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_kernel import require_kernel, run_raw, stream  # noqa: E402

from checker.fuzz.campaign import run_campaign  # noqa: E402
from checker.kernel.rcu import expedited_rcu  # noqa: E402

RAW_REQUESTS = 20000
MILESTONES = (500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1000000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50000, help="fuzz requests per round")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0, help="also run this many campaigns in parallel")
    a = ap.parse_args()
    require_kernel()
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared)")
    steps = stream(RAW_REQUESTS)
    ratios = []
    with expedited_rcu(True):
        for r in range(a.rounds):
            raw1 = run_raw(steps)
            s = run_campaign(a.seed + r, a.requests, 3600)
            raw2 = run_raw(steps)
            raw = (raw1 + raw2) / 2
            ratios.append(s.rps / raw)
            print(f"round {r + 1}: fuzz {s.rps:,.0f} requests/s end to end ({s.requests:,} requests, "
                  f"{s.elapsed:.1f} s, {s.divergences} divergences), raw ctypes loop {raw:,.0f}/s "
                  f"({raw1:,.0f} before, {raw2:,.0f} after): ratio {s.rps / raw:.3f} (target >= 0.25)")
            print(f"         inside the kernel backend {s.kernel_rps:,.0f} requests/s; "
                  f"{s.setup_requests:,} set-up and {s.restore_requests:,} restore requests besides; "
                  f"{s.namespaces} namespace(s)")
            reach = ", ".join(f"{s.rules_at(m)} by {m:,}" for m in MILESTONES if m <= s.requests)
            print(f"         rules reached {len(s.rules_covered)}/{s.rules_total} (all of them by request "
                  f"{s.all_rules_at:,}); {reach}; (rule, errno, boundary) cells {len(s.cells)}")
        if a.jobs:
            from checker.fuzz.parallel import run_parallel
            raw1 = run_raw(steps)
            one = run_campaign(a.seed, a.requests, 3600)
            many, parts = run_parallel(a.seed, a.requests * a.jobs, 3600, jobs=a.jobs)
            raw2 = run_raw(steps)
            raw = (raw1 + raw2) / 2
            inside = sum(p.rps for p in parts)
            print(f"parallel: 1 campaign {one.rps:,.0f} requests/s; {a.jobs} campaigns "
                  f"{many.requests / many.elapsed:,.0f} requests/s together, wall clock with the "
                  f"workers' start-up (x{(many.requests / many.elapsed) / one.rps:.2f}), "
                  f"{inside:,.0f} requests/s summed over the workers' own run times "
                  f"(x{inside / one.rps:.2f}); raw ctypes loop {raw:,.0f}/s; "
                  f"{many.divergences} divergences; rules {len(many.rules_covered)}/{many.rules_total}")
    print(f"ratio fuzz / raw: min {min(ratios):.3f}, max {max(ratios):.3f}")


if __name__ == "__main__":
    main()
