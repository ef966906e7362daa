"""Boot an unpacked kernel in a QEMU guest and run one command in it.

virtme-ng (``vng``, pinned in the ``matrix`` extra) boots the kernel under
QEMU's software emulation (``--disable-kvm``: TCG; this machine kind's
/dev/kvm does not run stock kernels) with the host's root filesystem shared
read-only over virtiofs, so the project's installed virtual environment runs
unchanged in the guest.  What was learnt the hard way (kernel-matrix.md and
the measurements behind it), and is done here:

* The command, its output, exit status and the guest's ``uname -r`` travel
  through a read-write directory (``--rwdir``), never through the kernel
  command line (``--exec`` travels there, base64, at most ~2 KiB: it names
  a script) or the serial ports.
* The guest mounts tmpfs over /var/cache, /var/tmp, /tmp ...: the kernel's
  own tree (modules) is exported again read-only at its path (``--rodir``),
  or modprobe finds nothing and veth creation fails with EOPNOTSUPP.
* udev's coldplug costs 4-13 s of every boot and is not needed when results
  go through the directory: ``udevadm`` is hidden from the guest by a bind
  mount in a private mount namespace of this process tree only (the host's
  udev is untouched); vng then returns 255, which is ignored.
* Bookworm's virtiofsd is the C daemon: an adapter (checker.matrix.virtiofsd)
  first on vng's PATH speaks vng's command line to it.
* vng's output is piped into a log (two QEMU writers on one file overwrite
  each other), and the whole run is wrapped in ``timeout``: a guest whose
  emulation fails never exits.  Nothing inside the guest has a wall-clock
  limit (TCG is 5-10x slower than the host).
* vng, QEMU and virtiofsd run in their own process group, killed on every
  exit path (normal end, timeout, errors, SIGINT/SIGTERM of this process):
  :func:`stop_all` is the last resort of the CLI.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from .debian import KernelImage

UDEVADM = "/bin/udevadm"                     # systemd-udevd is a link to it on Debian
C_VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
KILL_AFTER_S = 15

_LIVE: dict = {}                             # pid -> Popen of every running guest (and host run)
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()                # set by stop_all(): nothing new starts

GUEST_SCRIPT = """#!/bin/sh
# written by checker.matrix.guest; runs inside the guest
O={out}
date +%s.%N > $O/t_start
uname -r > $O/uname
cd {cwd} 2>/dev/null || cd /
{env}
{cmd} > $O/stdout 2> $O/stderr < /dev/null
echo $? > $O/rc
date +%s.%N > $O/t_end
sync
"""


class GuestUnavailable(Exception):
    """The tools to boot a guest are missing here (the message says which)."""


@dataclass
class GuestRun:
    """What came back from one guest.  ``status``: "ran" (the command ran;
    ``rc`` is its exit status), "timeout", or "boot-failed" (the command
    never started; ``reason`` quotes the console)."""
    status: str
    release: Optional[str] = None            # the guest's uname -r
    rc: Optional[int] = None
    stdout: str = ""
    stderr: str = ""
    reason: str = ""
    seconds: dict = field(default_factory=dict)   # boot (to the command), command, total


def tools() -> dict:
    """Paths of vng and qemu-system-x86_64; GuestUnavailable if missing.
    vng: $MPROG_MATRIX_VNG, else the one beside this Python (the venv's),
    else the first on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "vng")
    vng = os.environ.get("MPROG_MATRIX_VNG") or (here if os.access(here, os.X_OK) else shutil.which("vng"))
    if vng is None:
        raise GuestUnavailable("virtme-ng is not installed (pip install 'mprog-checker[matrix]')")
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise GuestUnavailable("qemu-system-x86_64 is not installed (apt-get install --no-install-recommends "
                               "qemu-system-x86 busybox-static kmod udev)")
    if shutil.which("busybox") is None:
        raise GuestUnavailable("busybox is not installed (virtme-ng builds the guest's initramfs with it: "
                               "apt-get install busybox-static)")
    return {"vng": vng, "qemu": qemu}


def _adapter_dir(work: str) -> Optional[str]:
    """A directory holding the virtiofsd adapter, when only the C daemon exists."""
    if not os.path.exists(C_VIRTIOFSD):
        return None
    d = os.path.join(work, "bin")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "virtiofsd")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m checker.matrix.virtiofsd \"$@\"\n")
    os.chmod(path, 0o755)
    return d


