"""``mprog matrix``: the same scripts and vectors on several kernels (Debian's
in QEMU guests, and the host's), a per-kernel table, and every step on
which the kernels differ from each other or from the model (checker.matrix);
with ``--fuzz``, a differential fuzz campaign (``mprog fuzz``) on each.

Exit status: 0 every kernel that ran the files agrees with the model on
every step and every expectation holds, and no campaign diverged (a kernel
that could not be fetched or booted is listed as unavailable, with the
reason, and does not fail the run); 1 a difference, a failed expectation or
a divergence (written to --out); 2 bad input or options.
"""
from __future__ import annotations

import os
import sys
import time

from .common import EXIT_FAIL, EXIT_OK, check_output, count, positive_seconds, write_atomically

KERNELS_HELP = ("comma-separated kernels: 6.1 and 6.12 (the newest Debian bookworm offers), newest "
                "(the newest Debian offers, sid), host (the running kernel, no guest), an exact "
                "Debian kernel version (6.12.95, 6.1.0-57, 7.2.13), or the path of a kernel image; "
                "default 6.1,6.12,host,newest")


def _answer(a) -> str:
    from ..runner import outcome_summary
    from ..matrix.run import _outcome
    return "(no answer: the run stopped)" if a is None else outcome_summary(_outcome(a))


def print_matrix(m, out, err, seconds: float) -> int:
    """The table, the refusals and the differences; returns the exit status."""
    from rich.console import Console
    from rich.table import Table

    from ..syntax.render import render_step
    console = Console(file=out, width=160)
    t = Table(title=f"mprog matrix: {len(m.files)} files, {sum(len(f.steps) for f in m.files)} steps")
    for col, just in (("kernel", "left"), ("uname -r", "left"), ("status", "left"), ("files run", "right"),
                      ("refused", "right"), ("steps", "right"), ("≠ model", "right"),
                      ("failed expectations", "right"), ("seconds", "right")):
        t.add_column(col, justify=just)
    failing = 0
    for k in m.kernels:
        c = m.counts(k)
        secs = k.seconds.get("total")
        if k.status != "ran":
            t.add_row(k.spec, k.release or "-", k.status, "-", "-", "-", "-", "-",
                      f"{secs:.0f}" if secs else "-")
            continue
        failing += c["unlike_model"] + c["failed"] + c["missing"] + c["undescribed"]
        t.add_row(k.spec, k.release or "?", "ran" if not c["missing"] else f"ran, {c['missing']} not reached",
                  str(c["ran"]), str(c["refused"]), str(c["steps"]), str(c["unlike_model"]),
                  str(c["failed"]), f"{secs:.0f}" if secs else "-")
    console.print(t)
    for k in m.kernels:
        if k.status != "ran":
            print(f"{k.spec}: {k.status}: {k.reason}", file=out)
            continue
        if m.counts(k)["undescribed"]:
            print(f"{k.spec}: {m.counts(k)['undescribed']} files ran although their dialect does not "
                  f"describe {k.release} (Dialect.since): the version data is wrong", file=out)
        for reason, (n, described) in sorted(m.refusals(k).items()):
            note = (" (its dialect describes this release: a kernel built without the feature)"
                    if described else "")
            print(f"{k.spec}: {n} file{'s' * (n != 1)} refused{note}: {reason}", file=out)
    diffs = m.differences()
    if diffs:
        print(f"\n{len(diffs)} step{'s' * (len(diffs) != 1)} on which the answers differ:", file=out)
        for d in diffs:
            print(f"{d.path}:{d.step.line}: step {d.index}: {render_step(d.step)}", file=out)
            width = max(len(c) for c in d.answers)
            for col, a in d.answers.items():
                print(f"    {col:<{width}}  {_answer(a)}", file=out)
    else:
        ran = [k.spec for k in m.kernels if k.status == "ran" and m.counts(k)["ran"]]
        print(f"\nno differences: every step equal on {', '.join(ran + ['the model'])}", file=out)
    print(f"({seconds:.0f} s)", file=err)
    return EXIT_FAIL if failing or diffs else EXIT_OK


