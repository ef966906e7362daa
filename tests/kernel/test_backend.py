"""Live-kernel backend: replays on a real kernel (tcx on veth in a private netns).

Skipped with kernel_available()'s reason where the backend cannot run (no
root, no tcx, ...).  Each test asserts exact errnos, run order, link names and
revisions after every step.
"""
from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time

import pytest

from checker.kernel import KernelBackend, bpf, kernel_available

_REASON = kernel_available()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"kernel backend unavailable: {_REASON}")

from checker.model import OK, Outcome, QueryResult, Raw, Step  # noqa: E402

IN = dict(dev="a", dir="ingress")


@pytest.fixture(autouse=True)
def _fast_rcu(expedited_rcu):
    """Expedited RCU (tests/kernel/conftest.py) makes tcx mutations ~150x faster."""


@pytest.fixture
def kb():
    with KernelBackend() as b:
        yield b


def do(kb, op, expect=OK, **kw) -> Outcome:
    out = kb.apply(Step(op, **kw))
    assert out.errno == expect, f"{op} {kw}: got {out.errno}, expected {expect}"
    assert out.rule == ""
    return out


def q(kb, progs, revision, links=None, count=None, errno=OK, n=None, **where):
    """Query and compare everything: total count, revision, names, links."""
    where = where or IN
    out = do(kb, "query", errno, count=n, **where)
    links = tuple(links) if links is not None else (None,) * len(progs)
    assert out.query == QueryResult(len(progs) if count is None else count, revision,
                                    tuple(progs), links), out.query
    return out


def load(kb, *names, type=None):
    for n in names:
        do(kb, "load", prog=n, type=type)


def netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


# ---------------------------------------------------------------------------
# Ordering, revisions, errnos

def test_order_revisions_and_positions(kb):
    do(kb, "dev_add", dev="a")
    q(kb, [], 1)                                           # no bundle: count 0, rev 1
    load(kb, "p1", "p2", "p3", "p4", "p5")
    do(kb, "attach", **IN, prog="p1")
    q(kb, ["p1"], 2)
    do(kb, "attach", **IN, prog="p2", flags=("BEFORE",), relative="p1")          # by fd
    q(kb, ["p2", "p1"], 3)
    do(kb, "attach", **IN, prog="p3", flags=("AFTER", "ID"), relative="p1")      # by id
    q(kb, ["p2", "p1", "p3"], 4)
    do(kb, "link_create", **IN, prog="p4", link="l1", flags=("BEFORE",), relative="p2")
    q(kb, ["p4", "p2", "p1", "p3"], 5, links=["l1", None, None, None])
    # Positional detach: the first entry belongs to a link -> EBUSY; the last goes.
    do(kb, "detach", "EBUSY", **IN, flags=("BEFORE",))
    do(kb, "detach", **IN, flags=("AFTER",))
    q(kb, ["p4", "p2", "p1"], 6, links=["l1", None, None])
    # Optimistic concurrency.
    do(kb, "attach", "ESTALE", **IN, prog="p3", expected_revision=5)
    do(kb, "attach", **IN, prog="p3", expected_revision=6)
    q(kb, ["p4", "p2", "p1", "p3"], 7, links=["l1", None, None, None])
    # A prog sits at most once per hook, whoever owns it.
    do(kb, "attach", "EEXIST", **IN, prog="p1")
    do(kb, "link_create", "EEXIST", **IN, prog="p2", link="l2")
    do(kb, "attach", "EEXIST", **IN, prog="p4")
    # Replacing a link-owned prog through the prog API.
    do(kb, "attach", "EBUSY", **IN, prog="p5", flags=("REPLACE",), replace="p4")
    do(kb, "attach", **IN, prog="p5", flags=("REPLACE",), replace="p2")
    q(kb, ["p4", "p5", "p1", "p3"], 8, links=["l1", None, None, None])
    # Relative not on the hook; BEFORE|AFTER never agree.
    do(kb, "detach", "ENOENT", **IN, prog="p2")
    load(kb, "p6")
    do(kb, "attach", "ENOENT", **IN, prog="p6", flags=("AFTER",), relative="p2")
    do(kb, "attach", "ERANGE", **IN, prog="p2", flags=("BEFORE", "AFTER"))
    do(kb, "attach", "EINVAL", **IN, prog="p2", flags=("LINK",), relative="p1")  # p1 is no link
    do(kb, "link_update", link="l1", prog="p2")
    q(kb, ["p2", "p5", "p1", "p3"], 9, links=["l1", None, None, None])
    do(kb, "link_update", link="l1", prog="p2")                            # same prog: no bump
    q(kb, ["p2", "p5", "p1", "p3"], 9, links=["l1", None, None, None])
    do(kb, "link_update", "EPERM", link="l1", prog="p4", flags=("REPLACE",), old_prog="p1")
    # Other direction is independent.
    q(kb, [], 1, dev="a", dir="egress")
    assert kb.hooks() == {
        ("a", "ingress"): QueryResult(4, 9, ("p2", "p5", "p1", "p3"), ("l1", None, None, None)),
        ("a", "egress"): QueryResult(0, 1),
    }


