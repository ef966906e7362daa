"""The cgroup target of the live-kernel backend (spec/cgroup/): cgroup BPF
programs in a private cgroup v2 subtree.

Where: the first cgroup2 mount of /proc/self/mountinfo (found at run time),
``<mount>/mprog-<pid>-<n>`` per backend (per file, per fuzz sequence).  A
script's cgroup ``a`` with parent ``p`` is the directory ``.../cg-p/cg-a``
(the ``cg-`` prefix keeps names clear of the interface files, e.g.
``cpu.stat``); a cgroup without a parent is a child of the private base.
Nothing outside the base is ever created, attached to or changed: the
backend only reads the ancestors once, to refuse running where they hold
programs (the effective lists would include programs outside the run).

Clean-up: closing the backend closes every link and program fd, then removes
the cgroups (children first) and the base, also on errors and Ctrl-C (each
request runs with SIGINT deferred, so a mkdir is never left unrecorded).
A process killed with SIGKILL cleans up nothing: the next cgroup backend
opened removes such orphans (sweep_orphans: bases whose pid is gone).

Removing a cgroup releases its BPF state asynchronously in the kernel
(cgroup_bpf_release() on a workqueue, 14-17 ms here); the model makes it part
of ``cgroup_del`` (spec rule cgroup/release).  To be deterministic,
``cgroup_del`` returns only once every link that was attached to the cgroup
reports cgroup_id 0: the release detaches all links and drops all prog-API
entries under one cgroup_mutex section, and link info is read under the same
mutex, so after that nothing of the old cgroup is observable any more.
"""
from __future__ import annotations

import errno
import itertools
import os
import re
import time
from typing import Callable, Optional

from ..dialects.cgroup import ATTACH_TYPE, MODES, QUERY_DEFAULT_COUNT
from ..errors import BackendUnavailable, SpecCrash
from ..model import OK, Outcome, QueryResult, Step, owners_by_program
from . import bpf
from .backend import KernelBackend
from .netns import _SignalsDeferred

_SEQ = itertools.count(1)
# How long cgroup_del waits for the kernel to release a removed cgroup's
# links (cgroup_bpf_release(); ~15 ms measured, longer under load).
RELEASE_TIMEOUT_S = 10.0
DIR_PREFIX = "cg-"


