"""``mprog vectors``: the generated conformance suite (checker.suite).

* ``generate OUT [--dialect D ...]``: write the suite (every implemented
  dialect by default); kernel-backed dialects are replayed on the running
  kernel first when it can (``--kernel auto``, the default), and a
  disagreement stops generation: nothing is written.
* ``replay DIR [--backend model|kernel] [--dialect D]``: run every vector
  (and script) under DIR; one line per file, then ``N passed, M failed``.
* ``coverage [--json]``: rules and errnos reached by the suite, the rule
  cases, the scripts and the translated selftests, side by side.
* ``emit-c DIR -o OUT.c``: a self-contained C test (raw bpf(2), rtnetlink,
  cgroup v2 directories) that replays the tcx and cgroup vectors under DIR
  on a kernel.

Exit statuses: 0 done / all passed; 1 a generation error, a kernel
disagreement or a failed vector; 2 bad arguments, an unusable OUT, an
unavailable backend.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

from .common import EXIT_BAD, EXIT_FAIL, EXIT_OK, check_output, stop_z3_on_signal, write_atomically
from ..errors import BadInput

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _suite_dir_ok(path: str) -> None:
    """OUT may be absent, empty, or a suite this command wrote (its
    manifest.json says so): anything else is refused, never replaced."""
    if not os.path.lexists(path):
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise BadInput(f"cannot create the suite here: {parent} does not exist", path, 0, 0)
        return
    if os.path.islink(path) or not os.path.isdir(path):
        raise BadInput("not a directory: the suite is written only to a directory", path, 0, 0)
    names = os.listdir(path)
    if not names:
        return
    try:
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
            fmt = json.load(f).get("format")
    except (OSError, ValueError, AttributeError):
        fmt = None
    from ..suite.generate import SUITE_FORMAT
    if fmt != SUITE_FORMAT:
        raise BadInput("exists and is not a vector suite (no manifest.json of mprog vectors "
                       "generate): refusing to replace it", path, 0, 0)


def _write_tree(path: str, files: dict) -> None:
    """All files or none: a new tree beside OUT, then swapped in."""
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(prefix=".mprog-vectors-", dir=parent)
    try:
        for rel, text in files.items():
            full = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if os.path.isdir(path):
            old = tempfile.mkdtemp(prefix=".mprog-vectors-old-", dir=parent)
            os.rename(path, os.path.join(old, "suite"))
        os.rename(tmp, path)
        tmp = None
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


def _dialect_names(asked) -> list:
    from .. import dialects
    names = list(asked) if asked else list(dialects.names())
    for n in names:
        if n not in dialects.registry():
            raise BadInput(f"dialect {n!r} is not implemented (known: {', '.join(dialects.names())})",
                           "--dialect", 0, 0)
    return list(dict.fromkeys(names))


def cmd_generate(args, out=None, err=None) -> int:
    from ..suite import generate as G
    from ..suite.confirm import confirm
    from ..syntax.vectors import schema_text
    out, err = out or sys.stdout, err or sys.stderr
    _suite_dir_ok(args.out)
    names = _dialect_names(args.dialect)
    if args.kernel == "yes":            # before a minute of generation, not after
        from ..suite.confirm import kernel_reason
        for name in names:
            reason = kernel_reason(name) if dialect_has_kernel(name) else None
            if reason is not None:
                print(f"mprog: --kernel yes, but {name} cannot be replayed here: {reason}", file=err)
                return EXIT_BAD
    stop_z3_on_signal()
    t0 = time.perf_counter()
    suites = []
    try:
        for name in names:
            t = time.perf_counter()
            s = G.generate_dialect(name)
            suites.append(s)
            print(_summary(s, time.perf_counter() - t), file=out)
    except G.GenerationError as e:
        print(f"mprog: generation stopped, nothing written:\n{e}", file=err)
        return EXIT_FAIL
    model_s = time.perf_counter() - t0
    status = _confirm(suites, args, out, err, confirm)
    if status:
        return status
    files = G.files(suites, schema_text(), G.readme(suites))
    _write_tree(args.out, files)
    n = sum(len(s.vectors) for s in suites)
    print(f"wrote {args.out}/: {n} vectors, manifest.json, vector.schema.json, README.md "
          f"(generated in {model_s:.1f} s on the model)", file=out)
    return EXIT_OK


def _summary(s, seconds: float) -> str:
    from .. import dialects
    rules = len(dialects.get(s.dialect).rules)
    steps = sum(len(v.script.steps) for v in s.vectors)
    head = (f"{s.dialect}: {len(s.vectors)} vectors, {steps} steps, from {s.candidates} candidates; "
            f"{rules}/{rules} rules")
    if s.pairs is None:
        tail = ("; no (rule, op) pair list (" + ("its z3 encoding has no request domain yet"
                                                  if dialects.get(s.dialect).encoding else "no z3 encoding")
                + "): every rule reached in some op")
    else:
        bound = (f"cgroup lists of <= {s.n_max} entries" if dialects.get(s.dialect).target == "cgroup"
                 else f"hooks of <= {s.n_max} slots")
        tail = (f"; {s.pairs - len(s.unreachable)} of {s.pairs} (rule, op) pairs reached, "
                f"{len(s.unreachable)} proved unreachable by z3 ({bound})")
    return f"{head}{tail} [{seconds:.1f} s]"


def _confirm(suites, args, out, err, confirm) -> int:
    """Kernel confirmation (--kernel): 0 to go on, else the exit status."""
    if args.kernel == "no":
        print("kernel: not asked (--kernel no)", file=out)
        return 0
    from ..kernel.rcu import expedited_rcu
    with expedited_rcu(args.expedited_rcu) as prev:
        if args.expedited_rcu and prev is not None:
            print(f"mprog: /sys/kernel/rcu_expedited set to 1 for this run (was {prev}; restored on exit)",
                  file=err)
        skipped = []
        for s in suites:
            c = confirm(s.dialect, s.vectors)
            if not c.ran:
                skipped.append((s.dialect, c.reason))
                continue
            print(f"kernel: {s.dialect}: {c.vectors} vectors, {c.steps} steps replayed on Linux "
                  f"{os.uname().release}, {len(c.disagreements)} disagreements [{c.seconds:.1f} s]",
                  file=out)
            if c.disagreements:
                print(f"mprog: the kernel disagrees with the executor; generation stopped, nothing "
                      f"written:", file=err)
                for d in c.disagreements:
                    print(f"  {d}", file=err)
                return EXIT_FAIL
        for name, reason in skipped:
            if args.kernel == "yes" and dialect_has_kernel(name):
                print(f"mprog: --kernel yes, but {name} cannot be replayed here: {reason}", file=err)
                return EXIT_BAD
            why = ("model only: no kernel implements it" if not dialect_has_kernel(name) else _short(reason))
            print(f"kernel: {name}: not replayed ({why})", file=out)
    return 0


def dialect_has_kernel(name: str) -> bool:
    from .. import dialects
    return dialects.get(name).kernel is not None


def _short(reason: str) -> str:
    return reason if len(reason) <= 160 else reason[:157] + "..."


# --------------------------------------------------------------------------

def cmd_replay(args, out=None, err=None) -> int:
    from ..kernel.rcu import expedited_rcu
    from ..suite.replay import replay
    out, err = out or sys.stdout, err or sys.stderr
    if not os.path.exists(args.dir):
        raise BadInput("no such file or directory", args.dir, 0, 0)
    counts = {"passed": 0, "failed": 0, "skipped": 0, "bad": 0}
    reasons: dict = {}
    with expedited_rcu(args.expedited_rcu and args.backend == "kernel"):
        for r in replay(args.dir, args.backend, args.dialect):
            counts[r.status] += 1
            if r.status == "passed":
                print(f"ok   {r.path}", file=out)
            elif r.status == "skipped":
                reasons.setdefault(r.lines[0], 0)
                reasons[r.lines[0]] += 1
            elif r.status == "failed":
                print(f"FAIL {r.path}: " + "\n".join(r.lines), file=out)
            else:
                print(f"BAD  {r.path}", file=out)
                for line in r.lines:
                    print(f"  {line}", file=out)
    for reason, n in reasons.items():
        print(f"skipped {n}: {reason}", file=out)
    failed = counts["failed"] + counts["bad"]
    print(f"{counts['passed']} passed, {failed} failed", file=out)
    if counts["passed"] + failed == 0:
        print(f"mprog: nothing was replayed under {args.dir}", file=err)
        return EXIT_BAD
    return EXIT_FAIL if failed else EXIT_OK


# --------------------------------------------------------------------------

def cmd_coverage(args, out=None, err=None) -> int:
    from ..suite import coverage as C
    out = out or sys.stdout
    corpora = []
    specs = C.default_corpora(REPO, args.suite)
    if args.suite and not os.path.isdir(args.suite):
        raise BadInput("no such directory", args.suite, 0, 0)
    for name, root, only in specs:
        corpora.append(C.measure(name, root, only))
    if not corpora:
        raise BadInput("no corpus found: give --suite DIR (tests/ and vectors/ of a checkout are "
                       "used when present)", args.suite or REPO, 0, 0)
    data = C.table(corpora)
    if args.json:
        print(json.dumps({"corpora": {c.name: os.path.relpath(c.root) for c in corpora},
                          "dialects": data}, sort_keys=True), file=out)
        return EXIT_OK
    names = [c.name for c in corpora]
    for dialect, d in data.items():
        files = ", ".join(f"{n} {d['files'][n]}" for n in names)
        print(f"{dialect}: steps deciding each rule (files: {files})", file=out)
        w = max(len(r) for r in d["rules"]) + 2
        print(f"  {'rule':{w}}{'errno':12}" + "".join(f"{n:>12}" for n in names), file=out)
        for rule, row in d["rules"].items():
            cells = "".join(f"{(row[n] or '-')!s:>12}" for n in names)
            print(f"  {rule:{w}}{row['errno']:12}{cells}", file=out)
        total = len(d["rules"])
        reached = "".join(f"{sum(1 for r in d['rules'].values() if r[n]):>9}/{total:<2}" for n in names)
        print(f"  {'rules reached':{w}}{'':12}{reached}", file=out)
        print(f"  errnos:", file=out)
        for e, row in d["errnos"].items():
            print(f"  {'  ' + e:{w}}{'':12}" + "".join(f"{(row[n] or '-')!s:>12}" for n in names), file=out)
        for n, gap in d["gaps"].items():
            if gap:
                print(f"  reached by the {names[0]}, not by the {n} ({len(gap)}): {' '.join(gap)}", file=out)
        print(file=out)
    return EXIT_OK


# --------------------------------------------------------------------------

def cmd_emit_c(args, out=None, err=None) -> int:
    from ..suite.emit_c import emit
    out = out or sys.stdout
    if not os.path.exists(args.dir):
        raise BadInput("no such file or directory", args.dir, 0, 0)
    check_output(args.output)
    text, n, skipped = emit(args.dir)
    write_atomically(args.output, text)
    if args.output != "-":
        print(f"wrote {args.output}: {n} vectors" + (f" ({skipped} of dialects the C test does not run "
                                                     "left out: it runs tcx and cgroup)" if skipped else ""),
              file=out)
    return EXIT_OK


def register(sub) -> None:
    v = sub.add_parser("vectors", help="the generated conformance suite: generate, replay, coverage, emit-c")
    vs = v.add_subparsers(dest="vectors_command", required=True, metavar="COMMAND")
    g = vs.add_parser("generate", help="write the suite of every (or each --dialect) dialect to OUT")
    g.add_argument("out", metavar="OUT", help="directory (created, or a suite written before: replaced)")
    g.add_argument("--dialect", action="append", metavar="D", help="only this dialect (repeatable)")
    g.add_argument("--kernel", choices=("auto", "yes", "no"), default="auto",
                   help="replay kernel-backed dialects on the running kernel before writing: auto "
                        "(when it can, the default), yes (required), no")
    g.add_argument("--expedited-rcu", action="store_true",
                   help="set /sys/kernel/rcu_expedited=1 for the kernel replay (machine-wide; restored)")
    g.set_defaults(func=cmd_generate)
    r = vs.add_parser("replay", help="replay every vector under DIR; final line 'N passed, M failed'")
    r.add_argument("dir", metavar="DIR")
    r.add_argument("--backend", choices=("model", "kernel"), default="model")
    r.add_argument("--dialect", metavar="D", help="only vectors of this dialect")
    r.add_argument("--expedited-rcu", action="store_true",
                   help="with --backend kernel: set /sys/kernel/rcu_expedited=1 for the run (restored)")
    r.set_defaults(func=cmd_replay)
    c = vs.add_parser("coverage", help="rules and errnos reached by the suite, rule cases, scripts, "
                                       "selftests")
    c.add_argument("--suite", metavar="DIR", help="the suite (default: vectors/ of this checkout)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_coverage)
    e = vs.add_parser("emit-c", help="a self-contained C test replaying the tcx and cgroup vectors under DIR")
    e.add_argument("dir", metavar="DIR")
    e.add_argument("-o", "--output", required=True, metavar="OUT.c")
    e.set_defaults(func=cmd_emit_c)