def test_close_link_detaches_and_ids(kb):
    do(kb, "dev_add", dev="a")
    load(kb, "p1", "p2", "p3")
    do(kb, "link_create", **IN, prog="p1", link="l1")
    do(kb, "attach", **IN, prog="p2", flags=("BEFORE", "LINK", "ID"), relative="l1")
    q(kb, ["p2", "p1"], 3, links=[None, "l1"])
    do(kb, "close", link="l1")
    q(kb, ["p2"], 4)
    do(kb, "close", "EBADF", link="l1")                   # no open fd: close() is not called
    do(kb, "link_update", "EBADF", link="l1", prog="p3")
    do(kb, "link_detach", "EBADF", link="l1")
    # A closed link's last id names nothing any more.
    do(kb, "attach", "ENOENT", **IN, prog="p3", flags=("AFTER", "LINK", "ID"), relative="l1")
    # link_detach keeps the link object: a second detach is a no-op, update ENOLINK.
    do(kb, "link_create", **IN, prog="p1", link="l2")
    q(kb, ["p2", "p1"], 5, links=[None, "l2"])
    do(kb, "link_detach", link="l2")
    do(kb, "link_detach", link="l2")
    do(kb, "link_update", "ENOLINK", link="l2", prog="p3")
    q(kb, ["p2"], 6)


def test_dev_del_makes_links_defunct(kb):
    do(kb, "dev_add", dev="a")
    do(kb, "dev_add", "EEXIST", dev="a")
    load(kb, "p1", "p2", "p3")
    do(kb, "link_create", **IN, prog="p1", link="l1")
    do(kb, "attach", **IN, prog="p2")
    do(kb, "dev_del", dev="a")
    do(kb, "link_update", "ENOLINK", link="l1", prog="p3")
    do(kb, "link_detach", link="l1")
    do(kb, "query", "ENODEV", **IN)
    do(kb, "attach", "ENODEV", **IN, prog="p3")
    do(kb, "detach", "ENODEV", **IN, prog="p2")
    do(kb, "link_create", "ENODEV", **IN, prog="p3", link="l3")
    do(kb, "dev_del", "ENODEV", dev="a")
    do(kb, "clsact_add", "ENODEV", dev="a")
    do(kb, "clsact_del", "ENODEV", dev="a")
    do(kb, "query", "ENODEV", dev="never", dir="ingress")
    assert kb.hooks() == {}
    # The prog-API entry released p2; re-adding the device starts afresh.
    do(kb, "dev_add", dev="a")
    q(kb, [], 1)
    do(kb, "attach", **IN, prog="p2")
    q(kb, ["p2"], 2)


def test_clsact_keeps_revision(kb):
    do(kb, "dev_add", dev="a")
    load(kb, "p1")
    # Without clsact the emptied bundle is freed: the revision starts over.
    do(kb, "attach", **IN, prog="p1")
    do(kb, "detach", **IN, prog="p1")
    q(kb, [], 1)
    do(kb, "detach", "ENOENT", **IN)
    # With clsact the bundle survives empty and keeps counting.
    do(kb, "clsact_del", "ENOENT", dev="a")
    do(kb, "clsact_add", dev="a")
    do(kb, "clsact_add", "EEXIST", dev="a")
    q(kb, [], 1)
    do(kb, "attach", **IN, prog="p1")
    do(kb, "detach", **IN, prog="p1")
    q(kb, [], 3)
    q(kb, [], 1, dev="a", dir="egress")
    do(kb, "detach", "ENOENT", **IN)                      # empty list, bundle present
    do(kb, "attach", "ESTALE", **IN, prog="p1", expected_revision=1)
    do(kb, "clsact_del", dev="a")
    q(kb, [], 1)
    do(kb, "clsact_del", "ENOENT", dev="a")               # also after a clsact existed
    do(kb, "clsact_add", "ENODEV", dev="zz")


