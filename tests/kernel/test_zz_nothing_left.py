"""Runs last (file order): after every kernel test of this session (the
tcx and cgroup corpora, the fuzz campaigns, the backend tests), nothing the
run created is left — no program, link, network namespace or cgroup — and
the host's cgroup v2 root (its children and its program lists) is as it was
before the run."""
from __future__ import annotations

import os

import pytest

from checker.kernel import available

from created import Created, cgroup_root_state
from test_backend import _own_netns, _still_alive

pytestmark = pytest.mark.skipif(available("linux") is not None and available("cgroup") is not None,
                                reason="no kernel backend ran")


def test_nothing_the_run_created_is_left():
    assert _still_alive(Created.objects) == []
    assert not (_own_netns() & Created.netns)
    assert [b for b in Created.subtrees if os.path.exists(b)] == []


def test_the_host_cgroup_root_is_unchanged():
    if Created.cgroup_root is None:
        pytest.skip("no cgroup v2 mount")
    assert cgroup_root_state() == Created.cgroup_root
