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
every arrival order of the applications on the reference executor of each
--dialect (default linux; several side by side), each program attached with
that dialect's request for its directives: linux FIRST = 'before' (no
relative), LAST = 'after', acting at attach time only; rfc FIRST / LAST =
its 'first' / 'last' pins, kept for the program's lifetime."""




# --------------------------------------------------------------------------
# solve

def cmd_solve(args, out=None, err=None) -> int:
    from ..dialects.linux import MPROG_MAX
    from ..syntax.directives import read_directives
    from ..smt.solve import MAX_APPS, solve, tenants
    out, err = out or sys.stdout, err or sys.stderr
    stop_z3_on_signal()
    try:
        names = args.dialect or ["linux"]
        for name in names:
            check_dialect(name)
        ds = read_directives(args.file, max_programs=MPROG_MAX, max_apps=MAX_APPS)
        if ds.apps:
            for name in names:
                check_game_dialect(name)
        reports = [tenants(ds, dialect=name) for name in dict.fromkeys(names)]
        report = reports[0]
    except BadInput as e:
        print(e.render(), file=err)
        return EXIT_BAD
    sol = solve(ds, limit=args.limit, timeout_s=args.timeout)
    if args.json:
        doc = solve_json(ds, sol, report)
        if report is not None:
            doc["tenants_by_dialect"] = {r.dialect: tenants_json(r) for r in reports}
        print(json.dumps(doc, sort_keys=True), file=out)
    else:
        lines = solve_lines(ds, sol, None)
        if report is not None:
            lines += tenant_lines(report) if len(reports) == 1 else side_by_side_lines(reports)
        for line in lines:
            print(line, file=out)
    if not sol.complete:
        return EXIT_UNKNOWN
    return EXIT_SAT if sol.status == "sat" else EXIT_UNSAT


def check_dialect(name: str) -> None:
    """A dialect the multi-tenant game can run (BadInput otherwise)."""
    from .. import dialects
    if name not in dialects.registry():
        from ..syntax.validate import did_you_mean
        raise BadInput(f"unknown dialect {name!r} (known: {', '.join(dialects.names())})"
                       + did_you_mean(name, dialects.names()), "--dialect", 0, 0)


def check_game_dialect(name: str) -> None:
    """The multi-tenant game plays on a device's tcx hook (checker.smt.solve
    tenants): a dialect whose attach target is a cgroup cannot play it yet."""
    from .. import dialects
    d = dialects.get(name)
    if d.target == "cgroup":
        game = [n for n in dialects.names() if dialects.get(n).target != "cgroup"]
        raise BadInput(f"dialect {name!r} attaches to cgroups; the multi-tenant game ('app' lines) "
                       f"plays on a device hook: use one of {', '.join(game)}", "--dialect", 0, 0)


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


def _implements(r) -> str:
    return "  # " + ", ".join(d.text for d in r.directives) if r.directives else "  # no directive"


def _final(report, a) -> str:
    from .. import dialects
    from ..runner import format_entries
    progs = tuple(p for p, _ in a.final)
    links = tuple(l for _, l in a.final)
    table = dialects.get(report.dialect).flags if any(a.stored) else None
    return f"{format_entries(progs, links, a.stored, table)} rev {a.revision}"


def _details(report, a, indent: str) -> list[str]:
    from ..syntax.render import render_step
    lines = [f"{indent}{r.app}: {render_step(r.step)} -> {o.errno} [{o.rule}]" for r, o in a.failures]
    lines += [f"{indent}violates {d.text} (since {r.app}: {render_step(r.step)})" for d, r in a.violated]
    lines += [f"{indent}cannot check {d.text}: a program it names is not attached" for d in a.unchecked]
    return lines


def _enforcement(dialect: str) -> str:
    from .. import dialects
    if "FIRST" in dialects.get(dialect).flags:
        return "BEFORE/AFTER act only at attach time; FIRST/LAST are pins kept for the program's lifetime"
    return "BEFORE/AFTER/FIRST/LAST act only at attach time; later requests ignore them"


def _violation_lines(report, indent: str) -> list[str]:
    from ..syntax.render import render_step
    lines = []
    for d, where in report.violations():
        breakers = sorted({f"{r.app}: {render_step(r.step)}" for _, r in where})
        lines.append(f"{indent}{d.text}: in {len(where)} of {len(report.arrivals)} arrival orders, "
                     f"broken by {'; '.join(breakers)}")
    return lines


