"""The netkit kernel target (checker.kernel.netkit) on the live kernel.

On a kernel with netkit (Debian 6.12 / 7.x in the matrix's QEMU guests) a
pair leaves nothing behind and a fuzz campaign finds no divergence (the
netkit corpus runs in tests/kernel/test_corpus.py with the others).
On a kernel without it (this project's 6.18 host is built without
CONFIG_NETKIT) those tests skip with the probe's reason, and the refusal
itself is tested: exit 2, the missing feature named, nothing created.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from checker.kernel import NetkitBackend, bpf, kernel_available, netkit_available
from checker.model import OK, Step

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
CORPUS = sorted((REPO / "tests" / "scripts" / "netkit").glob("*.mprog")) + sorted(
    (REPO / "tests" / "rules" / "netkit").glob("*/*.mprog"))
REASON = netkit_available()
with_netkit = pytest.mark.skipif(REASON is not None, reason=f"netkit backend unavailable: {REASON}")


@with_netkit
def test_a_pair_and_its_objects_are_released(expedited_rcu):
    """Deleting the peer deletes the primary; closing the backend releases
    every program and link it created (ids gone), also of a defunct link."""
    steps = [Step("netkit_add", dev="p", peer="q", mode="l2"), Step("load", prog="a"),
             Step("load", prog="b"), Step("attach", prog="a", dev="p", dir="peer"),
             Step("link_create", link="l", prog="b", dev="p", dir="primary"),
             Step("link_create", link="t", prog="b", dev="q", dir="ingress"),
             Step("dev_del", dev="q")]
    with NetkitBackend() as k:
        for s in steps:
            assert k.apply(s).errno == OK, s
        assert k.hooks() == {}                     # both devices are gone
        assert k.apply(Step("query", dev="p", dir="primary")).errno == "ENODEV"
        ids = [("prog", k.progs[n].id) for n in "ab"] + [("link", k.links[n].id) for n in "lt"]
    assert [bpf.id_alive(kind, i) for kind, i in ids] == [False] * 4


@with_netkit
def test_netkit_campaign_finds_no_divergence(expedited_rcu):
    from checker.fuzz.campaign import run_campaign
    s = run_campaign(seed=3, max_requests=2000, time_limit_s=10 ** 9, dialect="netkit")
    assert s.divergences == 0, s.minimal
    assert s.requests >= 2000 and s.rules_total == 97
    assert {r for r in s.rules_covered if r.startswith("netkit/")} >= {"netkit/add", "netkit/not-primary"}


@pytest.mark.skipif(kernel_available() is not None, reason=f"no kernel backend: {kernel_available()}")
@pytest.mark.skipif(REASON is None, reason="the running kernel has netkit: nothing to refuse")
def test_backend_refuses_a_kernel_without_netkit(tmp_path):
    """exit 2 before anything is created, naming the missing feature and
    the kernels the dialect describes."""
    script = CORPUS[0]
    for cmd in (("run", "--backend", "kernel"), ("diff",)):
        r = subprocess.run([sys.executable, "-m", "checker", *cmd, str(script)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert r.stdout == "" and "Traceback" not in r.stderr
        assert f"has no netkit" in r.stderr and os.uname().release in r.stderr, r.stderr
        assert "the netkit dialect describes Linux 6.7 and later with CONFIG_NETKIT" in r.stderr
    assert subprocess.run([sys.executable, "-m", "checker", "run", str(script)], cwd=tmp_path,
                          capture_output=True, timeout=300).returncode == 0
