"""The fast line parser: grammar/mprog.lark's language for well-formed lines,
with plain string operations (lark's LALR runs at ~8k lines/s here, the
target is 100k).  It accepts a subset: any line it does not accept
(:class:`Reject`) goes to the reference parser (checker.syntax.grammar),
which either parses it or reports the syntax error.  tests/test_grammar.py
checks that both parsers agree.
"""
from __future__ import annotations

import re

from ..model import Expect, Raw
from ..flags import canonical
from .lexicon import (FLAG_RE, INT_RE, MODE_WORDS, NAME_RE, NETKIT_MODES, RESULT_RE, build_step, code_is_plain,
                      entries_fields, is_attach_point, parse_int, target_key)

_TOKEN = re.compile(r"=>|[\[\]@=|{}]|[^\s\[\]@=|{}]+")
# Words that start an option (a NAME equal to one of these is the keyword).
_OPTION_WORDS = {"before", "after", "first", "last", "replace", "rev", "flags", "relative",
                 "expected_revision", "id", "link", "=>"}
_PINS = {"first": "FIRST", "last": "LAST"}


class Reject(Exception):
    """The fast parser does not accept this line; ask the reference parser."""


def _obj(tok: str):
    if INT_RE.match(tok):
        return Raw(parse_int(tok))
    if NAME_RE.match(tok):
        return tok
    raise Reject


def _name(tok: str) -> str:
    if not NAME_RE.match(tok):
        raise Reject
    return tok


def _int(tok: str) -> int:
    if not INT_RE.match(tok):
        raise Reject
    return parse_int(tok)


def _hook(t: list, i: int, kw: dict) -> None:
    """Target and attach point at t[i], t[i+1] (the attach points of every
    dialect; the validator checks that the file's dialect has the one named)."""
    if i + 1 >= len(t) or not is_attach_point(t[i + 1]):
        raise Reject
    point = t[i + 1]
    kw[target_key(point)] = _name(t[i])
    kw["dir"] = point


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
                    raise Reject
                fields["relative"] = _obj(t[i]); i += 1
            elif i < end and t[i] == "link":
                flags.append("LINK"); i += 1
                if i >= end:
                    raise Reject
                fields["relative"] = _obj(t[i]); i += 1
            elif i < end and t[i] not in _OPTION_WORDS and t[i] != "=":
                fields["relative"] = _obj(t[i]); i += 1
            continue
        if allowed == "attach" and w in _PINS:
            flags.append(_PINS[w])
            i += 1
            continue
        if allowed == "query" and w == "effective":
            fields["query_flags"] = 1; i += 1
            continue
        if allowed == "query" and w == "prog_attach_flags":
            fields["prog_attach_flags"] = True; i += 1
            continue
        if i + 1 >= end:
            raise Reject
        nxt = t[i + 1]
        if w == "flags" and nxt == "=" and allowed != "query":   # (grammar: no flags on query)
            i += 2
            while True:
                if i >= end:
                    raise Reject
                f = t[i]
                if INT_RE.match(f):
                    flags.append(parse_int(f))
                elif FLAG_RE.match(f):
                    flags.append(f)
                else:
                    raise Reject
                i += 1
                if i < end and t[i] == "|":
                    i += 1
                    continue
                break
            continue
        if nxt == "=":
            if i + 2 >= end:
                raise Reject
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
                raise Reject
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
            raise Reject
        i += 2
    return flags, fields


def _expectation(t: list, i: int) -> Expect:
    if i >= len(t) or not RESULT_RE.match(t[i]):
        raise Reject
    fields = {"errno": t[i]}
    i += 1
    while i < len(t):
        w = t[i]
        if w in ("count", "rev") and i + 1 < len(t):
            fields["count" if w == "count" else "revision"] = _int(t[i + 1])
            i += 2
        elif w == "mode" and i + 1 < len(t) and t[i + 1] in MODE_WORDS:
            fields["mode"] = t[i + 1]
            i += 2
        elif w == "[":
            entries = []
            i += 1
            while i < len(t) and t[i] != "]":
                prog = _name(t[i])
                link = None
                if i + 2 < len(t) and t[i + 1] == "@":
                    link = _name(t[i + 2]); i += 3
                else:
                    i += 1
                stored = ()
                if i < len(t) and t[i] == "{":
                    stored, i = _stored(t, i + 1)
                entries.append((prog, link, stored))
            if i >= len(t):
                raise Reject
            fields.update(entries_fields(entries))
            i += 1
        else:
            raise Reject
    return Expect(**fields)


