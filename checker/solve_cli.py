"""``mprog solve`` and ``mprog plan`` (checker.smt.solve, checker.smt.plan).

``register(sub)`` adds both sub-commands to an argparse sub-parser set.
Exit status: 0 sat / plan found and verified; 1 unsat / no plan (or a plan
that failed verification); 2 bad input or an unavailable backend; 3 unknown
(a solver timeout: never reported as sat or unsat).
"""
from __future__ import annotations

import json
import sys

from .errors import BackendUnavailable, BadInput

EXIT_SAT, EXIT_UNSAT, EXIT_BAD, EXIT_UNKNOWN = 0, 1, 2, 3

SOLVE_HELP = """\
Directives (grammar/directives.lark): FIRST = index 0, LAST = index n-1,
BEFORE x = somewhere before x, AFTER x = somewhere after x (not necessarily
adjacent).  Prints sat/unsat/unknown, the least ordering in declaration
order, the number of orderings (exactly K, or at least --limit), and for
unsat a minimal set of conflicting directives.  With 'app' lines, also runs
every arrival order of the applications on the reference executor."""

PLAN_HELP = """\
Synthesizes the shortest request sequence (detach + re-attach of as few
existing programs as possible, then the new ones) that puts the hook in an
order satisfying --want; prints it as a runnable script (setup + plan, with
'rev N' guards and expectations) after replaying it on --backend.

The start state is the final state of a script (--from with --hook), a JSON
state (--state), or a live hook (--live, read-only: the plan is printed and
verified on a recreated copy, never carried out on the live hook; its header
maps each name to the kernel's prog and link ids)."""


# --------------------------------------------------------------------------
# solve

def cmd_solve(args, out=None, err=None) -> int:
    from .directives_syntax import read_directives
    from .smt.solve import solve, tenants
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.limit < 0:
            raise BadInput(f"--limit {args.limit}: must be >= 0", "--limit", 0, 0)
        ds = read_directives(args.file)
        report = tenants(ds)
    except BadInput as e:
        print(e.render(), file=err)
        return EXIT_BAD
    except ValueError as e:
        print(f"mprog solve: {args.file}: {e}", file=err)
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
        what = _core_wording(sol.core_minimal, sol.reason)
        lines.append(f"  {what} of conflicting directives, {n} programs declared:")
        for d in sol.core:
            lines.append(f"    {ds.where(d)}: {d.text}")
    if report is not None:
        lines += tenant_lines(report)
    return lines


def _core_wording(minimal: bool, reason: str) -> str:
    return "a minimal set" if minimal else f"a set (not proven minimal: {reason})"


def tenant_lines(report) -> list[str]:
    from .runner import format_entries
    from .script import render_step
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
    from .script import render_step

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


# --------------------------------------------------------------------------
# plan

def cmd_plan(args, out=None, err=None) -> int:
    from .directives_syntax import read_directives
    from .smt import plan as P
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.netns and not args.live:
            raise BadInput("--netns goes with --live (the namespace of the live device)", "--netns", 0, 0)
        if args.state:
            state = P.state_from_json(args.state)
        elif args.live:
            state = P.state_from_live(args.live, args.netns)
        else:
            if not args.hook:
                raise BadInput("--from needs --hook DEV:DIR (which hook of the script to start from)",
                               "--hook", 0, 0)
            state = P.state_from_script(args.from_script, args.hook)
        ds = read_directives(args.want, known=state.progs)
        plan = P.synthesize(state, ds, timeout_s=args.timeout)
    except BadInput as e:
        print(e.render(), file=err)
        return EXIT_BAD
    except BackendUnavailable as e:
        print(f"mprog plan: --live needs the live kernel, which is unavailable here: {e}", file=err)
        return EXIT_BAD
    hook = f"{state.dev} {state.dir}"
    if ds.apps:
        print(f"note: {args.want}: 'app' lines are ignored by plan", file=err)
    if plan.status == "unknown":
        print(f"unknown: no answer for {hook} ({plan.reason}); neither a plan nor a proof that "
              f"none exists", file=out)
        return EXIT_UNKNOWN
    if plan.status == "none":
        for line in no_plan_lines(ds, state, plan):
            print(line, file=out)
        return EXIT_UNKNOWN if not plan.core_minimal else EXIT_UNSAT
    try:
        v = P.verify(state, ds, plan, args.backend)
    except BackendUnavailable as e:
        print(f"mprog: the {args.backend} backend is unavailable: {e}", file=err)
        return EXIT_BAD
    verdict = (f"# verified on the {v.backend} backend: final [{' '.join(v.final)}] rev {v.revision}"
               if v.ok else f"# verification FAILED on the {v.backend} backend")
    text = P.script_text(state, ds, plan, verdict)
    if args.output:
        from .cli import write_atomically
        write_atomically(args.output, text)
        for line in plan_summary(state, plan):
            print(line, file=out)
        print(f"  written to {args.output}", file=out)
        print(verdict[2:], file=out)
    else:
        out.write(text)
    if not v.ok:
        for f in v.failures:
            print(f"  {f}", file=err)
        return EXIT_UNSAT
    return EXIT_SAT


