"""``mprog vectors emit-c``: the tcx vectors under a directory as one
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

Vectors are included when their dialect is one the kernel runs as tcx
(``Dialect.kernel == "tcx"``); others are counted as left out.
"""
from __future__ import annotations

import errno as _errno
import os
from dataclasses import replace

from .. import __version__, dialects
from ..dialects.linux import QUERY_DEFAULT_COUNT
from ..errors import BadInput
from ..model import OK, Raw
from ..syntax.render import render_step
from ..syntax.sources import load
from .replay import find

OPS = ("load", "attach", "detach", "query", "link_create", "link_update", "link_detach", "close",
       "dev_add", "dev_del", "clsact_add", "clsact_del")
PROG_TYPE = {"socket_filter": 1, "sched_cls": 3, "sched_act": 4, "xdp": 6}


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
    for s in script.steps:
        if s.dev is not None and s.dev not in devs:
            devs[s.dev] = len(devs)
            dev_names.append(s.dev)

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
        if s.dev is not None:
            fields.append(f".dev = {devs[s.dev]}")
        if s.dir is not None:
            fields.append(f".at = {d.attach_points[s.dir]}u")
        if s.op == "load":
            fields.append(f".type = {PROG_TYPE[s.type or 'sched_cls']}")
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
        fields.append(f".count = {QUERY_DEFAULT_COUNT if s.count is None else s.count}u")
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
            if e.progs is not None:
                fields.append(f".want_n = {len(e.progs)}, .want_off = {len(t.entries)}")
                for p, l in zip(e.progs, e.links or (None,) * len(e.progs)):
                    t.entries.append((objs[p], -1 if l is None else objs[l]))
            else:
                fields.append(".want_n = -1")
        t.steps.append("{" + ", ".join(fields) + "}")
    t.vectors.append((rel, first_step, len(script.steps), first_name, len(objs), dev_names))


def collect(root: str) -> tuple[_Tables, int]:
    """The tables of every tcx vector under ``root``, and the number of
    vectors left out (dialects no kernel runs as tcx)."""
    t = _Tables()
    left_out = 0
    base = root if os.path.isdir(root) else os.path.dirname(root)
    for path in find(root):
        script = load(path)
        if dialects.get(script.dialect).kernel != "tcx":
            left_out += 1
            continue
        _add_vector(t, path, os.path.relpath(path, base), script)
    return t, left_out


def emit(root: str) -> tuple[str, int, int]:
    """(C source, vectors in it, vectors left out)."""
    t, left_out = collect(root)
    if not t.vectors:
        raise BadInput("no vector of a dialect the kernel runs as tcx here", root, 0, 0)
    texts = sorted(t.texts, key=t.texts.get)
    devs = []
    vec_rows = []
    for rel, first, n, name_off, nnames, dev_names in t.vectors:
        vec_rows.append(f"\t{{{_c_string(rel)}, {first}u, {n}u, {name_off}u, {nnames}u, {len(devs)}u, "
                        f"{len(dev_names)}u}},")
        devs += dev_names
    out = [HEADER.replace("@VERSION@", __version__).replace("@COUNT@", str(len(t.vectors))), RUNTIME_TYPES]
    out.append("static const char *const texts[] = {\n" + "\n".join(f"\t{_c_string(x)}," for x in texts)
               + "\n};\n")
    out.append("static const struct name names[] = {\n" + "\n".join(
        f"\t{{{_c_string(n)}, {1 if k == 'link' else 0}}}," for n, k in t.names) + "\n};\n")
    out.append("static const char *const devs[] = {\n" + "\n".join(f"\t{_c_string(x)}," for x in devs)
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
 * bpf_mprog (tcx) conformance vectors as a test for the running kernel.
 * Generated by mprog-checker @VERSION@ (mprog vectors emit-c): @COUNT@ vectors.
 * Do not edit: regenerate.
 *
 * Build and run (root, Linux >= 6.6 with tcx):
 *     gcc -Wall -Werror -O1 -o mprog_vectors mprog_vectors.c && ./mprog_vectors [SUBSTRING...]
 * With arguments, only the vectors whose path contains one of them run.
 * Each vector runs in a forked child inside a new network namespace; one
 * line per vector, then "N passed, M failed"; exit 0 if all passed.
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
 *                       char prog_name[16] @48
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
       OP_CLOSE, OP_DEV_ADD, OP_DEV_DEL, OP_CLSACT_ADD, OP_CLSACT_DEL };

