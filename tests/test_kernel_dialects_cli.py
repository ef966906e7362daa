"""--backend kernel (run, diff, fuzz, plan) on a dialect the running kernel
does not implement: exit 2, and the message says which dialect the kernel
implements (checker.kernel.backend._kernel_dialect).  The dialect is checked
before the kernel is: these hold on any machine, with or without bpf(2)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from corpus import DIRECTIVES, REPO

RC = REPO / "tests" / "rules" / "linux-6.6-rc" / "query" / "no-entry.mprog"
REFUSAL = ("the kernel backends implement the linux, netkit and cgroup dialects, not 'linux-6.6-rc' "
           "(bpf_mprog/tcx before the 6.6-rc fixes")


def mprog(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "checker", *map(str, argv)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("argv", [("run", "--backend", "kernel", RC), ("diff", RC),
                                  ("fuzz", "--dialect", "linux-6.6-rc", "--max-requests", "10"),
                                  ("fuzz", "--dialect", "linux-6.6-rc", "--expedited-rcu")])
def test_kernel_backend_refuses_linux_66rc(argv, tmp_path):
    r = mprog(*argv, cwd=tmp_path)
    assert r.returncode == 2, (argv, r.stdout, r.stderr)
    assert REFUSAL in r.stderr and "run 'linux-6.6-rc' on the model backend" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert list(tmp_path.iterdir()) == []          # nothing written


def test_plan_refuses_a_script_of_another_dialect_before_any_backend(tmp_path):
    r = mprog("plan", "--from", RC, "--hook", "veth0:ingress", "--want", DIRECTIVES / "tour-want.dirs",
              "--backend", "kernel", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"{RC}:1:1: the script's dialect is 'linux-6.6-rc'; plans are for linux and cgroup\n"


def test_the_model_backend_runs_linux_66rc(tmp_path):
    r = mprog("run", RC, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == f"ok   {RC}\n"


def test_the_refusal_comes_from_the_dialect_alone():
    from checker.errors import BackendUnavailable
    from checker.kernel.backend import KernelBackend, _kernel_dialect
    with pytest.raises(BackendUnavailable, match=r"implement the linux, netkit and cgroup dialects, not 'linux-6\.6-rc'"):
        _kernel_dialect("linux-6.6-rc")
    with pytest.raises(BackendUnavailable, match=r"not 'linux-6\.6-rc'"):
        KernelBackend("linux-6.6-rc")
