"""The kernel matrix without a real guest: kernel resolution rules (over a
fake apt), the virtiofsd adapter's translation, the guest protocol and its
clean-up (over a fake vng that runs the guest script here), the comparison,
and the command line's bad input.  Real guests run in .ci/run's matrix step
(README "Kernel matrix"), where a boot takes 10-30 s."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from checker import dialects
from checker.matrix import debian, guest
from checker.matrix.run import FileResult, KernelResult, Matrix, ModelFile, expand, model_files
from checker.matrix.virtiofsd import c_command, parse

from corpus import REPO

BOOKWORM = ["linux-image-6.1.0-55-amd64-unsigned", "linux-image-6.1.0-57-amd64-unsigned",
            "linux-image-6.12.95+deb12-amd64-unsigned", "linux-image-6.12.117+deb12-amd64-unsigned",
            "linux-image-6.12.117+deb12-rt-amd64-unsigned", "linux-image-6.12.107+deb12-cloud-amd64-unsigned"]
SID = ["linux-binary-7.2.13+deb14-amd64", "linux-binary-7.2.13+deb14-rt-amd64",
       "linux-binary-7.10.1+deb14-amd64", "linux-binary-7.10.1+deb14-cloud-amd64",
       "linux-image-7.1.5+deb14-amd64-unsigned"]


class FakeApt:
    """The two queries resolution makes, over canned package names."""

    def __init__(self, names):
        self._names = names

    def names(self, regex):
        return [n for n in self._names if re.search(regex, n)]


@pytest.fixture
def resolver(tmp_path):
    r = debian.Resolver(str(tmp_path))
    r._apts = {"bookworm": FakeApt(BOOKWORM), "sid": FakeApt(SID)}
    return r


@pytest.mark.parametrize("spec,release,packages", [
    ("6.1", "6.1.0-57-amd64", ["linux-image-6.1.0-57-amd64-unsigned"]),
    # version order, not text order (6.12.95 < 6.12.117); no -rt / -cloud flavour
    ("6.12", "6.12.117+deb12-amd64", ["linux-image-6.12.117+deb12-amd64-unsigned"]),
    ("newest", "7.10.1+deb14-amd64", ["linux-binary-7.10.1+deb14-amd64", "linux-modules-7.10.1+deb14-amd64",
                                      "linux-base-7.10.1+deb14-amd64"]),
    ("sid", "7.10.1+deb14-amd64", ["linux-binary-7.10.1+deb14-amd64", "linux-modules-7.10.1+deb14-amd64",
                                   "linux-base-7.10.1+deb14-amd64"]),
    ("6.12.95", "6.12.95+deb12-amd64", ["linux-image-6.12.95+deb12-amd64-unsigned"]),
    ("6.12.95+deb12", "6.12.95+deb12-amd64", ["linux-image-6.12.95+deb12-amd64-unsigned"]),
    ("6.1.0-55", "6.1.0-55-amd64", ["linux-image-6.1.0-55-amd64-unsigned"]),
    ("7.1.5", "7.1.5+deb14-amd64", ["linux-image-7.1.5+deb14-amd64-unsigned"]),   # sid's older layout
])
def test_resolution_rules(resolver, spec, release, packages):
    rel, pkgs, _ = resolver.resolve(spec)
    assert (rel, pkgs) == (release, packages)


def test_unresolvable_specs_say_why(resolver):
    with pytest.raises(debian.KernelUnavailable, match="5.10 is not offered by bookworm"):
        resolver.resolve("5.10")
    with pytest.raises(debian.KernelUnavailable, match="not a kernel spec: 'linux'"):
        resolver.resolve("linux")
    assert not debian.is_spec("host") and debian.is_spec("6.12.95+deb12") and debian.is_spec("newest")


def test_no_apt_means_kernel_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = debian.Resolver(str(tmp_path))
    with pytest.raises(debian.KernelUnavailable, match="apt-get is not installed"):
        r.resolve("6.12")
    with pytest.raises(debian.KernelUnavailable, match="apt-get is not installed"):   # remembered
        r.resolve("6.1")


def test_virtiofsd_adapter_translates_vngs_command_line():
    opts = parse(["--syslog", "--no-announce-submounts", "--socket-path", "/run/s", "--shared-dir=/",
                  "--sandbox", "none", "--cache", "never", "--posix-acl"])
    assert c_command(opts) == ["/usr/lib/qemu/virtiofsd", "--socket-path=/run/s", "-o", "source=/",
                               "-o", "cache=none", "-o", "sandbox=chroot", "-o", "log_level=err",
                               "-o", "posix_acl"]


# -- the guest protocol, over a fake vng ------------------------------------------

FAKE_VNG = """#!{python}
# A stand-in for vng: runs the --exec script here instead of in a guest.
import subprocess, sys, time
args = sys.argv[1:]
script = args[args.index("--exec") + 1]
mode = {mode!r}
if mode == "hang":
    time.sleep(3600)
