"""``mprog vectors emit-c``: the tcx and cgroup vectors under a directory as one
self-contained C test for a live kernel, in the manner of the kernel's
``test_progs`` tests (tools/testing/selftests/bpf/prog_tests/).

The C file depends on libc only: bpf(2) through syscall(2) with its own
``union bpf_attr`` offsets (the 6.6 tcx/mprog fields; Debian's 6.1 uapi
headers and libbpf 1.1 predate them), and rtnetlink with its own message
layouts for veth pairs and the clsact qdisc.  Each vector runs in a forked
child inside its own network namespace (unshare(CLONE_NEWNET)), so nothing
of one vector outlives it; the child checks every expectation (errno;
for queries count, revision, program ids in run order, link ids) and
prints the first difference with the step in script syntax.  The parent
prints one line per vector and ``N passed, M failed``; exit 0 when every
vector passed, 1 otherwise, 2 when no namespace can be made (not root).

Object semantics are the kernel backend's (checker.kernel.backend): a name
whose fd is closed or that was never created, and every non-zero raw fd,
go to the kernel as a number that is never open (EBADF); fd 0 is kept open
on a file that is not a BPF object; ids are the ones the kernel assigned
(a name keeps its last id after its fd is closed; a name never created and
a raw id name nothing).

cgroup vectors (``Dialect.kernel == "cgroup"``) run in a private
directory of the first cgroup2 mount (``<mount>/mprog-c-<pid>-<k>``, made
by the parent before the fork and removed after it, with every cgroup the
vector made, children first); a script's cgroup ``a`` with parent ``p`` is
``.../cg-p/cg-a`` as in checker.kernel.cgroup.  Their requests name the
cgroup's directory fd; a removed cgroup keeps its fd (ENOENT from the
kernel).  A cgroup query reports program ids only: the owner of each entry
is read from the links (BPF_OBJ_GET_INFO_BY_FD: program, cgroup id,
attach type), in the order owners_by_program (checker.model) defines; and
``cgroup_del`` waits until the removed cgroup's links report cgroup id 0
(the kernel releases them on a workqueue), as the kernel backend does.

Vectors are included when their dialect is one the kernel runs as tcx or
as cgroup (``Dialect.kernel``); others are counted as left out.
"""
from __future__ import annotations

import errno as _errno
import os
from dataclasses import replace

from .. import __version__, dialects
from ..dialects.cgroup import QUERY_DEFAULT_COUNT as CGROUP_QUERY_DEFAULT_COUNT
from ..dialects.linux import QUERY_DEFAULT_COUNT
from ..errors import BadInput
from ..model import OK, Raw
from ..syntax.render import render_step
from ..syntax.sources import load
from .replay import find

OPS = ("load", "attach", "detach", "query", "link_create", "link_update", "link_detach", "close",
       "dev_add", "dev_del", "clsact_add", "clsact_del", "cgroup_add", "cgroup_del")
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "sched_act": 4, "xdp": 6}
KERNELS = ("tcx", "cgroup")          # the kernel targets the C test runs
MODE = {"none": 0, "override": 1, "multi": 2}     # a cgroup list's attach mode (query attach_flags)


def _c_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append("\\%03o" % (ord(ch) & 0xFF) if ord(ch) < 256 else "?")
    return '"' + "".join(out) + '"'


class _Tables:
    """The data of every vector: steps, expected entries, names, texts."""

    def __init__(self):
        self.steps: list = []
        self.entries: list = []
        self.names: list = []
        self.texts: dict = {}
        self.vectors: list = []

    def text(self, s: str) -> int:
        i = self.texts.get(s)
        if i is None:
            i = self.texts[s] = len(self.texts)
        return i


def _errno_c(name: str) -> str:
    if name == OK:
        return "0"
    if name not in _errno.__dict__ and name != "EOPNOTSUPP":
        raise BadInput(f"unknown errno {name!r}", "emit-c", 0, 0)
    return name


