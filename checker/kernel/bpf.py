"""Raw bpf(2) through ctypes: the few commands the kernel backend needs.

Every function returns either a result or an errno *name* (``errno.errorcode``);
kernel errors are never raised.  Layouts follow ``union bpf_attr`` in
include/uapi/linux/bpf.h (mainline, with the 6.6 mprog/tcx fields):

    PROG_ATTACH/DETACH  u32 target_ifindex|target_fd @0, attach_bpf_fd @4, attach_type @8,
                        attach_flags @12, replace_bpf_fd @16,
                        relative_fd|relative_id @20, u64 expected_revision @24
    PROG_QUERY          u32 target_ifindex @0, attach_type @4, query_flags @8,
                        attach_flags @12, u64 prog_ids @16, u32 count @24,
                        u64 prog_attach_flags @32, link_ids @40,
                        link_attach_flags @48, revision @56
    LINK_CREATE         u32 prog_fd @0, target_ifindex|target_fd @4, attach_type @8,
                        flags @12, tcx|cgroup.relative_fd|relative_id @16,
                        u64 tcx|cgroup.expected_revision @24
    LINK_UPDATE         u32 link_fd @0, new_prog_fd @4, flags @8, old_prog_fd @12
    LINK_DETACH         u32 link_fd @0
    OBJ_GET_INFO_BY_FD  u32 bpf_fd @0, info_len @4, u64 info @8
    PROG_LOAD           u32 prog_type @0, insn_cnt @4, u64 insns @8, license @16,
                        u32 log_level @24, log_size @28, u64 log_buf @32,
                        u32 kern_version @40, prog_flags @44, char prog_name[16] @48,
                        u32 prog_ifindex @64, expected_attach_type @68

The attr buffer handed to the kernel is ATTR_SIZE bytes, zero beyond the
fields written (the kernel's CHECK_ATTR wants zeroes after each command's
last field).
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import struct
from dataclasses import dataclass

from ..errors import errno_name

# Syscall number of bpf(2) per architecture.
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "i686": 357, "i386": 357,
            "riscv64": 280, "ppc64le": 361, "s390x": 351}

# enum bpf_cmd
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16
BPF_PROG_GET_NEXT_ID = 11
BPF_PROG_GET_FD_BY_ID = 13
BPF_LINK_GET_NEXT_ID = 31
BPF_LINK_GET_FD_BY_ID = 30
BPF_LINK_GET_NEXT_ID = 31
BPF_LINK_CREATE = 28
BPF_LINK_UPDATE = 29
BPF_LINK_DETACH = 34

# enum bpf_prog_type
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "sched_act": 4, "xdp": 6}

# enum bpf_attach_type
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47

ATTR_SIZE = 128          # >= every layout above; the tail is zero

# struct bpf_insn: u8 code, u8 dst:4|src:4, s16 off, s32 imm
_INSN = struct.Struct("<BBhi")


def min_prog(ret: int) -> bytes:
    """``r0 = ret; exit``: -1 is TCX_NEXT; 1 is "allow", in the return range
    the verifier accepts for every cgroup program type."""
    return (_INSN.pack(0xb7, 0, 0, ret)       # BPF_ALU64 | BPF_MOV | BPF_K
            + _INSN.pack(0x95, 0, 0, 0))      # BPF_JMP | BPF_EXIT


MIN_PROG = min_prog(-1)
_LICENSE = ctypes.create_string_buffer(b"GPL")


class _Lib:
    """libc handle and bpf(2) number, resolved on first use."""
    libc = None
    nr = None


def _init() -> None:
    if _Lib.libc is None:
        nr = _SYS_BPF.get(platform.machine())
        if nr is None:
            raise OSError(errno.ENOSYS, f"bpf(2) syscall number unknown for {platform.machine()}")
        lib = ctypes.CDLL(None, use_errno=True)
        lib.syscall.restype = ctypes.c_long
        _Lib.nr, _Lib.libc = nr, lib


def errname(e: int) -> str:
    return errno_name(e)


def sys_bpf(cmd: int, attr: ctypes.Array) -> tuple[int, str | None]:
    """bpf(cmd, attr, sizeof attr) -> (return value, None) or (-1, errno name)."""
    _init()
    ret = _Lib.libc.syscall(ctypes.c_long(_Lib.nr), ctypes.c_long(cmd), attr,
                            ctypes.c_ulong(len(attr)))
    if ret < 0:
        return -1, errname(ctypes.get_errno())
    return int(ret), None


def _attr(fmt_fields: list[tuple[int, str, int]]) -> ctypes.Array:
    """A zeroed attr buffer with (offset, struct format, value) fields packed in."""
    buf = ctypes.create_string_buffer(ATTR_SIZE)
    for off, fmt, val in fmt_fields:
        struct.pack_into("<" + fmt, buf, off, val)
    return buf


def _u32(v: int) -> int:
    return v & 0xffffffff


def _u64(v: int) -> int:
    return v & 0xffffffffffffffff


def _addr(obj) -> int:
    return ctypes.addressof(obj) if obj is not None else 0


# ---------------------------------------------------------------------------
# Commands

def prog_load(prog_type: int, name: str = "", expected_attach_type: int = 0,
              ret: int = -1) -> tuple[int | None, str | None]:
    """Load ``r0 = ret; exit`` as ``prog_type`` for ``expected_attach_type``.
    Returns (fd, None) or (None, errno)."""
    code = MIN_PROG if ret == -1 else min_prog(ret)
    insns = ctypes.create_string_buffer(code, len(code))
    buf = _attr([(0, "I", _u32(prog_type)), (4, "I", len(code) // 8),
                 (8, "Q", _addr(insns)), (16, "Q", _addr(_LICENSE)),
                 (68, "I", _u32(expected_attach_type))])
    # prog_name: [A-Za-z0-9_.], at most 15 characters plus NUL.
    clean = "".join(c if (c.isascii() and (c.isalnum() or c in "_.")) else "_" for c in name)[:15]
    struct.pack_into("16s", buf, 48, clean.encode())
    fd, err = sys_bpf(BPF_PROG_LOAD, buf)
    return (fd, None) if err is None else (None, err)


def prog_attach(ifindex: int, prog_fd: int, attach_type: int, flags: int, replace_fd: int,
                relative: int, expected_revision: int) -> str:
    buf = _attr([(0, "I", _u32(ifindex)), (4, "I", _u32(prog_fd)), (8, "I", _u32(attach_type)),
                 (12, "I", _u32(flags)), (16, "I", _u32(replace_fd)), (20, "I", _u32(relative)),
                 (24, "Q", _u64(expected_revision))])
    _, err = sys_bpf(BPF_PROG_ATTACH, buf)
    return err or "ok"


def prog_detach(ifindex: int, prog_fd: int, attach_type: int, flags: int, relative: int,
                expected_revision: int) -> str:
    buf = _attr([(0, "I", _u32(ifindex)), (4, "I", _u32(prog_fd)), (8, "I", _u32(attach_type)),
                 (12, "I", _u32(flags)), (20, "I", _u32(relative)),
                 (24, "Q", _u64(expected_revision))])
    _, err = sys_bpf(BPF_PROG_DETACH, buf)
    return err or "ok"


@dataclass(frozen=True)
class QueryOut:
    """What BPF_PROG_QUERY wrote back (valid for "ok" and "ENOSPC")."""
    errno: str
    count: int = 0
    revision: int = 0
    attach_flags: int = 0
    prog_ids: tuple[int, ...] = ()
    link_ids: tuple[int, ...] = ()


def prog_query(ifindex: int, attach_type: int, count: int, query_flags: int = 0,
               attach_flags: int = 0, flags_array: bool = True) -> QueryOut:
    """PROG_QUERY with arrays for prog_ids, prog_attach_flags (unless not
    ``flags_array``), link_ids and link_attach_flags.  ``prog_ids`` /
    ``link_ids`` hold the first min(count, written-back count) entries.  The
    arrays have at least max(count, 1) entries, and never fewer than 64 (> the
    63 an mprog hook can hold), so that no count (even one that wraps as u32)
    lets the kernel write past them."""
    count = _u32(count)
    n = max(min(count, 1 << 16), 64)
    arrays = [(ctypes.c_uint32 * n)() for _ in range(4)]
    prog_ids, prog_flags, link_ids, link_flags = arrays
    buf = _attr([(0, "I", _u32(ifindex)), (4, "I", _u32(attach_type)),
                 (8, "I", _u32(query_flags)), (12, "I", _u32(attach_flags)),
                 (16, "Q", _addr(prog_ids)), (24, "I", _u32(count)),
                 (32, "Q", _addr(prog_flags) if flags_array else 0), (40, "Q", _addr(link_ids)),
                 (48, "Q", _addr(link_flags))])
    _, err = sys_bpf(BPF_PROG_QUERY, buf)
    err = err or "ok"
    if err not in ("ok", "ENOSPC"):
        return QueryOut(err)
    total, = struct.unpack_from("<I", buf, 24)
    rev, = struct.unpack_from("<Q", buf, 56)
    aflags, = struct.unpack_from("<I", buf, 12)
    m = min(count, total)
    return QueryOut(err, total, rev, aflags, tuple(prog_ids[:m]), tuple(link_ids[:m]))


def link_create(prog_fd: int, ifindex: int, attach_type: int, flags: int, relative: int,
                expected_revision: int) -> tuple[int | None, str | None]:
    buf = _attr([(0, "I", _u32(prog_fd)), (4, "I", _u32(ifindex)), (8, "I", _u32(attach_type)),
                 (12, "I", _u32(flags)), (16, "I", _u32(relative)),
                 (24, "Q", _u64(expected_revision))])
    fd, err = sys_bpf(BPF_LINK_CREATE, buf)
    return (fd, None) if err is None else (None, err)


def link_update(link_fd: int, new_prog_fd: int, flags: int, old_prog_fd: int) -> str:
    buf = _attr([(0, "I", _u32(link_fd)), (4, "I", _u32(new_prog_fd)), (8, "I", _u32(flags)),
                 (12, "I", _u32(old_prog_fd))])
    _, err = sys_bpf(BPF_LINK_UPDATE, buf)
    return err or "ok"


def link_detach(link_fd: int) -> str:
    buf = _attr([(0, "I", _u32(link_fd))])
    _, err = sys_bpf(BPF_LINK_DETACH, buf)
    return err or "ok"


def _info(fd: int, size: int = 64) -> tuple[ctypes.Array | None, str | None]:
    """OBJ_GET_INFO_BY_FD into a zeroed buffer of ``size`` bytes."""
    info = ctypes.create_string_buffer(size)
    buf = _attr([(0, "I", _u32(fd)), (4, "I", len(info)), (8, "Q", _addr(info))])
    _, err = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, buf)
    return (None, err) if err is not None else (info, None)


def obj_info(fd: int) -> tuple[tuple[int, int] | None, str | None]:
    """(type, id) of a prog or link fd (both info structs start with u32
    type, u32 id)."""
    info, err = _info(fd)
    return (None, err) if err is not None else (struct.unpack_from("<II", info, 0), None)


def link_info(fd: int) -> tuple[tuple[int, int, int, int] | None, str | None]:
    """struct bpf_link_info head: (type, id, prog_id, tcx.ifindex); ifindex 0 = defunct.
    (The tcx member follows the u32 type/id/prog_id header at offset 16.)"""
    info, err = _info(fd)
    if err is not None:
        return None, err
    t, i, p = struct.unpack_from("<III", info, 0)
    ifx, = struct.unpack_from("<I", info, 16)
    return (t, i, p, ifx), None


def cgroup_link_info(fd: int) -> tuple[tuple[int, int, int] | None, str | None]:
    """A cgroup link's (prog_id, cgroup_id, attach_type); cgroup_id 0 = defunct.
    (struct bpf_link_info: u32 type, id, prog_id, then the cgroup member: u64
    cgroup_id @16, u32 attach_type @24.)"""
    info, err = _info(fd)
    if err is not None:
        return None, err
    p, = struct.unpack_from("<I", info, 8)
    cg, at = struct.unpack_from("<QI", info, 16)
    return (p, cg, at), None


def link_ids():
    """Every link id of the system, in increasing order (LINK_GET_NEXT_ID;
    read-only)."""
    start = 0
    while True:
        buf = _attr([(0, "I", start)])
        _, err = sys_bpf(BPF_LINK_GET_NEXT_ID, buf)
        if err is not None:
            return
        start, = struct.unpack_from("<I", buf, 4)
        yield start


def fd_by_id(kind: str, obj_id: int) -> tuple[int | None, str | None]:
    """PROG_GET_FD_BY_ID (kind "prog") or LINK_GET_FD_BY_ID ("link"); the
    caller closes the fd."""
    cmd = BPF_PROG_GET_FD_BY_ID if kind == "prog" else BPF_LINK_GET_FD_BY_ID
    fd, err = sys_bpf(cmd, _attr([(0, "I", _u32(obj_id))]))
    return (None, err) if err is not None else (fd, None)


# struct bpf_prog_info: char name[BPF_OBJ_NAME_LEN = 16] at offset 64
_PROG_NAME_OFF, _PROG_INFO_LEN = 64, 128


def prog_name(prog_id: int) -> tuple[str | None, str | None]:
    """(kernel name, None) or (None, errno) for a program id."""
    fd, err = fd_by_id("prog", prog_id)
    if err is not None:
        return None, err
    try:
        info, err = _info(fd, _PROG_INFO_LEN)
        if err is not None:
            return None, err
        raw, = struct.unpack_from("16s", info, _PROG_NAME_OFF)
        return raw.split(b"\0", 1)[0].decode("ascii", "replace"), None
    finally:
        close_fd(fd)


def all_ids(kind: str) -> set[int]:
    """Every live program (kind "prog") or link ("link") id of the system
    (GET_NEXT_ID; read-only).  Used to show that a run left nothing behind."""
    cmd = BPF_PROG_GET_NEXT_ID if kind == "prog" else BPF_LINK_GET_NEXT_ID
    ids, cur = set(), 0
    while True:
        attr = _attr([(0, "I", cur)])
        _, err = sys_bpf(cmd, attr)
        if err is not None:
            return ids              # ENOENT: no id after cur
        cur, = struct.unpack_from("<I", attr, 4)
        ids.add(cur)


def fd_is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def id_alive(kind: str, obj_id: int) -> bool:
    """Whether a program (kind "prog") or link ("link") with this id still
    exists: GET_FD_BY_ID succeeds (the fd is closed at once) or fails with
    something other than ENOENT.  Used by the resource-safety tests."""
    fd, err = fd_by_id(kind, obj_id)
    if err is None:
        os.close(fd)
        return True
    return err != "ENOENT"
