"""The conformance suite's costs (mprog vectors, issue 10): generation per
dialect on the model (candidates, selection, vectors, z3 proofs of the
unreached pairs), against a baseline measured in the same run: replaying
the same vectors on the executor.  With root, also the kernel
confirmation (the Python backend, expedited RCU) and the emitted C test
(gcc -Wall -Werror, then the run).  Reports numbers; asserts nothing.

    python bench/bench_vectors.py [--dialect D ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from checker import dialects
from checker.exec import Executor
from checker.kernel import kernel_available
from checker.kernel.rcu import expedited_rcu
from checker.suite import generate as G
from checker.suite.confirm import confirm
from checker.syntax.vectors import schema_text


def replay_seconds(suite) -> float:
    t = time.perf_counter()
    for v in suite.vectors:
        ex = Executor(suite.dialect)
        for s in v.script.steps:
            ex.apply(s)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialect", action="append")
    args = ap.parse_args()
    names = args.dialect or list(dialects.names())
    suites, total, total_cpu = [], 0.0, 0.0
    print("generation on the model (candidates -> vectors; z3 for the pairs no vector reaches);")
    print(f"wall seconds, and this process's CPU seconds (the 2 cores are shared; load {os.getloadavg()[0]:.1f}):")
    for name in names:
        t, c = time.perf_counter(), time.process_time()
        s = G.generate_dialect(name)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        total += dt
        total_cpu += cpu
        suites.append(s)
        steps = sum(len(v.script.steps) for v in s.vectors)
        base = replay_seconds(s)
        print(f"  {name:14} {dt:6.1f} s ({cpu:5.1f} s CPU)  {len(s.vectors):5} vectors {steps:6} steps from {s.candidates:6} "
              f"candidates, {len(s.unreachable):3} pairs proved unreachable; replay of the same vectors "
              f"{base:.2f} s (x {dt / base:.0f})")
    print(f"  total          {total:6.1f} s ({total_cpu:5.1f} s CPU)")
    reason = kernel_available()
    if reason is not None:
        print(f"kernel: not measured ({reason})")
        return
    with expedited_rcu(True):
        for s in suites:
            c = confirm(s.dialect, s.vectors)
            if c.ran:
                print(f"kernel confirmation, {s.dialect}: {c.vectors} vectors, {c.steps} steps in "
                      f"{c.seconds:.1f} s (expedited RCU), {len(c.disagreements)} disagreements")
        gcc = shutil.which("gcc")
        if gcc is None:
            print("C test: gcc not installed")
            return
        with tempfile.TemporaryDirectory() as d:
            G_files = G.files(suites, schema_text(), G.readme(suites))
            for rel, text in G_files.items():
                os.makedirs(os.path.join(d, "suite", os.path.dirname(rel)), exist_ok=True)
                with open(os.path.join(d, "suite", rel), "w") as f:
                    f.write(text)
            from checker.suite.emit_c import emit
            text, n, _ = emit(os.path.join(d, "suite"))
            src, exe = os.path.join(d, "t.c"), os.path.join(d, "t")
            with open(src, "w") as f:
                f.write(text)
            t = time.perf_counter()
            subprocess.run([gcc, "-Wall", "-Werror", "-O1", "-o", exe, src], check=True)
            ct = time.perf_counter() - t
            t = time.perf_counter()
            p = subprocess.run([exe], capture_output=True, text=True)
            rt = time.perf_counter() - t
            print(f"C test: {len(text) // 1024} KiB of C, gcc -Wall -Werror -O1 {ct:.1f} s; run {rt:.1f} s "
                  f"(expedited RCU): {p.stdout.splitlines()[-1]}")


if __name__ == "__main__":
    sys.exit(main())