def _add_vector(t: _Tables, path: str, rel: str, script) -> None:
    d = dialects.get(script.dialect)
    objs: dict = {}            # object name -> index (kind in the names table)
    devs: dict = {}
    first_name = len(t.names)

    def obj(name: str, kind: str) -> int:
        if name not in objs:
            objs[name] = len(objs)
            t.names.append((name, kind))
        return objs[name]

    # Declarations first, in order, so every name has an index and a kind.
    for s in script.steps:
        if s.op == "load":
            obj(s.prog, "prog")
        elif s.op == "link_create":
            obj(s.link, "link")
    dev_names = []
    cg = d.kernel == "cgroup"
    for s in script.steps:
        # cgroup vectors: the table of devices holds the cgroups.
        for target in ((s.parent, s.cgroup) if cg else (s.dev,)):
            if target is not None and target not in devs:
                devs[target] = len(devs)
                dev_names.append(target)
    parents = {}
    for s in script.steps:
        if s.op == "cgroup_add" and s.cgroup not in parents:
            parents[s.cgroup] = devs[s.parent] + 1 if s.parent is not None else 0

    def ref(r) -> str:
        if r is None:
            return "{0, 0}"
        if isinstance(r, Raw):
            return f"{{2, {r.value}u}}"
        if r not in objs:
            raise BadInput(f"{rel}: {r!r} is used but never declared", path, 0, 0)
        return f"{{1, {objs[r]}u}}"

    first_step = len(t.steps)
    for s in script.steps:
        e = s.expect
        fields = [f".op = OP_{s.op.upper()}", f".text = {t.text(render_step(replace(s, expect=None)))}"]
        target = s.cgroup if cg else s.dev
        if target is not None:
            fields.append(f".dev = {devs[target]}")
        if s.dir is not None:
            fields.append(f".at = {d.attach_points[s.dir]}u")
        if s.op == "load" and cg:
            fields.append(f".type = {d.prog_types[s.type or d.default_prog_type]}")
            if s.expected_attach_type is not None:
                fields.append(f".eat = {d.attach_points[s.expected_attach_type]}u")
        elif s.op == "load":
            fields.append(f".type = {PROG_TYPE[s.type or 'sched_cls']}")
        if s.prog_attach_flags:
            fields.append(".paf = 1")
        for key, val in (("prog", s.prog), ("link", s.link), ("rel", s.relative), ("repl", s.replace),
                         ("old", s.old_prog)):
            if val is not None:
                fields.append(f".{key} = {ref(val)}")
        word = d.flags.word(s.flags)
        if word:
            fields.append(f".flags = {word:#x}u")
        if "ID" in d.flags and word & d.flags["ID"]:
            fields.append(".rel_id = 1")
        if s.expected_revision:
            fields.append(f".exp_rev_in = {s.expected_revision}ull")
        default = CGROUP_QUERY_DEFAULT_COUNT if cg else QUERY_DEFAULT_COUNT
        fields.append(f".count = {default if s.count is None else s.count}u")
        if s.query_flags:
            fields.append(f".qflags = {s.query_flags}u")
        if s.attach_flags:
            fields.append(f".aflags = {s.attach_flags}u")
        if e is None:
            fields.append(".want = -1")
        else:
            fields.append(f".want = {_errno_c(e.errno)}")
            if e.count is not None:
                fields.append(f".want_count = {e.count}")
            else:
                fields.append(".want_count = -1")
            if e.revision is not None:
                fields.append(f".want_rev = {e.revision}")
            else:
                fields.append(".want_rev = -1")
            fields.append(f".want_mode = {MODE[e.mode] if e.mode is not None else -1}")
            if e.progs is not None:
                fields.append(f".want_n = {len(e.progs)}, .want_off = {len(t.entries)}")
                for p, l in zip(e.progs, e.links or (None,) * len(e.progs)):
                    t.entries.append((objs[p], -1 if l is None else objs[l]))
            else:
                fields.append(".want_n = -1")
        t.steps.append("{" + ", ".join(fields) + "}")
    t.vectors.append((rel, first_step, len(script.steps), first_name, len(objs), dev_names,
                      [parents.get(n, 0) for n in dev_names] if cg else None))


def collect(root: str) -> tuple[_Tables, int]:
    """The tables of every tcx and cgroup vector under ``root``, and the
    number of vectors left out (dialects the C test does not run)."""
    t = _Tables()
    left_out = 0
    base = root if os.path.isdir(root) else os.path.dirname(root)
    for path in find(root):
        script = load(path)
        if dialects.get(script.dialect).kernel not in KERNELS:
            left_out += 1
            continue
        _add_vector(t, path, os.path.relpath(path, base), script)
    return t, left_out


def emit(root: str) -> tuple[str, int, int]:
    """(C source, vectors in it, vectors left out)."""
    t, left_out = collect(root)
    if not t.vectors:
        raise BadInput("no vector of a dialect the kernel runs as tcx or cgroup here", root, 0, 0)
    texts = sorted(t.texts, key=t.texts.get)
    devs, parents = [], []
    vec_rows = []
    for rel, first, n, name_off, nnames, dev_names, cg_parents in t.vectors:
        vec_rows.append(f"\t{{{_c_string(rel)}, {first}u, {n}u, {name_off}u, {nnames}u, {len(devs)}u, "
                        f"{len(dev_names)}u, {0 if cg_parents is None else 1}}},")
        devs += dev_names
        parents += cg_parents if cg_parents is not None else [0] * len(dev_names)
    out = [HEADER.replace("@VERSION@", __version__).replace("@COUNT@", str(len(t.vectors))), RUNTIME_TYPES]
    out.append("static const char *const texts[] = {\n" + "\n".join(f"\t{_c_string(x)}," for x in texts)
               + "\n};\n")
    out.append("static const struct name names[] = {\n" + "\n".join(
        f"\t{{{_c_string(n)}, {1 if k == 'link' else 0}}}," for n, k in t.names) + "\n};\n")
    out.append("static const char *const devs[] = {\n" + "\n".join(f"\t{_c_string(x)}," for x in devs)
               + "\n};\n")
    out.append("/* cgroup vectors: the parent of each cgroup (1-based index among the vector's, 0: none) */\n"
               "static const uint16_t dev_parent[] = {\n" + "\n".join(f"\t{p}," for p in parents)
               + "\n};\n")
    out.append("static const struct entry entries[] = {\n" + "\n".join(
        f"\t{{{p}, {l}}}," for p, l in t.entries) + ("\n" if t.entries else "\t{0, 0}\n") + "};\n")
    out.append("static const struct step steps[] = {\n" + ",\n".join("\t" + s for s in t.steps) + "\n};\n")
    out.append("static const struct vector vectors[] = {\n" + "\n".join(vec_rows) + "\n};\n")
    out.append(RUNTIME)
    out.append(MAIN)
    return "".join(out), len(t.vectors), left_out


HEADER = """\
// SPDX-License-Identifier: MIT
/*
 * bpf_mprog (tcx) and cgroup conformance vectors as a test for the running kernel.
 * Generated by mprog-checker @VERSION@ (mprog vectors emit-c): @COUNT@ vectors.
 * Do not edit: regenerate.
 *
 * Build and run (root; Linux >= 6.6 with tcx, >= 6.17 for the cgroup vectors):
 *     gcc -Wall -Werror -O1 -o mprog_vectors mprog_vectors.c && ./mprog_vectors [SUBSTRING...]
 * With arguments, only the vectors whose path contains one of them run.
 * Each vector runs in a forked child inside a new network namespace (cgroup
 * vectors also in a private directory of the cgroup2 mount, removed
 * afterwards); one line per vector, then "N passed, M failed"; exit 0 if
 * all passed.
 * (Writing 1 to /sys/kernel/rcu_expedited makes tcx changes ~100x faster.)
 *
 * Depends on libc only: the bpf_attr offsets and netlink layouts it needs
 * are defined here (older uapi headers lack the tcx fields).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

"""