def _stored(t: list, i: int):
    """Flag names up to the closing brace: (canonical names, index after it)."""
    names = []
    while True:
        if i >= len(t) or not FLAG_RE.match(t[i]):
            raise Reject
        names.append(t[i])
        i += 1
        if i < len(t) and t[i] == "|":
            i += 1
            continue
        if i < len(t) and t[i] == "}":
            return canonical(names), i + 1
        raise Reject


def parse_line_fast(text: str, lineno: int):
    """Step, ("dialect", name), None for a blank line; raises Reject (also
    NumberError: the reference parser then reports the number)."""
    code = text.split("#", 1)[0]
    if not code_is_plain(code):
        raise Reject
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
        kw = {"op": "attach", "prog": _obj(t[1]), "line": lineno}
        _hook(t, 2, kw)
        flags, fields = _options(t, 4, end, "attach")
    elif op == "detach":
        kw = {"op": "detach", "line": lineno}
        if len(t) > 2 and is_attach_point(t[2]):
            _hook(t, 1, kw)
            k = 3
        else:
            kw["prog"] = _obj(t[1])
            _hook(t, 2, kw)
            k = 4
        flags, fields = _options(t, k, end, "attach")
    elif op == "query":
        kw = {"op": "query", "line": lineno}
        _hook(t, 1, kw)
        flags, fields = _options(t, 3, end, "query")
    elif op == "link_create":
        kw = {"op": "link_create", "link": _name(t[1]), "prog": _obj(t[2]), "line": lineno}
        _hook(t, 3, kw)
        flags, fields = _options(t, 5, end, "attach")
    elif op == "link_update" and end >= 3:
        kw = {"op": "link_update", "link": _obj(t[1]), "prog": _obj(t[2]), "line": lineno}
        flags, fields = _options(t, 3, end, "update")
    elif op == "load" and end in (2, 4, 6):
        kw = {"op": "load", "prog": _name(t[1]), "type": None, "line": lineno}
        k = 2
        if k < end and t[k] == "type":
            kw["type"] = _name(t[k + 1]); k += 2
        if k < end and t[k] == "expected":
            if not is_attach_point(t[k + 1]):
                raise Reject
            kw["expected_attach_type"] = t[k + 1]; k += 2
        if k != end:
            raise Reject
        flags, fields = (), {}
    elif op in ("dev_add", "dev_del", "clsact_add", "clsact_del") and end == 2:
        kw, flags, fields = {"op": op, "dev": _name(t[1]), "line": lineno}, (), {}
    elif op == "cgroup_add" and end in (2, 4) and (end == 2 or t[2] == "parent"):
        kw, flags, fields = {"op": op, "cgroup": _name(t[1]), "line": lineno}, (), {}
        if end == 4:
            kw["parent"] = _name(t[3])
    elif op == "cgroup_del" and end == 2:
        kw, flags, fields = {"op": op, "cgroup": _name(t[1]), "line": lineno}, (), {}
    elif op == "netkit_add" and end in (3, 5):
        kw = {"op": op, "dev": _name(t[1]), "peer": _name(t[2]), "line": lineno}
        if end == 5:
            if t[3] != "mode" or t[4] not in NETKIT_MODES:
                raise Reject
            kw["mode"] = t[4]
        flags, fields = (), {}
    elif op in ("link_detach", "close") and end == 2:
        key = "link" if op == "link_detach" else "prog"
        kw, flags, fields = {"op": op, key: _obj(t[1]), "line": lineno}, (), {}
    elif op == "dialect" and end == 2 and expect is None:
        return ("dialect", _name(t[1]))
    else:
        raise Reject
    return build_step(kw, flags, fields, expect)
