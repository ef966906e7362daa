"""``mprog verify`` cost: equivalence time against the hook bound N, and the
BMC depth each invariant reaches within a wall-clock budget.

Prints numbers; asserts nothing.  The baseline is the N = 4 equivalence run
of the same process: the other rows are reported as a ratio to it, so the
growth with N is readable on any machine.

BMC depth in a budget: for each invariant, depths d = 1, 2, ... are checked
in order, each in a fresh solver (one solver per check) whose timeout is
what is left of the invariant's budget; the depth reported is the deepest d
whose check came back unsat (no counterexample with d requests) before the
budget ran out.  The universe is the one ``mprog verify`` uses: 4 programs,
2 links, one hook.

    python bench/bench_verify.py                  # N = 4, 8, 16, 32; 60 s per invariant
    python bench/bench_verify.py --n 4 8 63       # N = 63 alone takes ~7 min on 2 cores
    python bench/bench_verify.py --budget 10 --invariants INV-REV INV-MAX
    python bench/bench_verify.py --dialect rfc    # the rfc encoding and its invariants
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import z3  # noqa: E402

from checker import dialects  # noqa: E402
from checker.smt import encoding, invariant_table, verify_equivalence  # noqa: E402
from checker.smt import bmc  # noqa: E402


def equivalence_row(n: int, dialect: str = "linux") -> tuple[float, dict]:
    t0 = time.perf_counter()
    reports = verify_equivalence(n, dialect=dialect)
    dt = time.perf_counter() - t0
    tally: dict[str, int] = {}
    for r in reports:
        tally[r.status] = tally.get(r.status, 0) + 1
    return dt, tally


def depth_in_budget(inv: str, budget: float, max_depth: int, dialect: str = "linux") -> tuple[int, str, float]:
    """Deepest d (checked at d only; shallower depths were checked before it)."""
    t0 = time.perf_counter()
    reached, note = 0, "budget"
    for d in range(1, max_depth + 1):
        left = budget - (time.perf_counter() - t0)
        if left <= 0.5:
            break
        u = bmc.Unrolling(d, E=encoding(dialect))
        sv = u.bmc_solver(left)
        # a state invariant is checked on the state after d requests, a step
        # invariant on the d-th request (index d - 1)
        k = d if inv in bmc.STATE_INVS else d - 1
        sv.s.add(z3.Not(bmc.prop(u, inv, k)))
        res = sv.s.check()
        if res == z3.unsat:
            reached = d
            continue
        note = "VIOLATED" if res == z3.sat else "budget"
        break
    else:
        note = f"--max-depth {max_depth}"
    return reached, note, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="*", default=[4, 8, 16, 32],
                    help="hook bounds for the equivalence rows (default 4 8 16 32)")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per invariant (default 60)")
    ap.add_argument("--max-depth", type=int, default=40)
    ap.add_argument("--dialect", default="linux", choices=sorted(dialects.names()))
    ap.add_argument("--invariants", nargs="*", default=None,
                    help="invariant IDs (default: every invariant of the dialect)")
    args = ap.parse_args(argv)
    table = invariant_table(args.dialect)
    # INV-NO-LOCKOUT is one request over every hook (no BMC depth)
    invs = [i for i in (args.invariants if args.invariants is not None else table) if i != "INV-NO-LOCKOUT"]
    unknown = [i for i in invs if i not in table]
    if unknown:
        ap.error(f"unknown invariants for {args.dialect}: {', '.join(unknown)} (known: {', '.join(table)})")

    print(f"z3 {z3.get_version_string()}, dialect {args.dialect}")
    print("equivalence (mprog verify --only equivalence), one N per row:")
    base = None
    for n in args.n:
        dt, tally = equivalence_row(n, args.dialect)
        base = base or dt
        print(f"  N={n:<3} {dt:8.1f} s  x{dt / base:5.2f} of the first row   "
              + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    if invs:
        print(f"\nBMC depth reached in {args.budget:.0f} s per invariant (4 programs, 2 links):")
    for inv in invs:
        d, note, dt = depth_in_budget(inv, args.budget, args.max_depth, args.dialect)
        print(f"  {inv:<15} depth {d:<3} ({dt:5.1f} s; stopped by {note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
