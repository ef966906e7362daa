"""The whole script corpus (kernel selftest translations, per-rule cases,
examples) holds on the live kernel too: every errno, count, revision, order
and link owner, and the model and kernel agree step by step."""
from __future__ import annotations

import pathlib

import pytest

from checker import dialects
from checker.diff import first_divergence
from checker.exec import Executor
from checker.kernel import KernelBackend, kernel_available
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
# The files of dialects the running kernel implements (rfc runs on the model only).
CORPUS = [p for p in sorted((REPO / "tests" / "scripts").glob("*.mprog"))
          + sorted((REPO / "tests" / "rules").glob("*/*.mprog")) + sorted((REPO / "examples").glob("*.mprog"))
          if dialects.get(read_script(str(p)).dialect).kernel == "tcx"]

pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(REPO)))
def test_corpus_holds_on_kernel(path, expedited_rcu):
    script = read_script(str(path))
    with KernelBackend() as k:
        failures = [f"line {r.step.line}: {render_step(r.step)}: {'; '.join(r.failures)}"
                    for r in run_steps(script.steps, k) if not r.passed]
    assert failures == []
    with KernelBackend() as k:
        d = first_divergence(script.steps, Executor(), k)
    assert d is None, f"step {d.index} line {d.step.line}: {render_step(d.step)}: model {d.model} kernel {d.kernel}"
