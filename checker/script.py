"""Script language: fast line parser, canonical renderer, streaming reader.

grammar/mprog.lark is the reference syntax.  ``parse_line_fast`` accepts the
same language for well-formed lines with plain string operations (lark's
LALR runs at ~8k lines/s here, the target is 100k); any line it does not
accept goes to checker.grammar_ref, which either parses it or reports the
syntax error.  tests/test_grammar.py checks both parsers agree.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Iterator

from . import grammar_ref
from .constants import FLAGS
from .errors import BadInput
from .model import Expect, Raw, Script, Step
from .names import Validator

_TOKEN = re.compile(r"=>|[\[\]@=|]|[^\s\[\]@=|]+")
# A name of the script language (programs, links, devices); the directive
# grammar and the plan inputs use the same.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_INT = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]+)\Z")
_FLAG = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_RESULT = re.compile(r"(?:ok|E[A-Z0-9]+)\Z")
_FLAG_ORDER = {name: bit for name, bit in FLAGS.items()}

# Words that start an option (a NAME equal to one of these is the keyword).
_OPTION_WORDS = {"before", "after", "replace", "rev", "flags", "relative",
                 "expected_revision", "id", "link", "=>"}


class _Reject(Exception):
    """The fast parser does not accept this line; ask the reference parser."""


def canonical_flags(flags: Iterable) -> tuple:
    """Flags as a set, in bit order: names first by value, raw bits after."""
    names = {f for f in flags if isinstance(f, str)}
    raws = {f for f in flags if not isinstance(f, str)}
    return tuple(sorted(names, key=lambda n: _FLAG_ORDER.get(n, 1 << 40))) + tuple(sorted(raws))


def merge_options(step: Step, flags: list, fields: dict) -> Step:
    if flags:
        fields["flags"] = canonical_flags(list(step.flags) + flags)
    return replace(step, **fields) if fields else step


def _build(kw: dict, flags: list, fields: dict, expect) -> Step:
    """One Step construction per line (dataclasses.replace is slow)."""
    if flags:
        kw["flags"] = canonical_flags(flags)
    kw.update(fields)
    if expect is not None:
        kw["expect"] = expect
    return Step(**kw)


# --------------------------------------------------------------------------
# Fast path

def _obj(tok: str):
    if _INT.match(tok):
        return Raw(int(tok, 0))
    if NAME_RE.match(tok):
        return tok
    raise _Reject


def _name(tok: str) -> str:
    if not NAME_RE.match(tok):
        raise _Reject
    return tok


def _int(tok: str) -> int:
    if not _INT.match(tok):
        raise _Reject
    return int(tok, 0)


def _hook(t: list, i: int):
    if i + 1 >= len(t) or t[i + 1] not in ("ingress", "egress"):
        raise _Reject
    return _name(t[i]), t[i + 1]


def _options(t: list, i: int, end: int, allowed: str):
    """Parse request options t[i:end]; ``allowed`` is 'attach', 'query' or 'update'."""
    flags, fields = [], {}
    while i < end:
        w = t[i]
        if allowed == "attach" and w in ("before", "after"):
            flags.append(w.upper())
            i += 1
            if i < end and t[i] == "id":
                flags.append("ID"); i += 1
                if i < end and t[i] == "link":
                    flags.append("LINK"); i += 1
                if i >= end:
                    raise _Reject
                fields["relative"] = _obj(t[i]); i += 1
            elif i < end and t[i] == "link":
                flags.append("LINK"); i += 1
                if i >= end:
                    raise _Reject
                fields["relative"] = _obj(t[i]); i += 1
            elif i < end and t[i] not in _OPTION_WORDS and t[i] != "=":
                fields["relative"] = _obj(t[i]); i += 1
            continue
        if i + 1 >= end:
            raise _Reject
        nxt = t[i + 1]
        if w == "flags" and nxt == "=":
            i += 2
            while True:
                if i >= end:
                    raise _Reject
                f = t[i]
                if _INT.match(f):
                    flags.append(int(f, 0))
                elif _FLAG.match(f):
                    flags.append(f)
                else:
                    raise _Reject
                i += 1
                if i < end and t[i] == "|":
                    i += 1
                    continue
                break
            continue
        if nxt == "=":
            if i + 2 >= end:
                raise _Reject
            key, val = w, t[i + 2]
            if allowed == "attach" and key in ("relative", "replace"):
                fields[key] = _obj(val)
            elif allowed == "attach" and key == "expected_revision":
                fields[key] = _int(val)
            elif allowed == "query" and key in ("count", "query_flags", "attach_flags"):
                fields[key] = _int(val)
            elif allowed == "update" and key == "old_prog":
                fields[key] = _obj(val)
            else:
                raise _Reject
            i += 3
            continue
        if allowed == "attach" and w == "replace":
            flags.append("REPLACE"); fields["replace"] = _obj(nxt)
        elif allowed == "attach" and w == "rev":
            fields["expected_revision"] = _int(nxt)
        elif allowed == "query" and w == "count":
            fields["count"] = _int(nxt)
        elif allowed == "update" and w == "old":
            flags.append("REPLACE"); fields["old_prog"] = _obj(nxt)
        else:
            raise _Reject
        i += 2
    return flags, fields


def _expectation(t: list, i: int) -> Expect:
    if i >= len(t) or not _RESULT.match(t[i]):
        raise _Reject
    fields = {"errno": t[i]}
    i += 1
    while i < len(t):
        w = t[i]
        if w in ("count", "rev") and i + 1 < len(t):
            fields["count" if w == "count" else "revision"] = _int(t[i + 1])
            i += 2
        elif w == "[":
            progs, links = [], []
            i += 1
            while i < len(t) and t[i] != "]":
                progs.append(_name(t[i]))
                if i + 2 < len(t) and t[i + 1] == "@":
                    links.append(_name(t[i + 2])); i += 3
                else:
                    links.append(None); i += 1
            if i >= len(t):
                raise _Reject
            fields["progs"], fields["links"] = tuple(progs), tuple(links)
            i += 1
        else:
            raise _Reject
    return Expect(**fields)


def parse_line_fast(text: str, lineno: int):
    """Step, ("dialect", name), None for a blank line; raises _Reject."""
    code = text.split("#", 1)[0]
    t = _TOKEN.findall(code)
    if not t:
        return None
    try:
        end = t.index("=>")
        expect = _expectation(t, end + 1)
    except ValueError:
        end, expect = len(t), None
    op = t[0]
    if op == "attach":
        dev, dir = _hook(t, 2)
        kw = {"op": "attach", "prog": _obj(t[1]), "dev": dev, "dir": dir, "line": lineno}
        flags, fields = _options(t, 4, end, "attach")
    elif op == "detach":
        if len(t) > 2 and t[2] in ("ingress", "egress"):
            dev, dir = _hook(t, 1)
            kw, k = {"op": "detach", "dev": dev, "dir": dir, "line": lineno}, 3
        else:
            dev, dir = _hook(t, 2)
            kw, k = {"op": "detach", "prog": _obj(t[1]), "dev": dev, "dir": dir, "line": lineno}, 4
        flags, fields = _options(t, k, end, "attach")
    elif op == "query":
        dev, dir = _hook(t, 1)
        kw = {"op": "query", "dev": dev, "dir": dir, "line": lineno}
        flags, fields = _options(t, 3, end, "query")
    elif op == "link_create":
        dev, dir = _hook(t, 3)
        kw = {"op": "link_create", "link": _name(t[1]), "prog": _obj(t[2]), "dev": dev, "dir": dir,
              "line": lineno}
        flags, fields = _options(t, 5, end, "attach")
    elif op == "link_update" and end >= 3:
        kw = {"op": "link_update", "link": _obj(t[1]), "prog": _obj(t[2]), "line": lineno}
        flags, fields = _options(t, 3, end, "update")
    elif op == "load" and end in (2, 4):
        if end == 4 and t[2] != "type":
            raise _Reject
        kw = {"op": "load", "prog": _name(t[1]), "type": _name(t[3]) if end == 4 else None,
              "line": lineno}
        flags, fields = (), {}
    elif op in ("dev_add", "dev_del", "clsact_add", "clsact_del") and end == 2:
        kw, flags, fields = {"op": op, "dev": _name(t[1]), "line": lineno}, (), {}
    elif op in ("link_detach", "close") and end == 2:
        key = "link" if op == "link_detach" else "prog"
        kw, flags, fields = {"op": op, key: _obj(t[1]), "line": lineno}, (), {}
    elif op == "dialect" and end == 2 and expect is None:
        return ("dialect", _name(t[1]))
    else:
        raise _Reject
    return _build(kw, flags, fields, expect)


def parse_line(text: str, path: str, lineno: int):
    try:
        return parse_line_fast(text, lineno)
    except (_Reject, IndexError):
        return grammar_ref.parse_line(text, path, lineno)


# --------------------------------------------------------------------------
# Reading whole scripts

def iter_script(lines: Iterable[str], path: str = "<script>") -> Iterator:
    """Yield ("dialect", name) once, then validated Steps, one line at a time
    (memory stays flat in file length).  Raises BadInput on the first error."""
    v = Validator(path)
    dialect_seen = False
    yielded_dialect = False
    for lineno, text in enumerate(lines, 1):
        item = parse_line(text, path, lineno)
        if item is None:
            continue
        if isinstance(item, tuple):
            if dialect_seen or yielded_dialect:
                col = text.find("dialect") + 1
                raise BadInput("'dialect' must be the first statement of a script", path, lineno, col, text)
            dialect_seen = True
            v.set_dialect(item[1], lineno, text)
            yielded_dialect = True
            yield ("dialect", item[1])
            continue
        if not yielded_dialect:
            yielded_dialect = True
            yield ("dialect", "linux")
        yield v.check(item, text)
    if not yielded_dialect:
        yield ("dialect", "linux")


def read_script(path: str, text: str | None = None) -> Script:
    if text is None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    items = list(iter_script(text.splitlines(), path))
    dialect = items[0][1]
    return Script(tuple(items[1:]), dialect=dialect, path=path)


# --------------------------------------------------------------------------
# Rendering (canonical form; parse(render(step)) == step)

def _r(obj) -> str:
    return str(obj.value) if isinstance(obj, Raw) else obj


def _flags_text(flags) -> str:
    return "|".join(f if isinstance(f, str) else hex(f) for f in flags)


def _replaced(out: list, flags: list, value, sugar: str, key: str) -> None:
    """A replaced/old program: the sugar word when REPLACE is set (it implies
    the flag), else the exact field."""
    if value is None:
        return
    if "REPLACE" in flags:
        flags.remove("REPLACE")
        out += [sugar, _r(value)]
    else:
        out.append(f"{key}={_r(value)}")


def render_step(s: Step) -> str:
    out = [s.op]
    flags = list(s.flags)
    if s.op == "load":
        out.append(s.prog)
        if s.type is not None:
            out += ["type", s.type]
    elif s.op in ("dev_add", "dev_del", "clsact_add", "clsact_del"):
        out.append(s.dev)
    elif s.op in ("link_detach",):
        out.append(_r(s.link))
    elif s.op == "close":
        out.append(_r(s.link if s.link is not None else s.prog))
    elif s.op == "query":
        out += [s.dev, s.dir]
        if s.count is not None:
            out += ["count", str(s.count)]
        if s.query_flags:
            out.append(f"query_flags={s.query_flags}")
        if s.attach_flags:
            out.append(f"attach_flags={s.attach_flags}")
    elif s.op == "link_update":
        out += [_r(s.link), _r(s.prog)]
        _replaced(out, flags, s.old_prog, "old", "old_prog")
        if flags:
            out.append("flags=" + _flags_text(flags))
    else:  # attach, detach, link_create
        if s.op == "link_create":
            out += [s.link, _r(s.prog)]
        elif s.prog is not None:
            out.append(_r(s.prog))
        out += [s.dev, s.dir]
        pos = [f for f in ("BEFORE", "AFTER") if f in flags]
        if len(pos) == 1:
            flags.remove(pos[0])
            out.append(pos[0].lower())
            if s.relative is not None:
                for f in ("ID", "LINK"):
                    if f in flags:
                        flags.remove(f)
                        out.append(f.lower())
                out.append(_r(s.relative))
        elif s.relative is not None:
            out.append(f"relative={_r(s.relative)}")
        _replaced(out, flags, s.replace, "replace", "replace")
        if s.expected_revision:
            out += ["rev", str(s.expected_revision)]
        if flags:
            out.append("flags=" + _flags_text(flags))
    if s.expect is not None:
        out.append(render_expect(s.expect))
    return " ".join(out)


def render_expect(e: Expect) -> str:
    out = ["=>", e.errno]
    if e.count is not None:
        out += ["count", str(e.count)]
    if e.revision is not None:
        out += ["rev", str(e.revision)]
    if e.progs is not None:
        links = e.links or (None,) * len(e.progs)
        out.append("[" + " ".join(p if l is None else f"{p}@{l}" for p, l in zip(e.progs, links)) + "]")
    return " ".join(out)


def render_script(script: Script) -> str:
    head = [f"dialect {script.dialect}"]
    if script.name:
        head.insert(0, f"# {script.name}")
    for line in script.description.splitlines():
        head.insert(len(head) - 1, f"# {line}")
    return "\n".join(head + [render_step(s) for s in script.steps]) + "\n"
