"""Stopping ``mprog fuzz --expedited-rcu`` with SIGINT and SIGTERM, 20 trials
each (issue 9): every trial must exit 128 + signal within a second with the
one-line message, restore rcu_expedited and leave no namespace, program,
link or file (tests/kernel/stopping.py checks each).  Needs root and tcx.

    sudo .venv/bin/python bench/bench_signals.py [--trials 20] [--seed 1] [--dialect D ...]

``--dialect`` (repeatable; default linux): the campaign's dialect, e.g.
cgroup (its private cgroup subtree must be gone after the stop too).

Baseline in the same run: none needed; the figure is clean trials out of
trials, with the slowest stop.
"""
from __future__ import annotations

import argparse
import pathlib
import random
import signal
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "kernel"))

from checker.kernel import kernel_available  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dialect", action="append", help="fuzz dialect (repeatable; default linux)")
    args = ap.parse_args()
    reason = kernel_available()
    if reason is not None:
        print(f"kernel backend unavailable: {reason}")
        return 2
    from stopping import trial
    rng = random.Random(args.seed)
    failed = 0
    for dialect in args.dialect or ["linux"]:
        for sig in (signal.SIGINT, signal.SIGTERM):
            clean, t0 = 0, time.monotonic()
            for i in range(args.trials):
                with tempfile.TemporaryDirectory() as out:
                    problems = trial(sig, out, rng, dialect=dialect)
                if problems:
                    print(f"  {dialect} {sig.name} trial {i + 1}: {problems}", flush=True)
                clean += not problems
            failed += args.trials - clean
            print(f"{dialect} {sig.name}: {clean} of {args.trials} trials stopped cleanly (exit "
                  f"{128 + sig}, one-line message, rcu_expedited restored, nothing left; "
                  f"{time.monotonic() - t0:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