def test_hook_maximum(kb):
    do(kb, "dev_add", dev="a")
    names = [f"q{i}" for i in range(64)]
    load(kb, *names)
    for i in range(63):
        do(kb, "attach", **IN, prog=names[i])
    q(kb, names[:63], 64)
    do(kb, "attach", "ERANGE", **IN, prog="q63")
    do(kb, "attach", "ERANGE", **IN, prog="q63", flags=("BEFORE",), relative="q62")
    do(kb, "attach", "ERANGE", **IN, prog="q63", flags=("AFTER",))
    do(kb, "link_create", "ERANGE", **IN, prog="q63", link="l")
    q(kb, names[:63], 64)
    do(kb, "attach", **IN, prog="q63", flags=("REPLACE",), replace="q0")     # full is fine for REPLACE
    q(kb, ["q63"] + names[1:63], 65)
    do(kb, "detach", "ERANGE", **IN)                      # idx = n = 63 on a full hook
    do(kb, "detach", **IN, flags=("BEFORE",))             # removes the first
    q(kb, names[1:63], 66)


def test_query_enospc_and_count(kb):
    do(kb, "dev_add", dev="a")
    load(kb, "p1", "p2", "p3", "p4")
    for p in ("p1", "p2", "p3"):
        do(kb, "attach", **IN, prog=p)
    do(kb, "link_create", **IN, prog="p4", link="l4")
    q(kb, ["p1", "p2"], 5, count=4, n=2, errno="ENOSPC")
    q(kb, [], 5, count=4, n=0)
    q(kb, ["p1", "p2", "p3", "p4"], 5, links=[None, None, None, "l4"], n=4)
    do(kb, "query", "EINVAL", **IN, query_flags=1)
    do(kb, "query", "EINVAL", **IN, attach_flags=1)


def test_type_and_flag_errnos(kb):
    do(kb, "dev_add", dev="a")
    load(kb, "p1", "p2")
    load(kb, "x", type="xdp")
    load(kb, "sa", type="sched_act")
    load(kb, "sf", type="socket_filter")
    for bad in ("x", "sa", "sf"):
        do(kb, "attach", "EINVAL", **IN, prog=bad)
        do(kb, "link_create", "EINVAL", **IN, prog=bad, link="lbad")
    do(kb, "detach", "ENOENT", **IN, prog="p1", flags=("REPLACE",))   # no bundle yet
    do(kb, "link_create", **IN, prog="p1", link="l1")
    do(kb, "detach", "EINVAL", **IN, prog="p1", flags=("REPLACE",))
    for bad in ("x", "sa", "sf"):
        do(kb, "link_update", "EINVAL", link="l1", prog=bad)
    for f in ("ALLOW_OVERRIDE", "ALLOW_MULTI", "PREORDER", 1 << 7):
        do(kb, "attach", "EINVAL", **IN, prog="p2", flags=(f,))
        do(kb, "detach", "EINVAL", **IN, prog="p1", flags=(f,))
    do(kb, "link_create", "ENOENT", **IN, prog="p2", link="l2", flags=("REPLACE",))
    # LINK_CREATE has no flag mask: a stray bit next to a position rule passes.
    do(kb, "link_create", **IN, prog="p2", link="l2", flags=("AFTER", "PREORDER"))
    q(kb, ["p1", "p2"], 3, links=["l1", "l2"])
    do(kb, "link_update", "EINVAL", link="l1", prog="p2", flags=("ALLOW_MULTI",))
    do(kb, "link_update", "EEXIST", link="l1", prog="p2")


# ---------------------------------------------------------------------------
# fd / id mapping

