"""The whole script corpus (kernel selftest translations, per-rule cases,
examples) holds on the live kernel too: every errno, count, revision, order
and link owner, and the model and kernel agree step by step.  Each file runs
on the kernel backend of its dialect (tcx, netkit); a dialect whose backend
cannot run here (netkit on a kernel without it) skips with the probe's
reason, and runs in the guests of ``mprog matrix``."""
from __future__ import annotations

import pathlib

import pytest

from checker import dialects
from checker.diff import first_divergence
from checker.exec import Executor
from checker.kernel import available, kernel_available, kernel_backend
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
# The files of dialects a kernel implements (rfc and linux-6.6-rc run on the model only).
CORPUS = [(p, read_script(str(p)).dialect) for p in
          sorted((REPO / "tests" / "scripts").glob("**/*.mprog"))
          + sorted((REPO / "tests" / "rules").glob("**/*.mprog")) + sorted((REPO / "examples").glob("*.mprog"))]
CORPUS = [(p, d) for p, d in CORPUS if dialects.get(d).kernel]

pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))


@pytest.mark.parametrize("path,dialect", CORPUS, ids=lambda x: str(x.relative_to(REPO)) if isinstance(x, pathlib.Path) else x)
def test_corpus_holds_on_kernel(path, dialect, expedited_rcu):
    reason = available(dialect)
    if reason is not None:
        pytest.skip(f"{dialect} backend unavailable: {reason}")
    script = read_script(str(path))
    with kernel_backend(dialect) as k:
        failures = [f"line {r.step.line}: {render_step(r.step)}: {'; '.join(r.failures)}"
                    for r in run_steps(script.steps, k) if not r.passed]
    assert failures == []
    with kernel_backend(dialect) as k:
        d = first_divergence(script.steps, Executor(dialect), k)
    assert d is None, f"step {d.index} line {d.step.line}: {render_step(d.step)}: model {d.model} kernel {d.kernel}"
