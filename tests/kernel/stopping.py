"""One trial of stopping ``mprog fuzz --expedited-rcu`` with a signal, and
what it must leave: exit 128 + signal, a one-line message, rcu_expedited
back at its value, no namespace, program or link of the run left.  Used by
tests/kernel/test_signals.py (a few trials) and bench/bench_signals.py (20
per signal, issue 9's acceptance)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from checker.kernel import bpf, rcu

from test_backend import _visible_netns  # noqa: E402  (tests/kernel is on sys.path)

STOP_WITHIN_S = 1.0


def _objects() -> set:
    return {("prog", i) for i in bpf.all_ids("prog")} | {("link", i) for i in bpf.all_ids("link")}


def _settled(before: set, probe, timeout: float) -> set:
    """What ``probe()`` still shows beyond ``before`` once the kernel's
    asynchronous clean-up (namespaces, RCU-freed programs) had ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        extra = probe() - before
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.1)


def _held(pid: int) -> tuple[set, set]:
    """The BPF objects ((kind, id)) and network namespaces (inodes) that
    process ``pid`` holds an fd of right now (/proc/PID/fd, fdinfo)."""
    objs, nets = set(), set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return objs, nets
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("net:["):
                nets.add(int(target[5:-1]))
            elif target in ("anon_inode:bpf-prog", "anon_inode:bpf-link"):
                key = "prog_id:" if target.endswith("prog") else "link_id:"
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    for line in f:
                        if line.startswith(key):
                            objs.add((key[:4], int(line.split()[1])))
        except (OSError, ValueError):
            continue
    return objs, nets


def _watch(pid: int, seconds: float) -> tuple[set, set]:
    """What the run held at any moment of ``seconds`` (polled): its own
    objects and namespaces, so the check after the stop is about this run
    only, whatever else the machine runs meanwhile."""
    objs, nets = set(), set()
    deadline = time.monotonic() + seconds
    while True:
        o, n = _held(pid)
        objs |= o
        nets |= n
        if time.monotonic() >= deadline:
            return objs, nets
        time.sleep(0.02)


def _rcu_expected(base: str) -> tuple[str, list]:
    """The value rcu_expedited must have now: 1 while another run holds it
    (checker.kernel.rcu's shared record), else the value before them all."""
    holders = rcu._read_state().get("holders", [])
    return ("1" if holders else base), holders


def _private_cgroups(pid: int) -> list[str]:
    """The cgroup backend's private subtrees of process ``pid``
    (checker.kernel.cgroup: ``<mount>/mprog-<pid>-<n>``)."""
    from checker.kernel.cgroup import cgroup2_mount
    mount = cgroup2_mount()
    if mount is None:
        return []
    return sorted(n for n in os.listdir(mount) if n.startswith(f"mprog-{pid}-"))


def trial(sig: int, out_dir: str, rng: random.Random, system_wide: bool = True,
          dialect: str = "linux") -> list[str]:
    """Start a campaign of ``dialect``, signal it at a random moment of its
    run, check everything; returns the problems found (empty: a clean stop).
    ``system_wide``: also compare the system's BPF objects and visible
    namespaces before and after; only meaningful when nothing else on the
    machine creates any meanwhile (the bench; not a test run that may share
    the machine with another suite).  The cgroup dialect's private subtree
    is the run's own, so it is always checked."""
    with open(rcu.PATH) as f:
        rcu_before = f.read().strip()
    # The original value under other runs' holds (the shared record's "saved").
    st = rcu._read_state()
    rcu_base = st["saved"] if st.get("holders") and "saved" in st else rcu_before
    ns_before, objs_before = _visible_netns(), _objects()
    p = subprocess.Popen([sys.executable, "-m", "checker", "fuzz", "--expedited-rcu", "--time", "60",
                          "--dialect", dialect, "--max-requests", "10000000",
                          "--seed", str(rng.randrange(1000)), "--out", out_dir],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, COLUMNS="100"))
    problems = []
    try:
        announce = p.stderr.readline()          # the rcu line: the campaign is under way
        if "rcu_expedited set to 1" not in announce:
            problems.append(f"no rcu announcement: {announce!r}")
        own_objs, own_nets = _watch(p.pid, rng.uniform(0.2, 2.5))
        t0 = time.monotonic()
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            problems.append("still running 10 s after the signal")
            p.kill()
            p.wait()
        dt = time.monotonic() - t0
        err = p.stderr.read()
        p.stdout.read()
    finally:
        p.stdout.close()
        p.stderr.close()
    name = signal.Signals(sig).name
    if p.returncode != 128 + sig:
        problems.append(f"exit {p.returncode}, not {128 + sig}")
    if dt > STOP_WITHIN_S:
        problems.append(f"stopped after {dt:.2f} s")
    lines = [l for l in err.splitlines() if l.strip()]
    if lines != [f"mprog: stopped by {name}"]:
        problems.append(f"stderr after the signal: {err[-2000:]!r}")
    with open(rcu.PATH) as f:
        now = f.read().strip()
    want, holders = _rcu_expected(rcu_base)
    if now != want:
        problems.append(f"rcu_expedited is {now}, not {want} (value before {rcu_base}; other "
                        f"holders now: {holders})")
    own_left = _settled(set(), lambda: {o for o in own_objs if bpf.id_alive(*o)}, 30)
    if own_left:
        problems.append(f"objects of the run left: {sorted(own_left)[:5]}")
    own_nets -= ns_before                        # (the namespace it came from)
    nets_left = _settled(set(), lambda: own_nets & _visible_netns(), 5)
    if nets_left:
        problems.append(f"namespaces of the run left: {sorted(nets_left)}")
    if p.pid in rcu._read_state().get("holders", []):     # (others may hold it meanwhile)
        problems.append(f"still registered as a holder in {rcu.STATE}")
    if system_wide:
        left = _settled(objs_before, _objects, 30)
        if left:
            problems.append(f"objects left: {sorted(left)[:5]}")
        ns_left = _settled(ns_before, _visible_netns, 5)
        if ns_left:
            problems.append(f"namespaces left: {sorted(ns_left)}")
    cgroups = _private_cgroups(p.pid)
    if cgroups:
        problems.append(f"cgroups left: {cgroups}")
    if os.listdir(out_dir):
        problems.append(f"files written: {os.listdir(out_dir)}")
    return problems
