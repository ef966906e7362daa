"""spec/anomalies.md: each anomaly's script holds on the kernel and the model."""
from __future__ import annotations

import glob
import os

import pytest

from checker.exec import Executor
from checker.kernel import KernelBackend, kernel_available
from checker.runner import check_expectation
from checker.syntax.script import read_script

_REASON = kernel_available()
HERE = os.path.join(os.path.dirname(__file__), "..", "anomalies")
SCRIPTS = sorted(glob.glob(os.path.join(HERE, "*.mprog")))


def _check(backend, path):
    script = read_script(path)
    for s in script.steps:
        fails = check_expectation(s.expect, backend.apply(s))
        assert not fails, f"{path}:{s.line}: {fails}"


def test_at_least_three():
    assert len(SCRIPTS) >= 3
    with open(os.path.join(HERE, "..", "..", "spec", "anomalies.md")) as f:
        spec = f.read()
    for p in SCRIPTS:
        assert f"anomaly/{os.path.basename(p)[:-6]}" in spec


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_model(path):
    _check(Executor(), path)


@pytest.mark.skipif(_REASON is not None, reason=f"kernel backend unavailable: {_REASON}")
@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_kernel(path, expedited_rcu):
    with KernelBackend() as kb:
        _check(kb, path)
