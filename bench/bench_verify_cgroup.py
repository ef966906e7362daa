"""``mprog verify --dialect cgroup`` cost: class checks against the list
bound N, the exhaustive mode, and the BMC depth each invariant reaches in a
wall-clock budget (checker.smt.cgroup_verify, checker.smt.cgroup_bmc).

Prints numbers; asserts nothing.  The baseline is the N = 4 class run of the
same process: the other rows are reported as a ratio to it.

BMC depth in a budget: per invariant, one incremental solver checks depths
0, 1, 2, ... in order (each proved depth kept as a lemma), the timeout of each
check being what is left of the invariant's budget; the depth reported is
the deepest one proved before the budget ran out.

    python bench/bench_verify_cgroup.py                    # N = 4, 16, 64; 120 s per invariant
    python bench/bench_verify_cgroup.py --n 4 --budget 30 --exhaustive-depth 1
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import z3  # noqa: E402

from checker.smt import cgroup_bmc as B  # noqa: E402
from checker.smt import cgroup_verify as V  # noqa: E402


def classes_row(n: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    tally: dict[str, int] = {}
    for r in V.verify_classes(n):
        tally[r.status] = tally.get(r.status, 0) + 1
    return time.perf_counter() - t0, tally


def bmc_depth(inv: str, budget: float, max_depth: int) -> int:
    """The deepest BMC depth proved for ``inv`` within ``budget`` seconds."""
    deadline = time.perf_counter() + budget
    u = B.Unrolling(max_depth)
    s = z3.Solver()
    s.add(u.init())
    reached = -1
    for t in range(0 if inv in B.STATE_INVARIANTS else 1, max_depth + 1):
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        s.set("timeout", max(1, int(left * 1000)))
        if t:
            s.add(u.transition(t - 1))
        if s.check(B._bad(inv, u, t)) != z3.unsat:
            break
        reached = t
        s.add(z3.Not(B._bad(inv, u, t)))
    return reached


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per invariant")
    ap.add_argument("--max-depth", type=int, default=8)
    ap.add_argument("--exhaustive-depth", type=int, default=1)
    ap.add_argument("--invariants", nargs="*", default=list(B.INVARIANTS))
    a = ap.parse_args()
    print(f"z3 {z3.get_version_string()}")
    print("classes (mprog verify --dialect cgroup --only equivalence), one N per row:")
    base = None
    for n in a.n:
        dt, tally = classes_row(n)
        base = base or dt
        print(f"  N={n:<3} {dt:8.1f} s  x {dt / base:5.2f} of the first row   "
              + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())), flush=True)
    t0 = time.perf_counter()
    [r] = V.verify_exhaustive(1, depth=a.exhaustive_depth)
    print(f"exhaustive k=1 depth={a.exhaustive_depth}: {r.status}, {r.detail} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"BMC depth reached in {a.budget:.0f} s per invariant "
          f"(2 cgroups, 3 programs, 2 links, lists of 5):")
    for inv in a.invariants:
        print(f"  {inv:<18} depth {bmc_depth(inv, a.budget, a.max_depth)}", flush=True)


if __name__ == "__main__":
    main()