RUNTIME_TYPES = r"""
#ifndef SYS_bpf
# if defined(__x86_64__)
#  define SYS_bpf 321
# elif defined(__aarch64__) || defined(__riscv)
#  define SYS_bpf 280
# elif defined(__i386__)
#  define SYS_bpf 357
# else
#  error "bpf(2) syscall number unknown for this architecture"
# endif
#endif

/* enum bpf_cmd */
enum { CMD_PROG_LOAD = 5, CMD_PROG_ATTACH = 8, CMD_PROG_DETACH = 9, CMD_OBJ_GET_INFO_BY_FD = 15,
       CMD_PROG_QUERY = 16, CMD_LINK_CREATE = 28, CMD_LINK_UPDATE = 29, CMD_LINK_DETACH = 34 };

/*
 * union bpf_attr, the fields used here (include/uapi/linux/bpf.h, Linux 6.6):
 *   PROG_ATTACH/DETACH  u32 target_ifindex @0, attach_bpf_fd @4, attach_type @8,
 *                       attach_flags @12, replace_bpf_fd @16, relative_fd|id @20,
 *                       u64 expected_revision @24
 *   PROG_QUERY          u32 target_ifindex @0, attach_type @4, query_flags @8,
 *                       attach_flags @12, u64 prog_ids @16, u32 count @24,
 *                       u64 prog_attach_flags @32, link_ids @40, link_attach_flags @48,
 *                       revision @56
 *   LINK_CREATE         u32 prog_fd @0, target_ifindex @4, attach_type @8, flags @12,
 *                       tcx.relative_fd|id @16, u64 tcx.expected_revision @24
 *   LINK_UPDATE         u32 link_fd @0, new_prog_fd @4, flags @8, old_prog_fd @12
 *   LINK_DETACH         u32 link_fd @0
 *   OBJ_GET_INFO_BY_FD  u32 bpf_fd @0, info_len @4, u64 info @8
 *   PROG_LOAD           u32 prog_type @0, insn_cnt @4, u64 insns @8, license @16,
 *                       char prog_name[16] @48, u32 expected_attach_type @68
 * For cgroup requests target_ifindex is the cgroup's directory fd (target_fd)
 * and LINK_CREATE's cgroup.relative_fd|id / expected_revision sit where tcx's
 * do.  struct bpf_link_info of a cgroup link: u32 prog_id @8,
 * u64 cgroup.cgroup_id @16, u32 cgroup.attach_type @24.
 * The attr is ATTR_SIZE bytes, zero beyond the fields written.
 */
#define ATTR_SIZE 128

static void put32(uint8_t *a, int off, uint32_t v) { memcpy(a + off, &v, 4); }
static void put64(uint8_t *a, int off, uint64_t v) { memcpy(a + off, &v, 8); }
static uint32_t get32(const uint8_t *a, int off) { uint32_t v; memcpy(&v, a + off, 4); return v; }
static uint64_t get64(const uint8_t *a, int off) { uint64_t v; memcpy(&v, a + off, 8); return v; }

/* bpf(cmd): the return value, or -errno */
static long sys_bpf(int cmd, uint8_t *attr)
{
	long r = syscall(SYS_bpf, cmd, attr, (unsigned long)ATTR_SIZE);
	return r < 0 ? -errno : r;
}

enum { OP_LOAD, OP_ATTACH, OP_DETACH, OP_QUERY, OP_LINK_CREATE, OP_LINK_UPDATE, OP_LINK_DETACH,
       OP_CLOSE, OP_DEV_ADD, OP_DEV_DEL, OP_CLSACT_ADD, OP_CLSACT_DEL, OP_CGROUP_ADD, OP_CGROUP_DEL };

struct ref { uint8_t kind; uint32_t val; };     /* kind: 0 none, 1 a name (index), 2 a raw number */
struct step {
	uint8_t op;
	int16_t dev;                /* index into the vector's devices (cgroup vectors: cgroups) */
	uint32_t at;                /* attach type */
	uint32_t type;              /* program type (load) */
	uint32_t eat;               /* expected attach type (load) */
	uint8_t paf;                /* cgroup query: pass a prog_attach_flags array */
	struct ref prog, link, rel, repl, old;
	uint32_t flags, count, qflags, aflags;
	uint8_t rel_id;             /* the relative is passed by id (BPF_F_ID) */
	uint64_t exp_rev_in;        /* expected_revision of the request */
	int want;                   /* expected errno (0: ok), -1: not checked */
	int64_t want_count, want_rev;
	int8_t want_mode;           /* cgroup: expected attach mode (0 none, 1 override, 2 multi), -1: not checked */
	int32_t want_n;             /* expected entries, -1: not checked */
	uint32_t want_off;
	uint32_t text;              /* the request in script syntax */
};
struct entry { int32_t prog, link; };           /* name indexes; link -1: a prog-API entry */
struct name { const char *name; int is_link; };
struct vector { const char *path; uint32_t first, n, name_off, nnames, dev_off, ndevs; uint8_t cg; };

#define CLOSED_FD 1000000000u       /* never an open fd: EBADF */
#define UNUSED_ID 0x7FFFFFF0u       /* names no object (never created) */
#define UNUSED_IFINDEX 0x7FFFFFF0u

/* struct bpf_insn: r0 = -1 (TCX_NEXT); exit */
static const uint8_t prog_code[16] = { 0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
				       0x95, 0, 0, 0, 0, 0, 0, 0 };
/* cgroup programs: r0 = 1 (allow; the verifier wants 0 or 1); exit */
static const uint8_t prog_code_cg[16] = { 0xb7, 0, 0, 0, 1, 0, 0, 0,
					  0x95, 0, 0, 0, 0, 0, 0, 0 };

"""

