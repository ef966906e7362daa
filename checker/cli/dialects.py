"""``mprog dialects``: the dialect registry (``list``) and where two dialects
answer differently (``diff``, checker.dialect_diff).

Exit status of ``diff``: 0 no divergence within the depth; 1 divergences
found (printed, or written with --out); 2 bad arguments; 3 the search
stopped at --max-states before reaching the depth, and found nothing.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from typing import Optional

from .common import EXIT_BAD, EXIT_OK, EXIT_UNKNOWN, write_atomically

DIFF_HELP = """\
Finds the shortest request sequences on which dialects A and B answer
differently (errno, order, owners, revision, anything a query reports): a
breadth-first search from the empty world over a request alphabet
(checker/dialect_diff.py: programs p1..p3, device d0, one attach point, every
flag bit either dialect names and any two of them sent as the same raw word,
relatives, REPLACE, links, and 'fill' = append until the hook is full),
running both dialects' executors.  One sequence per distinct first
divergence (the rule that decided the diverging step in A, in B), each
printed twice as a runnable script: with A's answers as expectations, and
with B's."""


# --------------------------------------------------------------------------
# list

def _encoding(d) -> Optional[str]:
    """The dialect's z3 encoding module if it exists (a dialect may name one
    that is not written yet)."""
    return d.encoding if d.encoding and importlib.util.find_spec(d.encoding) else None


def dialect_rows() -> list[dict]:
    from .. import dialects
    rows = []
    for d in dialects.registry().values():
        rows.append({"name": d.name, "summary": d.summary, "parent": d.parent, "kernels": d.kernels,
                     "kernel_backend": d.kernel, "rules": len(d.rules), "changed": sorted(d.changed),
                     "flags": {n: b for n, b in d.flags.bits.items()},
                     "attach_points": list(d.attach_points), "encoding": _encoding(d),
                     "spec": d.spec})
    return rows


