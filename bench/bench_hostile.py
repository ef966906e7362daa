"""The long hostile-input campaign (issue 9): mutated scripts, vectors and
directive files through the real command line, judged like the CI harness
(tests/hostile.py): exit status in {0, 1, 2, 3}, no traceback, no output
file changed by a failed command, every file:line:col inside the file, no
input slower than 10 s.  Reports the figures; exits 1 if any input failed
the judge (and prints the first failures).

    python bench/bench_hostile.py [--inputs 100000] [--seed 1] [--max-seconds S]

``--max-seconds``: stop after the input running when S seconds have passed
and report the inputs run so far (the report says it stopped early).  On a
shared machine a deadline gives an exact partial figure instead of none;
a progress line with the running tally is printed every ``--every`` inputs.

Baseline measured in the same run: the same commands on the unmutated seed
files (seconds per input), so the mutated inputs' cost reads as a ratio.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time
from random import Random

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

import hostile  # noqa: E402

KINDS = ("mprog", "json", "dirs")
WEIGHTS = (45, 45, 10)          # directive files cost a z3 solve each: fewer of them


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=0, help="time budget (0: none)")
    ap.add_argument("--every", type=int, default=10_000, help="progress line every N inputs")
    args = ap.parse_args()
    corpus = hostile.seed_corpus()
    work = tempfile.mkdtemp(prefix="mprog-hostile-")

    base = hostile.Tally()
    t0 = time.perf_counter()
    try:
        for kind in KINDS:
            for data in corpus[kind]:
                hostile.judge(base, kind, data, work, "seed")
    except KeyboardInterrupt:
        print("STOPPED by a signal while measuring the baseline: no figure")
        return 1
    base_s = (time.perf_counter() - t0) / base.inputs

    rng = Random(args.seed)
    t = hostile.Tally()
    per_kind = dict.fromkeys(KINDS, 0)
    t0 = time.perf_counter()
    why = ""
    try:
        for i in range(args.inputs):
            if args.max_seconds and time.perf_counter() - t0 > args.max_seconds:
                why = f"at the {args.max_seconds:.0f} s budget"
                break
            kind = rng.choices(KINDS, WEIGHTS)[0]
            data = hostile.mutate(rng, kind, rng.choice(corpus[kind]), corpus[kind])
            hostile.judge(t, kind, data, work, f"input {i}")
            per_kind[kind] += 1
            if (i + 1) % args.every == 0:
                print(f"  {i + 1:,} inputs, {time.perf_counter() - t0:.0f} s: tracebacks {t.tracebacks}, "
                      f"hangs {t.hangs}, changed outputs {t.changed_outputs}, bad positions "
                      f"{t.bad_positions}, failing {len(t.failures)}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        why = "by a signal (the input it was running is not counted)"
        t.inputs = sum(per_kind.values())
    elapsed = time.perf_counter() - t0
    stopped_early = bool(why)
    if stopped_early:
        print(f"STOPPED EARLY {why}: {t.inputs:,} of {args.inputs:,} inputs run")
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(t.by_status.items()))
    print(f"hostile inputs: {t.inputs:,} ({', '.join(f'{k} {v:,}' for k, v in per_kind.items())}), "
          f"{t.commands:,} commands, seed {args.seed}, {elapsed:.0f} s")
    print(f"  exit statuses: {statuses}")
    print(f"  tracebacks {t.tracebacks}, hangs over {hostile.HANG_S:.0f} s {t.hangs}, changed output "
          f"files {t.changed_outputs}, positions outside the file {t.bad_positions}, other failures "
          f"{len(t.failures) - t.tracebacks - t.hangs - t.changed_outputs - t.bad_positions}")
    print(f"  slowest input {t.slowest_s:.2f} s; {elapsed / t.inputs * 1000:.1f} ms per input "
          f"(unmutated seeds: {base_s * 1000:.1f} ms, ratio {elapsed / t.inputs / base_s:.2f})")
    for label, kind, cmd, problems, data, err in t.failures[:5]:
        print(f"FAILED {label} ({kind}): {cmd}: {problems[:3]}\n  input: {data[:300]!r}\n  {err[-600:]}")
    return 0 if t.ok and base.ok and not stopped_early else 1


if __name__ == "__main__":
    sys.exit(main())