def test_fd_mapping(kb):
    do(kb, "dev_add", dev="a")
    load(kb, "p1", "p2")
    fd1, fd2 = kb.progs["p1"].fd, kb.progs["p2"].fd
    assert 1000 <= fd1 < fd2
    do(kb, "attach", **IN, prog="p1")
    do(kb, "close", prog="p1")
    assert not _is_open(fd1)
    load(kb, "p3")
    assert kb.progs["p3"].fd > fd2                        # closed numbers are never reused
    # Closed name as an fd: EBADF; as an id: still the prog held by the hook.
    do(kb, "attach", "EBADF", **IN, prog="p1")
    do(kb, "attach", "EBADF", **IN, prog="p3", flags=("BEFORE",), relative="p1")
    do(kb, "attach", **IN, prog="p3", flags=("BEFORE", "ID"), relative="p1")
    q(kb, ["p3", "p1"], 3)
    # Never-created names.
    do(kb, "attach", "EBADF", **IN, prog="ghost")
    do(kb, "attach", "ENOENT", **IN, prog="p2", flags=("AFTER", "ID"), relative="ghost")
    do(kb, "link_create", "EBADF", **IN, prog="ghost", link="lg")
    do(kb, "link_update", "EBADF", link="lg", prog="p2")
    do(kb, "close", "EBADF", link="lg")
    # fd 0 is a file that is not a BPF object; raw numbers are not closed by close.
    do(kb, "attach", "EINVAL", **IN, prog=Raw(0))
    do(kb, "link_detach", "EINVAL", link=Raw(0))
    do(kb, "close", "EBADF", prog=Raw(0))
    assert _is_open(0)
    do(kb, "attach", "EBADF", **IN, prog=Raw(987654))
    with open(os.devnull) as f:                 # an fd open here is still "not open" raw
        do(kb, "attach", "EBADF", **IN, prog=Raw(f.fileno()))
    # A prog fd used as a link and a link fd used as a prog.
    do(kb, "link_create", **IN, prog="p2", link="l2")
    do(kb, "link_detach", "EINVAL", link="p2")
    do(kb, "attach", "EINVAL", **IN, prog="l2")
    # Objects the backend did not name are rendered as #id.
    fd, err = bpf.prog_load(bpf.PROG_TYPE["sched_cls"], "alien")
    assert err is None
    try:
        (_, alien_id), _ = bpf.obj_info(fd)
        with kb._ns.entered():
            assert bpf.prog_attach(kb.devs["a"].ifindex, fd, bpf.BPF_TCX_INGRESS, 0, 0, 0, 0) == OK
    finally:
        os.close(fd)
    q(kb, ["p3", "p1", "p2", f"#{alien_id}"], 5, links=[None, None, "l2", None])


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------
# Namespace hygiene

def test_thread_always_returns_to_its_namespace(kb):
    home = netns_inode()
    do(kb, "dev_add", dev="a")
    assert netns_inode() == home
    with pytest.raises(ValueError):
        kb.apply(Step("query", dev="a", dir="sideways"))
    assert netns_inode() == home
    with pytest.raises(KeyboardInterrupt):
        with kb._ns.entered():
            assert netns_inode() == kb._ns.inode != home
            raise KeyboardInterrupt
    assert netns_inode() == home
    # The device lives only in the private namespace.
    ifname = kb._devs_nl.ifname("a")
    host = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f" {ifname}@" not in host and f" {ifname}:" not in host


def test_new_netns_context_manager():
    from checker.kernel.netns import new_netns
    home = netns_inode()
    with pytest.raises(KeyboardInterrupt):
        with new_netns() as ns:
            assert netns_inode() == ns.inode != home
            raise KeyboardInterrupt
    assert netns_inode() == home
    assert ns.fd is None


def test_close_is_idempotent_and_final():
    b = KernelBackend()
    do(b, "dev_add", dev="a")
    load(b, "p1")
    do(b, "link_create", **IN, prog="p1", link="l1")
    fds = [b.progs["p1"].fd, b.links["l1"].fd]
    b.close()
    b.close()
    assert not any(_is_open(fd) for fd in fds)
    with pytest.raises(RuntimeError):
        b.apply(Step("query", **IN))


