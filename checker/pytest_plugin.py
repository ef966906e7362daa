"""pytest plugin (entry point ``pytest11``): ``.mprog`` scripts and mprog
JSON vectors as test items, one item per file, run on the reference
executor or the live kernel.

Opt-in, so that a project's unrelated JSON is never collected: files are
collected only

* under a directory holding a marker file ``.mprog-vectors``, or a
  generated suite's ``manifest.json`` (``mprog vectors generate``), or
* everywhere, with the ini option ``mprog_collect = true``;

and a ``.json`` file only when it is an mprog vector (its ``format`` is
``mprog-vector``; a file that names the format but does not parse is
collected, and fails with the position of the error).

Options: ``--mprog-backend model|kernel`` (default: the ini option
``mprog_backend``, else ``model``), ``--mprog-dialect D`` (repeatable: only
files of these dialects run, the others are skipped), and
``--mprog-expedited-rcu`` (kernel backend: /sys/kernel/rcu_expedited=1 for
the session, restored).  A file the backend cannot run (no kernel here, a
model-only dialect on the kernel) is skipped with the reason.  A failure
shows the step, expected vs actual, the rule and the trace, as ``mprog run``
does.
"""
from __future__ import annotations

import collections
import contextlib

import pytest

MARKER = ".mprog-vectors"
TRACE = 10


def pytest_addoption(parser):
    g = parser.getgroup("mprog", "bpf_mprog scripts and conformance vectors (mprog-checker)")
    g.addoption("--mprog-backend", choices=("model", "kernel"), default=None,
                help="run .mprog scripts and vectors on the reference executor (model) or the "
                     "running kernel (default: ini mprog_backend, else model)")
    g.addoption("--mprog-dialect", action="append", default=None, metavar="D",
                help="only run files of dialect D (repeatable); the others are skipped")
    g.addoption("--mprog-expedited-rcu", action="store_true",
                help="with the kernel backend: /sys/kernel/rcu_expedited=1 for the session (restored)")
    parser.addini("mprog_collect", type="bool", default=False,
                  help="collect .mprog scripts and mprog JSON vectors everywhere (else only under a "
                       f"{MARKER} marker file or a generated suite's manifest.json)")
    parser.addini("mprog_backend", default="model", help="model or kernel (--mprog-backend wins)")


def _backend(config) -> str:
    kind = config.getoption("--mprog-backend") or config.getini("mprog_backend") or "model"
    if kind not in ("model", "kernel"):
        raise pytest.UsageError(f"mprog_backend must be model or kernel, not {kind!r}")
    return kind


_RCU: list = []


def pytest_sessionstart(session):
    config = session.config
    if config.getoption("--mprog-expedited-rcu") and _backend(config) == "kernel":
        from checker.kernel.rcu import expedited_rcu
        cm = expedited_rcu(True)
        cm.__enter__()
        _RCU.append(cm)


def pytest_sessionfinish(session, exitstatus):
    while _RCU:
        _RCU.pop().__exit__(None, None, None)


def _opted_in(config, path) -> bool:
    if config.getini("mprog_collect"):
        return True
    cache = config.stash.setdefault(_OPT_KEY, {})
    d = path.parent
    seen = []
    while True:
        if d in cache:
            hit = cache[d]
            break
        seen.append(d)
        if (d / MARKER).exists() or _is_suite(d / "manifest.json"):
            hit = True
            break
        if d.parent == d or d == config.rootpath.parent:
            hit = False
            break
        d = d.parent
    for s in seen:
        cache[s] = hit
    return hit


_OPT_KEY = pytest.StashKey[dict]()


def _is_suite(manifest) -> bool:
    try:
        head = manifest.read_text(encoding="utf-8", errors="replace")[:400]
    except OSError:
        return False
    return '"mprog-vector-suite"' in head


def _is_vector(path) -> bool:
    import json
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if "mprog-vector" not in text:
        return False
    try:
        doc = json.loads(text)
    except ValueError:
        return True            # names the format but is broken: collected, fails with the position
    return isinstance(doc, dict) and doc.get("format") == "mprog-vector"


def pytest_collect_file(file_path, parent):
    if file_path.suffix not in (".mprog", ".json"):
        return None
    if file_path.name in ("manifest.json", "vector.schema.json"):
        return None
    if not _opted_in(parent.config, file_path):
        return None
    if file_path.suffix == ".json" and not _is_vector(file_path):
        return None
    return MprogFile.from_parent(parent, path=file_path)


class MprogFile(pytest.File):
    def collect(self):
        yield MprogItem.from_parent(self, name=self.path.name)


class MprogFailure(Exception):
    """An expectation of a script or vector did not hold."""


class MprogItem(pytest.Item):
    def runtest(self):
        from checker.backend import open_backend
        from checker.errors import BackendUnavailable, BadInput
        from checker.runner import outcome_summary, run_steps, stored_flags_table
        from checker.syntax.render import render_step
        from checker.syntax.sources import load

        try:
            script = load(str(self.path))
        except BadInput as e:
            raise MprogFailure(e.render()) from None
        dialects = self.config.getoption("--mprog-dialect")
        if dialects and script.dialect not in dialects:
            pytest.skip(f"dialect {script.dialect} (--mprog-dialect {' '.join(dialects)})")
        kind = _backend(self.config)
        try:
            backend = open_backend(kind, script.dialect)
        except BackendUnavailable as e:
            pytest.skip(f"the {kind} backend cannot run dialect {script.dialect} here: {e}")
        stored = stored_flags_table(script.dialect)
        trace = collections.deque(maxlen=TRACE)
        checked = 0
        with contextlib.closing(backend), backend.session():
            for r in run_steps(script.steps, backend):
                o = r.outcome
                line = (f"step {r.index} (line {r.step.line}): {render_step(r.step)}\n"
                        f"      -> {outcome_summary(o, stored)}" + (f"  [{o.rule}]" if o.rule else ""))
                trace.append(line)
                checked += r.step.expect is not None
                if not r.passed:
                    text = [f"{self.path}: step {r.index} (line {r.step.line}): {render_step(r.step)}"]
                    text += [f"  {f}" for f in r.failures]
                    text.append(f"  rule: {o.rule or '(kernel)'}")
                    text.append(f"  trace (last {len(trace)} steps, {backend.name} backend):")
                    text += ["    " + t for t in trace]
                    raise MprogFailure("\n".join(text))
        if not checked:
            raise MprogFailure(f"{self.path}: no step carries an expectation: nothing to check")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MprogFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"mprog: {self.name}"
