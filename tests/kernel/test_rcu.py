"""rcu_expedited is restored to its original value however runs overlap or end."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from checker.kernel import rcu

pytestmark = pytest.mark.skipif(not os.access(rcu.PATH, os.W_OK), reason=f"{rcu.PATH} is not writable")


def value() -> str:
    with open(rcu.PATH) as f:
        return f.read().strip()


HOLD = ("import sys, time\nfrom checker.kernel.rcu import expedited_rcu\n"
        "with expedited_rcu():\n    print('in', flush=True)\n    time.sleep(float(sys.argv[1]))\n")


def start(seconds: float) -> subprocess.Popen:
    """A holder in another process; returns once it holds."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "in\n"
    return p


def finish(p: subprocess.Popen) -> int:
    rc = p.wait(10)
    p.stdout.close()
    return rc


def test_overlapping_holders_restore_the_original(expedited_rcu):
    # The session fixture already holds (the value is 1); two more come and go.
    assert value() == "1"
    a, b = start(0.5), start(1.5)
    assert finish(a) == 0
    assert value() == "1"              # b and the session still hold
    assert finish(b) == 0
    assert value() == "1"              # the session still holds
    assert os.getpid() in rcu._read_state()["holders"]


def test_last_holder_restores_and_dead_holders_are_pruned():
    # A SIGKILLed holder must not pin the value: after the next holder leaves,
    # the value is what it was before the killed one came (1 while the test
    # session itself holds, the original otherwise).
    code = (
        "import os, subprocess, sys\n"
        "from checker.kernel import rcu\n"
        "orig = open(rcu.PATH).read().strip()\n"
        f"k = subprocess.Popen([sys.executable, '-c', {HOLD!r}, '30'], stdout=subprocess.PIPE, text=True)\n"
        "assert k.stdout.readline() == 'in\\n'\n"
        "k.kill(); k.wait(); k.stdout.close()\n"
        "with rcu.expedited_rcu() as prev:\n"
        "    assert open(rcu.PATH).read().strip() == '1'\n"
        "    assert k.pid not in rcu._read_state()['holders']\n"
        "after = open(rcu.PATH).read().strip()\n"
        "assert after == orig, (orig, after)\n"
        "print('restored', after)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("restored")


def test_sigterm_restores():
    p = start(30)
    p.send_signal(signal.SIGTERM)
    assert finish(p) != 0
    assert p.pid not in rcu._read_state().get("holders", [])