struct ref { uint8_t kind; uint32_t val; };     /* kind: 0 none, 1 a name (index), 2 a raw number */
struct step {
	uint8_t op;
	int16_t dev;                /* index into the vector's devices */
	uint32_t at;                /* attach type */
	uint32_t type;              /* program type (load) */
	struct ref prog, link, rel, repl, old;
	uint32_t flags, count, qflags, aflags;
	uint8_t rel_id;             /* the relative is passed by id (BPF_F_ID) */
	uint64_t exp_rev_in;        /* expected_revision of the request */
	int want;                   /* expected errno (0: ok), -1: not checked */
	int64_t want_count, want_rev;
	int32_t want_n;             /* expected entries, -1: not checked */
	uint32_t want_off;
	uint32_t text;              /* the request in script syntax */
};
struct entry { int32_t prog, link; };           /* name indexes; link -1: a prog-API entry */
struct name { const char *name; int is_link; };
struct vector { const char *path; uint32_t first, n, name_off, nnames, dev_off, ndevs; };

#define CLOSED_FD 1000000000u       /* never an open fd: EBADF */
#define UNUSED_ID 0x7FFFFFF0u       /* names no object (never created) */
#define UNUSED_IFINDEX 0x7FFFFFF0u

/* struct bpf_insn: r0 = -1 (TCX_NEXT); exit */
static const uint8_t prog_code[16] = { 0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
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

struct run {
	const struct vector *v;
	int fd[MAX_OBJS];           /* -1: closed or never created */
	uint32_t id[MAX_OBJS];      /* last known id, UNUSED_ID if never created */
	uint32_t ifindex[MAX_DEVS];
	char ifname[MAX_DEVS][16];
	int sk;
};


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
	put64(a, 32, (uint64_t)(uintptr_t)pflags);
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
	if (s->want_n < 0)
		return 0;
	m = count < total ? count : total;
	for (k = 0; k < m || k < (uint32_t)s->want_n; k++) {
		const struct entry *e = k < (uint32_t)s->want_n ? &entries[s->want_off + k] : NULL;
		uint32_t wp = e ? r->id[e->prog] : 0, wl = e && e->link >= 0 ? r->id[e->link] : 0;
		if (k >= m || !e || prog_ids[k] != wp || link_ids[k] != wl) {
			fail_head(r, i);
			printf("  entry %u: expected ", k);
			if (e)
				printf("%s (id %u) owned by %s (id %u)", obj_name(r, e->prog), wp,
				       e->link >= 0 ? obj_name(r, e->link) : "the prog API", wl);
			else
				printf("none");
			if (k < m)
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

static int step_run(struct run *r, uint32_t i)
{
	const struct step *s = &steps[r->v->first + i];
	uint32_t ifx = s->dev >= 0 ? r->ifindex[s->dev] : UNUSED_IFINDEX;
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
		put64(a, 8, (uint64_t)(uintptr_t)prog_code);
		put64(a, 16, (uint64_t)(uintptr_t)"GPL");
		memcpy(a + 48, pname, 16);
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
	}
	return check(r, i, s, err);
}

/* In the child, inside its own namespace: 0 passed, 1 failed, 2 set-up error */
static int vector_run(const struct vector *v)
{
	struct run r;
	uint32_t i;
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
	for (i = 0; i < v->ndevs; i++) {
		const char *d = devs[v->dev_off + i];
		if (!strcmp(d, "lo"))
			snprintf(r.ifname[i], sizeof(r.ifname[i]), "lo");
		else
			snprintf(r.ifname[i], sizeof(r.ifname[i]), "mpc%u", i);
		r.ifindex[i] = strcmp(d, "lo") ? UNUSED_IFINDEX : if_nametoindex("lo");
	}
	for (i = 0; i < v->n; i++)
		if (step_run(&r, i))
			return 1;
	return 0;
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
	unsigned passed = 0, failed = 0, ran = 0;
	size_t k;
	for (k = 0; k < sizeof(vectors) / sizeof(vectors[0]); k++) {
		const struct vector *v = &vectors[k];
		int status = 0;
		pid_t pid;
		if (!wanted(v->path, argc, argv))
			continue;
		ran++;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			int rc;
			alarm(60);
			rc = vector_run(v);
			fflush(stdout);
			_exit(rc);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("waitpid");
			return 2;
		}
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