def cmd_list(args, out=None) -> int:
    out = out or sys.stdout
    rows = dialect_rows()
    if args.json:
        print(json.dumps(rows, sort_keys=True), file=out)
        return EXIT_OK
    for r in rows:
        parent = r["parent"] or "none"
        changed = (f": {' '.join(r['changed'])}" if len(r["changed"]) <= 8 else
                   " (--json names them)")
        rules = f"{r['rules']}" + (f", {len(r['changed'])} changed from {parent}{changed}"
                                   if r["parent"] else "")
        backend = (f"{r['kernel_backend']} (--backend kernel runs it on a kernel that has it)"
                   if r["kernel_backend"] else "none (model only; --backend kernel refuses it)")
        print(f"{r['name']}: {r['summary']}", file=out)
        print(f"  parent:         {parent}", file=out)
        print(f"  kernels:        {r['kernels']}", file=out)
        print(f"  kernel backend: {backend}", file=out)
        print(f"  rules:          {rules}", file=out)
        print(f"  flags:          {' '.join(f'{n}={hex(b)}' for n, b in r['flags'].items())}", file=out)
        print(f"  attach points:  {' '.join(r['attach_points'])}", file=out)
        print(f"  z3 encoding:    {r['encoding'] or 'not written yet'}; spec: {r['spec']}/", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------
# diff

def cmd_diff(args, out=None, err=None) -> int:
    from ..dialect_diff import diff
    from ..syntax.render import render_script
    out, err = out or sys.stdout, err or sys.stderr
    if not 1 <= args.depth <= 8:
        print(f"mprog dialects diff: --depth must be from 1 to 8, not {args.depth}", file=err)
        return EXIT_BAD
    if args.max_states < 1:
        print(f"mprog dialects diff: --max-states must be >= 1, not {args.max_states}", file=err)
        return EXIT_BAD
    try:
        report = diff(args.a, args.b, depth=args.depth, max_states=args.max_states)
    except (LookupError, ValueError) as e:
        print(f"mprog dialects diff: {str(e).strip(chr(34))}", file=err)
        return EXIT_BAD
    scripts = [(render_script(d.script("a")), render_script(d.script("b"))) for d in report.divergences]
    paths = []
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for i, (d, (sa, sb)) in enumerate(zip(report.divergences, scripts), 1):
            for name, text in ((d.a, sa), (d.b, sb)):
                path = os.path.join(args.out, f"{i:02d}-{name}.mprog")
                write_atomically(path, text)
                paths.append(path)
    if args.json:
        doc = {"a": report.a, "b": report.b, "depth": report.depth, "attach_point": report.point,
               "alphabet": report.alphabet, "states": report.states, "requests": report.requests,
               "seconds": round(report.seconds, 3), "complete": report.complete, "files": paths,
               "divergences": [{"rules": {"a": d.rules[0], "b": d.rules[1]}, "depth": d.depth,
                                "request": d.last,
                                "answers": {"a": d.answer("a"), "b": d.answer("b")},
                                "scripts": {"a": sa, "b": sb}}
                               for d, (sa, sb) in zip(report.divergences, scripts)]}
        print(json.dumps(doc, sort_keys=True), file=out)
    else:
        for line in summary_lines(report):
            print(line, file=out)
        if args.out:
            print(f"scripts written to {args.out}/ (NN-<dialect>.mprog, {len(paths)} files)", file=out)
        else:
            for i, (d, (sa, sb)) in enumerate(zip(report.divergences, scripts), 1):
                print(f"\n# ==== {i}: {d.a} {d.rules[0]} / {d.b} {d.rules[1]}: the {d.a} script ====",
                      file=out)
                out.write(sa)
                same = "the same requests" if d.steps_a == d.steps_b else f"the requests as {d.b} writes them"
                print(f"# ==== {i}: the {d.b} script ({same}) ====", file=out)
                out.write(sb)
    if report.divergences:
        return 1
    return EXIT_OK if report.complete else EXIT_UNKNOWN


def summary_lines(report) -> list[str]:
    n = len(report.divergences)
    bound = (f"depth {report.depth}" if report.complete else
             f"depth {report.depth}, stopped at --max-states after {report.states} states")
    lines = [f"mprog dialects diff {report.a} {report.b}: {n} first divergence{'s' * (n != 1)} "
             f"within {bound}",
             f"  (breadth-first from the empty world on d0 {report.point}: {report.alphabet} requests per "
             f"state once d0 exists, {report.states} states, {report.requests} requests on each dialect, "
             f"{report.seconds:.1f} s)"]
    width = max((len(report.a), len(report.b)))
    for i, d in enumerate(report.divergences, 1):
        lines.append(f"  {i}. after {d.depth} request{'s' * (d.depth != 1)} "
                     f"({len(d.steps_a)} steps with the setup): {d.last}")
        lines.append(f"       {d.a + ':':<{width + 1}} {d.answer('a')}")
        lines.append(f"       {d.b + ':':<{width + 1}} {d.answer('b')}")
        lines += [f"       {line}" for line in d.legend]
    return lines


def register(sub) -> None:
    p = sub.add_parser("dialects", help="the dialect registry; where two dialects answer differently")
    dsub = p.add_subparsers(dest="dialects_command", required=True, metavar="{list,diff}")
    ls = dsub.add_parser("list", help="every dialect: parent, kernels, flags, kernel backend, rules")
    ls.add_argument("--json", action="store_true", help="print one JSON array")
    ls.set_defaults(func=cmd_list)
    df = dsub.add_parser("diff", help="shortest request sequences on which two dialects answer "
                                      "differently", description=DIFF_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    df.add_argument("a", metavar="A", help="dialect A (mprog dialects list)")
    df.add_argument("b", metavar="B", help="dialect B")
    df.add_argument("--depth", type=int, default=3, metavar="K",
                    help="longest sequence searched, in requests after the setup (default 3)")
    df.add_argument("--max-states", type=int, default=200_000, metavar="N",
                    help="stop after N distinct pairs of worlds (default 200000)")
    df.add_argument("--json", action="store_true", help="print one JSON object")
    df.add_argument("--out", metavar="DIR",
                    help="write the scripts to DIR/NN-<dialect>.mprog instead of printing them")
    df.set_defaults(func=cmd_diff)
