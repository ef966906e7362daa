"""Runs last (conftest.py puts this file at the end of the session, after
every test that may use a kernel backend: the tcx and cgroup corpora, the
fuzz campaigns, the backend tests, plans verified on the kernel): nothing
the run created is left — no program, link, network namespace or cgroup —
and the run changed no cgroup but its own: every directory it made or
removed under the cgroup v2 mount, and every cgroup it sent an attach,
detach or link create to, lies inside a directory the run made itself.

Only what this run did is checked (created.py records it at the source), so
other processes creating or changing cgroups meanwhile cannot make it fail."""
from __future__ import annotations

import contextlib
import os

import pytest

from checker.kernel import available
from checker.kernel.cgroup import _BASE_RE

from created import Created, inside
from test_backend import _still_alive

pytestmark = pytest.mark.skipif(available("linux") is not None and available("cgroup") is not None,
                                reason="no kernel backend ran")


def test_nothing_the_run_created_is_left():
    assert _still_alive(Created.objects) == []
    assert not (_netns_held_by_the_run() & Created.netns)
    assert [b for b in Created.subtrees if os.path.exists(b)] == []
    assert [d for d in Created.cgroups_made if os.path.exists(d)] == []


def _netns_held_by_the_run() -> set:
    """The network namespaces (inode numbers) this process and its
    descendants hold, by a thread or an fd: the only holders a namespace the
    run created can have (the backends keep theirs by an fd and enter them
    per thread).  Other processes are not looked at: the kernel hands a freed
    namespace's inode number to the next namespace created anywhere, so
    another session's new namespace may carry the number of one of ours."""
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
    ours = {os.getpid()}
    grew = True
    while grew:
        kids = {p for p, pp in parent.items() if pp in ours} - ours
        grew = bool(kids)
        ours |= kids
    seen = set()
    for pid in ours:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    seen.add(os.stat(f"/proc/{pid}/task/{tid}/ns/net").st_ino)
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("net:["):
                        seen.add(os.stat(f"/proc/{pid}/fd/{fd}").st_ino)
    return seen


def test_nothing_outside_the_runs_cgroups_changed():
    if available("cgroup") is not None:
        pytest.skip(f"cgroup backend unavailable: {available('cgroup')}")
    if not Created.subtrees:
        pytest.skip("no cgroup backend ran in this session")
    made = Created.cgroups_made
    # The recorder saw the run's cgroups being made (its bpf(2) side is
    # tested by test_cgroup_kernel.py::test_requests_are_recorded_at_the_source).
    assert [b for b in Created.subtrees if b not in made] == []
    # Beside its own, a run removes only the subtrees of mprog runs that died
    # (checker.kernel.cgroup.sweep_orphans: their pid is gone).
    orphans = Created.orphans_removed
    mount = os.path.dirname(Created.subtrees[0])
    assert [p for p in orphans if not _BASE_RE.match(os.path.relpath(p, mount).split("/")[0])] == []
    assert [p for p in Created.cgroups_removed if not inside(p, made) and p not in orphans] == []
    assert [(cmd, p) for cmd, p in Created.cgroup_requests if not inside(p, made)] == []
