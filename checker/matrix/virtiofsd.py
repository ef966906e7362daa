"""A ``virtiofsd`` for virtme-ng on hosts that have only QEMU's C daemon.

virtme-ng (1.42) speaks the Rust virtiofsd's command line::

    virtiofsd --syslog --no-announce-submounts [--posix-acl] [--readonly]
              --socket-path S --shared-dir D --sandbox none --cache C

and then waits up to ~3 s for ``S.pid``, a file the Rust daemon writes.
Debian bookworm's QEMU 7.2 ships the C daemon (/usr/lib/qemu/virtiofsd),
with another syntax and no pid file; without help vng falls back to 9p,
which makes Python start ~4x slower in the guest.  This adapter, first on
vng's PATH (guest.py), translates the options, starts the C daemon, waits
for its socket, writes ``S.pid`` with the daemon's pid (vng sends SIGTERM to
that pid when it is done) and waits for it.  ``--version`` and ``--help``
are the C daemon's own: its help lists no ``--readonly``, so vng never
passes it (the guest mounts the root read-only itself).

    python -m checker.matrix.virtiofsd ARGS...
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

C_DAEMON = "/usr/lib/qemu/virtiofsd"
SOCKET_WAIT_S = 5.0
_IGNORED = ("--syslog", "--no-announce-submounts", "--readonly")
_WITH_VALUE = {"--socket-path": "socket", "--shared-dir": "dir", "--cache": "cache", "--sandbox": "sandbox"}
# Rust cache policies -> the C daemon's
_CACHE = {"never": "none", "metadata": "auto", "auto": "auto", "always": "always"}


def parse(argv: list) -> dict:
    """The Rust command line -> {socket, dir, cache, acl}."""
    opts = {"cache": "auto", "acl": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        key, eq, value = arg.partition("=")
        if key in _WITH_VALUE:
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            opts[_WITH_VALUE[key]] = value
        elif arg == "--posix-acl":
            opts["acl"] = True
        elif arg not in _IGNORED:
            print(f"virtiofsd adapter: ignoring {arg}", file=sys.stderr)
        i += 1
    return opts


def c_command(opts: dict) -> list:
    cmd = [C_DAEMON, f"--socket-path={opts['socket']}", "-o", f"source={opts['dir']}",
           "-o", f"cache={_CACHE.get(opts['cache'], 'auto')}", "-o", "sandbox=chroot",
           "-o", "log_level=err"]
    if opts["acl"]:
        cmd += ["-o", "posix_acl"]
    return cmd


def main(argv: list) -> int:
    if argv[:1] in (["--version"], ["-V"], ["--help"], ["-h"]):
        os.execv(C_DAEMON, [C_DAEMON, argv[0]])
    opts = parse(argv)
    if not opts.get("socket") or not opts.get("dir"):
        print("virtiofsd adapter: need --socket-path and --shared-dir", file=sys.stderr)
        return 2
    daemon = subprocess.Popen(c_command(opts), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # vng stops us (and expects the daemon to stop) with SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: daemon.terminate())
    signal.signal(signal.SIGINT, lambda *_: daemon.terminate())
    deadline = time.monotonic() + SOCKET_WAIT_S
    while not os.path.exists(opts["socket"]):
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            return 1
        time.sleep(0.02)
    pid_file = opts["socket"] + ".pid"
    with open(pid_file, "w") as f:
        f.write(f"{daemon.pid}\n")
    try:
        return daemon.wait()
    finally:
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