def cgroup2_mount() -> Optional[str]:
    """The mount point of the first cgroup2 mount visible to this process."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                if post.split(" ", 1)[0] == "cgroup2":
                    # Field 5 is the mount point, with octal escapes (\040 ...).
                    raw = pre.split(" ")[4]
                    return raw.encode().decode("unicode_escape")
    except OSError:
        return None
    return None


def _errname(e: OSError) -> str:
    return errno.errorcode.get(e.errno, f"E{e.errno}")


class _Inside:
    """The context of one request (or session): nothing to enter, but SIGINT
    and SIGTERM are deferred to its end (the same contract as NetNS.entered())."""

    __slots__ = ("defer",)

    def __init__(self):
        self.defer: Optional[_SignalsDeferred] = None

    def __enter__(self):
        self.defer = _SignalsDeferred().__enter__()
        return self

    def __exit__(self, *exc):
        defer, self.defer = self.defer, None
        if defer is not None:
            defer.__exit__(None, None, None)      # may raise a deferred interrupt
        return False


# Names of the private bases (and the probe's directory): the pid of the
# process that made it comes first, so a base whose process is gone is known
# to be an orphan (a process killed with SIGKILL could not clean up).
_BASE_RE = re.compile(r"mprog-(?:probe-)?(\d+)(?:-\d+)?\Z")


def sweep_orphans(mount: str) -> list:
    """Remove the private subtrees of mprog processes that no longer exist
    (left by SIGKILL, which no clean-up survives): every directory under
    ``<mount>/mprog-<pid>-<n>`` whose pid is not a running process, deepest
    first.  Removing a cgroup releases the programs still attached to it;
    the links died with their process's fds.  Nothing else is touched: a
    name of another shape, or of a live pid, stays.  Returns the subtrees
    removed (a directory the kernel refuses to remove stays, e.g. one that
    holds a task someone moved there)."""
    removed = []
    try:
        names = os.listdir(mount)
    except OSError:
        return removed
    for name in sorted(names):
        m = _BASE_RE.match(name)
        if m is None or os.path.exists(f"/proc/{m.group(1)}"):
            continue
        base = os.path.join(mount, name)
        try:
            for d, _, _ in sorted(os.walk(base), key=lambda t: -t[0].count("/")):
                os.rmdir(d)
            removed.append(base)
        except OSError:
            continue
    return removed


class CgroupTree:
    """The private subtree: cgroup names -> directories and their open fds.

    A removed cgroup's fd stays open (the kernel answers ENOENT through it)
    until the name is added again or the tree is closed."""

    def __init__(self, mount: str, adopt: Callable[[int], int]):
        self.mount = mount
        self._adopt = adopt
        self.base = os.path.join(mount, f"mprog-{os.getpid()}-{next(_SEQ)}")
        self.paths: dict[str, str] = {}         # every name added (names keep their place)
        self.fds: dict[str, int] = {}           # open directory fds (present or removed)
        self.present: dict[str, bool] = {}
        self._made: list[str] = []              # directories this tree created, in order
        self._closed = False
        self._gone: Optional[int] = None
        with _SignalsDeferred():
            try:
                self._mkdir(self.base)
                # A cgroup that is gone: the target of a name never created.
                self._gone = self._open(self._mkdir(os.path.join(self.base, "gone")))
                os.rmdir(self._made.pop())
            except BaseException:
                self.close()
                raise

    def _mkdir(self, path: str) -> str:
        os.mkdir(path, 0o755)
        self._made.append(path)
        return path

    def _open(self, path: str) -> int:
        return self._adopt(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))

    def entered(self) -> _Inside:
        if self._closed:
            raise RuntimeError("cgroup tree already closed")
        return _Inside()

    def check_ancestors(self, attach_types) -> None:
        """Refuse to run where the base inherits programs: an effective query
        of the (empty) base is empty iff no ancestor holds a program."""
        fd = self._open(self.base)
        try:
            for name, at in attach_types.items():
                q = bpf.prog_query(fd, at, 0, query_flags=1, flags_array=False)
                if q.errno != OK:
                    raise BackendUnavailable(f"effective query of {self.base} ({name}) failed "
                                             f"with {q.errno}")
                if q.count:
                    raise BackendUnavailable(
                        f"the cgroups above {self.base} hold {q.count} {name} program(s): every "
                        f"effective list of the run would include them; run from a cgroup v2 "
                        f"mount whose root holds no cgroup programs")
        finally:
            bpf.close_fd(fd)

    def path_of(self, name: str, parent: Optional[str]) -> str:
        up = self.paths.get(parent, os.path.join(self.base, DIR_PREFIX + parent)) \
            if parent is not None else self.base
        return os.path.join(up, DIR_PREFIX + name)

    def fd(self, name: Optional[str]) -> int:
        return self.fds.get(name, self._gone)

    def cgroup_id(self, name: str) -> int:
        """The kernel's cgroup id (the directory's kernfs inode number)."""
        return os.fstat(self.fds[name]).st_ino

    def add(self, name: str, parent: Optional[str]) -> str:
        path = self.path_of(name, parent)
        self.paths.setdefault(name, path)
        try:
            self._mkdir(path)
        except OSError as e:
            return _errname(e)
        old = self.fds.pop(name, None)
        if old is not None:
            bpf.close_fd(old)                     # the removed cgroup this name named before
        self.fds[name] = self._open(path)
        self.present[name] = True
        return OK

    def remove(self, name: str) -> str:
        path = self.paths.get(name)
        if path is None:
            return "ENOENT"
        try:
            os.rmdir(path)
        except OSError as e:
            return _errname(e)
        self.present[name] = False
        return OK

    def close(self) -> None:
        """Remove every directory this tree made (children first) and close
        every fd.  Idempotent; never raises for a directory already gone."""
        if self._closed:
            return
        self._closed = True
        with _SignalsDeferred():
            for fd in list(self.fds.values()) + [self._gone]:
                if fd is not None:
                    bpf.close_fd(fd)
            self.fds.clear()
            for path in reversed(self._made):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
            self._made.clear()


class CgroupBackend(KernelBackend):
    """checker.backend.Backend on the running kernel for the cgroup dialect."""

    KERNEL = "cgroup"
    PROG_RET = 1
    _place = "cgroup v2 subtree"

    @staticmethod
    def unavailable() -> Optional[str]:
        return cgroup_available()

    def _open_target(self) -> None:
        mount = cgroup2_mount()
        sweep_orphans(mount)
        tree = CgroupTree(mount, self._adopt)
        self._ns = tree
        tree.check_ancestors(self._attach_types)

    def _target(self, s: Step) -> int:
        return self._ns.fd(s.cgroup)

    # -- queries --------------------------------------------------------------

    def _op_query(self, s: Step) -> Outcome:
        at = self._attach_type(s)
        count = QUERY_DEFAULT_COUNT if s.count is None else s.count
        q = bpf.prog_query(self._target(s), at, count, s.query_flags, s.attach_flags,
                           flags_array=s.prog_attach_flags)
        if q.errno not in (OK, "ENOSPC"):
            return Outcome(q.errno)
        effective = bool(s.query_flags & 1)
        full = q.prog_ids
        if not effective and full and len(full) < q.count:
            # The owners of the shown entries depend on the whole list
            # (owners_by_program); read it again in full (read-only).
            full = bpf.prog_query(self._target(s), at, QUERY_DEFAULT_COUNT,
                                  flags_array=False).prog_ids
        return Outcome(q.errno, query=self._cg_result(s.cgroup, at, q, full, effective))

    def _cg_result(self, cgroup: str, at: int, q: bpf.QueryOut, full: tuple,
                   effective: bool) -> QueryResult:
        names = self._names
        shown = len(q.prog_ids)
        progs = tuple(names.get(("prog", i), f"#{i}") for i in full)
        if effective or not full:
            links = (None,) * len(progs)
        else:
            links = owners_by_program(progs, self._owners(cgroup, at, full))
        return QueryResult(q.count, q.revision, progs[:shown], links[:shown],
                           mode=MODES.get(q.attach_flags, hex(q.attach_flags)))

    def _owners(self, cgroup: str, at: int, prog_ids: tuple) -> tuple:
        """Link owners of a list as its links report them: each of this
        backend's links attached to this cgroup and attach type claims an
        entry of its program; the remaining entries are prog-API ones."""
        if not self._ns.present.get(cgroup):
            return (None,) * len(prog_ids)
        cid = self._ns.cgroup_id(cgroup)
        claims: dict[int, list] = {}
        for name, obj in self.links.items():
            if obj.fd is None:
                continue
            info, err = bpf.cgroup_link_info(obj.fd)
            if err is None and info[1] == cid and info[2] == at:
                claims.setdefault(info[0], []).append(name)
        out = []
        for pid in prog_ids:
            mine = claims.get(pid)
            out.append(mine.pop() if mine else None)
        if any(claims.values()):
            raise SpecCrash(f"cgroup {cgroup!r}: links {claims} claim entries the query did not show")
        return tuple(out)

    def hooks(self) -> dict[tuple[str, str], QueryResult]:
        if self._closed:
            raise RuntimeError("CgroupBackend is closed")
        res = {}
        with self._ns.entered():
            for name, present in self._ns.present.items():
                if not present:
                    continue
                for point, at in self._attach_types.items():
                    q = bpf.prog_query(self._ns.fd(name), at, QUERY_DEFAULT_COUNT,
                                       flags_array=False)
                    if q.errno != OK:
                        raise SpecCrash(f"query of present cgroup {name!r} {point} failed: {q.errno}")
                    if q.count or q.revision > 1:
                        res[(name, point)] = self._cg_result(name, at, q, q.prog_ids, False)
        return res

    # -- the hierarchy ----------------------------------------------------------

    def _op_cgroup_add(self, s: Step) -> Outcome:
        return Outcome(self._ns.add(s.cgroup, s.parent))

    def _op_cgroup_del(self, s: Step) -> Outcome:
        name = s.cgroup
        attached = []
        if self._ns.present.get(name):
            cid = self._ns.cgroup_id(name)
            for obj in self.links.values():
                if obj.fd is not None:
                    info, err = bpf.cgroup_link_info(obj.fd)
                    if err is None and info[1] == cid:
                        attached.append(obj.fd)
        err = self._ns.remove(name)
        if err == OK and attached:
            self._await_release(name, attached)
        return Outcome(err)

    @staticmethod
    def _await_release(name: str, link_fds: list) -> None:
        """Until every link of the removed cgroup is defunct (cgroup_id 0)."""
        deadline = time.monotonic() + RELEASE_TIMEOUT_S
        pause = 0.001
        while True:
            if all(bpf.cgroup_link_info(fd)[0][1] == 0 for fd in link_fds):
                return
            if time.monotonic() > deadline:
                raise SpecCrash(f"cgroup {name!r}: its links were not released "
                                f"{RELEASE_TIMEOUT_S:.0f} s after rmdir")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


# ---------------------------------------------------------------------------

_AVAILABLE: list = []   # cached cgroup_available() answer


def cgroup_available() -> Optional[str]:
    """None if the cgroup backend can run here, else the reason it cannot."""
    if not _AVAILABLE:
        _AVAILABLE.append(_probe())
    return _AVAILABLE[0]


def _probe() -> Optional[str]:
    import platform
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()})"
    try:
        bpf._init()
    except OSError as e:
        return str(e)
    mount = cgroup2_mount()
    if mount is None:
        return "no cgroup v2 mount (no cgroup2 line in /proc/self/mountinfo)"
    path = os.path.join(mount, f"mprog-probe-{os.getpid()}")
    fd, err = bpf.prog_load(8, "probe", 0, 1)          # cgroup_skb
    if err is not None:
        return f"BPF_PROG_LOAD of a cgroup_skb prog failed: {err} (need root / CAP_BPF+CAP_NET_ADMIN)"
    os.close(fd)
    try:
        os.mkdir(path, 0o755)
    except OSError as e:
        return f"cannot create a cgroup under the cgroup v2 mount {mount}: {e.strerror}"
    try:
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            q = bpf.prog_query(dfd, ATTACH_TYPE["cgroup_inet_egress"], 0, flags_array=False)
        finally:
            os.close(dfd)
    finally:
        os.rmdir(path)
    if q.errno != OK:
        return f"cgroup PROG_QUERY failed with {q.errno}"
    if q.revision != 1:
        return (f"a new cgroup reports revision {q.revision}, not 1: this kernel "
                f"({platform.release()}) predates the cgroup ordering API (Linux 6.17, 6.12.110)")
    return None
