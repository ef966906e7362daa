"""Core benchmarks: executor requests/s, parser lines/s, peak memory of `run`
on a 1,000,000-line script.  Reports numbers; asserts nothing.

    python bench/bench_core.py [--requests N] [--lines N]

Baselines measured in the same run: the executor is compared with a bare
loop that only dispatches the same steps to a no-op (the floor of any
Python executor), the parser with ``str.split`` over the same lines.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from checker.exec import Executor
from checker.model import Raw, Step
from checker.syntax.render import render_step
from checker.syntax.script import parse_line


def random_stream(n: int, seed: int = 1) -> list[Step]:
    """A seeded stream over 2 devices, 8 programs and 2 links, mixing every op."""
    rng = random.Random(seed)
    progs = [f"p{i}" for i in range(8)]
    steps = [Step("dev_add", dev="d0"), Step("dev_add", dev="d1")] + [Step("load", prog=p) for p in progs]
    links = []
    while len(steps) < n:
        r = rng.random()
        dev, dir = rng.choice(("d0", "d1")), rng.choice(("ingress", "egress"))
        rel = rng.choice(progs + links + [None, None, Raw(999999)])
        flags = tuple(rng.choice([(), ("BEFORE",), ("AFTER",), ("BEFORE", "ID"), ("AFTER", "LINK")]))
        rev = rng.choice((0, 0, 0, rng.randint(1, 40)))
        if r < 0.45:
            steps.append(Step("attach", dev=dev, dir=dir, prog=rng.choice(progs), flags=flags, relative=rel,
                              expected_revision=rev))
        elif r < 0.80:
            steps.append(Step("detach", dev=dev, dir=dir, prog=rng.choice(progs + [None]), flags=flags,
                              relative=rel))
        elif r < 0.95:
            steps.append(Step("query", dev=dev, dir=dir))
        elif len(links) < 2:
            name = f"l{len(links)}"
            links.append(name)
            steps.append(Step("link_create", link=name, prog=rng.choice(progs), dev=dev, dir=dir))
        else:
            steps.append(Step("link_update", link=rng.choice(links), prog=rng.choice(progs)))
    return steps


def bench_executor(n: int) -> tuple[float, float]:
    steps = random_stream(n)
    ex = Executor()
    t = time.perf_counter()
    for s in steps:
        ex.apply(s)
    model = n / (time.perf_counter() - t)
    sink = {}.get
    t = time.perf_counter()
    for s in steps:
        sink(s.op)
    floor = n / (time.perf_counter() - t)
    return model, floor


def bench_parser(n: int) -> tuple[float, float]:
    lines = [render_step(s) for s in random_stream(n, seed=2)]
    t = time.perf_counter()
    for i, line in enumerate(lines):
        parse_line(line, "<bench>", i)
    rate = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for line in lines:
        line.split()
    split = n / (time.perf_counter() - t)
    return rate, split


def bench_memory(lines: int) -> list[tuple[int, float]]:
    """Peak RSS of `python -m checker run` on scripts of growing length."""
    out = []
    for n in (lines // 10, lines):
        with tempfile.NamedTemporaryFile("w", suffix=".mprog", delete=False) as f:
            for s in random_stream(n, seed=3):
                f.write(render_step(s) + " => ok\n" if s.op in ("dev_add", "load") else render_step(s) + "\n")
            path = f.name
        # VmHWM of the child itself: ru_maxrss would carry this (large)
        # parent's size across fork+exec on Linux.
        code = ("import sys,contextlib;import checker.cli as c\n"
                "with contextlib.redirect_stdout(open('/dev/null','w')): c.main(['run', sys.argv[1]])\n"
                "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
        r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
        os.unlink(path)
        out.append((n, int(r.stdout.strip().splitlines()[-1]) / 1024))
    return out


def bench_loads(n: int = 100_000) -> tuple[float, float]:
    """In-process `mprog run` on n/10 and n `load` lines (the world grows by
    one program per line): seconds each.  Linear means a ratio near 10."""
    import contextlib
    from checker.cli import main as cli
    times = []
    for k in (n // 10, n):
        with tempfile.NamedTemporaryFile("w", suffix=".mprog", delete=False) as f:
            f.write("dev_add d0\n" + "".join(f"load p{i} => ok\n" for i in range(k)))
            path = f.name
        t0 = time.perf_counter()
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            cli(["run", path])
        times.append(time.perf_counter() - t0)
        os.unlink(path)
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    a = ap.parse_args()
    model, floor = bench_executor(a.requests)
    print(f"executor: {model:,.0f} requests/s on a seeded random stream of {a.requests:,} "
          f"(target >= 300,000/s; dispatch-only floor {floor:,.0f}/s, ratio {model / floor:.3f})")
    rate, split = bench_parser(min(a.requests, 200_000))
    print(f"parser:   {rate:,.0f} lines/s (target >= 100,000/s; str.split floor {split:,.0f}/s, "
          f"ratio {rate / split:.3f})")
    for n, mib in bench_memory(a.lines):
        print(f"memory:   mprog run on a {n:,}-line script: peak RSS {mib:.1f} MiB")
    small, big = bench_loads()
    print(f"scaling:  mprog run on 10,000 / 100,000 load lines: {small:.2f} s / {big:.2f} s, "
          f"ratio {big / small:.1f} (linear: 10)")


if __name__ == "__main__":
    main()
