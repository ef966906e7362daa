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

import contextlib
import ctypes
import errno
import os
import signal
import threading

CLONE_NEWNET = 0x40000000
_NS_PATH = "/proc/thread-self/ns/net"
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


@contextlib.contextmanager
def _sigint_deferred():
    """Hold SIGINT back while the thread's namespace is being switched, so a
    KeyboardInterrupt cannot land between "moved" and "remembered to move
    back".  (Only effective in the main thread, where Python runs handlers;
    elsewhere it is a no-op.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def current_netns_inode() -> int:
    return os.stat(_NS_PATH).st_ino


class NetNS:
    """A new network namespace, alive while this object holds its fd."""

    def __init__(self):
        self.fd: int | None = None
        self.inode = 0
        with _sigint_deferred():
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

    @contextlib.contextmanager
    def entered(self):
        """Run the body with the calling thread inside this namespace.
        Re-entrant; the thread always returns to its previous namespace."""
        if self.fd is None:
            raise RuntimeError("network namespace already closed")
        if current_netns_inode() == self.inode:
            yield self            # this thread is already inside
            return
        saved = None
        try:
            with _sigint_deferred():
                saved = os.open(_NS_PATH, os.O_RDONLY | os.O_CLOEXEC)
                _setns(self.fd)
            yield self
        finally:
            with _sigint_deferred():
                if saved is not None:
                    try:
                        _setns(saved)     # harmless if we never left
                    finally:
                        os.close(saved)

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


@contextlib.contextmanager
def new_netns():
    """Move the calling thread into a brand-new network namespace for the
    body; on every exit path move it back and drop the namespace."""
    ns = NetNS()
    try:
        with ns.entered():
            yield ns
    finally:
        ns.close()


# ---------------------------------------------------------------------------
# Devices

def _nl_errname(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return errno.errorcode.get(code, f"E{code}")
    raise exc


class Devices:
    """veth pairs and clsact qdiscs inside one NetNS.  Model device names map
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