def _netns_of(pid: str) -> set[int]:
    """The network namespaces the threads of ``pid`` are in."""
    seen = set()
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                seen.add(os.stat(f"/proc/{pid}/task/{tid}/ns/net").st_ino)
    return seen


def _netns_fds() -> set[int]:
    """The network namespaces this process holds an fd of."""
    seen = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("net:["):
                seen.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
    return seen


def _visible_netns() -> set[int]:
    """Every process's namespaces (machine-wide) and the ones we hold."""
    seen = _netns_fds()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            seen |= _netns_of(pid)
    return seen


def _still_alive(objects) -> list:
    """The (kind, id) objects that still exist once the kernel's cleanup
    has had its chance: namespaces are destroyed by the asynchronous
    cleanup_net work after their last fd is closed, and the devices (and the
    prog-API references they hold) go then.  Waits up to 30 s."""
    deadline = time.monotonic() + 30
    alive = list(objects)
    while alive and time.monotonic() < deadline:
        alive = [o for o in alive if bpf.id_alive(*o)]
        if alive:
            time.sleep(0.1)
    return alive


def _own_netns() -> set[int]:
    """The network namespaces this process is in (any thread) or holds an
    fd of.  A namespace the backend made and failed to release could only
    stay alive through one of these (it forks nothing and mounts nothing),
    so this is the whole of what a leak of ours can be; unlike the
    machine-wide view it does not see the namespaces other processes (other
    test runs on the machine) create meanwhile, nor one that reuses a freed
    namespace's inode number."""
    return _netns_of("self") | _netns_fds()


@contextlib.contextmanager
def _netns_made():
    """The inode of every network namespace this process creates (NetNS)
    during the body, one entry per namespace (the kernel reuses the inode
    number of a destroyed namespace)."""
    from checker.kernel.netns import NetNS
    made: list[int] = []
    init = NetNS.__init__

    def recording(self, *a, **kw):
        init(self, *a, **kw)
        made.append(self.inode)
    NetNS.__init__ = recording
    try:
        yield made
    finally:
        NetNS.__init__ = init


def _assert_netns_released(own_before: set, made: list) -> None:
    """This process is in and holds the same namespaces as before, and none
    it made: every namespace the run created is released (the kernel then
    destroys it; the callers' object checks see that it did)."""
    own = _own_netns()
    assert own == own_before, (own, own_before)
    assert made and not (own & set(made))


def _host_tcx() -> dict:
    """tcx state of every host device, queried from the host namespace."""
    from pyroute2 import IPRoute
    with IPRoute() as ipr:
        idx = [l["index"] for l in ipr.get_links()]
    return {(i, at): bpf.prog_query(i, at, 64)
            for i in idx for at in (bpf.BPF_TCX_INGRESS, bpf.BPF_TCX_EGRESS)}


def test_no_resource_leaks():
    fds_before = len(os.listdir("/proc/self/fd"))
    own_before = _own_netns()
    links_before = subprocess.run(["ip", "-d", "link"], capture_output=True, text=True).stdout
    tcx_before = _host_tcx()
    ours = set()
    objects = []                                  # (kind, id) of every prog and link created
    with _netns_made() as made:
        for i in range(200):
            b = KernelBackend()
            ours.add(b._ns.inode)
            do(b, "dev_add", dev="a")
            load(b, "p", "r")
            do(b, "attach", **IN, prog="p")
            do(b, "link_create", dev="a", dir="egress", prog="r", link="l")
            do(b, "clsact_add", dev="a")
            if i % 2:
                do(b, "close", prog="p")
            objects += [(o.kind, o.id) for o in list(b.progs.values()) + list(b.links.values())]
            assert all(bpf.id_alive(k, i) for k, i in objects[-3:])
            b.close()
    assert ours <= set(made) and len(made) == 200
    assert len(objects) == 600
    # The programs and links were held by the namespaces' devices: their
    # being gone shows the kernel destroyed every namespace of the run.
    assert _still_alive(objects) == []
    assert len(os.listdir("/proc/self/fd")) == fds_before
    _assert_netns_released(own_before, made)
    assert subprocess.run(["ip", "-d", "link"], capture_output=True, text=True).stdout == links_before
    assert _host_tcx() == tcx_before


# ---------------------------------------------------------------------------
# Agreement with the reference executor on random short scripts

