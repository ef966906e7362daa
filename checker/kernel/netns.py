"""A private network namespace for the calling thread, and veth/clsact helpers.

Python 3.11 has no os.unshare/os.setns, so both go through libc (ctypes).
Network namespaces are per *thread*: ``unshare(CLONE_NEWNET)`` and ``setns``
move only the calling thread, and bpf(2) resolves ``target_ifindex`` in the
calling thread's namespace.

``NetNS()`` creates a namespace (unshare, keep an fd of it, setns back) and
keeps it alive through that fd; ``with ns.entered():`` moves the calling
thread into it and always moves it back.  ``new_netns()`` is the one-shot
form.  The :class:`Devices` helpers use a pyroute2 ``IPRoute`` whose netlink
socket was opened *inside* the namespace, so they can never touch the host's
devices (a netlink socket stays bound to the namespace it was created in).

Netlink failures come back as errno names, never as exceptions.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading

# The C-level signal module: signal.signal() wraps every call in enum
# conversions, which cost more than the setns() calls around each request.
import _signal

from ..errors import errno_name

CLONE_NEWNET = 0x40000000
_NS_PATH = "/proc/thread-self/ns/net"
_TLS = threading.local()        # .inside: the NetNS this thread is in (via entered())
TC_H_CLSACT = 0xFFFFFFF1

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _setns(fd: int) -> None:
    _check(_lib().setns(fd, CLONE_NEWNET), "setns(CLONE_NEWNET)")


class _SignalsDeferred:
    """While active (main thread only), SIGINT and SIGTERM are recorded
    instead of acting; on exit the original handlers are reinstated and, if
    a signal came meanwhile, it is delivered then (the handler called, or
    the signal raised again for SIG_DFL).  So an interrupt can never land
    between "moved into the namespace" and "moved back", nor in the middle
    of a clean-up: it acts right after the thread is home again.  Other
    threads never run Python signal handlers, so there this is a no-op."""

    __slots__ = ("old", "hit")

    def __init__(self):
        self.old = None
        self.hit = 0                 # the first signal recorded, 0 if none

    def _record(self, signum, frame):
        if not self.hit:
            self.hit = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            old = {}
            for s in _STOP:
                h = _signal.getsignal(s)
                if h is not None and h != _signal.SIG_IGN:   # None: set from C, cannot restore
                    _signal.signal(s, self._record)
                    old[s] = h
            self.old = old or None
        return self

    def deliver(self) -> None:
        """Act on a recorded signal now: restore the handlers and call the
        original one (it raises; SIG_DFL ends the process)."""
        signum, self.hit = self.hit, 0
        old, self.old = self.old, None
        if old is None:
            return
        for s, h in old.items():
            _signal.signal(s, h)
        if not signum:
            return
        h = old.get(signum)
        if callable(h):
            h(signum, None)          # default_int_handler / checker.signals.handler raise
        elif h == _signal.SIG_DFL:
            signal.raise_signal(signum)

    def __exit__(self, *exc):
        self.deliver()
        return False


_STOP = (_signal.SIGINT, _signal.SIGTERM)


def current_netns_inode() -> int:
    return os.stat(_NS_PATH).st_ino


class NetNS:
    """A new network namespace, alive while this object holds its fd."""

    def __init__(self):
        self.fd: int | None = None
        self.inode = 0
        with _SignalsDeferred():
            saved = os.open(_NS_PATH, os.O_RDONLY | os.O_CLOEXEC)
            try:
                try:
                    _check(_lib().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
                    self.fd = os.open(_NS_PATH, os.O_RDONLY | os.O_CLOEXEC)
                    self.inode = os.fstat(self.fd).st_ino
                finally:
                    # Back to where we were, whatever happened (harmless if
                    # the unshare failed: we are still there).
                    _setns(saved)
            except BaseException:
                if self.fd is not None:
                    os.close(self.fd)
                    self.fd = None
                raise
            finally:
                os.close(saved)

    def entered(self) -> "_Inside":
        """``with ns.entered():`` runs the body with the calling thread inside
        this namespace and always moves it back, on exceptions too.  SIGINT
        and SIGTERM are deferred while inside (see _SignalsDeferred): keep
        bodies short.
        Re-entrant: nested use inside the namespace is a no-op."""
        if self.fd is None:
            raise RuntimeError("network namespace already closed")
        return _Inside(self)

    def close(self) -> None:
        """Drop our reference; the kernel destroys the namespace (and its
        devices) once nothing else holds it.  Idempotent."""
        if self.fd is not None and current_netns_inode() == self.inode:
            raise RuntimeError("cannot close a network namespace while inside it")
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Inside:
    """Context manager of NetNS.entered() (a class, not a generator: no
    window between "moved" and "armed to move back")."""

    __slots__ = ("ns", "saved", "defer", "outer")

    def __init__(self, ns: NetNS):
        self.ns = ns
        self.saved: int | None = None
        self.defer: _SignalsDeferred | None = None
        self.outer = None

    def __enter__(self) -> NetNS:
        # Re-entrancy is tracked per thread (cheaper than stat()ing the
        # thread's namespace on every request).
        if getattr(_TLS, "inside", None) is self.ns:
            return self.ns                   # already inside: nothing to undo
        self.defer = _SignalsDeferred().__enter__()
        try:
            self.saved = os.open(_NS_PATH, os.O_RDONLY | os.O_CLOEXEC)
            _setns(self.ns.fd)
            self.outer = getattr(_TLS, "inside", None)
            _TLS.inside = self.ns
        except BaseException:
            self._leave()
            raise
        return self.ns

    def __exit__(self, *exc):
        self._leave()
        return False

    def _leave(self) -> None:
        saved, self.saved = self.saved, None
        defer, self.defer = self.defer, None
        try:
            if saved is not None:
                try:
                    _setns(saved)            # harmless if we never left
                    _TLS.inside = self.outer
                finally:
                    os.close(saved)
        finally:
            if defer is not None:
                defer.__exit__(None, None, None)   # may raise a deferred interrupt


class new_netns:
    """``with new_netns() as ns:`` moves the calling thread into a brand-new
    network namespace for the body; on every exit path (exceptions and
    KeyboardInterrupt included) it moves back and drops the namespace."""

    def __init__(self):
        self.ns: NetNS | None = None
        self._inside: _Inside | None = None

    def __enter__(self) -> NetNS:
        self.ns = NetNS()
        try:
            self._inside = self.ns.entered()
            self._inside.__enter__()
        except BaseException:
            self.ns.close()
            raise
        return self.ns

    def __exit__(self, *exc):
        try:
            self._inside.__exit__(*exc)
        finally:
            self.ns.close()
        return False


# ---------------------------------------------------------------------------
# Devices

def _nl_errname(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return errno_name(code)
    raise exc


def _register_netkit_kind() -> None:
    """Teach pyroute2 the IFLA_INFO_DATA of kind netkit
    (include/uapi/linux/if_link.h, enum IFLA_NETKIT_*) through its link-kind
    plugin interface: the peer's ifinfomsg nests as veth's VETH_INFO_PEER."""
    from pyroute2.netlink import nla
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg, ifinfveth

    if "netkit" in ifinfmsg.ifinfo.list_link_kind():
        return

    class netkit_data(nla):
        prefix = "IFLA_NETKIT_"
        nla_map = (("IFLA_NETKIT_UNSPEC", "none"),
                   ("IFLA_NETKIT_PEER_INFO", "info_peer"),
                   ("IFLA_NETKIT_PRIMARY", "uint8"),
                   ("IFLA_NETKIT_POLICY", "uint32"),
                   ("IFLA_NETKIT_PEER_POLICY", "uint32"),
                   ("IFLA_NETKIT_MODE", "uint32"))

        @staticmethod
        def info_peer(self, *argv, **kwarg):
            return ifinfveth

    ifinfmsg.ifinfo.register_link_kind(module={"netkit": netkit_data})


class Devices:
    """veth pairs, netkit pairs and clsact qdiscs inside one NetNS.  Model device names map
    to generated interface names; the veth peer is invisible to the model."""

    def __init__(self, ns: NetNS, prefix: str = "mpc"):
        from pyroute2 import IPRoute   # imported lazily: optional dependency
        self.ns = ns
        self.prefix = prefix
        self._ifnames: dict[str, str] = {}
        with ns.entered():
            # The socket is created here, inside the namespace, and stays
            # bound to it: nothing below can reach the host's devices.
            self.ipr = IPRoute()
        if self._netns_of_socket_ok() is False:   # pragma: no cover - safety net
            self.ipr.close()
            raise RuntimeError("netlink socket is not in the private namespace")

    def _netns_of_socket_ok(self):
        # A fresh namespace has only "lo": anything else means the socket
        # sees another namespace.
        try:
            names = [l.get_attr("IFLA_IFNAME") for l in self.ipr.get_links()]
        except Exception:
            return None
        return set(names) <= {"lo"}

    def ifname(self, dev: str) -> str:
        """The interface name for a model device name (stable per name)."""
        n = self._ifnames.get(dev)
        if n is None and dev == "lo":
            n = self._ifnames[dev] = dev     # the namespace's own loopback (adding it: EEXIST)
        if n is None:
            n = self._ifnames[dev] = f"{self.prefix}{len(self._ifnames)}"
        return n

    def add(self, dev: str) -> tuple[int | None, str]:
        """Create the veth pair for ``dev``; (ifindex, "ok") or (None, errno)."""
        name = self.ifname(dev)
        try:
            self.ipr.link("add", ifname=name, kind="veth", peer=name + "p")
        except Exception as e:   # NetlinkError carries the errno in .code
            return None, _nl_errname(e)
        ifx = self.index(name)
        if ifx is None:
            return None, "ENODEV"
        return ifx, "ok"

    def add_netkit(self, primary: str, peer: str, mode: int | None) -> tuple[tuple | None, str]:
        """Create a netkit pair (RTM_NEWLINK kind netkit, the peer named in
        IFLA_NETKIT_PEER_INFO; ``mode``: IFLA_NETKIT_MODE, None = the
        kernel's default): ((primary ifindex, peer ifindex), "ok") or
        (None, errno)."""
        _register_netkit_kind()
        p, q = self.ifname(primary), self.ifname(peer)
        kw = {} if mode is None else {"mode": mode}
        try:
            self.ipr.link("add", ifname=p, kind="netkit", peer_info={"attrs": [["IFLA_IFNAME", q]]}, **kw)
        except Exception as e:
            return None, _nl_errname(e)
        ip, iq = self.index(p), self.index(q)
        if ip is None or iq is None:
            return None, "ENODEV"
        return (ip, iq), "ok"

    def index(self, ifname: str) -> int | None:
        try:
            found = self.ipr.link_lookup(ifname=ifname)
        except Exception:
            return None
        return found[0] if found else None

    def delete(self, ifindex: int) -> str:
        try:
            self.ipr.link("del", index=ifindex)
        except Exception as e:
            return _nl_errname(e)
        return "ok"

    def clsact_add(self, ifindex: int) -> str:
        try:
            self.ipr.tc("add", "clsact", ifindex)
        except Exception as e:
            return _nl_errname(e)
        return "ok"

    def clsact_del(self, ifindex: int) -> str:
        """Delete the clsact qdisc, addressed by parent TC_H_CLSACT only (handle
        0, no TCA_KIND).  The usual form (handle ffff:, kind "clsact", what
        ``ipr.tc("del", "clsact", i)`` sends) answers a delete on a device that
        *had* a clsact with EINVAL ("Invalid handle": the ingress queue then
        holds noop_qdisc), and ENOENT only if it never had one; this form gives
        ENOENT in both cases ("Cannot delete qdisc with handle of zero")."""
        try:
            self.ipr.tc("del", index=ifindex, parent=TC_H_CLSACT, handle=0)
        except Exception as e:
            return _nl_errname(e)
        return "ok"

    def close(self) -> None:
        ipr, self.ipr = getattr(self, "ipr", None), None
        if ipr is not None:
            ipr.close()
