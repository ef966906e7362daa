"""Static checks of a request sequence: declared names, and the ops, attach
points, flags and program types of the file's dialect (checker.dialects).  Shared by scripts and JSON vectors, so both give
the same ``file:line:col: message`` for the same mistake.

Names are single-assignment: ``load`` declares a program, ``link_create`` a
link (even if the kernel then refuses to create it), ``dev_add`` a device
(which may be added again after ``dev_del``), ``netkit_add`` two (either
may be added again after ``dev_del``), ``cgroup_add`` a cgroup (which may be
added again after ``cgroup_del``, in the same place of the hierarchy).
Every other use of a name must come after its declaration.  The
namespace's loopback ``lo`` is declared from the start (spec/linux/device.md).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import replace

from .. import dialects
from ..dialects import netkit
from ..dialects.linux import LOOPBACK
from ..errors import ERRNO_NAMES, BadInput
from ..model import OK, UNDEFINED, Raw, Step
from .lexicon import CGROUP_POINT_RE, MODE_WORDS, NUMBER_TOKEN_RE

ANSWERS = ERRNO_NAMES | {OK, UNDEFINED}   # what an expectation may name
# The requests that carry a flag word (the script grammar's `flags=`).
FLAG_OPS = frozenset(("attach", "detach", "link_create", "link_update"))
# The requests that declare a device (netkit_add: two).
DEVICE_ADDS = ("dev_add", "netkit_add")
NETKIT_MODES = tuple(netkit.MODES)
U32 = 1 << 32
U64 = 1 << 64


def did_you_mean(word: str, candidates) -> str:
    if len(word) > 64:              # (difflib is quadratic; no name is that long)
        return ""
    m = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.5)
    return f" (did you mean {m[0]!r}?)" if m else ""


def column_of(text: str | None, word) -> int:
    """1-based column of ``word`` as a whole token in ``text`` (1 if absent)."""
    if not text or word is None:
        return 1
    if isinstance(word, int) and not isinstance(word, bool):
        # A number as written: decimal or hex (0x10 is 16).
        for m in NUMBER_TOKEN_RE.finditer(text):
            tok = m.group()
            if len(tok) <= 66 and int(tok, 16 if tok[:2] in ("0x", "0X") else 10) == word:
                return m.start() + 1
        return 1
    m = re.search(r"(?<![\w.\-])" + re.escape(str(word)) + r"(?![\w.\-])", text)
    return m.start() + 1 if m else 1


def _brace_col(text: str | None):
    """Column of the first stored-flags brace of an expectation, if any."""
    i = text.find("{") if text else -1
    return i + 1 if i >= 0 else None


class Validator:
    def __init__(self, path: str, dialect: str = "linux"):
        self.path = path
        self.dialect = dialects.get(dialect)
        self.kinds: dict[str, tuple[str, int]] = {}   # name -> (kind, line)
        self.devs: dict[str, int] = {LOOPBACK: 0}     # name -> line of its first dev_add
        self.cgroups: dict[str, tuple] = {}             # name -> (parent, line)

    def _fail(self, msg: str, step_or_line, text, word=None, col=None) -> BadInput:
        line = step_or_line.line if isinstance(step_or_line, Step) else step_or_line
        if col is None:
            col = step_or_line.column if isinstance(step_or_line, Step) and text is None else column_of(text, word)
        return BadInput(msg, self.path, line, col or 1, text)

    def set_dialect(self, name: str, lineno: int, text: str | None) -> None:
        if name not in dialects.registry():
            known = dialects.names()
            raise self._fail(f"dialect {name!r} is not implemented (known: {', '.join(known)})"
                             + did_you_mean(name, known), lineno, text, name)
        self.dialect = dialects.get(name)

    # -- helpers ---------------------------------------------------------
    def _declare(self, s: Step, name: str, kind: str, text) -> None:
        if name in self.kinds:
            k, first = self.kinds[name]
            raise self._fail(f"duplicate declaration of {k} {name!r} (first declared on line {first})",
                             s, text, name)
        self.kinds[name] = (kind, s.line)

    def _obj(self, s: Step, ref, what: str, text) -> None:
        if ref is None:
            return
        if isinstance(ref, Raw):
            if not 0 <= ref.value < U32:
                raise self._fail(f"{what} {ref.value} does not fit in 32 bits", s, text, ref.value)
            return
        if ref not in self.kinds:
            raise self._fail(f"unknown name {ref!r} for the {what}" + did_you_mean(ref, self.kinds),
                             s, text, ref)

    def _dev(self, s: Step, text) -> None:
        if s.dev is None:
            raise self._fail(f"'{s.op}' needs a device", s, text)
        if s.op not in DEVICE_ADDS and s.dev not in self.devs:
            adds = " or ".join(op for op in DEVICE_ADDS if op in self.dialect.ops)
            raise self._fail(f"unknown device {s.dev!r}" + did_you_mean(s.dev, self.devs)
                             + f"; declare it with {adds} first", s, text, s.dev)

    def _netkit_add(self, s: Step, text) -> None:
        if not isinstance(s.peer, str):
            raise self._fail("'netkit_add' needs a peer device name", s, text)
        if s.mode is not None and s.mode not in NETKIT_MODES:
            raise self._fail(f"unknown netkit mode {s.mode!r}" + did_you_mean(str(s.mode), NETKIT_MODES)
                             + f" (known: {', '.join(NETKIT_MODES)})", s, text, s.mode)
        for name in (s.dev, s.peer):
            self.devs.setdefault(name, s.line)

    def _target(self, s: Step, text) -> None:
        """The attach target of a request, as the dialect names it."""
        if self.dialect.target != "cgroup":
            self._dev(s, text)
            return
        if s.cgroup is None:
            raise self._fail(f"'{s.op}' needs a cgroup", s, text)
        self._cgroup(s, s.cgroup, text)

    def _cgroup(self, s: Step, name: str, text) -> None:
        if name not in self.cgroups:
            raise self._fail(f"unknown cgroup {name!r}" + did_you_mean(name, self.cgroups)
                             + "; declare it with cgroup_add first", s, text, name)

    def _cgroup_add(self, s: Step, text) -> None:
        name, parent = s.cgroup, s.parent
        if name is None:
            raise self._fail("'cgroup_add' needs a cgroup name", s, text)
        if CGROUP_POINT_RE.match(name):
            raise self._fail(f"cgroup name {name!r} reads as an attach point; names starting "
                             "with 'cgroup_' are reserved for attach points", s, text, name)
        if parent is not None:
            m = re.search(r"\bparent\s+(\S+)", text or "")
            col = m.start(1) + 1 if m else None
            if parent == name:
                raise self._fail(f"cgroup {name!r} cannot be its own parent", s, text, parent, col)
            if parent not in self.cgroups:
                raise self._fail(f"unknown cgroup {parent!r}" + did_you_mean(parent, self.cgroups)
                                 + "; declare it with cgroup_add first", s, text, parent, col)
        first = self.cgroups.get(name)
        if first is not None and first[0] != parent:
            where = f"parent {first[0]!r}" if first[0] else "no parent"
            raise self._fail(f"cgroup {name!r} was added with {where} on line {first[1]}; a name "
                             "keeps its place in the hierarchy", s, text, name)
        self.cgroups.setdefault(name, (parent, s.line))

    def _int(self, s: Step, value, limit: int, what: str, text) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < limit:
            raise self._fail(f"{what} must be an integer from 0 to {limit - 1}, not {value!r}",
                             s, text, value)

    # -- the check ------------------------------------------------------------
    def check(self, s: Step, text: str | None = None) -> Step:
        d = self.dialect
        if s.op not in d.ops:
            known = d.ops if s.op not in dialects.all_ops() else ()
            hint = did_you_mean(s.op, known) if known else f" in dialect {d.name!r}"
            raise self._fail(f"unknown op {s.op!r}{hint}", s, text, s.op)
        op = s.op
        if op in ("attach", "detach", "query", "link_create"):
            points = tuple(d.attach_points)
            if s.dir not in points:
                raise self._fail(f"unknown attach point {s.dir!r} in dialect {d.name!r}; expected "
                                 + ", ".join(repr(p) for p in sorted(points))
                                 + did_you_mean(str(s.dir), points), s, text, s.dir)
        if op in ("attach", "detach", "query", "link_create"):
            self._target(s, text)
        elif op in ("dev_add", "dev_del", "clsact_add", "clsact_del", "netkit_add"):
            self._dev(s, text)
        if op != "netkit_add" and (s.peer is not None or s.mode is not None):
            raise self._fail(f"'{op}' takes no {'peer' if s.peer is not None else 'mode'}", s, text)
        if s.flags and op not in FLAG_OPS:
            raise self._fail(f"'{op}' takes no flags", s, text, "flags")
        for f in s.flags:
            if isinstance(f, str):
                if f not in d.flags:
                    known = d.flags.names()
                    # the sugar words first/last stand for FIRST/LAST in the text
                    word = f.lower() if text and f not in text and f in ("FIRST", "LAST") else f
                    raise self._fail(f"unknown flag {f!r} in dialect {d.name!r}" + did_you_mean(f, known)
                                     + f" (known: {', '.join(known)}, or a number)", s, text, word)
            elif isinstance(f, bool) or not isinstance(f, int) or not 0 < f < U32:
                raise self._fail(f"a raw flag must be a number from 1 to {U32 - 1}, not {f!r}", s, text, f)
        self._int(s, s.expected_revision, 1 << d.revision_bits, "expected_revision", text)
        if d.relative_union and s.relative is not None and s.replace is not None:
            # v2 UAPI: relative_fd / relative_id / replace_bpf_fd are one union
            raise self._fail(f"dialect {d.name!r} passes the replaced program and the relative "
                             "object in one field: give one of them", s, text, "replace")
        for key in ("query_flags", "attach_flags"):
            self._int(s, getattr(s, key), U32, key, text)
        if s.count is not None:
            self._int(s, s.count, U32, "count", text)
        if op == "load":
            if not isinstance(s.prog, str):
                raise self._fail("'load' needs a program name", s, text)
            types = tuple(d.prog_types)
            if s.type is not None and s.type not in types:
                raise self._fail(f"unknown program type {s.type!r}" + did_you_mean(s.type, types)
                                 + f" (known: {', '.join(types)})", s, text, s.type)
            points = tuple(d.attach_points)
            e = s.expected_attach_type
            if e is not None and e not in points:
                raise self._fail(f"unknown expected attach type {e!r} in dialect {d.name!r}"
                                 + did_you_mean(e, points), s, text, e)
            self._declare(s, s.prog, "program", text)
        elif op == "link_create":
            if s.prog is None:
                raise self._fail("'link_create' needs a program", s, text)
            self._obj(s, s.prog, "program", text)
            self._obj(s, s.relative, "relative object", text)
            self._obj(s, s.replace, "replaced program", text)
            if not isinstance(s.link, str):
                raise self._fail("'link_create' needs a link name", s, text)
            self._declare(s, s.link, "link", text)
        elif op == "dev_add":
            self.devs.setdefault(s.dev, s.line)
        elif op == "cgroup_add":
            self._cgroup_add(s, text)
        elif op == "cgroup_del":
            if s.cgroup is None:
                raise self._fail("'cgroup_del' needs a cgroup name", s, text)
            self._cgroup(s, s.cgroup, text)
        elif op == "netkit_add":
            self._netkit_add(s, text)
        elif op == "close":
            ref = s.link if s.link is not None else s.prog
            if ref is None:
                raise self._fail("'close' needs a program or link", s, text)
            self._obj(s, ref, "object to close", text)
            if isinstance(ref, str):
                kind = self.kinds[ref][0]
                s = replace(s, prog=ref if kind == "program" else None,
                            link=ref if kind == "link" else None)
        else:
            if op in ("attach", "link_update") and s.prog is None:
                raise self._fail(f"'{op}' needs a program", s, text)
            if op in ("link_update", "link_detach") and s.link is None:
                raise self._fail(f"'{op}' needs a link", s, text)
            for ref, what in ((s.prog, "program"), (s.link, "link"), (s.relative, "relative object"),
                              (s.replace, "replaced program"), (s.old_prog, "old program")):
                self._obj(s, ref, what, text)
        if s.expect is not None:
            self._expect(s, text)
        return s

    def _expect(self, s: Step, text) -> None:
        e = s.expect
        if e.errno not in ANSWERS:
            raise self._fail(f"unknown errno {e.errno!r}" + did_you_mean(e.errno, ANSWERS),
                             s, text, e.errno)
        if e.count is not None:
            self._int(s, e.count, U32, "expected count", text)
        if e.revision is not None:
            self._int(s, e.revision, U64, "expected revision", text)
        if e.mode is not None and e.mode not in MODE_WORDS:
            raise self._fail(f"unknown attach mode {e.mode!r}" + did_you_mean(str(e.mode), MODE_WORDS)
                             + f" (known: {', '.join(MODE_WORDS)})", s, text, e.mode)
        if e.progs is not None:
            if e.links is None or len(e.links) != len(e.progs):
                raise self._fail("expected 'links' must have one entry per element of 'progs'", s, text)
            for p in e.progs:
                if self.kinds.get(p, ("",))[0] != "program":
                    raise self._fail(f"unknown program {p!r} in the expected order"
                                     + did_you_mean(p, [n for n, k in self.kinds.items() if k[0] == "program"]),
                                     s, text, p)
            for l in e.links:
                if l is not None and self.kinds.get(l, ("",))[0] != "link":
                    raise self._fail(f"unknown link {l!r} in the expected order"
                                     + did_you_mean(l, [n for n, k in self.kinds.items() if k[0] == "link"]),
                                     s, text, l)
        if e.flags is not None:
            self._expect_stored(s, e, text)

    def _expect_stored(self, s: Step, e, text) -> None:
        d = self.dialect
        if e.progs is None or len(e.flags) != len(e.progs):
            raise self._fail("expected stored flags must have one entry per element of 'progs'", s, text)
        if not d.query_flags:
            raise self._fail(f"queries of dialect {d.name!r} report no stored flags; an expected "
                             "entry cannot carry {...}", s, text, "{", col=_brace_col(text))
        for names in e.flags:
            for f in names:
                if f not in d.flags:
                    raise self._fail(f"unknown flag {f!r} in dialect {d.name!r}"
                                     + did_you_mean(str(f), d.flags.names()), s, text, f)
