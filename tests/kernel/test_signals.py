"""SIGINT and SIGTERM stop ``mprog fuzz --expedited-rcu`` cleanly (a few
trials here; bench/bench_signals.py runs 20 per signal), and after a
SIGKILL the next kernel command restores rcu_expedited."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from checker.kernel import kernel_available, rcu

_REASON = kernel_available()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"kernel backend unavailable: {_REASON}")

from corpus import REPO  # noqa: E402
from stopping import trial  # noqa: E402


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM])
def test_fuzz_stops_cleanly(sig, tmp_path):
    # (Leftover objects are counted system-wide, which another suite on the
    # machine would disturb: bench/bench_signals.py checks them; the
    # backends' own clean-up is tested in test_backend / test_fuzz.)
    assert trial(sig, str(tmp_path), random.Random(int(sig)), system_wide=False) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cgroup_fuzz_stops_cleanly(sig, tmp_path):
    """The cgroup campaign too: its private cgroup subtree is gone."""
    from checker.kernel.cgroup import cgroup_available
    reason = cgroup_available()
    if reason is not None:
        pytest.skip(f"cgroup backend unavailable: {reason}")
    assert trial(sig, str(tmp_path), random.Random(int(sig) + 7), system_wide=False,
                 dialect="cgroup") == []


def test_sigkill_then_any_kernel_command_restores_rcu_expedited(tmp_path):
    with open(rcu.PATH) as f:
        before = f.read().strip()
    p = subprocess.Popen([sys.executable, "-m", "checker", "fuzz", "--expedited-rcu", "--time", "60",
                          "--out", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    assert "rcu_expedited set to 1" in p.stderr.readline()
    time.sleep(1)
    p.kill()
    p.wait()
    p.stderr.close()
    with open(rcu.PATH) as f:
        assert f.read().strip() == "1"
    # A plain kernel run, without --expedited-rcu, repairs it and says so.
    r = subprocess.run([sys.executable, "-m", "checker", "run", "--backend", "kernel", str(REPO / "examples" / "tour.mprog")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    if before != "1":
        assert f"restored {rcu.PATH} to {before}" in r.stderr and f"pid {p.pid}" in r.stderr
    with open(rcu.PATH) as f:
        assert f.read().strip() == before