def matrix_json(m) -> dict:
    """Everything a run found, for machines: per kernel its spec, the
    kernel's own uname -r, status and reason, and per file its status and
    every step's answer; the model's answers; the differences."""
    return {
        "files": [{"path": f.path, "dialect": f.dialect, "model": f.outcomes} for f in m.files],
        "kernels": [{"spec": k.spec, "release": k.release, "status": k.status, "reason": k.reason,
                     "seconds": k.seconds, "counts": m.counts(k),
                     "files": [{"path": r.path, "dialect": r.dialect, "status": r.status,
                                "reason": r.reason, "steps": r.steps} for r in k.files.values()]}
                    for k in m.kernels],
        "differences": [{"path": d.path, "index": d.index, "line": d.step.line, "answers": d.answers}
                        for d in m.differences()],
    }


def print_fuzz(m, args, out) -> int:
    """One row per kernel of the campaign; divergences written to --out.
    Returns the number of kernels on which the campaign diverged."""
    from rich.console import Console
    from rich.table import Table
    console = Console(file=out, width=160)
    t = Table(title=f"mprog fuzz --dialect {args.dialect} --seed {args.seed}, on each kernel")
    for col in ("kernel", "uname -r", "status", "requests", "sequences", "successful mutations",
                "divergences", "rules covered", "kernel requests/s", "elapsed s"):
        t.add_column(col, justify="left" if col in ("kernel", "uname -r", "status") else "right")
    diverged = 0
    notes = []
    for k in m.kernels:
        f = k.fuzz
        if k.status != "ran" or f is None or f["status"] != "ran":
            reason = k.reason if k.status != "ran" else (f or {}).get("reason", "no campaign result")
            t.add_row(k.spec, k.release or "-", k.status if k.status != "ran" else "refused",
                      *(["-"] * 7))
            notes.append(f"{k.spec}: {reason}")
            continue
        t.add_row(k.spec, k.release or "?", "ran", str(f["requests"]), str(f["sequences"]),
                  str(f["mutations"]), str(f["divergences"]), f"{len(f['rules_covered'])}/{f['rules_total']}",
                  f"{f['kernel_rps']:.0f}", f"{f['elapsed']:.1f}")
        from .. import dialects
        missing = sorted(set(dialects.get(f["dialect"]).rules) - set(f["rules_covered"]))
        if missing:
            notes.append(f"{k.spec}: rules not reached: {', '.join(missing)}")
        if f["divergence"] is not None:
            diverged += 1
            for path in _write_divergence(k, f, args):
                notes.append(f"{k.spec}: divergence written to {path}")
    console.print(t)
    for n in notes:
        print(n, file=out)
    return diverged


def _write_divergence(k, f, args) -> list:
    """The kernel's minimal divergence as mprog fuzz writes one (script
    with the kernel's answers as expectations, and its vector): the steps
    are read back from their script lines, the model's answers recomputed."""
    from ..exec import Executor
    from ..fuzz.campaign import Divergent, Summary
    from ..matrix.run import _outcome
    from ..syntax.script import read_script
    from .fuzz import write_divergence
    d = f["divergence"]
    script = read_script(f"<{k.spec}>", f"dialect {f['dialect']}\n" + "\n".join(d["steps"]) + "\n")
    model = Executor(f["dialect"])
    divergent = Divergent(list(script.steps), d["index"], [model.apply(s) for s in script.steps],
                          [_outcome(a) for a in d["kernel"]])
    summary = Summary(f["seed"], args.max_requests, 0, f["dialect"], minimal=divergent)
    return write_divergence(summary, os.path.join(args.out, k.spec.replace("/", "_")))


