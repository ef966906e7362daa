"""The live-kernel backend: replays steps with bpf(2) on veth devices inside a
private network namespace.

Object names map to fds and kernel ids:

* ``load`` declares a prog name, ``link_create`` a link name, ``dev_add`` a
  device name (a veth pair; the peer is invisible to the model).  ``lo`` is
  the namespace's own loopback from the start (spec/linux/device.md).
* Every fd handed out is moved to a high number (F_DUPFD_CLOEXEC from a floor
  that only grows, starting at 1000), so a closed name's number is never
  reused by a later object of this backend.
* A name whose fd is closed, or that was never created (failed load or
  link_create), used as an fd gets a number that is verified closed and never
  opened by this backend -> EBADF.  Used as an id it gets its last known id,
  or UNUSED_ID if it never had one.
* ``Raw(0)`` is 0.  Every other raw value becomes, as an fd, the reserved
  closed number above and, as an id, UNUSED_ID, so model and kernel agree
  (EBADF, ENOENT) for every raw value, even one that happens to be an fd
  open in this process or the id of a live object.
* fd 0 is kept open (on /dev/null if need be), so fd 0 is "a file that is not
  a BPF object" (EINVAL), not EBADF.
* A deleted device keeps its old ifindex (ifindexes are allocated cyclically
  per namespace), so later requests on it get ENODEV.

The calling thread enters the namespace only for the duration of each
``apply``/``hooks`` call and always leaves it again.
"""
from __future__ import annotations

import fcntl
import os
import resource
from dataclasses import dataclass
from typing import Optional

from .. import dialects
from ..dialects.linux import ATTACH_TYPE as TCX_POINTS
from ..dialects.linux import LOOPBACK, QUERY_DEFAULT_COUNT
from ..errors import BackendUnavailable, SpecCrash
from ..exec.tcx import shown_hook
from ..model import OK, Outcome, QueryResult, Raw, Ref, Step
from . import bpf
from .netns import Devices, NetNS, _SignalsDeferred

FD_FLOOR = 1000
UNUSED_ID = 0x7FFFFFF0        # an id (and ifindex) that names nothing


@dataclass
class _Obj:
    kind: str                 # "prog" or "link"
    fd: Optional[int] = None  # open fd, None once closed / never created
    id: Optional[int] = None  # last known kernel id, None if never created
    ptype: Optional[str] = None         # a prog's type and expected attach point
    expected: Optional[str] = None      # (restore() loads it again with them)


@dataclass
class _Dev:
    ifindex: int
    present: bool = True
    clsact: bool = False      # a clsact qdisc this backend added


