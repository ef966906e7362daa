"""``mprog fuzz``: differential fuzzing of the model against the live kernel."""
from __future__ import annotations

import os
import sys

from .common import EXIT_BAD, count, make_output_dir, positive_seconds, write_files


def cmd_fuzz(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ..errors import BackendUnavailable
    from ..fuzz.campaign import run_campaign
    from ..kernel import kernel_dialect
    from ..kernel.rcu import expedited_rcu

    out, err = Console(), Console(stderr=True)
    make_output_dir(args.out)     # before the campaign: a divergence must be writable
    try:
        # Before anything is touched (rcu_expedited): a dialect no kernel runs.
        kernel_dialect(args.dialect)
        with expedited_rcu(args.expedited_rcu) as prev:
            if args.expedited_rcu:
                if prev is None:
                    err.print("mprog: could not change /sys/kernel/rcu_expedited; running without it")
                else:
                    err.print(f"mprog: /sys/kernel/rcu_expedited set to 1 for this run "
                              f"(was {prev}; restored on exit)")
            with Progress(TextColumn("fuzz seed {task.fields[seed]}"), BarColumn(),
                          TextColumn("{task.fields[req]} requests, {task.fields[div]} divergences"),
                          TimeElapsedColumn(), console=err, transient=True) as bar:
                task = bar.add_task("fuzz", total=1.0, seed=args.seed, req=0, div=0)

                def progress(s):
                    bar.update(task, completed=s.progress, req=s.requests,
                               div=1 if s.shrinking else s.divergences)

                summary = run_campaign(args.seed, args.max_requests, args.time, progress,
                                       dialect=args.dialect)
    except BackendUnavailable as e:
        print(f"mprog: the kernel backend is unavailable: {e}", file=sys.stderr)
        return EXIT_BAD

    title = f"mprog fuzz, seed {args.seed}" + ("" if args.dialect == "linux" else f", {args.dialect}")
    t = Table(title=title)
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("requests", str(summary.requests))
    t.add_row("sequences", str(summary.sequences))
    t.add_row("successful mutations", str(summary.mutations))
    t.add_row("divergences", str(summary.divergences))
    t.add_row("rules covered", f"{len(summary.rules_covered)}/{summary.rules_total}")
    if summary.timeline:
        t.add_row("all covered rules by request", f"{summary.all_rules_at}")
        t.add_row("(rule, errno, boundary) cells", str(len(summary.cells)))
    if summary.setup_requests or summary.restore_requests:
        t.add_row("set-up / restore requests", f"{summary.setup_requests} / {summary.restore_requests}")
    from .. import dialects
    place = "cgroup subtrees" if dialects.get(args.dialect).kernel == "cgroup" else "network namespaces"
    t.add_row(place, str(summary.namespaces))
    t.add_row("kernel requests/s", f"{summary.kernel_rps:.0f}")
    t.add_row("requests/s end to end", f"{summary.rps:.0f}")
    t.add_row("elapsed s", f"{summary.elapsed:.1f}")
    out.print(t)
    if summary.timeline:
        out.print(coverage_table(summary))
    if summary.rules_missing:
        out.print(f"rules not reached: {', '.join(summary.rules_missing)}")
    if summary.divergences == 0:
        return 0
    paths = write_divergence(summary, args.out)
    for p in paths:
        out.print(f"divergence written to {p}")
    return 1


def coverage_table(summary):
    """Coverage over time: rules and cells reached by 1, 2, 5 x 10^k requests."""
    from rich.table import Table
    t = Table(title="coverage over time")
    t.add_column("requests", justify="right")
    t.add_column("rules", justify="right")
    t.add_column("cells", justify="right")
    marks, m = [], 100
    while m <= summary.requests:
        marks += [x for x in (m, 2 * m, 5 * m) if x <= summary.requests]
        m *= 10
    if not marks or marks[-1] != summary.requests:
        marks.append(summary.requests)
    for mark in marks:
        rules = cells = 0
        for r, n, c in summary.timeline:
            if r > mark:
                break
            rules, cells = n, c
        t.add_row(f"{mark}", f"{rules}/{summary.rules_total}", str(cells))
    return t


def write_divergence(summary, out_dir: str) -> list[str]:
    """DIR/divergence-<seed>.mprog (kernel outcomes as expectations, the
    model's outcome as a comment) and the JSON vector beside it."""
    from dataclasses import replace

    from ..model import Script
    from ..runner import outcome_summary
    from ..syntax.render import render_script
    from ..syntax.vectors import dumps_vector, with_expectations

    d = summary.minimal
    m = d.model[d.index]
    how = "minimal divergence" if d.shrunk else "divergence (not shrunk: hypothesis could not replay it)"
    if not d.fresh:
        how = "divergence of the reused kernel backend that a fresh namespace did not repeat"
    note = (f"{how} found by mprog fuzz --seed {summary.seed}; "
            f"expectations are the kernel's outcomes.\n"
            f"step {d.index + 1}: the model says {outcome_summary(m)} [{m.rule}]")
    steps = [replace(s, line=0, column=0) for s in d.steps]
    script = with_expectations(Script(tuple(steps), dialect=summary.dialect,
                                      name=f"divergence-{summary.seed}", description=note), d.kernel)
    make_output_dir(out_dir)
    base = os.path.join(out_dir, f"divergence-{summary.seed}")
    text = render_script(script)
    lines = text.rstrip("\n").split("\n")
    lines[-1] += f"   # model: {outcome_summary(m)} [{m.rule}]"
    return write_files([(base + ".mprog", "\n".join(lines) + "\n"),
                        (base + ".json", dumps_vector(script))])


def register(sub) -> None:
    f = sub.add_parser("fuzz", help="differential fuzzing: generated request sequences on the "
                                    "model and the live kernel")
    f.add_argument("--seed", type=count, default=0, help="campaign seed (default 0): seeds the generator (linux) or hypothesis "
                        "(netkit, cgroup); a campaign is deterministic for it")
    f.add_argument("--dialect", default="linux", metavar="D",
                   help="the model's dialect (default linux); the running kernel must implement it: "
                        "linux (and its deltas) on tcx hooks of veth devices in a private netns, "
                        "netkit on netkit pairs and veth (a kernel with netkit, e.g. in the guests of "
                        "mprog matrix --fuzz), cgroup on cgroup programs in a private cgroup v2 subtree")
    f.add_argument("--max-requests", type=count, default=20000, metavar="N",
                   help="stop after N kernel requests (default 20000)")
    f.add_argument("--time", type=positive_seconds, default=300.0, metavar="S",
                   help="stop after S seconds (default 300)")
    f.add_argument("--expedited-rcu", action="store_true",
                   help="set /sys/kernel/rcu_expedited=1 for the run (machine-wide; restored "
                        "on exit): tcx changes become ~150x faster")
    f.add_argument("--out", default=".", metavar="DIR",
                   help="where a divergence is written (default: current directory; created if "
                        "missing, checked before the campaign starts)")
    f.set_defaults(func=cmd_fuzz)