def tenant_lines(report) -> list[str]:
    from ..syntax.render import render_step
    arrivals = report.arrivals
    on = f"{report.dev} {report.dir}" + ("" if report.dialect == "linux" else f" ({report.dialect})")
    lines = [f"multi-tenant: {len(arrivals)} arrival orders on {on}, "
             f"{report.succeeded} succeed (every request ok, every directive holds at the end)",
             "  requests (the first directive on a program's line decides its request"
             + ("; FIRST/LAST: the dialect's pins" if "pins" in _enforcement(report.dialect) else "")
             + "):"]
    for r in report.requests:
        lines.append(f"    {r.app}: {render_step(r.step)}{_implements(r)}")
    for a in arrivals:
        lines.append(f"  {' '.join(a.apps)}: {'ok' if a.ok else 'FAIL'}  {_final(report, a)}")
        lines += _details(report, a, "    ")
    viol = _violation_lines(report, "    ")
    if viol:
        lines.append(f"  directives that can end up violated ({_enforcement(report.dialect)}):")
        lines += viol
    return lines


def side_by_side_lines(reports) -> list[str]:
    """The multi-tenant game of several dialects: the requests, a table of
    which arrival orders succeed in which dialect, each order's end state
    per dialect, and the directives each dialect lets end up violated."""
    from ..syntax.render import render_step
    first = reports[0]
    names = [r.dialect for r in reports]
    n = len(first.arrivals)
    lines = [f"multi-tenant: {n} arrival orders on {first.dev} {first.dir}, side by side in "
             f"{', '.join(names)} (ok: every request ok, every directive holds at the end)",
             "  requests (each dialect's request for a program's directives):"]
    width = max(len(x) for x in names)
    for i, r in enumerate(first.requests):
        lines.append(f"    {r.app}: {r.prog}{_implements(r)}")
        for rep in reports:
            lines.append(f"      {rep.dialect + ':':<{width + 1}} {render_step(rep.requests[i].step)}")
    col = max(len(" ".join(a.apps)) for a in first.arrivals) + 2
    cell = max(width, 4) + 2

    def row(head: str, cells) -> str:
        return (f"  {head:<{col}}" + "".join(f"{c:<{cell}}" for c in cells)).rstrip()

    lines.append(row("arrival order", names))
    for k, a in enumerate(first.arrivals):
        lines.append(row(" ".join(a.apps), ("ok" if rep.arrivals[k].ok else "FAIL" for rep in reports)))
    lines.append(row("succeed", (f"{rep.succeeded}/{n}" for rep in reports)))
    lines.append("  end states:")
    for k, a in enumerate(first.arrivals):
        lines.append(f"    {' '.join(a.apps)}")
        for rep in reports:
            ra = rep.arrivals[k]
            lines.append(f"      {rep.dialect + ':':<{width + 1}} {'ok' if ra.ok else 'FAIL':<4}  "
                         f"{_final(rep, ra)}")
            lines += _details(rep, ra, " " * (width + 10))
    lines.append("  directives that can end up violated:")
    for rep in reports:
        viol = _violation_lines(rep, "      ")
        lines.append(f"    {rep.dialect} ({_enforcement(rep.dialect)}): {'' if viol else 'none'}".rstrip())
        lines += viol
    return lines


def solve_json(ds, sol, report) -> dict:
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
        doc["tenants"] = tenants_json(report)
    return doc


def tenants_json(report) -> dict:
    from .. import dialects
    from ..syntax.render import render_step
    table = dialects.get(report.dialect).flags
    return {
        "dialect": report.dialect, "dev": report.dev, "dir": report.dir,
        "requests": [{"app": r.app, "prog": r.prog, "request": render_step(r.step),
                      "directive": r.directive.text if r.directive else None,
                      "directives": [d.text for d in r.directives]}
                     for r in report.requests],
        "arrivals": [{"order": list(a.apps), "ok": a.ok,
                      "progs": [p for p, _ in a.final], "links": [l for _, l in a.final],
                      "stored": [list(table.decode(f)) for f in a.stored] if any(a.stored) else None,
                      "revision": a.revision,
                      "failures": [{"request": render_step(r.step), "errno": o.errno, "rule": o.rule}
                                   for r, o in a.failures],
                      "violated": [{"directive": d.text, "broken_by": render_step(r.step),
                                    "app": r.app} for d, r in a.violated],
                      "unchecked": [d.text for d in a.unchecked]} for a in report.arrivals]}


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
    s.add_argument("--dialect", action="append", metavar="D",
                   help="play the multi-tenant game ('app' lines) on dialect D (default linux); "
                        "repeat for several, reported side by side")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_solve)