def _random_script(rng: random.Random, length: int):
    progs = ["p1", "p2", "p3", "p4", "x1"]
    links = ["l0"]
    flags = ["REPLACE", "BEFORE", "AFTER", "ID", "LINK"]
    steps = [Step("dev_add", dev="a"), Step("dev_add", dev="b")]
    steps += [Step("load", prog=p) for p in progs[:4]] + [Step("load", prog="x1", type="xdp")]

    def ref(pool):
        return Raw(0) if rng.random() < 0.05 else rng.choice(pool)

    for _ in range(length):
        op = rng.choice(["attach"] * 5 + ["detach"] * 3 + ["query"] * 2 + ["link_create"] * 4
                        + ["link_update"] * 2 + ["link_detach", "close", "close", "dev_del",
                                                 "clsact_add", "clsact_del", "dev_add"])
        where = dict(dev=rng.choice("ab"), dir=rng.choice(["ingress", "egress"]))
        fl = tuple(f for f in flags if rng.random() < 0.2)
        rel = ref(progs + links) if rng.random() < 0.5 else None
        rev = rng.choice([0, 0, 0, 1, 2, 3, 4])
        if op == "attach":
            steps.append(Step(op, **where, prog=ref(progs), flags=fl, relative=rel,
                              replace=ref(progs) if "REPLACE" in fl else None, expected_revision=rev))
        elif op == "detach":
            steps.append(Step(op, **where, prog=ref(progs) if rng.random() < 0.7 else None,
                              flags=fl, relative=rel, expected_revision=rev))
        elif op == "query":
            steps.append(Step(op, **where, count=rng.choice([None, 0, 1, 2])))
        elif op == "link_create":
            links.append(f"l{len(links)}")        # fresh link names only
            steps.append(Step(op, **where, prog=ref(progs), link=links[-1], flags=fl,
                              relative=rel, expected_revision=rev))
        elif op == "link_update":
            fl = ("REPLACE",) if rng.random() < 0.3 else ()
            steps.append(Step(op, link=ref(links), prog=ref(progs), flags=fl,
                              old_prog=ref(progs) if fl else None))
        elif op == "link_detach":
            steps.append(Step(op, link=ref(links)))
        elif op == "close":
            steps.append(Step(op, link=rng.choice(links)) if rng.random() < 0.5
                         else Step(op, prog=rng.choice(progs)))
        else:
            steps.append(Step(op, dev=where["dev"]))
    return steps


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_reference_executor(seed):
    from checker.diff import first_divergence
    from checker.exec import Executor
    rng = random.Random(seed)
    ex = Executor()
    with KernelBackend() as b:
        d = first_divergence(_random_script(rng, 50), ex, b)
        assert d is None, (f"step {d.index} {d.step}: kernel {d.kernel.errno} {d.kernel.query}, "
                           f"model {d.model.errno} ({d.model.rule}) {d.model.query}")
        assert b.hooks() == ex.hooks()


