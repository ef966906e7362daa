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

import os

import pytest

from checker.kernel import available

from created import Created, inside
from test_backend import _still_alive, _visible_netns

pytestmark = pytest.mark.skipif(available("linux") is not None and available("cgroup") is not None,
                                reason="no kernel backend ran")


def test_nothing_the_run_created_is_left():
    assert _still_alive(Created.objects) == []
    assert not (_visible_netns() & Created.netns)
    assert [b for b in Created.subtrees if os.path.exists(b)] == []
    assert [d for d in Created.cgroups_made if os.path.exists(d)] == []


def test_nothing_outside_the_runs_cgroups_changed():
    if available("cgroup") is not None:
        pytest.skip(f"cgroup backend unavailable: {available('cgroup')}")
    if not Created.subtrees:
        pytest.skip("no cgroup backend ran in this session")
    made = Created.cgroups_made
    # The recorder saw the run's cgroups being made (its bpf(2) side is
    # tested by test_cgroup_kernel.py::test_requests_are_recorded_at_the_source).
    assert [b for b in Created.subtrees if b not in made] == []
    assert [p for p in Created.cgroups_removed if not inside(p, made)] == []
    assert [(cmd, p) for cmd, p in Created.cgroup_requests if not inside(p, made)] == []
