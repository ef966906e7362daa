"""``mprog verify``: the z3 proofs (checker.smt) from the command line.

``--dialect D`` (default linux) picks the encoding and executor unit and
the invariants of dialect D (spec/<D>/invariants.md), and the contrasts D is
expected to refute (checker.smt.CONTRASTS: rfc refutes NO-LOCKOUT, linux
STAYS-FIRST), each printed with its runnable counterexample.

Exit status: 0 everything proved (vacuous classes count as proved: no state
reaches them; an expected refutation counts as established), 1 a violation
(its counterexample script is printed, and written as .mprog + JSON vector
with ``--out``) or a contrast that is not refuted, 3 anything not
established (z3 ``unknown``, e.g. a timeout, or an ``unproved`` class /
induction step), 2 bad arguments.
"""
from __future__ import annotations

import json
import os
import time

from ..errors import BadInput
from .common import (check_output_dir, make_output_dir, stop_z3_on_signal, timeout_seconds,
                     write_files)

EQUIV_NS = (4, 8, 16, 32, 63)
# Established (refuted: an expected refutation; sampled: a class of a
# dialect with its own proofs, checker.smt.cgroup_proofs, whose encoding is
# proved total and whose executor agrees on every representative).
OK = ("proved", "vacuous", "refuted", "sampled")
BAD = ("violated", "unrefuted")


def _ns(n_max: int, steps=EQUIV_NS) -> list:
    return sorted({n for n in steps if n <= n_max} | {n_max})


