"""Stopping ``mprog fuzz --expedited-rcu`` with SIGINT and SIGTERM, 20 trials
each (issue 9): every trial must exit 128 + signal within a second with the
one-line message, restore rcu_expedited and leave no namespace, program,
link or file (tests/kernel/stopping.py checks each).  Needs root and tcx.

    sudo .venv/bin/python bench/bench_signals.py [--trials 20] [--seed 1] [--dialect D ...]

``--dialect`` (repeatable; default linux): the campaign's dialect, e.g.
cgroup (its private cgroup subtree must be gone after the stop too).

"Nothing left" is checked on what the run itself held: every program,
link and network namespace it had an fd of (polled from /proc until the
signal) must be gone, and rcu_expedited must be back at the value the
shared record demands (1 while another run holds it).  That holds on a
machine shared with other kernel runs; ``--system-wide`` adds the stricter
comparison of every BPF object and namespace of the machine before and
after, meaningful only when nothing else creates any meanwhile.

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
    ap.add_argument("--system-wide", action="store_true",
                    help="also compare the machine's BPF objects and namespaces (an idle machine only)")
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
                    problems = trial(sig, out, rng, system_wide=args.system_wide, dialect=dialect)
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