RUNTIME = r"""
/* ---- netlink (own layouts: struct nlmsghdr, ifinfomsg, tcmsg, rtattr, nlmsgerr) ---- */
enum { NL_ROUTE = 0, MSG_NEWLINK = 16, MSG_DELLINK = 17, MSG_NEWQDISC = 36, MSG_DELQDISC = 37,
       MSG_ERROR = 2, F_REQUEST = 1, F_ACK = 4, F_EXCL = 0x200, F_CREATE = 0x400,
       A_IFNAME = 3, A_LINKINFO = 18, A_INFO_KIND = 1, A_INFO_DATA = 2, A_VETH_PEER = 1,
       A_TCA_KIND = 1 };
#define NLHDR 16
#define IFINFO 16
#define TCMSG 20
#define CLSACT_PARENT 0xFFFFFFF1u
#define CLSACT_HANDLE 0xFFFF0000u

struct nlbuf { uint8_t b[512]; uint32_t len; };

static void nl_start(struct nlbuf *m, uint16_t type, uint16_t flags)
{
	memset(m, 0, sizeof(*m));
	m->len = NLHDR;
	memcpy(m->b + 4, &type, 2);
	memcpy(m->b + 6, &flags, 2);
}

static void nl_put(struct nlbuf *m, const void *p, uint32_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += (n + 3) & ~3u;
}

static uint32_t nl_attr(struct nlbuf *m, uint16_t type, const void *p, uint16_t n)
{
	uint32_t at = m->len;
	uint16_t len = (uint16_t)(4 + n);
	memcpy(m->b + at, &len, 2);
	memcpy(m->b + at + 2, &type, 2);
	memcpy(m->b + at + 4, p, n);
	m->len += (len + 3) & ~3u;
	return at;
}

static void nl_end(struct nlbuf *m, uint32_t at)   /* close a nested attribute */
{
	uint16_t len = (uint16_t)(m->len - at);
	memcpy(m->b + at, &len, 2);
}

/* send, read the acknowledgement: 0 or -errno */
static int nl_talk(int sk, struct nlbuf *m)
{
	uint8_t r[4096];
	uint32_t seq = 1;
	memcpy(m->b, &m->len, 4);
	memcpy(m->b + 8, &seq, 4);
	if (send(sk, m->b, m->len, 0) < 0)
		return -errno;
	for (;;) {
		long n = recv(sk, r, sizeof(r), 0);
		uint32_t off = 0;
		if (n < 0)
			return -errno;
		while (off + NLHDR <= (uint32_t)n) {
			uint32_t len = get32(r, off);
			uint16_t type;
			memcpy(&type, r + off + 4, 2);
			if (type == MSG_ERROR) {
				int32_t err;
				memcpy(&err, r + off + NLHDR, 4);
				return err;
			}
			if (len < NLHDR)
				return -EPROTO;
			off += (len + 3) & ~3u;
		}
	}
}

static int veth_add(int sk, const char *name, const char *peer)
{
	struct nlbuf m;
	uint8_t ifi[IFINFO] = {0};
	uint32_t info, data, pe;
	nl_start(&m, MSG_NEWLINK, F_REQUEST | F_ACK | F_CREATE | F_EXCL);
	nl_put(&m, ifi, IFINFO);
	nl_attr(&m, A_IFNAME, name, (uint16_t)(strlen(name) + 1));
	info = nl_attr(&m, A_LINKINFO, "", 0);
	nl_attr(&m, A_INFO_KIND, "veth", 5);
	data = nl_attr(&m, A_INFO_DATA, "", 0);
	pe = nl_attr(&m, A_VETH_PEER, "", 0);
	nl_put(&m, ifi, IFINFO);
	nl_attr(&m, A_IFNAME, peer, (uint16_t)(strlen(peer) + 1));
	nl_end(&m, pe);
	nl_end(&m, data);
	nl_end(&m, info);
	return nl_talk(sk, &m);
}

static int link_del(int sk, uint32_t ifindex)
{
	struct nlbuf m;
	uint8_t ifi[IFINFO] = {0};
	memcpy(ifi + 4, &ifindex, 4);
	nl_start(&m, MSG_DELLINK, F_REQUEST | F_ACK);
	nl_put(&m, ifi, IFINFO);
	return nl_talk(sk, &m);
}

/* clsact add: handle ffff:, parent TC_H_CLSACT, kind "clsact".  Delete: parent
 * TC_H_CLSACT, handle 0, no kind (ENOENT when absent, had it or not). */
static int clsact(int sk, uint32_t ifindex, int add)
{
	struct nlbuf m;
	uint8_t tc[TCMSG] = {0};
	uint32_t handle = add ? CLSACT_HANDLE : 0, parent = CLSACT_PARENT;
	memcpy(tc + 4, &ifindex, 4);
	memcpy(tc + 8, &handle, 4);
	memcpy(tc + 12, &parent, 4);
	nl_start(&m, add ? MSG_NEWQDISC : MSG_DELQDISC,
		 add ? F_REQUEST | F_ACK | F_CREATE | F_EXCL : F_REQUEST | F_ACK);
	nl_put(&m, tc, TCMSG);
	if (add)
		nl_attr(&m, A_TCA_KIND, "clsact", 7);
	return nl_talk(sk, &m);
}

/* ---- one vector ---- */
#define MAX_OBJS 256
#define MAX_DEVS 16
#define CG_PATH 4096

struct run {
	const struct vector *v;
	int fd[MAX_OBJS];           /* -1: closed or never created */
	uint32_t id[MAX_OBJS];      /* last known id, UNUSED_ID if never created */
	uint32_t ifindex[MAX_DEVS];
	char ifname[MAX_DEVS][16];
	int sk;
	int cgfd[MAX_DEVS];         /* cgroup vectors: the directory fd (kept after removal), -1 */
	int gonefd;                 /* a removed directory: the target of a cgroup never made (ENOENT) */
	char cgpath[MAX_DEVS][CG_PATH];
};

/* The directory of each cgroup of a cgroup vector under ``base``: a cgroup
 * without a parent is base/cg-NAME, one with parent p is <p's>/cg-NAME. */
static int cg_paths(const struct vector *v, const char *base, char path[][CG_PATH])
{
	uint32_t i;
	for (i = 0; i < v->ndevs; i++) {
		uint16_t p = dev_parent[v->dev_off + i];
		const char *up = p ? path[p - 1] : base;
		if (snprintf(path[i], CG_PATH, "%s/cg-%s", up, devs[v->dev_off + i]) >= CG_PATH)
			return -1;
	}
	return 0;
}

/* Remove what a cgroup vector made, children first (they come after their
 * parents in the vector's table); directories already gone are fine. */
static void cg_remove(const struct vector *v, char path[][CG_PATH], const char *base)
{
	uint32_t i;
	for (i = v->ndevs; i-- > 0;)
		rmdir(path[i]);
	rmdir(base);
}

/* The first cgroup2 mount of /proc/self/mountinfo (field 5; no escapes expected) */
static int cg_mount(char *out, size_t n)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - cgroup2 "), *p = line;
		int k;
		if (!sep)
			continue;
		for (k = 0; k < 4 && p; k++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p)
			continue;
		*strchrnul(p, ' ') = 0;
		snprintf(out, n, "%s", p);
		fclose(f);
		return 0;
	}
	fclose(f);
	return -1;
}


static const char *obj_name(const struct run *r, uint32_t i) { return names[r->v->name_off + i].name; }

static uint32_t fd_of(const struct run *r, struct ref x)
{
	if (x.kind == 0)
		return 0;
	if (x.kind == 2)
		return x.val == 0 ? 0 : CLOSED_FD;
	return r->fd[x.val] >= 0 ? (uint32_t)r->fd[x.val] : CLOSED_FD;
}

static uint32_t id_of(const struct run *r, struct ref x)
{
	if (x.kind == 0)
		return 0;
	if (x.kind == 2)
		return x.val;
	return r->id[x.val];
}

static uint32_t obj_id(int fd)
{
	uint8_t a[ATTR_SIZE] = {0}, info[64] = {0};
	put32(a, 0, (uint32_t)fd);
	put32(a, 4, sizeof(info));
	put64(a, 8, (uint64_t)(uintptr_t)info);
	if (sys_bpf(CMD_OBJ_GET_INFO_BY_FD, a) < 0)
		return UNUSED_ID;
	return get32(info, 4);
}

/* A load or link_create: the name gets the fd and the kernel's id; a
 * failure leaves it naming nothing.  Returns the errno (0: ok). */
static int created(struct run *r, uint32_t name, long ret)
{
	if (ret < 0)
		return (int)-ret;
	r->fd[name] = (int)ret;
	r->id[name] = obj_id((int)ret);
	return 0;
}

/* A cgroup link's (prog id, cgroup id, attach type); -1 if no info */
static int cg_link_info(int fd, uint32_t *prog, uint64_t *cgid, uint32_t *at)
{
	uint8_t a[ATTR_SIZE] = {0}, info[64] = {0};
	put32(a, 0, (uint32_t)fd);
	put32(a, 4, sizeof(info));
	put64(a, 8, (uint64_t)(uintptr_t)info);
	if (sys_bpf(CMD_OBJ_GET_INFO_BY_FD, a) < 0)
		return -1;
	*prog = get32(info, 8);
	*cgid = get64(info, 16);
	*at = get32(info, 24);
	return 0;
}

static uint64_t cg_id(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static const char *errname(int e)
{
	static char buf[32];
	switch (e) {
	case 0: return "ok";
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(EBADF) E(EBUSY) E(EEXIST) E(ENODEV) E(EINVAL) E(ENOSPC) E(ERANGE)
	E(EOPNOTSUPP) E(ENOLINK) E(ESTALE) E(EACCES) E(ENXIO) E(E2BIG) E(EFAULT) E(ENOMEM)
#undef E
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int fail_head(const struct run *r, uint32_t i)
{
	printf("FAIL %s: step %u: %s\n", r->v->path, i, texts[steps[r->v->first + i].text]);
	return 1;
}

/* The owners of a plain cgroup query's first m entries, as name indexes + 1
 * in link_ids (0: a prog-API entry): each open link of the vector on this
 * cgroup and attach type claims an entry of its program; among the entries
 * of one program (first to last) the prog-API entries come first, then the
 * claiming links by name (owners_by_program of mprog-checker).  The whole
 * list is read again when the query showed only part of it.  0 or 1 (failed). */
static int cg_owners(struct run *r, uint32_t i, const struct step *s, uint32_t cgfd,
		     const uint32_t *shown, uint32_t m, uint32_t total, uint32_t *owner)
{
	static uint32_t full[65536];
	uint32_t claim_prog[MAX_OBJS], k, j, n = total;
	uint64_t cid = cg_id((int)cgfd);
	int claims = 0;
	if (total > m) {
		uint8_t a[ATTR_SIZE] = {0};
		put32(a, 0, cgfd);
		put32(a, 4, s->at);
		put64(a, 16, (uint64_t)(uintptr_t)full);
		put32(a, 24, 65536);
		if (sys_bpf(CMD_PROG_QUERY, a) < 0) {
			fail_head(r, i);
			printf("  reading the whole list for its owners failed: %s\n", strerror(errno));
			return 1;
		}
		n = get32(a, 24);
	} else {
		memcpy(full, shown, m * sizeof(uint32_t));
	}
	for (j = 0; j < r->v->nnames; j++) {
		uint32_t prog, at;
		uint64_t cg;
		claim_prog[j] = 0;
		if (names[r->v->name_off + j].is_link && r->fd[j] >= 0 &&
		    cg_link_info(r->fd[j], &prog, &cg, &at) == 0 && cg == cid && at == s->at) {
			claim_prog[j] = prog;
			claims++;
		}
	}
	for (k = 0; k < m; k++) {
		uint32_t before = 0, count = 0, nclaim = 0, rank, best = 0;
		for (j = 0; j < n; j++) {
			count += full[j] == full[k];
			before += j < k && full[j] == full[k];
		}
		for (j = 0; j < r->v->nnames; j++)
			nclaim += claim_prog[j] == full[k] && claim_prog[j];
		if (nclaim > count) {
			fail_head(r, i);
			printf("  %u links claim entries of prog id %u, the list has %u\n", nclaim, full[k], count);
			return 1;
		}
		owner[k] = 0;
		if (before < count - nclaim)
			continue;
		/* the (before - (count - nclaim))-th claiming link by name */
		rank = before - (count - nclaim);
		for (j = 0; j < r->v->nnames; j++) {
			uint32_t q, lower = 0;
			if (claim_prog[j] != full[k] || !claim_prog[j])
				continue;
			for (q = 0; q < r->v->nnames; q++)
				lower += claim_prog[q] == full[k] && claim_prog[q] &&
					 strcmp(obj_name(r, q), obj_name(r, j)) < 0;
			if (lower == rank)
				best = j + 1;
		}
		owner[k] = best;
	}
	(void)claims;
	return 0;
}

/* BPF_PROG_QUERY and its check; returns 0 (as expected) or 1 */
static int query(struct run *r, uint32_t i, const struct step *s, uint32_t ifindex)
{
	static uint32_t prog_ids[65536], link_ids[65536], pflags[65536], lflags[65536];
	uint8_t a[ATTR_SIZE] = {0};
	uint32_t count, total, m, k;
	uint64_t rev;
	int err;
	put32(a, 0, ifindex);
	put32(a, 4, s->at);
	put32(a, 8, s->qflags);
	put32(a, 12, s->aflags);
	put64(a, 16, (uint64_t)(uintptr_t)prog_ids);
	put32(a, 24, s->count > 65536 ? 65536 : s->count);
	memset(link_ids, 0, sizeof(link_ids));
	/* cgroup: an effective query must pass no prog_attach_flags array */
	put64(a, 32, r->v->cg && !s->paf ? 0 : (uint64_t)(uintptr_t)pflags);
	put64(a, 40, (uint64_t)(uintptr_t)link_ids);
	put64(a, 48, (uint64_t)(uintptr_t)lflags);
	err = (int)-sys_bpf(CMD_PROG_QUERY, a);
	if (s->want >= 0 && err != s->want) {
		fail_head(r, i);
		printf("  errno: expected %s, got %s\n", errname(s->want), errname(err));
		return 1;
	}
	if (err != 0 && err != ENOSPC)
		return 0;
	count = s->count > 65536 ? 65536 : s->count;
	total = get32(a, 24);
	rev = get64(a, 56);
	if (s->want_count >= 0 && (int64_t)total != s->want_count) {
		fail_head(r, i);
		printf("  count: expected %" PRId64 ", got %u\n", s->want_count, total);
		return 1;
	}
	if (s->want_rev >= 0 && (int64_t)rev != s->want_rev) {
		fail_head(r, i);
		printf("  revision: expected %" PRId64 ", got %" PRIu64 "\n", s->want_rev, rev);
		return 1;
	}
	if (s->want_mode >= 0 && get32(a, 12) != (uint32_t)s->want_mode) {
		fail_head(r, i);
		printf("  mode: expected %d, got %u\n", s->want_mode, get32(a, 12));
		return 1;
	}
	if (s->want_n < 0)
		return 0;
	m = count < total ? count : total;
	if (r->v->cg && !(s->qflags & 1) && cg_owners(r, i, s, ifindex, prog_ids, m, total, link_ids))
		return 1;
	for (k = 0; k < m || k < (uint32_t)s->want_n; k++) {
		const struct entry *e = k < (uint32_t)s->want_n ? &entries[s->want_off + k] : NULL;
		uint32_t wp = e ? r->id[e->prog] : 0, wl = e && e->link >= 0 ? r->id[e->link] : 0;
		if (r->v->cg)       /* owners as name indexes + 1 (cg_owners), shown as ids below */
			wl = e && e->link >= 0 ? (uint32_t)e->link + 1 : 0;
		if (k >= m || !e || prog_ids[k] != wp || link_ids[k] != wl) {
			fail_head(r, i);
			printf("  entry %u: expected ", k);
			if (e)
				printf("%s (id %u) owned by %s (id %u)", obj_name(r, e->prog), wp,
				       e->link >= 0 ? obj_name(r, e->link) : "the prog API", wl);
			else
				printf("none");
			if (k < m && r->v->cg)
				printf(", got prog id %u owned by %s\n", prog_ids[k],
				       link_ids[k] ? obj_name(r, link_ids[k] - 1) : "the prog API");
			else if (k < m)
				printf(", got prog id %u, link id %u\n", prog_ids[k], link_ids[k]);
			else
				printf(", got none (%u entries)\n", m);
			return 1;
		}
	}
	return 0;
}

static int check(const struct run *r, uint32_t i, const struct step *s, int err)
{
	if (s->want < 0 || err == s->want)
		return 0;
	fail_head(r, i);
	printf("  errno: expected %s, got %s\n", errname(s->want), errname(err));
	return 1;
}

/* rmdir, then (cgroup_bpf_release() runs on a workqueue) wait until every
 * link that was attached to the cgroup reports cgroup id 0: errno, or -1
 * when they were not released in time. */
static int cg_del(struct run *r, int16_t dev)
{
	uint64_t cid = r->cgfd[dev] >= 0 ? cg_id(r->cgfd[dev]) : 0;
	int held[MAX_OBJS], nheld = 0, k;
	uint32_t j, prog, at, pause = 1000, waited = 0;
	uint64_t cg;
	for (j = 0; j < r->v->nnames && cid; j++)
		if (names[r->v->name_off + j].is_link && r->fd[j] >= 0 &&
		    cg_link_info(r->fd[j], &prog, &cg, &at) == 0 && cg == cid)
			held[nheld++] = r->fd[j];
	if (rmdir(r->cgpath[dev]) < 0)
		return errno;
	for (;;) {
		int left = 0;
		for (k = 0; k < nheld; k++)
			left += cg_link_info(held[k], &prog, &cg, &at) == 0 && cg != 0;
		if (!left)
			return 0;
		if (waited > 10000000)
			return -1;
		usleep(pause);
		waited += pause;
		pause = pause < 50000 ? pause * 2 : 50000;
	}
}

static int step_run(struct run *r, uint32_t i)
{
	const struct step *s = &steps[r->v->first + i];
	uint32_t ifx = r->v->cg ? (uint32_t)(r->cgfd[s->dev] >= 0 ? r->cgfd[s->dev] : r->gonefd)
			       : s->dev >= 0 ? r->ifindex[s->dev] : UNUSED_IFINDEX;
	uint8_t a[ATTR_SIZE] = {0};
	int err = 0;
	long ret;

	switch (s->op) {
	case OP_LOAD: {
		char pname[16] = {0};
		const char *n = obj_name(r, s->prog.val);
		size_t k;
		for (k = 0; k < 15 && n[k]; k++)
			pname[k] = (n[k] == '_' || n[k] == '.' || (n[k] >= '0' && n[k] <= '9') ||
				    (n[k] >= 'a' && n[k] <= 'z') || (n[k] >= 'A' && n[k] <= 'Z')) ? n[k] : '_';
		put32(a, 0, s->type);
		put32(a, 4, 2);
		put64(a, 8, (uint64_t)(uintptr_t)(r->v->cg ? prog_code_cg : prog_code));
		put64(a, 16, (uint64_t)(uintptr_t)"GPL");
		memcpy(a + 48, pname, 16);
		put32(a, 68, s->eat);
		err = created(r, s->prog.val, sys_bpf(CMD_PROG_LOAD, a));
		break;
	}
	case OP_ATTACH:
	case OP_DETACH: {
		uint32_t rel = s->rel_id ? id_of(r, s->rel) : fd_of(r, s->rel);
		put32(a, 0, ifx);
		put32(a, 4, fd_of(r, s->prog));
		put32(a, 8, s->at);
		put32(a, 12, s->flags);
		if (s->op == OP_ATTACH)
			put32(a, 16, fd_of(r, s->repl));
		put32(a, 20, rel);
		put64(a, 24, s->exp_rev_in);
		ret = sys_bpf(s->op == OP_ATTACH ? CMD_PROG_ATTACH : CMD_PROG_DETACH, a);
		err = ret < 0 ? (int)-ret : 0;
		break;
	}
	case OP_QUERY:
		return query(r, i, s, ifx);
	case OP_LINK_CREATE: {
		uint32_t rel = s->rel_id ? id_of(r, s->rel) : fd_of(r, s->rel);
		put32(a, 0, fd_of(r, s->prog));
		put32(a, 4, ifx);
		put32(a, 8, s->at);
		put32(a, 12, s->flags);
		put32(a, 16, rel);
		put64(a, 24, s->exp_rev_in);
		err = created(r, s->link.val, sys_bpf(CMD_LINK_CREATE, a));
		break;
	}
	case OP_LINK_UPDATE:
		put32(a, 0, fd_of(r, s->link));
		put32(a, 4, fd_of(r, s->prog));
		put32(a, 8, s->flags);
		put32(a, 12, fd_of(r, s->old));
		ret = sys_bpf(CMD_LINK_UPDATE, a);
		err = ret < 0 ? (int)-ret : 0;
		break;
	case OP_LINK_DETACH:
		put32(a, 0, fd_of(r, s->link));
		ret = sys_bpf(CMD_LINK_DETACH, a);
		err = ret < 0 ? (int)-ret : 0;
		break;
	case OP_CLOSE: {
		struct ref x = s->link.kind ? s->link : s->prog;
		/* raw numbers are never closed; a closed or never created name: EBADF */
		if (x.kind != 1 || r->fd[x.val] < 0) {
			err = EBADF;
		} else {
			err = close(r->fd[x.val]) < 0 ? errno : 0;
			r->fd[x.val] = -1;
		}
		break;
	}
	case OP_DEV_ADD: {
		char peer[20];
		snprintf(peer, sizeof(peer), "%sp", r->ifname[s->dev]);
		err = -veth_add(r->sk, r->ifname[s->dev], peer);
		if (!err) {
			r->ifindex[s->dev] = if_nametoindex(r->ifname[s->dev]);
			if (!r->ifindex[s->dev])
				err = ENODEV;
		}
		break;
	}
	case OP_DEV_DEL:
		err = -link_del(r->sk, ifx);
		break;
	case OP_CLSACT_ADD:
	case OP_CLSACT_DEL:
		err = -clsact(r->sk, ifx, s->op == OP_CLSACT_ADD);
		break;
	case OP_CGROUP_ADD:
		if (mkdir(r->cgpath[s->dev], 0755) < 0) {
			err = errno;
			break;
		}
		if (r->cgfd[s->dev] >= 0)
			close(r->cgfd[s->dev]);     /* the removed cgroup this name named before */
		r->cgfd[s->dev] = open(r->cgpath[s->dev], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->cgfd[s->dev] < 0)
			err = errno;
		break;
	case OP_CGROUP_DEL:
		err = cg_del(r, s->dev);
		if (err < 0) {
			fail_head(r, i);
			printf("  the removed cgroup's links were not released within 10 s\n");
			return 1;
		}
		break;
	}
	return check(r, i, s, err);
}

/* In the child, inside its own namespace: 0 passed, 1 failed, 2 set-up error */
static int vector_run(const struct vector *v, const char *cgbase)
{
	static struct run r;
	uint32_t i;
	int rc = 0;
	memset(&r, 0, sizeof(r));
	r.v = v;
	if (v->nnames > MAX_OBJS || v->ndevs > MAX_DEVS) {
		printf("FAIL %s: too many objects for this harness\n", v->path);
		return 2;
	}
	for (i = 0; i < MAX_OBJS; i++) {
		r.fd[i] = -1;
		r.id[i] = UNUSED_ID;
	}
	for (i = 0; i < MAX_DEVS; i++)
		r.cgfd[i] = -1;
	if (v->cg && cg_paths(v, cgbase, r.cgpath) < 0) {
		printf("FAIL %s: cgroup path too long\n", v->path);
		return 2;
	}
	r.gonefd = -1;
	if (v->cg) {
		char gone[CG_PATH + 8];
		snprintf(gone, sizeof(gone), "%s/gone", cgbase);
		if (mkdir(gone, 0755) < 0 || (r.gonefd = open(gone, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    rmdir(gone) < 0) {
			printf("FAIL %s: %s: %s\n", v->path, gone, strerror(errno));
			return 2;
		}
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("FAIL %s: unshare(CLONE_NEWNET): %s (run as root)\n", v->path, strerror(errno));
		return 2;
	}
	if (fcntl(0, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != 0) {
		printf("FAIL %s: fd 0 must be an open file that is not a BPF object\n", v->path);
		return 2;
	}
	r.sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NL_ROUTE);
	if (r.sk < 0) {
		printf("FAIL %s: netlink socket: %s\n", v->path, strerror(errno));
		return 2;
	}
	for (i = 0; i < v->ndevs && !v->cg; i++) {
		const char *d = devs[v->dev_off + i];
		if (!strcmp(d, "lo"))
			snprintf(r.ifname[i], sizeof(r.ifname[i]), "lo");
		else
			snprintf(r.ifname[i], sizeof(r.ifname[i]), "mpc%u", i);
		r.ifindex[i] = strcmp(d, "lo") ? UNUSED_IFINDEX : if_nametoindex("lo");
	}
	for (i = 0; i < v->n && !rc; i++)
		rc = step_run(&r, i);
	if (v->cg) {            /* close everything, then the directories go */
		for (i = 0; i < MAX_OBJS; i++)
			if (r.fd[i] >= 0)
				close(r.fd[i]);
		for (i = 0; i < MAX_DEVS; i++)
			if (r.cgfd[i] >= 0)
				close(r.cgfd[i]);
		close(r.gonefd);
		cg_remove(v, r.cgpath, cgbase);
	}
	return rc;
}
"""

