"""``mprog verify --jobs 2`` stopped by a signal: the command exits with
its message and 128 + the signal's number, without a traceback, and no
worker process outlives it (also when the parent is SIGKILLed: the
workers die with it, PR_SET_PDEATHSIG)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAIN = "import sys; from checker.cli import main; sys.exit(main())"


def _children(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _start():
    p = subprocess.Popen([sys.executable, "-c", MAIN, "verify", "--n-max", "63", "--only", "equivalence",
                          "--jobs", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children(p.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _children(p.pid)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(2)                      # inside the proofs
    return p, workers


def _gone(pids, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(w) for w in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(_alive(w) for w in pids)


@pytest.mark.parametrize("sig,group", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_verify_with_workers_stops_on_a_signal(sig, group):
    """SIGTERM to the command, or SIGINT to its process group (a Ctrl-C in
    a terminal reaches the workers too: they ignore it, the parent stops
    them)."""
    p, workers = _start()
    t0 = time.monotonic()
    (os.killpg if group else os.kill)(p.pid, sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig, err
    assert time.monotonic() - t0 < 15
    assert "Traceback" not in err and signal.Signals(sig).name in err, err
    assert _gone(workers), [w for w in workers if _alive(w)]


def test_workers_die_with_a_killed_parent():
    p, workers = _start()
    p.kill()
    p.wait(timeout=10)
    p.stderr.close()
    assert _gone(workers), [w for w in workers if _alive(w)]