def _read(path: str) -> Optional[str]:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def boot(image: KernelImage, argv: list, out: str, *, cwd: str = "/", env: Optional[dict] = None,
         timeout_s: float = 3600, memory: str = "2G", cpus: int = 1) -> GuestRun:
    """Boot ``image`` and run ``argv`` in it; ``out`` (created) is the
    read-write directory that carries everything back.  Never raises for
    what happens in the guest: a boot failure or a timeout is a GuestRun
    status with the console's last lines."""
    found = tools()
    os.makedirs(out, exist_ok=True)
    for name in ("t_start", "t_end", "uname", "stdout", "stderr", "rc"):
        try:
            os.remove(os.path.join(out, name))
        except FileNotFoundError:
            pass
    env_lines = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items())
    script = os.path.join(out, "guest.sh")
    with open(script, "w") as f:
        f.write(GUEST_SCRIPT.format(out=shlex.quote(out), cwd=shlex.quote(cwd), env=env_lines,
                                    cmd=" ".join(shlex.quote(a) for a in argv)))
    # The kernel's tree again, read-only at its own path: the guest's tmpfs
    # over /var/cache would hide it (and with it every module).
    rodir = ["--rodir", image.root] if image.root != "/" else []
    cmd = ["timeout", f"--kill-after={KILL_AFTER_S}", str(int(timeout_s)), found["vng"],
           "--disable-kvm", "--verbose", "--run", image.vmlinuz, "--memory", memory,
           "--cpus", str(cpus), "--rwdir", out, *rodir, "--cwd", "/", "--exec", f"sh {shlex.quote(script)}"]
    if os.path.exists(UDEVADM) and os.geteuid() == 0:     # (a mount namespace needs root)
        empty = os.path.join(out, ".no-udevadm")
        open(empty, "w").close()             # not executable: the guest's init skips udev
        cmd = ["unshare", "-m", "sh", "-c",
               f'mount --make-rprivate / && mount --bind {shlex.quote(empty)} {UDEVADM} && exec "$@"',
               "sh"] + cmd
    path_env = dict(os.environ)
    adapter = _adapter_dir(out)
    path_env["PATH"] = ":".join(p for p in (adapter, os.path.dirname(found["vng"]),
                                            path_env.get("PATH", "/usr/bin:/bin")) if p)
    t0 = time.monotonic()
    started = _watch(os.path.join(out, "t_start"))
    proc = spawn(cmd, env=path_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with open(os.path.join(out, "vng.log"), "wb") as log:
            for chunk in iter(lambda: proc.stdout.read1(65536), b""):
                log.write(chunk)
        vng_rc = proc.wait()
    finally:
        started["done"] = True
        _stop(proc)
    total = time.monotonic() - t0
    rc_text, release = _read(os.path.join(out, "rc")), _read(os.path.join(out, "uname"))
    t_start, t_end = _read(os.path.join(out, "t_start")), _read(os.path.join(out, "t_end"))
    seconds = {"total": round(total, 1)}
    if "at" in started:
        seconds["boot"] = round(started["at"] - t0, 1)
    if t_start and t_end:
        seconds["command"] = round(float(t_end) - float(t_start), 1)
    run = GuestRun("ran", release.strip() if release else None, seconds=seconds,
                   stdout=_read(os.path.join(out, "stdout")) or "",
                   stderr=_read(os.path.join(out, "stderr")) or "")
    if rc_text and rc_text.strip().lstrip("-").isdigit():
        run.rc = int(rc_text)
        return run
    log_tail = (_read(os.path.join(out, "vng.log")) or "").strip().splitlines()[-6:]
    if vng_rc in (124, 137) or (vng_rc == -signal.SIGKILL):
        run.status, run.reason = "timeout", f"no result after {int(timeout_s)} s (guest killed)"
    else:
        run.status = "boot-failed" if run.release is None else "timeout"
        run.reason = f"the command did not finish (vng exit {vng_rc})"
    if log_tail:
        run.reason += "; console: " + " | ".join(l.strip() for l in log_tail)
    return run


def spawn(cmd: list, **kw) -> subprocess.Popen:
    """Start ``cmd`` in its own session (process group), tracked for
    :func:`stop_all`; GuestUnavailable once stop_all() has been called."""
    with _LIVE_LOCK:
        if _STOPPING.is_set():
            raise GuestUnavailable("the matrix is stopping")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        _LIVE[proc.pid] = proc
    return proc


def _watch(path: str) -> dict:
    """A host-side clock for "the command started" (the guest's own clock
    is not the host's)."""
    state: dict = {}

    def poll():
        while "done" not in state:
            if os.path.exists(path):
                state["at"] = time.monotonic()
                return
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()
    return state


def _stop(proc: subprocess.Popen) -> None:
    """Kill a spawned process group (a guest: timeout, vng, QEMU, virtiofsd)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    with _LIVE_LOCK:
        _LIVE.pop(proc.pid, None)
    if proc.stdout is not None:
        proc.stdout.close()


def stop_all() -> None:
    """Kill every guest still running and start no new one (Ctrl-C,
    SIGTERM, an error elsewhere)."""
    with _LIVE_LOCK:
        _STOPPING.set()
        procs = list(_LIVE.values())
    for proc in procs:
        _stop(proc)


def forget(proc: subprocess.Popen) -> None:
    """A spawned process that ended by itself: stop tracking it (and its
    group, should anything of it remain)."""
    _stop(proc)


def reset() -> None:
    """Allow guests again (the start of a matrix run)."""
    _STOPPING.clear()
