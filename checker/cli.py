"""Command line: ``mprog run | convert | diff | fuzz | verify | solve | plan``.

Exit status: 0 all expectations hold, 1 an expectation failed (or a
divergence was found), 2 bad input or an unavailable backend.  Library code
never prints; this module does all the output.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile

from .errors import BackendUnavailable, BadInput
from .executor import Executor
from .runner import format_entries, outcome_summary, run_steps
from .script import render_script, render_step
from .sources import Stream, is_vector, load
from .vectors import dumps_vector

TRACE_CONTEXT = 20


def make_backend(kind: str, dialect: str):
    if kind == "model":
        return Executor(dialect)
    from .kernel import KernelBackend, kernel_available
    reason = kernel_available()
    if reason:
        raise BackendUnavailable(reason)
    if dialect != "linux":
        raise BackendUnavailable(f"the kernel speaks the linux dialect, not {dialect!r}")
    return KernelBackend()


def _query_json(q):
    if q is None:
        return None
    return {"count": q.count, "revision": q.revision, "progs": list(q.progs), "links": list(q.links)}


def _print_hooks(hooks, out) -> None:
    for (dev, dir), q in sorted(hooks.items()):
        print(f"  {dev} {dir}: count {q.count} rev {q.revision} {format_entries(q.progs, q.links)}", file=out)


def run_file(path: str, backend_kind: str, as_json: bool, out) -> int:
    """Run one file; returns 0 (passed) or 1 (an expectation failed)."""
    with Stream(path) as stream:
        backend = make_backend(backend_kind, stream.dialect)
        try:
            trace = collections.deque(maxlen=TRACE_CONTEXT)
            steps_json, failed = [], 0
            # The kernel backend stays inside its namespace for the whole file.
            with backend.session():
                for r in run_steps(stream, backend):
                    o = r.outcome
                    if as_json:
                        steps_json.append({"index": r.index, "line": r.step.line, "errno": o.errno,
                                           "rule": o.rule, "query": _query_json(o.query),
                                           "failures": r.failures})
                        failed += not r.passed
                        continue
                    line = f"  step {r.index} (line {r.step.line}): {render_step(r.step)}\n      -> {outcome_summary(o)}"
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
                _print_hooks(backend.hooks(), out)
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


def write_atomically(path: str, text: str) -> None:
    """Write all or nothing: a failure never leaves a partial output file."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".mprog-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def cmd_convert(args) -> int:
    try:
        script = load(args.input)
    except BadInput as e:
        print(e.render(), file=sys.stderr)
        return 2
    to_json = not is_vector(args.input)
    if args.output:
        to_json = is_vector(args.output)
    text = dumps_vector(script) if to_json else render_script(script)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mprog", description=(
        "Model checker, reference executor and differential fuzzer for Linux "
        "bpf_mprog (tcx) multi-program attach semantics."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run scripts or JSON vectors and check their expectations")
    r.add_argument("files", nargs="+", metavar="FILE", help=".mprog script or .json vector")
    r.add_argument("--backend", choices=("model", "kernel"), default="model",
                   help="model: the reference executor (default); kernel: the running kernel, "
                        "inside a private network namespace")
    r.add_argument("--json", action="store_true", help="print one JSON result object per file")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("convert", help="script <-> JSON vector (lossless)")
    c.add_argument("input", metavar="FILE")
    c.add_argument("-o", "--output", metavar="OUT",
                   help="output file; its extension (.json or other) picks the format")
    c.set_defaults(func=cmd_convert)

    from . import cli_extra
    cli_extra.register(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("mprog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
