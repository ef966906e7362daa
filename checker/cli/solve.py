"""``mprog solve``: directive files decided by z3 (checker.smt.solve).

Exit status: 0 sat; 1 unsat; 2 bad input; 3 unknown (a solver timeout:
never reported as sat or unsat).
"""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import BadInput
from .common import (EXIT_BAD, EXIT_SAT, EXIT_UNKNOWN, EXIT_UNSAT, count, stop_z3_on_signal,
                     timeout_seconds)

SOLVE_HELP = """\
Directives (grammar/directives.lark): FIRST = index 0, LAST = index n-1,
BEFORE x = somewhere before x, AFTER x = somewhere after x (not necessarily
adjacent).  Prints sat/unsat/unknown, the least ordering in declaration
order, the number of orderings (exactly K, or at least --limit), and for
unsat a minimal set of conflicting directives.  With 'app' lines, also runs
every arrival order of the applications on the reference executor."""




# --------------------------------------------------------------------------
# solve

def cmd_solve(args, out=None, err=None) -> int:
    from ..dialects.linux import MPROG_MAX
    from ..syntax.directives import read_directives
    from ..smt.solve import MAX_APPS, solve, tenants
    out, err = out or sys.stdout, err or sys.stderr
    stop_z3_on_signal()
    try:
        ds = read_directives(args.file, max_programs=MPROG_MAX, max_apps=MAX_APPS)
        report = tenants(ds)
    except BadInput as e:
        print(e.render(), file=err)
        return EXIT_BAD
    sol = solve(ds, limit=args.limit, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(solve_json(ds, sol, report), sort_keys=True), file=out)
    else:
        for line in solve_lines(ds, sol, report):
            print(line, file=out)
    if not sol.complete:
        return EXIT_UNKNOWN
    return EXIT_SAT if sol.status == "sat" else EXIT_UNSAT


def _count_text(sol) -> str:
    if sol.count_status == "exact":
        return f"exactly {sol.count}"
    if sol.count_status == "at-least":
        return f"at least {sol.count} (more than --limit {sol.limit} exist)"
    return f"unknown (at least {sol.count} found before the {sol.reason})"


def solve_lines(ds, sol, report) -> list[str]:
    n = len(ds.programs)
    lines = [f"{ds.path}: {sol.status}" + (f" ({sol.reason}: no answer, neither sat nor unsat)"
                                             if sol.status == "unknown" else "")]
    if sol.status == "sat":
        if sol.ordering is not None:
            lines.append(f"  ordering: {' '.join(sol.ordering) or '(no programs)'}")
        else:
            lines.append(f"  ordering: unknown ({sol.reason})")
        lines.append(f"  orderings: {_count_text(sol)}")
    elif sol.status == "unsat":
        what = core_wording(sol.core_minimal, sol.reason)
        lines.append(f"  {what} of conflicting directives, {n} programs declared:")
        for d in sol.core:
            lines.append(f"    {ds.where(d)}: {d.text}")
    if report is not None:
        lines += tenant_lines(report)
    return lines


def core_wording(minimal: bool, reason: str) -> str:
    return "a minimal set" if minimal else f"a set (not proven minimal: {reason})"


def tenant_lines(report) -> list[str]:
    from ..runner import format_entries
    from ..syntax.render import render_step
    arrivals = report.arrivals
    good = sum(a.ok for a in arrivals)
    lines = [f"multi-tenant: {len(arrivals)} arrival orders on {report.dev} {report.dir}, "
             f"{good} succeed (every request ok, every directive holds at the end)",
             "  requests (the first directive on a program's line decides its request):"]
    for r in report.requests:
        impl = f"  # {r.directive.text}" if r.directive else "  # no directive"
        lines.append(f"    {r.app}: {render_step(r.step)}{impl}")
    for a in arrivals:
        progs = tuple(p for p, _ in a.final)
        links = tuple(l for _, l in a.final)
        lines.append(f"  {' '.join(a.apps)}: {'ok' if a.ok else 'FAIL'}  "
                     f"{format_entries(progs, links)} rev {a.revision}")
        for r, o in a.failures:
            lines.append(f"    {r.app}: {render_step(r.step)} -> {o.errno} [{o.rule}]")
        for d, r in a.violated:
            lines.append(f"    violates {d.text} (since {r.app}: {render_step(r.step)})")
        for d in a.unchecked:
            lines.append(f"    cannot check {d.text}: a program it names is not attached")
    viol = report.violations()
    if viol:
        lines.append("  directives that can end up violated (BEFORE/AFTER/FIRST/LAST act only at "
                     "attach time; later requests ignore them):")
        for d, where in viol:
            breakers = sorted({f"{r.app}: {render_step(r.step)}" for _, r in where})
            lines.append(f"    {d.text}: in {len(where)} of {len(arrivals)} arrival orders, "
                         f"broken by {'; '.join(breakers)}")
    return lines


def solve_json(ds, sol, report) -> dict:
    from ..syntax.render import render_step

    def dj(d):
        return {"directive": d.text, "prog": d.prog, "kind": d.kind, "target": d.target,
                "line": d.line, "column": d.column}
    doc = {"file": ds.path, "status": sol.status, "programs": list(ds.names),
           "ordering": list(sol.ordering) if sol.ordering is not None else None,
           "count": sol.count, "count_status": sol.count_status, "limit": sol.limit,
           "core": [dj(d) for d in sol.core] if sol.core is not None else None,
           "core_minimal": sol.core_minimal if sol.status == "unsat" else None,
           "reason": sol.reason, "tenants": None}
    if report is not None:
        doc["tenants"] = {
            "dev": report.dev, "dir": report.dir,
            "requests": [{"app": r.app, "prog": r.prog, "request": render_step(r.step),
                          "directive": r.directive.text if r.directive else None}
                         for r in report.requests],
            "arrivals": [{"order": list(a.apps), "ok": a.ok,
                          "progs": [p for p, _ in a.final], "links": [l for _, l in a.final],
                          "revision": a.revision,
                          "failures": [{"request": render_step(r.step), "errno": o.errno, "rule": o.rule}
                                       for r, o in a.failures],
                          "violated": [{"directive": d.text, "broken_by": render_step(r.step),
                                        "app": r.app} for d, r in a.violated],
                          "unchecked": [d.text for d in a.unchecked]} for a in report.arrivals]}
    return doc


def register(sub) -> None:
    s = sub.add_parser("solve", help="decide a directive file (FIRST/LAST/BEFORE/AFTER): ordering, "
                                     "count, unsat core; multi-tenant arrival orders",
                       description=SOLVE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("file", metavar="FILE", help="directive file (.dirs)")
    s.add_argument("--limit", type=count, default=1000, metavar="N",
                   help="count orderings exactly up to N (default 1000)")
    s.add_argument("--timeout", type=timeout_seconds, default=None, metavar="S",
                   help="time budget in seconds for all solver checks (0: no limit); running out "
                        "gives 'unknown' (exit 3)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_solve)