MAIN = r"""
static int wanted(const char *path, int argc, char **argv)
{
	int k;
	if (argc < 2)
		return 1;
	for (k = 1; k < argc; k++)
		if (strstr(path, argv[k]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static char cgpath[MAX_DEVS][CG_PATH];
	char mount[1024] = "", base[CG_PATH] = "";  /* (base cannot overflow: mount is shorter) */
	unsigned passed = 0, failed = 0, ran = 0;
	size_t k;
	for (k = 0; k < sizeof(vectors) / sizeof(vectors[0]); k++) {
		const struct vector *v = &vectors[k];
		int status = 0;
		pid_t pid;
		if (!wanted(v->path, argc, argv))
			continue;
		ran++;
		if (v->cg) {        /* a private directory of the cgroup2 mount */
			if (!mount[0] && cg_mount(mount, sizeof(mount)) < 0) {
				printf("FAIL %s: no cgroup2 mount in /proc/self/mountinfo\n", v->path);
				failed++;
				continue;
			}
			snprintf(base, sizeof(base), "%s/mprog-c-%d-%zu", mount, (int)getpid(), k);
			if (mkdir(base, 0755) < 0) {
				printf("FAIL %s: mkdir %s: %s\n", v->path, base, strerror(errno));
				failed++;
				continue;
			}
		}
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			int rc;
			alarm(60);
			rc = vector_run(v, base);
			fflush(stdout);
			_exit(rc);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("waitpid");
			return 2;
		}
		if (v->cg && cg_paths(v, base, cgpath) == 0)
			cg_remove(v, cgpath, base);     /* whatever the child left (killed by the alarm) */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			passed++;
			printf("ok   %s\n", v->path);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("FAIL %s: killed by signal %d\n", v->path, WTERMSIG(status));
			else if (WEXITSTATUS(status) == 2 && passed == 0 && failed == 1) {
				printf("0 passed, 1 failed (cannot set up a namespace: stopping)\n");
				return 2;
			}
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed || !ran ? 1 : 0;
}
"""
