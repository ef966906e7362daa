"""``mprog plan``: a shortest guarded request sequence that reorders a hook
to satisfy directives (checker.smt.plan).

Exit status: 0 a plan found and verified; 1 no plan (or a plan that failed
verification); 2 bad input or an unavailable backend; 3 unknown (a solver
timeout).
"""
from __future__ import annotations

import argparse
import sys

from ..errors import BackendUnavailable, BadInput
from .common import (EXIT_BAD, EXIT_SAT, EXIT_UNKNOWN, EXIT_UNSAT, STDOUT, check_output,
                     stop_z3_on_signal, timeout_seconds, write_atomically)
from .solve import core_wording

PLAN_HELP = """\
Synthesizes the shortest request sequence (detach + re-attach of as few
existing programs as possible, then the new ones) that puts the hook in an
order satisfying --want; prints it as a runnable script (setup + plan, with
'rev N' guards and expectations) after replaying it on --backend.

The start state is the final state of a script (--from with --hook), a JSON
state (--state), or a live hook (--live, read-only: the plan is printed and
verified on a recreated copy, never carried out on the live hook; its header
maps each name to the kernel's prog and link ids)."""


def cmd_plan(args, out=None, err=None) -> int:
    from ..syntax.directives import read_directives
    from ..smt import plan as P
    out, err = out or sys.stdout, err or sys.stderr
    stop_z3_on_signal()
    try:
        if args.output:
            check_output(args.output)
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
    if args.output and args.output != STDOUT:
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
    what = core_wording(plan.core_minimal, plan.reason)
    lines = [f"no plan for {hook}: no order satisfies the directives; {what} of conflicts:"]
    linked = False
    for c in plan.core:
        if isinstance(c, str):
            lines.append(f"    {c}")
            linked |= "owned by link" in c
        else:
            lines.append(f"    {ds.where(c)}: {c.text}")
    if linked and state.dialect == "cgroup":
        lines.append("  link-owned programs cannot be moved through the prog API (BPF_PROG_DETACH "
                     "finds only prog-API entries: ENOENT, rule detach/not-found); only their "
                     "owner can detach the link")
    elif linked:
        lines.append("  link-owned programs cannot be moved through the prog API (BPF_PROG_DETACH "
                     "on a link's slot fails with EBUSY, rule detach/link-owned); only their "
                     "owner can detach the link")
    return lines


def register(sub) -> None:
    p = sub.add_parser("plan", help="shortest guarded request sequence that reorders a hook to "
                                    "satisfy directives", description=PLAN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from", dest="from_script", metavar="SCRIPT",
                     help="start from the final state of a script (with --hook)")
    src.add_argument("--state", metavar="STATE.json",
                     help='start from {"progs": [...], "links": [...], "revision": N}')
    src.add_argument("--live", metavar="DEV:DIR",
                     help="start from the live tcx hook DEV:DIR, or the live cgroup list "
                          "CGROUP_PATH:POINT (e.g. /sys/fs/cgroup/x:cgroup_inet_egress), as "
                          "BPF_PROG_QUERY reports it now (read-only; programs named by kernel name, "
                          "else id<N>; links link<N>)")
    p.add_argument("--netns", metavar="PATH",
                   help="with --live: the device's network namespace, e.g. /run/netns/NAME or "
                        "/proc/PID/ns/net (default: this one)")
    p.add_argument("--hook", metavar="DEV:DIR", help="the script's hook, e.g. veth0:ingress (a cgroup "
                                                    "script: CGROUP:POINT, e.g. svc:cgroup_inet_egress)")
    p.add_argument("--want", required=True, metavar="FILE", help="wanted directives (.dirs)")
    p.add_argument("--backend", choices=("model", "kernel"), default="model",
                   help="replay the plan on the reference executor (default) or the live kernel")
    p.add_argument("-o", "--output", metavar="OUT.mprog",
                   help="write the script here, atomically (a regular file only; '-': standard "
                        "output, the default)")
    p.add_argument("--timeout", type=timeout_seconds, default=None, metavar="S",
                   help="time budget in seconds for all solver checks (0: no limit); running out "
                        "gives 'unknown' (exit 3)")
    p.set_defaults(func=cmd_plan)
