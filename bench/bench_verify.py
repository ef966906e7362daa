"""``mprog verify`` cost, each figure as a ratio against a baseline measured
in the same run: the proofs' old path (a fresh solver per class, per
invariant, one z3 check per exhaustive case) against the shared, incremental
and batched path ``mprog verify`` runs now, and the growth with the hook
bound N against the N = 4 run.

Prints numbers; asserts nothing.  Every row gives wall seconds, CPU seconds
(user + sys of this process: z3 runs in it) and the 1-minute load average,
since the machine is shared.

Rows:

* equivalence at each ``--n`` (new path), as a multiple of the first N;
  at each ``--compare`` N also the representatives searched at N itself
  (``search_bound=0``, above twice SEARCH_BOUND) and the oldest path, a
  fresh solver per class (``shared=False``, up to ``--max-old``), each as
  a ratio to the new path;
* with ``--cli N``: the whole ``mprog verify --n-max N`` as a child
  process with ``--jobs 1`` and ``--jobs <cpus>``, wall and the children's
  CPU;
* invariants: BMC of every invariant to ``--depth`` the old way (a fresh
  solver per invariant with the whole tracked unrolling, one check per
  depth) against ``check_invariants(--depth)`` (one incremental solver,
  lemmas, plus the induction steps, which the old row leaves out);
* exhaustive: cases/s of one z3 check per case against the batched mode
  on ``--exhaustive-ops`` at N = 1, then the batched mode alone over every
  op at ``--exhaustive-n`` with the full alphabet.

    python bench/bench_verify.py                          # ~10 min on a loaded 2-core machine
    python bench/bench_verify.py --n 4 63 --compare 4 63  # the N = 63 row, lifted vs searched at N
    python bench/bench_verify.py --n --cli 63             # `mprog verify --n-max 63`, --jobs 1 and 2
    python bench/bench_verify.py --dialect rfc            # the rfc encoding and its invariants
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import z3  # noqa: E402

from checker import dialects  # noqa: E402
from checker.smt import encoding, invariant_table, verify_equivalence  # noqa: E402
from checker.smt import bmc  # noqa: E402
from checker.smt.equiv import ALPHABET, SEARCH_BOUND, default_alphabet, verify_exhaustive  # noqa: E402


def measured(fn):
    """(result, wall s, cpu s, load average at the end)."""
    c0, t0 = os.times(), time.perf_counter()
    out = fn()
    c1 = os.times()
    return out, time.perf_counter() - t0, (c1.user - c0.user) + (c1.system - c0.system), os.getloadavg()[0]


def measured_child(cmd: list):
    """(exit status, wall s, CPU s of the child and its workers, load average)."""
    c0, t0 = os.times(), time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, cwd=ROOT).returncode
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return rc, time.perf_counter() - t0, cpu, os.getloadavg()[0]


def fmt(wall: float, cpu: float, load: float) -> str:
    return f"{wall:8.1f} s wall {cpu:8.1f} s cpu  load {load:4.1f}"


def tally(reports) -> str:
    t: dict = {}
    for r in reports:
        t[r.status] = t.get(r.status, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(t.items()))


def old_bmc(depth: int, dialect: str, invs) -> dict:
    """The BMC as it was: per invariant a fresh solver holding the whole
    tracked unrolling, one push/check/pop per depth."""
    u, out = bmc.Unrolling(depth, E=encoding(dialect)), {}
    for inv in invs:
        sv = u.bmc_solver(None)
        off = 0 if inv in bmc.STATE_INVS else 1
        out[inv] = "proved"
        for k in range(depth + 1 - off):
            sv.s.push()
            sv.s.add(z3.Not(bmc.prop(u, inv, k)))
            res = sv.s.check()
            sv.s.pop()
            if res != z3.unsat:
                out[inv] = "violated" if res == z3.sat else "unknown"
                break
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="*", default=[4, 16], help="hook bounds, new path (default 4 16)")
    ap.add_argument("--compare", type=int, nargs="*", default=[4], help="bounds also run the old way (default 4)")
    ap.add_argument("--max-old", type=int, default=16,
                    help="largest --compare bound also run the oldest way, a fresh solver per class "
                         "(default 16; N = 63 takes ~30 min)")
    ap.add_argument("--cli", type=int, default=None, metavar="N",
                    help="also time the whole `mprog verify --n-max N` with --jobs 1 and --jobs <cpus>")
    ap.add_argument("--depth", type=int, default=5, help="BMC depth of the old-vs-new invariant rows (default 5)")
    ap.add_argument("--exhaustive-ops", nargs="*", default=["detach", "link_detach", "close", "query"])
    ap.add_argument("--exhaustive-n", type=int, default=2, help="-1: skip the full exhaustive row")
    ap.add_argument("--dialect", default="linux", choices=sorted(dialects.names()))
    args = ap.parse_args(argv)
    d = args.dialect
    print(f"z3 {z3.get_version_string()}, dialect {d}, {os.cpu_count()} cpus")

    print("\nequivalence (mprog verify --only equivalence), one N per row:")
    base = None
    for n in args.n:
        rs, wall, cpu, load = measured(lambda: verify_equivalence(n, dialect=d))
        base = base or wall
        print(f"  N={n:<3} new {fmt(wall, cpu, load)}  x{wall / base:5.2f} of N={args.n[0]}   {tally(rs)}")
        if n in args.compare and n > 2 * SEARCH_BOUND:
            # the representatives searched at N itself, as before the lifted search
            rs0, wall0, cpu0, load0 = measured(lambda: verify_equivalence(n, dialect=d, search_bound=0))
            same = [(r.case, r.status) for r in rs0] == [(r.case, r.status) for r in rs]
            print(f"  N={n:<3} search at N {fmt(wall0, cpu0, load0)}  searched-at-N/lifted wall "
                  f"x{wall0 / wall:.2f}, cpu x{cpu0 / cpu:.2f}; same verdicts: {same}")
        if n in args.compare and n <= args.max_old:
            rs0, wall0, cpu0, load0 = measured(lambda: verify_equivalence(n, dialect=d, shared=False))
            same = [(r.case, r.status) for r in rs0] == [(r.case, r.status) for r in rs]
            print(f"  N={n:<3} old {fmt(wall0, cpu0, load0)}  old/new wall x{wall0 / wall:.2f}, "
                  f"cpu x{cpu0 / cpu:.2f}; same verdicts: {same}")

    if args.cli is not None:
        cpus = len(os.sched_getaffinity(0))
        print(f"\nmprog verify --n-max {args.cli} --dialect {d} (the whole command, a child process):")
        walls = {}
        for jobs in sorted({1, cpus}):
            cmd = [sys.executable, "-c", "import sys; from checker.cli import main; sys.exit(main())",
                   "verify", "--n-max", str(args.cli), "--dialect", d, "--jobs", str(jobs)]
            rc, wall, cpu, load = measured_child(cmd)
            walls[jobs] = wall
            print(f"  --jobs {jobs}  {fmt(wall, cpu, load)}  exit {rc}")
        if len(walls) > 1:
            print(f"  --jobs 1 / --jobs {cpus} wall x{walls[1] / walls[cpus]:.2f}")

    invs = [i for i in invariant_table(d) if i != "INV-NO-LOCKOUT"]
    if invs:
        print(f"\ninvariants, BMC to depth {args.depth} (4 programs, 2 links):")
        old, wall0, cpu0, load0 = measured(lambda: old_bmc(args.depth, d, invs))
        print(f"  old BMC only            {fmt(wall0, cpu0, load0)}   " +
              ", ".join(f"{s} {sum(v == s for v in old.values())}" for s in sorted(set(old.values()))))
        rs, wall, cpu, load = measured(lambda: bmc.check_invariants(args.depth, dialect=d))
        bmc_s = sum(r.seconds for r in rs if r.op == "bmc")
        print(f"  new BMC + induction     {fmt(wall, cpu, load)}   {tally(rs)}; its BMC part {bmc_s:.1f} s: "
              f"old/new BMC wall x{wall0 / bmc_s:.1f}")

    if not dialects.get(d).encoding or getattr(encoding(d), "PROOFS", None):
        return 0
    print("\nexhaustive (every state and request of the alphabet):")
    ops = tuple(args.exhaustive_ops)
    rows = {}
    for batch in (False, True):
        rs, wall, cpu, load = measured(lambda: verify_exhaustive(1, ops=ops, dialect=d, batch=batch))
        cases = sum(r.reps for r in rs)
        rows[batch] = cases / wall
        print(f"  N=1 {'batched' if batch else 'per case'} {','.join(ops)}: {cases} cases {fmt(wall, cpu, load)} "
              f"{cases / wall:8.0f} cases/s  {tally(rs)}")
    print(f"  batched/per-case cases/s x{rows[True] / rows[False]:.1f}")
    if args.exhaustive_n >= 0:
        k = args.exhaustive_n
        a = ALPHABET if d == "linux" else default_alphabet(d, 0)
        rs, wall, cpu, load = measured(lambda: verify_exhaustive(k, dialect=d, alphabet=a))
        cases = sum(r.reps for r in rs)
        print(f"  N={k} batched, every op, full alphabet: {cases} cases {fmt(wall, cpu, load)} "
              f"{cases / wall:8.0f} cases/s  {tally(rs)}")
        for r in rs:
            print(f"    {r.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