def cmd_matrix(args) -> int:
    from ..errors import BadInput
    from ..matrix.run import expand, run_matrix

    from ..matrix.debian import is_spec
    from ..matrix.run import HOST

    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    if not kernels or len(set(kernels)) != len(kernels):
        raise BadInput(f"a comma-separated list of distinct kernels, not {args.kernels!r}", "--kernels", 0, 0)
    for k in kernels:
        if k != HOST and not is_spec(k):
            raise BadInput(f"{k!r} is not a kernel: {KERNELS_HELP}", "--kernels", 0, 0)
    if args.jobs < 1 or args.cpus < 1:
        raise BadInput("--jobs and --cpus must be at least 1", "mprog matrix", 0, 0)
    if args.json:
        check_output(args.json)           # before the run: a long run must not end on it
    paths = expand(args.files)
    if not paths and not args.fuzz:
        raise BadInput("no .mprog or .json file among the arguments (or --fuzz)", "mprog matrix", 0, 0)
    fuzz = None
    if args.fuzz:
        from .common import make_output_dir
        make_output_dir(args.out)         # before the campaigns: a divergence must be writable
        # No time limit inside a guest (TCG is 5-10x slower): the budget is
        # the request count, the clock is --guest-timeout.
        fuzz = {"dialect": args.dialect, "seed": args.seed, "max_requests": args.max_requests,
                "time": 10 ** 9}

    def note(spec: str, msg: str) -> None:
        print(f"mprog matrix: {spec}: {msg}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    m = run_matrix(kernels, paths, cache=args.cache, jobs=args.jobs, keep=args.keep,
                   expedite_host=args.expedited_rcu, guest_timeout=args.guest_timeout,
                   memory=args.memory, cpus=args.cpus, refresh=args.refresh, fuzz=fuzz, note=note)
    if args.keep:
        print(f"mprog matrix: guest logs and results kept in {os.path.abspath(args.keep)}", file=sys.stderr)
    table = sys.stdout
    if args.json:
        import json
        write_atomically(args.json, json.dumps(matrix_json(m)) + "\n")
        if args.json == "-":
            table = sys.stderr               # standard output is the JSON document
    diverged = print_fuzz(m, args, table) if fuzz else 0
    if not paths:
        print(f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        return EXIT_FAIL if diverged else EXIT_OK
    status = print_matrix(m, table, sys.stderr, time.monotonic() - t0)
    return EXIT_FAIL if diverged else status


def register(sub) -> None:
    p = sub.add_parser("matrix", help="run scripts and vectors on several kernels (Debian's, in QEMU "
                                      "guests, and the host's) and compare them with the model")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=".mprog script, .json vector, or a directory (its .mprog/.json files)")
    p.add_argument("--kernels", default=",".join(("6.1", "6.12", "host", "newest")), help=KERNELS_HELP)
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="where kernels are downloaded and unpacked (default: $MPROG_MATRIX_CACHE, "
                        "/var/cache/mprog-matrix as root, else ~/.cache/mprog-matrix)")
    p.add_argument("--jobs", type=count, default=2, metavar="N",
                   help="kernels run at the same time (default 2: one guest per core of a 2-core machine)")
    p.add_argument("--memory", default="2G", help="guest memory (default 2G)")
    p.add_argument("--cpus", type=count, default=1,
                   help="guest CPUs (default 1: under TCG one vCPU runs the single-threaded runner and "
                        "expedited RCU grace periods faster than two, 47 s instead of 75 s for the tcx "
                        "corpus on 6.12)")
    p.add_argument("--guest-timeout", type=positive_seconds, default=3600.0, metavar="S",
                   help="seconds a guest may take, boot included, before it is killed (default 3600; "
                        "nothing inside a guest has a time limit)")
    p.add_argument("--expedited-rcu", action="store_true",
                   help="on the host kernel, set /sys/kernel/rcu_expedited=1 for the run (restored on "
                        "exit); guests always run with it (they are thrown away)")
    p.add_argument("--refresh", action="store_true",
                   help="refresh the private apt lists now (default: when older than 6 hours)")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="also write every result as JSON to OUT ('-': standard output): per kernel its "
                        "uname -r, status and every step's answer, the model's, the differences")
    p.add_argument("--keep", metavar="DIR", default=None,
                   help="keep every guest's console log, job and results in DIR")
    from .. import dialects
    f = p.add_argument_group("fuzzing on each kernel (mprog fuzz; no time limit inside a guest)")
    f.add_argument("--fuzz", action="store_true", help="run a differential fuzz campaign on each kernel")
    f.add_argument("--dialect", default="linux", choices=[n for n, d in dialects.registry().items() if d.kernel],
                   help="the dialect to fuzz (default linux)")
    f.add_argument("--seed", type=count, default=0, help="hypothesis seed (default 0)")
    f.add_argument("--max-requests", type=count, default=20000, metavar="N",
                   help="kernel requests per campaign (default 20000)")
    f.add_argument("--out", default=".", metavar="DIR",
                   help="where divergences are written, DIR/<kernel>/ (default: current directory)")
    p.set_defaults(func=cmd_matrix)