if mode == "no-boot":
    print("Kernel panic - not syncing: fake")
    sys.exit(1)
print("fake console line")
sys.exit(subprocess.call(script, shell=True))
"""


@pytest.fixture
def fake_guest(tmp_path, monkeypatch):
    def make(mode):
        vng = tmp_path / f"vng-{mode}"
        vng.write_text(FAKE_VNG.format(python=sys.executable, mode=mode))
        vng.chmod(0o755)
        monkeypatch.setattr(guest, "tools", lambda: {"vng": str(vng), "qemu": "/bin/true"})
        return debian.KernelImage("6.12", "6.12.1-amd64", str(tmp_path / "vmlinuz"), str(tmp_path), "x")
    return make


def test_guest_protocol_carries_output_status_and_release(fake_guest, tmp_path):
    image = fake_guest("run")
    run = guest.boot(image, [sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"],
                     str(tmp_path / "out"), timeout_s=60)
    assert (run.status, run.rc, run.stdout, run.release) == ("ran", 3, "hi\n", os.uname().release)
    assert "vng.log" in os.listdir(tmp_path / "out") and run.seconds["total"] >= 0


def test_a_guest_that_never_starts_is_a_boot_failure_with_the_console(fake_guest, tmp_path):
    run = guest.boot(fake_guest("no-boot"), ["true"], str(tmp_path / "out"), timeout_s=60)
    assert run.status == "boot-failed" and run.rc is None
    assert "Kernel panic - not syncing: fake" in run.reason


def test_a_hanging_guest_is_killed_with_its_whole_process_group(fake_guest, tmp_path):
    run = guest.boot(fake_guest("hang"), ["true"], str(tmp_path / "out"), timeout_s=2)
    assert run.status == "timeout" and "no result after 2 s" in run.reason
    assert guest._LIVE == {}
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "vng-hang")], capture_output=True, text=True)
    assert left.stdout == ""


def group_gone(pgid: int, wait_s: float = 10.0) -> bool:
    """The process group has no member left (killed members are zombies
    until their new parent reaps them: give it a moment)."""
    import time
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_stop_all_kills_running_guests_and_refuses_new_ones(fake_guest, tmp_path):
    import threading
    image = fake_guest("hang")
    runs = []
    t = threading.Thread(target=lambda: runs.append(guest.boot(image, ["true"], str(tmp_path / "o"),
                                                               timeout_s=600)))
    t.start()
    while not guest._LIVE:
        pass
    pgid = next(iter(guest._LIVE))
    guest.stop_all()
    t.join(timeout=30)
    assert not t.is_alive() and runs[0].status != "ran"
    assert group_gone(pgid)
    with pytest.raises(guest.GuestUnavailable, match="stopping"):
        guest.spawn(["true"])
    guest.reset()


# -- comparison --------------------------------------------------------------

def test_differences_counts_and_refusals():
    script = REPO / "examples" / "tour.mprog"
    f, = model_files([str(script)])
    same = KernelResult("6.12", "ran", "6.12.117+deb12-amd64",
                        files={f.path: FileResult(f.path, "linux", "ran", steps=list(f.outcomes))})
    other = list(f.outcomes)
    i = next(i for i, s in enumerate(f.steps) if s.op == "query" and s.expect and s.expect.count)
    other[i] = ["ok", [9, 9, [], [], [], None]]
    odd = KernelResult("7.2", "ran", "7.2.13+deb14-amd64",
                       files={f.path: FileResult(f.path, "linux", "ran", steps=other)})
    old = KernelResult("6.1", "ran", "6.1.0-57-amd64",
                       files={f.path: FileResult(f.path, "linux", "refused", "no tcx")})
    m = Matrix([f], [same, odd, old])
    d, = m.differences()
    assert (d.index, d.step.line, sorted(d.answers)) == (i, f.steps[i].line, ["6.12", "7.2", "model"])
    assert m.counts(same) == {"ran": 1, "refused": 0, "missing": 0, "steps": len(f.steps),
                              "unlike_model": 0, "failed": 0, "undescribed": 0}
    early = KernelResult("6.1", "ran", "6.1.0-57-amd64", files=same.files)
    assert m.counts(early)["undescribed"] == 1        # linux does not describe 6.1, yet it ran
    assert m.counts(odd)["unlike_model"] == 1 and m.counts(odd)["failed"] == 1
    assert m.refusals(old) == {"no tcx": (1, False)}          # linux does not describe 6.1
    assert m.refusals(KernelResult("h", "ran", "6.18.44", files={f.path: FileResult(
        f.path, "linux", "refused", "x")})) == {"x": (1, True)}


def test_expand_takes_directories():
    got = expand([str(REPO / "tests" / "scripts" / "netkit"), str(REPO / "examples" / "tour.mprog")])
    assert len(got) == 8 and got[-1].endswith("examples/tour.mprog") and all(os.path.isabs(p) for p in got)
    # A directory and a glob over it (CI's matrix step names both): each file once.
    twice = expand([str(REPO / "tests" / "scripts" / "netkit"), *got[:3]])
    assert twice == got[:7]


# -- the command line ----------------------------------------------------------

def mprog(*args, cwd):
    return subprocess.run([sys.executable, "-m", "checker", "matrix", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,message", [
    (("--kernels", "6.1,6.1", "x.mprog"), "--kernels: a comma-separated list of distinct kernels"),
    (("--kernels", "linux", "x.mprog"), "--kernels: 'linux' is not a kernel"),
    (("--kernels", "host", "--jobs", "0", "x.mprog"), "--jobs and --cpus must be at least 1"),
    (("--kernels", "host", "missing.mprog"), "missing.mprog: cannot read file"),
    (("--kernels", "host", "bad.mprog"), "bad.mprog:1:10: unknown device 'd'"),
    (("--kernels", "host", "--json", "/nonexistent/x.json", "x.mprog"), "directory /nonexistent does not exist"),
])
def test_bad_input_exits_2_before_any_kernel_runs(tmp_path, args, message):
    (tmp_path / "x.mprog").write_text("dev_add d => ok\n")
    (tmp_path / "bad.mprog").write_text("detach p d ingress\n")
    r = mprog(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr and r.stdout == ""
    assert "mprog matrix: host" not in r.stderr            # no kernel was started


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_matrix_and_its_guests(tmp_path, signum):
    """Ctrl-C (or SIGTERM) during a guest run: exit 130 / 143 within
    seconds, one line on stderr, no process of the guest left."""
    import time
    vng = tmp_path / "vng"
    vng.write_text(FAKE_VNG.format(python=sys.executable, mode="hang"))
    vng.chmod(0o755)
    image = tmp_path / "boot" / "vmlinuz-9.9.9-test"
    image.parent.mkdir()
    image.write_text("not a kernel")
    (tmp_path / "x.mprog").write_text("dev_add d => ok\n")
    env = dict(os.environ, MPROG_MATRIX_VNG=str(vng))
    p = subprocess.Popen([sys.executable, "-m", "checker", "matrix", "--kernels", str(image), "x.mprog"],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", str(vng)], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        p.kill()
        pytest.fail("the fake guest never started")
    t0 = time.monotonic()
    p.send_signal(signum)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signum, err
    assert time.monotonic() - t0 < 10
    assert err.strip().splitlines()[-1] == f"mprog: stopped by {signal.Signals(signum).name}"
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-f", str(vng)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "a guest process outlived the matrix"
        time.sleep(0.1)


def test_cgroup_files_keep_their_mode_expectations_and_the_stable_line():
    """A kernel's answer carries what a cgroup query wrote back in full (the
    attach mode too): the translated selftests expect modes.  The cgroup
    dialect describes 6.17 on and the 6.12 line from 6.12.110."""
    script = REPO / "tests" / "scripts" / "cgroup" / "test_cgroup_mprog_ordering.mprog"
    f, = model_files([str(script)])
    assert any(s.expect is not None and s.expect.mode is not None for s in f.steps)
    k = KernelResult("6.12", "ran", "6.12.117+deb12-amd64",
                     files={f.path: FileResult(f.path, "cgroup", "ran", steps=list(f.outcomes))})
    assert Matrix([f], [k]).counts(k) == {"ran": 1, "refused": 0, "missing": 0, "steps": len(f.steps),
                                          "unlike_model": 0, "failed": 0, "undescribed": 0}
    cgroup = dialects.get("cgroup")
    assert [cgroup.describes(r) for r in ("6.12.95+deb12-amd64", "6.12.117+deb12-amd64", "6.16.3",
                                          "6.17.0", "6.18.44-fc-v769", "7.2.13+deb14-amd64")] == \
        [False, True, False, True, True, True]