class KernelBackend:
    """checker.backend.Backend on the running kernel (tcx hooks on veth).

    The attach target is an extension point: a subclass for another kernel
    feature (``KERNEL``, a Dialect.kernel value; checker.kernel.netkit,
    checker.kernel.cgroup) has its own ``unavailable()`` probe, sets up its
    own place in ``_open_target()`` (an object with ``entered()`` and
    ``close()``, like NetNS), names targets in ``_target()`` and the hooks of
    a device in ``_hook_points``, and adds the ops of its dialect as
    ``_op_<op>`` methods."""

    name = "kernel"
    KERNEL = "tcx"

    def __init__(self, dialect: str = "linux"):
        self._closed = False
        self._session = None            # the _Inside of an open session(), if any
        self._ns = None                 # where requests run (NetNS for tcx)
        self._devs_nl: Optional[Devices] = None
        # The dialect first: its refusal does not depend on this machine.
        d = _kernel_dialect(dialect, self.KERNEL)
        reason = self.unavailable()
        if reason is not None:
            raise BackendUnavailable(f"{reason}; the {d.name} dialect describes {d.kernels}")
        self.dialect = dialect
        self._dialect = d
        self._flags = d.flags
        self._attach_types = d.attach_points
        self._ops = d.ops
        _ensure_fd0()
        _ensure_fd_room()
        self._floor = FD_FLOOR
        self._dead: Optional[int] = None
        self.progs: dict[str, _Obj] = {}
        self.links: dict[str, _Obj] = {}
        self.devs: dict[str, _Dev] = {}
        self._retired: list[int] = []      # fds of objects whose name was re-declared
        # Every (kind, id) this backend created -> its name; kept after close
        # and re-declaration, so queries render held objects by name.
        self._names: dict[tuple[str, int], str] = {}
        try:
            self._open_target()
        except Exception as e:
            self.close()
            if isinstance(e, BackendUnavailable):
                raise
            raise BackendUnavailable(f"cannot set up the kernel backend's private {self._place}: "
                                     f"{e}") from e

    _place = "network namespace"

    @staticmethod
    def unavailable() -> Optional[str]:
        """None if this backend can run here, else the reason it cannot."""
        return kernel_available()

    def _open_target(self) -> None:
        """tcx: a private network namespace, where dev_add makes veth pairs;
        its own loopback device is there from the start."""
        self._ns = NetNS()
        self._devs_nl = Devices(self._ns)
        lo = self._devs_nl.index(LOOPBACK)
        if lo is None:
            raise OSError("the new namespace has no loopback device")
        self.devs[LOOPBACK] = _Dev(lo)

    @staticmethod
    def unavailable() -> Optional[str]:
        """None if this backend can run here, else the reason it cannot."""
        return kernel_available()

    # -- context manager ------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Close link fds, prog fds, then drop the namespace (which deletes
        its devices).  Idempotent."""
        if getattr(self, "_closed", True) and getattr(self, "_ns", None) is None:
            return
        self._closed = True
        # A signal during the clean-up acts once everything is released.
        with _SignalsDeferred():
            self._release()

    def _release(self) -> None:
        for table in (getattr(self, "links", {}), getattr(self, "progs", {})):
            for obj in table.values():
                if obj.fd is not None:
                    bpf.close_fd(obj.fd)
                    obj.fd = None
        for fd in getattr(self, "_retired", []):
            bpf.close_fd(fd)
        self._retired = []
        nl, self._devs_nl = getattr(self, "_devs_nl", None), None
        ns, self._ns = getattr(self, "_ns", None), None
        try:
            if nl is not None:
                nl.close()
        finally:
            if ns is not None:
                ns.close()

    # -- fds and ids ----------------------------------------------------------

    def _adopt(self, fd: int) -> int:
        """Move a fresh fd above the floor; the floor moves past it."""
        try:
            new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, self._floor)
        finally:
            os.close(fd)
        self._floor = new + 1
        return new

    def _closed_fd(self) -> int:
        """A number that is not open now and that this backend never opens."""
        if self._dead is None or bpf.fd_is_open(self._dead):
            n = self._floor
            while bpf.fd_is_open(n):
                n += 1
            self._dead = n
            self._floor = n + 1
        return self._dead

    def _lookup(self, name: str, link_first: bool = False) -> Optional[_Obj]:
        order = (self.links, self.progs) if link_first else (self.progs, self.links)
        for table in order:
            if name in table:
                return table[name]
        return None

    def _fd(self, ref: Optional[Ref]) -> int:
        if ref is None:
            return 0
        if isinstance(ref, Raw):
            # A raw fd means "an fd that is not open" (checker.model.Raw), but
            # the number may be open here (1, 5, this process's own files):
            # every non-zero raw fd goes to the kernel as the reserved number
            # this backend keeps closed, so the kernel answers EBADF exactly
            # where the model does.  (Which closed number does not matter to
            # the kernel: fdget() fails the same for all of them.)
            return 0 if ref.value == 0 else self._closed_fd()
        obj = self._lookup(ref)
        if obj is not None and obj.fd is not None:
            return obj.fd
        return self._closed_fd()

    def _id(self, ref: Optional[Ref], link_first: bool) -> int:
        if ref is None:
            return 0
        if isinstance(ref, Raw):
            # Like a raw fd: "an id that names nothing" (checker.model.Raw),
            # but the number may be a live id (this run's own objects, the
            # host's): every non-zero raw id goes out as UNUSED_ID.
            return 0 if ref.value == 0 else UNUSED_ID
        obj = self._lookup(ref, link_first)
        if obj is not None and obj.id is not None:
            return obj.id
        return UNUSED_ID

    def _relative(self, ref: Optional[Ref], bits: int) -> int:
        flags = self._flags
        if bits & flags["ID"]:
            return self._id(ref, bool(bits & flags["LINK"]))
        return self._fd(ref)

    def _target(self, s: Step) -> int:
        """The kernel's target of a request: the device's ifindex (tcx)."""
        return self._ifindex(s.dev)

    def _ifindex(self, dev: Optional[str]) -> int:
        d = self.devs.get(dev) if dev is not None else None
        return d.ifindex if d is not None else UNUSED_ID

    def _attach_type(self, step: Step) -> int:
        try:
            return self._attach_types[step.dir]
        except KeyError:
            raise ValueError(f"{step.op}: the attach point must be one of "
                             f"{sorted(self._attach_types)}, got {step.dir!r}") from None

    @staticmethod
    def _name(ref, what: str) -> str:
        if not isinstance(ref, str):
            raise ValueError(f"{what} needs an object name, got {ref!r}")
        return ref

    def _declare(self, table: dict, name: str, obj: _Obj) -> None:
        old = table.get(name)
        if old is not None and old.fd is not None:
            self._retired.append(old.fd)     # still released by close()
        table[name] = obj
        self._names[(obj.kind, obj.id)] = name

    def _created(self, table: dict, kind: str, name: str, fd, err) -> Outcome:
        """Record the outcome of a load / link_create.  A failed create still
        declares the name (as an object that never existed), so later
        requests naming it reach the kernel with a closed fd, as in the model."""
        if err is not None:
            table.setdefault(name, _Obj(kind))
            return Outcome(err)
        fd = self._adopt(fd)
        info, err = bpf.obj_info(fd)
        if err is not None:
            bpf.close_fd(fd)
            raise SpecCrash(f"OBJ_GET_INFO_BY_FD on a fresh {kind} failed: {err}")
        self._declare(table, name, _Obj(kind, fd, info[1]))
        return Outcome(OK)

    # -- Backend API ----------------------------------------------------------

    def session(self):
        """``with backend.session():`` keeps the thread inside the private
        namespace across many apply() calls, saving two setns() per request
        (about half the cost of a request with expedited RCU).  Ctrl-C and
        SIGTERM stay responsive: a signal that arrives during the session
        acts at the next apply() (its handler raises there), and the thread
        is moved home before the exception leaves the ``with``."""
        inside = self._ns.entered()
        backend = self

        class _Session:
            def __enter__(self_):
                inside.__enter__()
                backend._session = inside
                return backend

            def __exit__(self_, *exc):
                backend._session = None
                return inside.__exit__(*exc)
        return _Session()

    def apply(self, step: Step) -> Outcome:
        if self._closed:
            raise RuntimeError("KernelBackend is closed")
        handler = getattr(self, "_op_" + step.op, None)
        if step.op not in self._ops or handler is None:
            raise ValueError(f"unknown op {step.op!r}")
        sess = self._session
        if sess is not None:
            # Inside the namespace already: no setns, no re-entrancy check.
            if sess.defer is not None and sess.defer.hit:
                sess.defer.deliver()  # raises (KeyboardInterrupt / signals.Interrupted)
            if getattr(sess, "saved", None) is not None:
                return handler(step)
        with self._ns.entered():
            return handler(step)

    def hooks(self) -> dict[tuple[str, str], QueryResult]:
        if self._closed:
            raise RuntimeError("KernelBackend is closed")
        res = {}
        with self._ns.entered():
            for name, d in self.devs.items():
                if not d.present:
                    continue
                for dir, at in self._hook_points(name).items():
                    q = bpf.prog_query(d.ifindex, at, QUERY_DEFAULT_COUNT)
                    if q.errno != OK:
                        raise SpecCrash(f"query of present device {name!r} {dir} failed: {q.errno}")
                    r = self._result(q)
                    if shown_hook(name, r):
                        res[(name, dir)] = r
        return res

    def _hook_points(self, dev: str) -> dict:
        """The attach points a query of device ``dev`` may name: the tcx ones."""
        return TCX_POINTS

    # -- ops ------------------------------------------------------------------

    # What the loaded programs return: TCX_NEXT for tcx (cgroup: 1, allow).
    PROG_RET = -1

    def _op_load(self, s: Step) -> Outcome:
        name = self._name(s.prog, "load")
        types = self._dialect.prog_types
        ptype = s.type or self._dialect.default_prog_type
        if ptype not in types:
            raise ValueError(f"load: unknown prog type {ptype!r}")
        expected = self._attach_types[s.expected_attach_type] if s.expected_attach_type else 0
        fd, err = bpf.prog_load(types[ptype], name, expected, self.PROG_RET)
        out = self._created(self.progs, "prog", name, fd, err)
        self.progs[name].ptype = ptype
        self.progs[name].expected = s.expected_attach_type
        return out

    def _op_attach(self, s: Step) -> Outcome:
        bits = self._flags.word(s.flags)
        at = self._attach_type(s)
        return Outcome(bpf.prog_attach(self._target(s), self._fd(s.prog), at, bits,
                                       self._fd(s.replace), self._relative(s.relative, bits),
                                       s.expected_revision))

    def _op_detach(self, s: Step) -> Outcome:
        bits = self._flags.word(s.flags)
        at = self._attach_type(s)
        return Outcome(bpf.prog_detach(self._target(s), self._fd(s.prog), at, bits,
                                       self._relative(s.relative, bits), s.expected_revision))

    def _op_query(self, s: Step) -> Outcome:
        at = self._attach_type(s)
        count = QUERY_DEFAULT_COUNT if s.count is None else s.count
        q = bpf.prog_query(self._target(s), at, count, s.query_flags, s.attach_flags)
        if q.errno not in (OK, "ENOSPC"):
            return Outcome(q.errno)
        return Outcome(q.errno, query=self._result(q))

    def _result(self, q: bpf.QueryOut) -> QueryResult:
        names = self._names
        progs = tuple(names.get(("prog", i), f"#{i}") for i in q.prog_ids)
        links = tuple(None if i == 0 else names.get(("link", i), f"#{i}") for i in q.link_ids)
        return QueryResult(q.count, q.revision, progs, links)

    def _op_link_create(self, s: Step) -> Outcome:
        name = self._name(s.link, "link_create")
        bits = self._flags.word(s.flags)
        at = self._attach_type(s)
        fd, err = bpf.link_create(self._fd(s.prog), self._target(s), at, bits,
                                  self._relative(s.relative, bits), s.expected_revision)
        return self._created(self.links, "link", name, fd, err)

    def _op_link_update(self, s: Step) -> Outcome:
        return Outcome(bpf.link_update(self._fd(s.link), self._fd(s.prog), self._flags.word(s.flags),
                                       self._fd(s.old_prog)))

    def _op_link_detach(self, s: Step) -> Outcome:
        return Outcome(bpf.link_detach(self._fd(s.link)))

    def _op_close(self, s: Step) -> Outcome:
        ref = s.link if s.link is not None else s.prog
        if not isinstance(ref, str):
            return Outcome("EBADF")          # never close raw numbers
        obj = self._lookup(ref)
        if obj is None or obj.fd is None:
            return Outcome("EBADF")
        fd, obj.fd = obj.fd, None
        os.close(fd)
        return Outcome(OK)

    def _op_dev_add(self, s: Step) -> Outcome:
        name = self._name(s.dev, "dev_add")
        ifindex, err = self._devs_nl.add(name)
        if err == OK:
            self.devs[name] = _Dev(ifindex)
        return Outcome(err)

    def _op_dev_del(self, s: Step) -> Outcome:
        err = self._devs_nl.delete(self._ifindex(s.dev))
        if err == OK:
            self.devs[s.dev].present = False
        return Outcome(err)

    def _op_clsact_add(self, s: Step) -> Outcome:
        err = self._devs_nl.clsact_add(self._ifindex(s.dev))
        if err == OK:
            self.devs[s.dev].clsact = True
        return Outcome(err)

    def _op_clsact_del(self, s: Step) -> Outcome:
        err = self._devs_nl.clsact_del(self._ifindex(s.dev))
        if err == OK:
            self.devs[s.dev].clsact = False
        return Outcome(err)

    # -- reuse between sequences (checker.fuzz.campaign) -----------------------

    def mark(self) -> None:
        """Remember the present devices and the programs with an open fd as
        the state :meth:`restore` returns to.  Every hook of those devices
        must be empty and fresh (count 0, revision 1: no bundle), no clsact
        qdisc and no link may exist: checked here."""
        if self.links or any(d.clsact for d in self.devs.values()):
            raise ValueError("mark(): links or clsact qdiscs exist")
        self._verify_empty([n for n, d in self.devs.items() if d.present])
        self._mark = ([n for n, d in self.devs.items() if d.present],
                      [n for n, o in self.progs.items() if o.fd is not None])

    def restore(self) -> int:
        """Back to the marked state in the same namespace, without a new one:
        close every link fd (tcx_link_release() detaches it before close()
        returns), delete the clsact qdiscs this backend added, detach what
        is left on every hook (first entry, until empty), add a marked
        device again if it was deleted and delete any other device, load a
        marked program again if its fd was closed and close every other
        program; then query every hook of the marked devices: each must
        answer count 0 at revision 1, or SpecCrash is raised (the caller then
        starts over in a fresh namespace).  Returns the number of kernel
        requests it took.  A signal during it acts once it is done."""
        devs, progs = self._mark
        n = 0
        with _SignalsDeferred(), self._ns.entered():
            for obj in self.links.values():
                if obj.fd is not None:
                    bpf.close_fd(obj.fd)
                    n += 1
            self.links = {}
            for fd in self._retired:
                bpf.close_fd(fd)
            self._retired = []
            for name in [x for x in self.devs if x not in devs]:
                if self.devs[name].present:
                    self._devs_nl.delete(self.devs[name].ifindex)
                    n += 1
                del self.devs[name]
            before = self._flags["BEFORE"]
            for name in devs:
                d = self.devs[name]
                if not d.present:
                    ifindex, err = self._devs_nl.add(name)
                    if err != OK:
                        raise SpecCrash(f"restore: adding device {name!r} again failed: {err}")
                    self.devs[name] = d = _Dev(ifindex)
                    n += 1
                    continue
                if d.clsact:
                    err = self._devs_nl.clsact_del(d.ifindex)
                    if err != OK:
                        raise SpecCrash(f"restore: deleting the clsact qdisc of {name!r} failed: {err}")
                    d.clsact = False
                    n += 1
                for at in self._attach_types.values():
                    q = bpf.prog_query(d.ifindex, at, 0)
                    n += 1
                    for _ in range(q.count):
                        err = bpf.prog_detach(d.ifindex, 0, at, before, 0, 0)
                        if err != OK:
                            raise SpecCrash(f"restore: positional detach on {name!r} failed: {err}")
                    n += q.count
            for name in [x for x in self.progs if x not in progs]:
                if self.progs[name].fd is not None:
                    bpf.close_fd(self.progs[name].fd)
                del self.progs[name]
            # Only the marked programs stay alive: the names of ids and the
            # fd numbers of the finished sequence can go.  A program loaded
            # again takes the lowest free number from FD_FLOOR up (a hole
            # the finished sequence left), and the floor then sits just
            # above the open fds: the numbers stay bounded over a campaign
            # of any length (RLIMIT_NOFILE).
            self._names = {("prog", o.id): name for name, o in self.progs.items() if o.fd is not None}
            self._floor, self._dead = FD_FLOOR, None
            for name in progs:
                o = self.progs[name]
                if o.fd is None:
                    out = self._op_load(Step("load", prog=name, type=o.ptype,
                                             expected_attach_type=o.expected))
                    if not out.ok:
                        raise SpecCrash(f"restore: loading {name!r} again failed: {out.errno}")
                    n += 1
            self._floor = max([FD_FLOOR] + [o.fd + 1 for o in self.progs.values() if o.fd is not None])
            n += self._verify_empty(devs)
        return n

    def _verify_empty(self, devs) -> int:
        n = 0
        with self._ns.entered():
            for name in devs:
                d = self.devs[name]
                for dir, at in self._attach_types.items():
                    q = bpf.prog_query(d.ifindex, at, 0)
                    n += 1
                    if q.errno != OK or q.count or q.revision != 1:
                        raise SpecCrash(f"{name} {dir} is not empty and fresh: {q.errno} count "
                                        f"{q.count} revision {q.revision}")
        return n


# ---------------------------------------------------------------------------

def _kernel_dialect(name: str, feature: Optional[str] = None) -> "dialects.Dialect":
    """The dialect ``name`` if a kernel implements it (and, given
    ``feature``, the kernel feature a backend drives is the dialect's);
    otherwise BackendUnavailable saying which dialects the kernel backends
    implement.  It depends on the dialect alone, not on this machine."""
    try:
        d = dialects.get(name)
    except LookupError as e:
        raise BackendUnavailable(str(e)) from None
    if d.kernel is None:
        kernels = [n for n, x in dialects.registry().items() if x.kernel]
        here = ", ".join(kernels[:-1]) + " and " + kernels[-1]
        raise BackendUnavailable(
            f"the kernel backends implement the {here} dialects, not {name!r} ({d.summary}; "
            f"{d.kernels}); run {name!r} on the model backend")
    if feature is not None and d.kernel != feature:
        raise BackendUnavailable(f"dialect {name!r} runs on the {d.kernel} backend, not the {feature} one")
    return d


def _ensure_fd0() -> None:
    """fd 0 must be an open file that is not a BPF object."""
    if not bpf.fd_is_open(0):
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:
            os.dup2(fd, 0, inheritable=True)
            os.close(fd)


def _ensure_fd_room() -> None:
    """F_DUPFD needs fd numbers above FD_FLOOR: raise the soft RLIMIT_NOFILE
    towards the hard limit if it is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < min(want, FD_FLOOR * 8):
        if want <= FD_FLOOR:
            raise BackendUnavailable(f"RLIMIT_NOFILE hard limit {hard} leaves no fds above {FD_FLOOR}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


_AVAILABLE: list = []   # cached kernel_available() answer


def kernel_available() -> Optional[str]:
    """None if the kernel backend can run here, else the reason it cannot."""
    if _AVAILABLE:
        return _AVAILABLE[0]
    reason = _probe()
    _AVAILABLE.append(reason)
    return reason


def _probe() -> Optional[str]:
    import platform
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()})"
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        return "pyroute2 is not installed"
    try:
        bpf._init()
    except OSError as e:
        return str(e)
    fd, err = bpf.prog_load(bpf.PROG_TYPE["sched_cls"], "probe")
    if err is not None:
        return f"BPF_PROG_LOAD of a sched_cls prog failed: {err} (need root / CAP_BPF+CAP_NET_ADMIN)"
    os.close(fd)
    try:
        ns = NetNS()
    except OSError as e:
        return f"cannot create a network namespace: {e}"
    try:
        with ns.entered():
            q = bpf.prog_query(1, bpf.BPF_TCX_INGRESS, 0)     # "lo" of the new namespace
    finally:
        ns.close()
    if q.errno != OK:
        return (f"the running kernel ({os.uname().release}) has no tcx: BPF_PROG_QUERY with attach "
                f"type BPF_TCX_INGRESS ({bpf.BPF_TCX_INGRESS}) fails with {q.errno}")
    if q.revision != 1:
        return f"tcx query on an empty hook reports revision {q.revision}, not 1 (kernel < 6.6-rc6?)"
    return None
