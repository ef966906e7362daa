"""``mprog run``: run scripts and vectors on a backend, check their expectations.

Exit status: 0 all expectations hold, 1 an expectation failed, 2 bad input or
an unavailable backend.
"""
from __future__ import annotations

import collections
import json
import sys

from ..backend import open_backend
from ..errors import BackendUnavailable, BadInput
from ..runner import outcome_summary, query_summary, run_steps, stored_flags_table
from ..syntax.render import render_step
from ..syntax.sources import Stream

TRACE_CONTEXT = 20


def _query_json(q, stored):
    if q is None:
        return None
    d = {"count": q.count, "revision": q.revision, "progs": list(q.progs), "links": list(q.links)}
    if stored is not None:    # stored flags as names, one list per entry (spec/vectors.md)
        d["flags"] = [list(stored.decode(f)) for f in q.flags]
    if q.mode is not None:
        d["mode"] = q.mode
    return d


def _print_hooks(hooks, out, stored) -> None:
    for (dev, dir), q in sorted(hooks.items()):
        print(f"  {dev} {dir}: {query_summary(q, stored)}", file=out)


def run_file(path: str, backend_kind: str, as_json: bool, out) -> int:
    """Run one file; returns 0 (passed) or 1 (an expectation failed)."""
    with Stream(path) as stream:
        backend = open_backend(backend_kind, stream.dialect)
        stored = stored_flags_table(stream.dialect)
        try:
            trace = collections.deque(maxlen=TRACE_CONTEXT)
            steps_json, failed = [], 0
            # The kernel backend stays inside its namespace for the whole file.
            with backend.session():
                for r in run_steps(stream, backend):
                    o = r.outcome
                    if as_json:
                        steps_json.append({"index": r.index, "line": r.step.line, "errno": o.errno,
                                           "rule": o.rule, "query": _query_json(o.query, stored),
                                           "failures": r.failures})
                        failed += not r.passed
                        continue
                    line = f"  step {r.index} (line {r.step.line}): {render_step(r.step)}\n      -> {outcome_summary(o, stored)}"
                    if o.rule:
                        line += f"  [{o.rule}]"
                    if not stream.has_expectations:
                        print(line, file=out)
                        continue
                    trace.append(line)
                    if not r.passed:
                        failed += 1
                        print(f"FAIL {path}: step {r.index} (line {r.step.line}): {render_step(r.step)}", file=out)
                        for f in r.failures:
                            print(f"  {f}", file=out)
                        print(f"  rule: {o.rule or '(kernel)'}", file=out)
                        print(f"  trace (last {len(trace)} steps, {backend.name} backend):", file=out)
                        for t in trace:
                            print("  " + t, file=out)
            if as_json:
                print(json.dumps({"file": path, "passed": not failed, "steps": steps_json}), file=out)
            elif not stream.has_expectations:
                print(f"{path}: final state ({backend.name} backend)", file=out)
                _print_hooks(backend.hooks(), out, stored)
            elif not failed:
                print(f"ok   {path}", file=out)
            return 1 if failed else 0
        finally:
            backend.close()


def cmd_run(args) -> int:
    status = 0
    for path in args.files:
        try:
            status = max(status, run_file(path, args.backend, args.json, sys.stdout))
        except BadInput as e:
            print(e.render(), file=sys.stderr)
            status = 2
        except BackendUnavailable as e:
            print(f"mprog: the {args.backend} backend is unavailable: {e}", file=sys.stderr)
            return 2
    return status


def register(sub) -> None:
    r = sub.add_parser("run", help="run scripts or JSON vectors and check their expectations")
    r.add_argument("files", nargs="+", metavar="FILE", help=".mprog script or .json vector")
    r.add_argument("--backend", choices=("model", "kernel"), default="model",
                   help="model: the reference executor (default); kernel: the running kernel, "
                        "inside a private network namespace")
    r.add_argument("--json", action="store_true", help="print one JSON result object per file")
    r.set_defaults(func=cmd_run)
