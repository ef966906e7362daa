"""CLI on the live kernel: run --backend kernel and diff, as a user calls them."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from checker.kernel import kernel_available

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
TOUR = REPO / "examples" / "tour.mprog"
pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))


def mprog(*args, cwd):
    return subprocess.run([sys.executable, "-m", "checker", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_run_on_kernel_same_output_and_exit_codes(tmp_path):
    r = mprog("run", "--backend", "kernel", TOUR, cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, f"ok   {TOUR}\n")
    wrong = tmp_path / "w.mprog"
    wrong.write_text(TOUR.read_text().replace("=> ok count 2 rev 3", "=> ok count 2 rev 9"))
    r = mprog("run", "--backend", "kernel", wrong, cwd=tmp_path)
    assert r.returncode == 1
    assert "revision: expected 9, got 3" in r.stdout and "rule: (kernel)" in r.stdout
    assert "trace (last 8 steps, kernel backend):" in r.stdout


def test_diff_reports_same_and_bad_input(tmp_path):
    r = mprog("diff", TOUR, REPO / "tests" / "anomalies" / "revision-reset-aba.mprog", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.splitlines() == [f"same {TOUR}",
                                     f"same {REPO / 'tests' / 'anomalies' / 'revision-reset-aba.mprog'}"]
    bad = tmp_path / "bad.mprog"
    bad.write_text("dev_add d\nattach q d ingress\n")
    r = mprog("diff", bad, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(f"{bad}:2:8: unknown name 'q'")


def test_kernel_backend_refuses_a_dialect_the_kernel_does_not_implement(tmp_path):
    """rfc runs on the model only: the kernel backend exits 2 and says which
    dialect the running kernel implements, before it creates anything."""
    script = REPO / "tests" / "rules" / "rfc" / "attach" / "first.mprog"
    for cmd in (("run", "--backend", "kernel"), ("diff",)):
        r = mprog(*cmd, script, cwd=tmp_path)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "implement the linux, netkit and cgroup dialects, not 'rfc'" in r.stderr, r.stderr
        assert "run 'rfc' on the model backend" in r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""
    assert mprog("run", script, cwd=tmp_path).returncode == 0
