"""``mprog plan --live``: the start state read from a live tcx hook (in a
namespace the test's kernel backend created), planned, and replayed."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from checker.kernel import KernelBackend, kernel_available
from checker.kernel.live import read_hook
from checker.model import Step
from checker.syntax.script import read_script

pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))

# Kernel names (the backend loads a program under its script name, cut to
# the kernel's 15 characters): fw, mon and dup are usable names.
SETUP = """\
dev_add veth0 => ok
load fw => ok
load mon => ok
load dup => ok
load same_prefix_name_a => ok
load same_prefix_name_b => ok
load ingress => ok
attach mon veth0 ingress => ok
link_create l1 dup veth0 ingress => ok
attach fw veth0 ingress => ok
attach ingress veth0 ingress => ok
detach ingress veth0 ingress => ok
query veth0 ingress => ok count 3 rev 6 [mon dup@l1 fw]
"""


@pytest.fixture
def live_hook(expedited_rcu):
    with KernelBackend() as k:
        with k.session():
            for s in read_script("<setup>", SETUP).steps:
                assert k.apply(s).errno == "ok", s
        yield k


def _ids(k):
    return ({n: o.id for n, o in k.progs.items()}, {n: o.id for n, o in k.links.items()})


def test_read_hook_names_ids_and_revision(live_hook):
    k = live_hook
    progs, links = _ids(k)
    ifname = k._devs_nl.ifname("veth0")
    h = read_hook(ifname, "ingress", f"/proc/self/fd/{k._ns.fd}")
    assert h.revision == 6
    assert h.slots == (("mon", None), ("dup", f"link{links['l1']}"), ("fw", None))
    assert h.legend == (f"mon = prog id {progs['mon']} (kernel name 'mon')",
                        f"dup = prog id {progs['dup']} (kernel name 'dup'), "
                        f"owned by link{links['l1']} = link id {links['l1']}",
                        f"fw = prog id {progs['fw']} (kernel name 'fw')")
    # read-only: the hook is exactly as before
    q = k.apply(Step("query", dev="veth0", dir="ingress"))
    assert (q.query.revision, q.query.progs, q.query.links) == (6, ("mon", "dup", "fw"), (None, "l1", None))


def test_keyword_and_duplicate_kernel_names_get_ids(live_hook):
    k = live_hook
    with k.session():
        for p in ("ingress", "same_prefix_name_a", "same_prefix_name_b"):
            assert k.apply(Step("attach", prog=p, dev="veth0", dir="ingress")).errno == "ok"
    progs, _ = _ids(k)
    h = read_hook(k._devs_nl.ifname("veth0"), "ingress", f"/proc/self/fd/{k._ns.fd}")
    # "ingress" is a keyword; both same_prefix_name_* are "same_prefix_nam" in the kernel
    assert [p for p, _ in h.slots] == ["mon", "dup", "fw", f"id{progs['ingress']}",
                                       f"id{progs['same_prefix_name_a']}", f"id{progs['same_prefix_name_b']}"]
    assert h.revision == 9


def test_plan_live_cli_replays_on_the_kernel(live_hook, tmp_path):
    k = live_hook
    progs, links = _ids(k)
    ifname = k._devs_nl.ifname("veth0")
    want = tmp_path / "want.dirs"
    want.write_text("fw: FIRST\nmon: LAST\nlb: AFTER fw\n")
    fd = k._ns.fd
    r = subprocess.run([sys.executable, "-m", "checker", "plan", "--live", f"{ifname}:ingress",
                        "--netns", f"/proc/self/fd/{fd}", "--want", str(want), "--backend", "kernel"],
                       capture_output=True, text=True, timeout=300, pass_fds=(fd,))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"#   fw = prog id {progs['fw']} (kernel name 'fw')" in r.stdout
    assert (f"#   dup = prog id {progs['dup']} (kernel name 'dup'), owned by link{links['l1']} = "
            f"link id {links['l1']}") in r.stdout
    l1 = f"link{links['l1']}"
    assert f"# verified on the kernel backend: final [fw dup lb mon] rev 11" in r.stdout
    assert f"# moved (detach + re-attach): mon fw; new: lb; 5 hook requests" in r.stdout
    # dup's slot is link-owned (immovable); mon must end up last and fw first: both move
    assert r.stdout.split("# -- plan --\n", 1)[1].splitlines() == [
        "load lb => ok",
        f"detach mon {ifname} ingress rev 6 => ok",
        f"detach fw {ifname} ingress rev 7 => ok",
        f"attach fw {ifname} ingress before rev 8 => ok",
        f"attach lb {ifname} ingress after dup rev 9 => ok",
        f"attach mon {ifname} ingress after lb rev 10 => ok",
        f"query {ifname} ingress => ok count 4 rev 11 [fw dup@{l1} lb mon]",
    ]
    # the live hook itself was not touched
    q = k.apply(Step("query", dev="veth0", dir="ingress"))
    assert (q.query.revision, q.query.progs) == (6, ("mon", "dup", "fw"))


def test_plan_live_bad_input(tmp_path):
    want = tmp_path / "w.dirs"
    want.write_text("a: FIRST\n")

    def plan(*args):
        return subprocess.run([sys.executable, "-m", "checker", "plan", *args, "--want", str(want)],
                              capture_output=True, text=True, timeout=120)
    r = plan("--live", "mpc-no-such-dev:ingress", "--netns", "/proc/self/ns/net")
    assert r.returncode == 2 and "no device 'mpc-no-such-dev' in network namespace" in r.stderr
    assert "Traceback" not in r.stderr
    r = plan("--live", "lo:ingress", "--netns", str(tmp_path / "missing"))
    assert r.returncode == 2 and "--netns" in r.stderr and "No such file" in r.stderr
    r = plan("--live", "lo:ingress", "--netns", str(want))
    assert r.returncode == 2 and "not a network namespace" in r.stderr
    r = plan("--state", str(want), "--netns", "/proc/self/ns/net")
    assert r.returncode == 2 and "--netns goes with --live" in r.stderr
    assert os.path.exists(want)