def plan_summary(state, plan) -> list[str]:
    return [f"plan for {state.dev} {state.dir}: {plan.requests} hook requests, rev "
            f"{plan.start_revision} -> {plan.final_revision}",
            f"  wanted order: {' '.join(plan.order)}",
            f"  moved (detach + re-attach): {' '.join(plan.moved) or 'none'}; "
            f"new: {' '.join(plan.new) or 'none'}"]


def no_plan_lines(ds, state, plan) -> list[str]:
    hook = f"{state.dev} {state.dir}"
    if not plan.core:
        return [f"no plan for {hook}: {plan.reason}"]
    what = _core_wording(plan.core_minimal, plan.reason)
    lines = [f"no plan for {hook}: no order satisfies the directives; {what} of conflicts:"]
    linked = False
    for c in plan.core:
        if isinstance(c, str):
            lines.append(f"    {c}")
            linked |= "owned by link" in c
        else:
            lines.append(f"    {ds.where(c)}: {c.text}")
    if linked:
        lines.append("  link-owned programs cannot be moved through the prog API (BPF_PROG_DETACH "
                     "on a link's slot fails with EBUSY, rule detach/link-owned); only their "
                     "owner can detach the link")
    return lines


# --------------------------------------------------------------------------

def register(sub) -> None:
    import argparse
    s = sub.add_parser("solve", help="decide a directive file (FIRST/LAST/BEFORE/AFTER): ordering, "
                                     "count, unsat core; multi-tenant arrival orders",
                       description=SOLVE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("file", metavar="FILE", help="directive file (.dirs)")
    s.add_argument("--limit", type=int, default=1000,
                   help="count orderings exactly up to N (default 1000)")
    s.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="time budget in seconds for all solver checks; running out gives "
                        "'unknown' (exit 3)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_solve)

    p = sub.add_parser("plan", help="shortest guarded request sequence that reorders a hook to "
                                    "satisfy directives", description=PLAN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from", dest="from_script", metavar="SCRIPT",
                     help="start from the final state of a script (with --hook)")
    src.add_argument("--state", metavar="STATE.json",
                     help='start from {"progs": [...], "links": [...], "revision": N}')
    src.add_argument("--live", metavar="DEV:DIR",
                     help="start from the live tcx hook DEV:DIR as BPF_PROG_QUERY reports it now "
                          "(read-only; programs named by kernel name, else id<N>; links link<N>)")
    p.add_argument("--netns", metavar="PATH",
                   help="with --live: the device's network namespace, e.g. /run/netns/NAME or "
                        "/proc/PID/ns/net (default: this one)")
    p.add_argument("--hook", metavar="DEV:DIR", help="the script's hook, e.g. veth0:ingress")
    p.add_argument("--want", required=True, metavar="FILE", help="wanted directives (.dirs)")
    p.add_argument("--backend", choices=("model", "kernel"), default="model",
                   help="replay the plan on the reference executor (default) or the live kernel")
    p.add_argument("-o", "--output", metavar="OUT.mprog", help="write the script here")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="time budget in seconds for all solver checks")
    p.set_defaults(func=cmd_plan)