def test_backend_in_a_worker_thread():
    """Namespaces are per thread: a backend used from another thread works
    and leaves both threads where they were."""
    import threading
    home = netns_inode()
    box = {}

    def work():
        mine = netns_inode()
        with KernelBackend() as b:
            do(b, "dev_add", dev="a")
            load(b, "p1")
            do(b, "attach", **IN, prog="p1")
            box["q"] = b.apply(Step("query", **IN)).query
        box["same"] = netns_inode() == mine

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert box == {"q": QueryResult(1, 2, ("p1",), (None,)), "same": True}
    assert netns_inode() == home


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler for the test: a process started in the
    background by a non-interactive shell inherits SIGINT ignored, and then
    Python never installs it (these tests failed in a CI run so started)."""
    import signal
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_sigint_inside_is_deferred_until_home(kb, default_sigint):
    """A SIGINT that arrives while the thread is inside the namespace turns
    into KeyboardInterrupt only once the thread is back home."""
    import signal
    home = netns_inode()
    with pytest.raises(KeyboardInterrupt):
        with kb._ns.entered():
            signal.raise_signal(signal.SIGINT)
            inside = netns_inode()           # still running: the interrupt waits
    assert inside == kb._ns.inode
    assert netns_inode() == home


def test_session_stays_inside_and_sigint_surfaces_at_the_next_request(kb, default_sigint):
    """In a session() the thread stays in the namespace between requests; a
    SIGINT becomes KeyboardInterrupt at the next apply(), and the thread is
    home when it leaves the ``with``."""
    import signal
    home = netns_inode()
    do(kb, "dev_add", dev="a")
    load(kb, "p1", "p2")
    with pytest.raises(KeyboardInterrupt):
        with kb.session():
            do(kb, "attach", prog="p1", **IN)
            assert netns_inode() == kb._ns.inode
            signal.raise_signal(signal.SIGINT)
            assert netns_inode() == kb._ns.inode
            do(kb, "attach", prog="p2", **IN)     # raises before touching the kernel
    assert netns_inode() == home
    q(kb, ["p1"], 2, **IN)                        # p2 was never attached


def _raw_setup(kb):
    """p1 (prog API) and l1 (p2's link) on a's ingress, p3 loaded: on the
    kernel backend and on a model executor, which is returned."""
    from checker.exec import Executor
    model = Executor()
    setup = [Step("dev_add", dev="a"), Step("load", prog="p1"), Step("load", prog="p2"),
             Step("load", prog="p3"), Step("attach", **IN, prog="p1"),
             Step("link_create", link="l1", prog="p2", **IN)]
    for s in setup:
        assert model.apply(s).errno == kb.apply(s).errno == OK
    return model


def test_raw_fds_agree_with_the_model_for_every_value(kb):
    """A raw fd names no object, whatever number it is: the process's own
    stdio and open files, low numbers, this backend's own fd numbers, and
    the extremes.  The model and the kernel both answer EBADF in every fd
    position (prog, relative, replace, link, old_prog)."""
    model = _raw_setup(kb)
    with open(os.devnull) as f, open(__file__) as g:
        own = sorted({1, 2, f.fileno(), g.fileno(), kb.progs["p1"].fd, kb.links["l1"].fd})
        values = own + [3, 4, 5, 10, 999, 1000, 1001, 2**31 - 1, 2**31, 2**32 - 1]
        for v in values:
            r = Raw(v)
            for step in (Step("attach", **IN, prog=r),
                         Step("attach", **IN, prog="p3", flags=("BEFORE",), relative=r),
                         Step("attach", **IN, prog="p3", flags=("REPLACE",), replace=r),
                         Step("detach", **IN, prog=r),
                         Step("link_update", link=r, prog="p1"),
                         Step("link_update", link="l1", prog="p3", flags=("REPLACE",), old_prog=r),
                         Step("link_detach", link=r)):
                m, k = model.apply(step), kb.apply(step)
                assert m.errno == k.errno == "EBADF", (v, step, m, k)
        assert not f.closed and os.fstat(f.fileno())         # nothing of ours was touched
    q(kb, ["p1", "p2"], 3, links=[None, "l1"])


def test_raw_ids_agree_with_the_model_for_every_value(kb):
    """A raw id names no object, whatever number it is (checker.model.Raw):
    the ids of this backend's own programs and links, low numbers and the
    extremes.  Sent verbatim, a raw id equal to a live object's id would
    name it on the kernel while the model answers ENOENT; the backend maps
    every non-zero raw id to one that names nothing."""
    model = _raw_setup(kb)
    own = sorted({kb.progs[p].id for p in ("p1", "p2", "p3")} | {kb.links["l1"].id})
    for v in own + [1, 2, 3, 1000, 2**31 - 1, 2**31, 2**32 - 1]:
        r = Raw(v)
        for step in (Step("attach", **IN, prog="p3", flags=("BEFORE", "ID"), relative=r),
                     Step("attach", **IN, prog="p3", flags=("AFTER", "ID", "LINK"), relative=r),
                     Step("detach", **IN, prog="p1", flags=("BEFORE", "ID"), relative=r),
                     Step("link_create", link=f"x{v}", prog="p3", flags=("AFTER", "ID"), relative=r,
                          **IN)):
            m, k = model.apply(step), kb.apply(step)
            assert m.errno == k.errno == "ENOENT", (v, step, m, k)
    q(kb, ["p1", "p2"], 3, links=[None, "l1"])