def cmd_verify(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .. import dialects, smt
    from ..dialects.linux import MPROG_MAX
    from ..smt import jobs
    from ..smt.solve import Budget

    own = args.dialect in dialects.registry() and smt.own_proofs(args.dialect)
    n_top = own.MAX_ENTRIES if own else MPROG_MAX          # the dialect's list size (cgroup: 64)
    if not 0 <= args.n_max <= n_top:
        raise BadInput(f"must be from 0 to {n_top}, not {args.n_max}", "--n-max", 0, 0)
    if args.depth < 1:
        raise BadInput(f"must be >= 1, not {args.depth}", "--depth", 0, 0)
    if args.jobs < 1:
        raise BadInput(f"must be >= 1, not {args.jobs}", "--jobs", 0, 0)
    if args.exhaustive_n < -1:
        raise BadInput(f"must be >= -1 (-1: off), not {args.exhaustive_n}", "--exhaustive-n", 0, 0)
    encoded = [n for n, d in dialects.registry().items() if d.encoding]
    if args.dialect not in encoded:
        raise BadInput(f"dialect {args.dialect!r} has no z3 encoding (encoded: {', '.join(encoded)})",
                       "--dialect", 0, 0)
    dialect = args.dialect
    if args.out:
        check_output_dir(args.out)
    stop_z3_on_signal()
    budget = Budget(args.timeout)       # one budget for every check (README: --timeout)
    out = Console(highlight=False, soft_wrap=True)
    plan = []                 # (row label, its jobs)

    def row(label, kind, bound, **kw):
        plan.append((label, jobs.split(kind, dialect, bound, **kw)))

    if args.only in (None, "equivalence"):
        if own and getattr(own, "EQUIVALENCE_BY_EXHAUSTION", False):
            # netkit: its delta is decided before mainline's core or on an
            # empty hook, so its equivalence is the exhaustive mode over its
            # worlds (checker.smt.netkit_verify); the core is linux's proof.
            k = max(args.exhaustive_n, 0)
            row(f"exhaustive N={k}", "exhaustive", k)
        elif own:
            for n in _ns(args.n_max, own.EQUIV_NS):
                row(f"equivalence N={n}", "equivalence", n)
        else:
            # The proof at --n-max covers every smaller bound (all hooks of
            # up to N slots); the bounds between the smallest and N are not
            # proved again but sampled: N's classes take representatives of
            # exactly those sizes, as those bounds' own runs did at n = N.
            ns = _ns(args.n_max)
            between = tuple(n for n in ns[1:-1])
            for n in sorted({ns[0], ns[-1]}):
                sizes = between if n == ns[-1] else ()
                row(f"equivalence N={n}" + (f" (+n={','.join(map(str, between))})" if sizes else ""),
                    "equivalence", n, **({"sizes": sizes} if sizes else {}))
            if args.exhaustive_n >= 0:
                row(f"exhaustive N={args.exhaustive_n}", "exhaustive", args.exhaustive_n)
    if args.only in (None, "invariants"):
        row(f"invariants depth={args.depth}", "invariants", args.depth)

    # Every job of every row goes to the workers at once (the costliest
    # first); the reports come back in row order, as one process gives them.
    t_start = time.perf_counter()
    results = jobs.run([j for _, js in plan for j in js], args.jobs, budget)
    rows, reports = [], []
    for label, js in plan:
        rs, dt = [], 0.0
        for _ in js:
            part, seconds = next(results)
            rs += part
            dt += seconds
        reports.extend(rs)
        rows.append((label, len(rs), sum(r.status in ("proved", "vacuous", "sampled") for r in rs),
                     sum(r.status == "refuted" for r in rs), sum(r.status in BAD for r in rs),
                     sum(r.status not in OK + BAD for r in rs), dt))
        if not args.json:
            for r in rs:
                out.print(r.line())
    wall = time.perf_counter() - t_start

    bad = [r for r in reports if r.status in BAD]
    refuted = [r for r in reports if r.status == "refuted"]
    unknown = [r for r in reports if r.status not in OK + BAD]
    written = []
    for i, r in enumerate(bad):
        if r.script and args.out:
            written += _write(args.out, f"counterexample-{i + 1}", r.script)
    for r in refuted:
        if r.script and args.out:
            written += _write(args.out, f"refuted-{r.case}", r.script)
    if args.json:
        print(json.dumps({"reports": [r.__dict__ | {"rules": list(r.rules)} for r in reports],
                          "written": written}, indent=1))
    else:
        t = Table(title=f"mprog verify ({dialect})")
        for c in ("check", "reports", "proved", "refuted", "violated", "unknown", "seconds"):
            t.add_column(c, justify="left" if c == "check" else "right")
        for label, n, ok, rf, v, u, dt in rows:
            t.add_row(label, str(n), str(ok), str(rf), str(v), str(u), f"{dt:.1f}")
        out.print(t)
        out.print(f"{wall:.1f} s wall, {args.jobs} worker{'s' if args.jobs > 1 else ''} (seconds above: "
                  f"each check's own time, summed over its jobs)")
        sampled = sum(r.status == "sampled" for r in reports)
        if sampled:
            # Counted under "proved" above, but established less strongly.
            out.print(f"{sampled} of the proved are sampled: the encoding is proved total and "
                      f"deterministic for every world, the executor agrees at the class's "
                      f"representatives (not proved for every world of the class)")
        for r in refuted:
            out.print(f"refuted as expected, {r.case} ({dialect} does not have it):")
            out.print(r.script or r.detail, markup=False)
        for r in bad:
            out.print(f"counterexample for {r.check}:{r.op}:{r.case}:" if r.status == "violated" else
                      f"{r.case} was expected to fail in {dialect} and did not: {r.detail}")
            out.print(r.script or r.detail, markup=False)
        for p in written:
            out.print(f"wrote {p}")
    return 1 if bad else (3 if unknown else 0)


def _write(out_dir: str, base: str, text: str) -> list:
    from ..syntax.script import read_script
    from ..syntax.vectors import dumps_vector

    make_output_dir(out_dir)
    path = os.path.join(out_dir, base)
    vector = dumps_vector(read_script(path + ".mprog", text))    # both or neither
    return write_files([(path + ".mprog", text), (path + ".json", vector)])


def register(sub) -> None:
    v = sub.add_parser("verify", help="prove the z3 encoding equal to the executor and check the "
                                      "invariants (z3)")
    v.add_argument("--n-max", type=int, default=8, metavar="N",
                   help="equivalence for hooks of up to N slots, proved at N = 4 and at N (which "
                        "covers every smaller bound), N's classes also sampled at 8, 16, 32 below N "
                        "(default 8; the kernel maximum is 63; cgroup: lists of up to N entries, at "
                        "N = 4, 8, 16, 32, 64, up to 64)")
    v.add_argument("--depth", type=int, default=6, metavar="K", help="BMC depth (default 6)")
    v.add_argument("--timeout", type=timeout_seconds, default=None, metavar="S",
                   help="time budget in seconds for all solver checks (0: no limit); what it "
                        "leaves undecided is reported unknown (exit 3)")
    v.add_argument("--only", choices=("equivalence", "invariants"), default=None)
    v.add_argument("--exhaustive-n", type=int, default=-1, metavar="K",
                   help="also run the exhaustive mode for hooks of up to K slots (-1: off)")
    v.add_argument("--dialect", default="linux", metavar="D",
                   help="the dialect whose encoding, executor and invariants are checked (default "
                        "linux; netkit: its exhaustive equivalence at N = --exhaustive-n or 0, and "
                        "its NK-* invariants)")
    v.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), metavar="J",
                   help="worker processes for the proofs (default: the CPUs this process may run "
                        "on); the reports and the exit status do not depend on it")
    v.add_argument("--json", action="store_true", help="print the reports as JSON")
    v.add_argument("--out", default=None, metavar="DIR",
                   help="write each counterexample as DIR/counterexample-<i>.mprog and .json (and each "
                        "expected refutation as DIR/refuted-<property>.mprog and .json)")
    v.set_defaults(func=cmd_verify)
