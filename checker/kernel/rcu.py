"""Opt-in expedited RCU for kernel runs.

tcx mutations wait in synchronize_rcu() (~115 changes/s); writing 1 to
/sys/kernel/rcu_expedited makes them ~150x faster.  It is a machine-wide
setting, so it is only changed on request (``mprog fuzz --expedited-rcu``,
the kernel tests) and the original value is restored on every exit path:
normal exit, exceptions, Ctrl-C and SIGTERM (turned into an exception while
the context is active).

Concurrent runs (two campaigns, a campaign during the tests) share one
record under an flock: the first holder saves the original value, the last
one to leave restores it.  A holder that died without leaving (SIGKILL) is
pruned by pid, so its hold cannot pin the setting forever; and every kernel
command (not only the next ``--expedited-rcu`` run) calls
:func:`repair_stale` first, which puts the saved value back when the record
has no live holder left, and says so.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import threading

from ..signals import Interrupted

PATH = "/sys/kernel/rcu_expedited"
STATE = "/run/mprog-checker-rcu.json"
LOCK = "/run/mprog-checker-rcu.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked():
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_state() -> dict:
    try:
        with open(STATE) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return {}
    st["holders"] = [p for p in st.get("holders", []) if _alive(p)]
    return st


def _write_state(st: dict) -> None:
    if st.get("holders"):
        tmp = STATE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, STATE)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(STATE)


def _acquire() -> str:
    """Register this process as a holder; returns the original value."""
    with _locked():
        st = _read_state()
        if not st.get("holders") and "saved" not in st:
            with open(PATH) as f:
                st = {"saved": f.read().strip(), "holders": []}
        # (A record whose holders all died keeps its "saved" value: the
        # current value is theirs, not the original.)
        st["holders"].append(os.getpid())
        with open(PATH, "w") as f:
            f.write("1")
        _write_state(st)
        return st["saved"]


def _release() -> None:
    with _locked():
        st = _read_state()
        holders = st.get("holders", [])
        if os.getpid() in holders:
            holders.remove(os.getpid())
        if not holders and "saved" in st:
            with open(PATH, "w") as f:
                f.write(st["saved"])
        st["holders"] = holders
        _write_state(st)


def repair_stale() -> str | None:
    """If a run that changed rcu_expedited died without restoring it
    (SIGKILL, a crash), restore the value it saved; returns a sentence
    saying what was done, or None (nothing stale, a live holder, or no
    access: not root, no /run)."""
    try:
        with _locked():
            try:
                with open(STATE) as f:
                    dead = json.load(f).get("holders", [])
            except (OSError, ValueError, AttributeError):
                dead = []
            st = _read_state()
            if st.get("holders") or "saved" not in st:
                return None
            with open(PATH) as f:
                now = f.read().strip()
            if now != st["saved"]:
                with open(PATH, "w") as f:
                    f.write(st["saved"])
            st["holders"] = []
            _write_state(st)             # no holders: the record is removed
    except OSError:
        return None
    if now == st["saved"]:
        return None
    who = f" (pid {', '.join(map(str, dead))})" if dead else ""
    return (f"mprog: restored {PATH} to {st['saved']}: an earlier mprog run{who} set it to {now} "
            f"and was killed before restoring it")


@contextlib.contextmanager
def expedited_rcu(enabled: bool = True):
    """Set rcu_expedited=1 for the duration; yields the original value (or
    None when nothing was changed: disabled, or the file is not writable)."""
    if not enabled:
        yield None
        return
    try:
        prev = _acquire()
    except OSError:
        yield None
        return
    old_term = None
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)):
        # Without the CLI's handlers (checker.signals.install), SIGTERM
        # would end the process without the restore below.
        def on_term(signum, frame):
            raise Interrupted(signum)
        old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        yield prev
    finally:
        _release()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
