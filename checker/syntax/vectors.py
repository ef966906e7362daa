"""JSON conformance vectors (spec/vectors.md): read with positions, write.

Reading keeps the line and column of every step object, so a bad vector is
reported as ``file:line:col: message`` like a bad script.
"""
from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from dataclasses import replace

from .. import dialects
from ..errors import BadInput
from ..flags import canonical
from ..model import Expect, Raw, Script, Step
from .lexicon import MAX_INT, MAX_LINE, NAME_RE, meta_text_problem, read_text, split_lines
from .validate import Validator, did_you_mean, op_fields

def schema_text() -> str:
    """spec/vector.schema.json: shipped inside the wheel (checker/spec/), or
    the repository's spec/ when running from a source checkout."""
    from importlib import resources
    from pathlib import Path
    try:
        res = resources.files("checker") / "spec" / "vector.schema.json"
        if res.is_file():
            return res.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return (Path(__file__).resolve().parents[2] / "spec" / "vector.schema.json").read_text(encoding="utf-8")


FORMAT = "mprog-vector"
VERSION = 1
_STEP_KEYS = ("op", "dev", "cgroup", "parent", "dir", "prog", "link", "type",
              "expected_attach_type", "flags", "relative", "replace", "expected_revision",
              "old_prog", "count", "query_flags", "attach_flags", "prog_attach_flags", "peer",
              "mode", "expect")
_EXPECT_KEYS = ("errno", "count", "revision", "progs", "links", "flags", "mode")
_TOP_KEYS = ("format", "version", "dialect", "name", "description", "steps")
_REF_KEYS = ("prog", "link", "relative", "replace", "old_prog")


class _PosDict(dict):
    """A JSON object that remembers where it started (character offset)."""
    __slots__ = ("pos",)


class _Huge:
    """A JSON integer too long to be any field's value (kept unconverted: a
    5,000-digit int() is a ValueError, and no field takes it anyway)."""
    __slots__ = ("digits",)

    def __init__(self, digits: str):
        self.digits = digits

    def __repr__(self) -> str:
        return f"a number of {len(self.digits)} digits"


def _parse_int(text: str):
    if len(text.lstrip("-")) > 20:
        return _Huge(text)
    v = int(text)
    return v if -MAX_INT <= v <= MAX_INT else _Huge(text)


# A vector nests 5 levels (document, steps, step, expect, progs); anything
# deeper is refused before decoding (the decoder recurses per level).
MAX_DEPTH = 16
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str):
    """Offset of the first bracket nested deeper than MAX_DEPTH, or None."""
    depth = 0
    for m in _BRACKETS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def decode_json(text: str, path: str, decoder: json.JSONDecoder | None = None):
    """A JSON document of a user's file (vectors, ``plan --state``): too deep
    a nesting, invalid JSON and over-long integers are BadInput at their
    line:col (inside the file), never a RecursionError or ValueError."""
    lines = split_lines(text)
    deep = _too_deep(text)
    if deep is not None:
        line, col = _line_col(text, deep)
        raise BadInput(f"nested more than {MAX_DEPTH} levels deep", path, line, col,
                       lines[line - 1] if line <= len(lines) else None)
    try:
        return (decoder or json.JSONDecoder(parse_int=_parse_int)).decode(text)
    except json.JSONDecodeError as e:
        line, col = e.lineno, e.colno
        if line > len(lines):            # at the end of input: after the last line
            line, col = max(1, len(lines)), len(lines[-1]) + 1 if lines else 1
        src = lines[line - 1] if 0 < line <= len(lines) else None
        raise BadInput(f"invalid JSON: {e.msg}", path, line, col, src) from None


class _PosDecoder(json.JSONDecoder):
    def __init__(self):
        super().__init__(parse_int=_parse_int)
        inner = self.parse_object

        def parse_object(s_and_end, *args):
            s, end = s_and_end
            obj, new_end = inner(s_and_end, *args)
            d = _PosDict(obj)
            d.pos = end - 1
            return d, new_end
        self.parse_object = parse_object
        self.scan_once = json.scanner.py_make_scanner(self)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def read_vector(path: str, text: str | None = None) -> Script:
    if text is None:
        text = read_text(path)
    lines = split_lines(text)
    doc = decode_json(text, path, _PosDecoder())

    def fail(msg, obj):
        pos = getattr(obj, "pos", 0)
        line, col = _line_col(text, pos)
        raise BadInput(msg, path, line, col, lines[line - 1] if line <= len(lines) else None)

    if not isinstance(doc, dict):
        fail("a vector must be a JSON object", doc)
    for k in doc:
        if k not in _TOP_KEYS:
            fail(f"unknown key {k!r}" + did_you_mean(k, _TOP_KEYS), doc)
    if doc.get("format") != FORMAT:
        fail(f"'format' must be {FORMAT!r}, not {doc.get('format')!r}", doc)
    if doc.get("version") != VERSION:
        fail(f"unsupported version {doc.get('version')!r} (this tool reads version {VERSION})", doc)
    dialect = doc.get("dialect", "linux")
    known = dialects.names()
    if not isinstance(dialect, str) or dialect not in known:
        fail(f"dialect {dialect!r} is not implemented (known: {', '.join(known)})"
             + did_you_mean(str(dialect), known), doc)
    steps_json = doc.get("steps")
    if not isinstance(steps_json, list):
        fail("'steps' must be a list", doc)
    v = Validator(path, dialect)
    steps = []
    for raw in steps_json:
        line, col = _line_col(text, getattr(raw, "pos", 0))
        src = lines[line - 1] if line <= len(lines) else None
        try:
            step = _step_from_json(raw, line, col)
        except _Bad as e:
            raise BadInput(str(e), path, line, col, src) from None
        _check_keys(raw, step.op, v.dialect, text, lines, path)
        try:
            steps.append(v.check(step, None))
        except BadInput as e:
            if e.source_line is None:
                e.source_line = src
            raise
    for k in ("name", "description"):
        value = doc.get(k, "")
        if not isinstance(value, str):
            fail(f"{k!r} must be a string", doc)
        bad = meta_text_problem(value, allow_newline=k == "description")
        longest = max(map(len, value.split("\n")))
        if longest > MAX_META_LINE:
            fail(f"{k!r} has a line of {longest} characters (at most {MAX_META_LINE}: it becomes "
                 f"a script comment line)", doc)
        if bad is not None:
            fail(f"{k!r} must be text without control characters{' other than newlines' if k == 'description' else ''}"
                 f" (it has {bad})", doc)
    return Script(tuple(steps), dialect=dialect, name=doc.get("name", ""),
                  description=doc.get("description", ""), path=path)


class _Bad(Exception):
    pass


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:]')


def _key_offset(text: str, start: int, key: str) -> int:
    """Offset of ``"key":`` among the members of the object at ``start``
    (not inside a nested object: an expectation has a ``count`` too)."""
    depth, prev = 0, None
    want = json.dumps(key)
    for m in _TOKENS.finditer(text, start):
        tok = m.group()
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            depth -= 1
            if depth == 0:
                break
        elif tok == ":" and depth == 1 and prev is not None and json.loads(prev.group()) == key:
            return prev.start()
        prev = m if tok[0] == '"' else None
    return start


def _check_keys(raw: dict, op: str, dialect, text: str, lines: list, path: str) -> None:
    """A step key that its op does not read (spec/vectors.md, "used by") is
    an error at the key, like an unknown key: never silently ignored."""
    if op not in dialect.ops:
        return                                  # the validator names the op
    takes = op_fields(dialect, op)
    for k in raw:
        if k not in ("op", "expect") and k not in takes:
            line, col = _line_col(text, _key_offset(text, raw.pos, k))
            listed = f" (it takes {', '.join(sorted(takes))})" if takes else ""
            raise BadInput(f"'{op}' takes no {k!r} in dialect {dialect.name!r}{listed}", path, line,
                           col, lines[line - 1] if line <= len(lines) else None)


# "# description: " + a line of the text must be a script line (MAX_LINE).
MAX_META_LINE = MAX_LINE - len("# description: ")


def _short_repr(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:30] + "..." + r[-6:]


def _name(v, key: str) -> str:
    if not isinstance(v, str) or not NAME_RE.match(v):
        raise _Bad(f"{key!r} must be a name ([A-Za-z_][A-Za-z0-9_.-]*), not {_short_repr(v)}")
    return v


def _ref(v, key):
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise _Bad(f"{key!r} must be a name or an integer, not {_short_repr(v)}")
    return Raw(v) if isinstance(v, int) else _name(v, key)


def _step_from_json(d, line: int, col: int) -> Step:
    if not isinstance(d, dict):
        raise _Bad("a step must be a JSON object")
    for k in d:
        if k not in _STEP_KEYS:
            raise _Bad(f"unknown step key {k!r}" + did_you_mean(k, _STEP_KEYS))
    op = d.get("op")
    if not isinstance(op, str):
        raise _Bad(f"'op' must be one of {', '.join(dialects.all_ops())}, not {_short_repr(op)}")
    kw = {"op": op, "line": line, "column": col}
    for k in ("dev", "cgroup", "parent", "dir", "type", "expected_attach_type", "peer", "mode"):
        if k in d:
            kw[k] = _name(d[k], k)
    for k in _REF_KEYS:
        if k in d:
            kw[k] = _ref(d[k], k)
    if "flags" in d:
        flags = d["flags"]
        if not isinstance(flags, list) or not all(
                isinstance(f, str) or (isinstance(f, int) and not isinstance(f, bool)) for f in flags):
            raise _Bad("'flags' must be a list of flag names or numbers")
        kw["flags"] = canonical(flags)
    for k in ("expected_revision", "query_flags", "attach_flags", "count"):
        if k in d:
            kw[k] = d[k]
    if "prog_attach_flags" in d:
        if not isinstance(d["prog_attach_flags"], bool):
            raise _Bad("'prog_attach_flags' must be true or false")
        kw["prog_attach_flags"] = d["prog_attach_flags"]
    if "expect" in d:
        kw["expect"] = _expect_from_json(d["expect"])
    return Step(**kw)


def _expect_from_json(e) -> Expect:
    if not isinstance(e, dict):
        raise _Bad("'expect' must be an object")
    for k in e:
        if k not in _EXPECT_KEYS:
            raise _Bad(f"unknown expect key {k!r}" + did_you_mean(k, _EXPECT_KEYS))
    if not isinstance(e.get("errno"), str):
        raise _Bad("'expect' needs 'errno': \"ok\" or an errno name")
    progs = e.get("progs")
    links = e.get("links")
    if progs is not None and (not isinstance(progs, list) or not all(isinstance(p, str) for p in progs)):
        raise _Bad("'progs' must be a list of program names")
    if (progs is None) != (links is None):
        raise _Bad("'progs' and 'links' go together (links: a link name or null per slot)")
    if links is not None and (not isinstance(links, list)
                              or not all(l is None or isinstance(l, str) for l in links)):
        raise _Bad("'links' must be a list of link names or null")
    flags = e.get("flags")
    if flags is not None:
        if progs is None:
            raise _Bad("'flags' needs 'progs' (one list of stored flag names per entry)")
        if not isinstance(flags, list) or len(flags) != len(progs) or not all(
                isinstance(f, list) and all(isinstance(n, str) for n in f) for f in flags):
            raise _Bad("'flags' must be a list with one list of flag names per element of 'progs'")
        flags = tuple(canonical(f) for f in flags)
        if not any(flags):
            flags = None       # all zero: the same expectation as no 'flags' key
    mode = e.get("mode")
    if mode is not None and not isinstance(mode, str):
        raise _Bad("'mode' must be a string: none, override or multi")
    return Expect(e["errno"], e.get("count"), e.get("revision"),
                  tuple(progs) if progs is not None else None,
                  tuple(links) if links is not None else None, flags, mode)


# --------------------------------------------------------------------------
# Writing

def _ref_json(r):
    return r.value if isinstance(r, Raw) else r


def step_to_json(s: Step) -> dict:
    d = {"op": s.op}
    for k in ("dev", "cgroup", "parent", "dir"):
        if getattr(s, k) is not None:
            d[k] = getattr(s, k)
    for k in ("prog", "link"):
        if getattr(s, k) is not None:
            d[k] = _ref_json(getattr(s, k))
    if s.type is not None:
        d["type"] = s.type
    if s.expected_attach_type is not None:
        d["expected_attach_type"] = s.expected_attach_type
    if s.flags:
        d["flags"] = list(s.flags)
    for k in ("relative", "replace"):
        if getattr(s, k) is not None:
            d[k] = _ref_json(getattr(s, k))
    if s.expected_revision:
        d["expected_revision"] = s.expected_revision
    if s.old_prog is not None:
        d["old_prog"] = _ref_json(s.old_prog)
    if s.count is not None:
        d["count"] = s.count
    for k in ("query_flags", "attach_flags", "prog_attach_flags"):
        if getattr(s, k):
            d[k] = getattr(s, k)
    for k in ("peer", "mode"):
        if getattr(s, k) is not None:
            d[k] = getattr(s, k)
    if s.expect is not None:
        e = {"errno": s.expect.errno}
        if s.expect.count is not None:
            e["count"] = s.expect.count
        if s.expect.revision is not None:
            e["revision"] = s.expect.revision
        if s.expect.progs is not None:
            e["progs"] = list(s.expect.progs)
            e["links"] = list(s.expect.links)
        if s.expect.flags is not None:
            e["flags"] = [list(f) for f in s.expect.flags]
        if s.expect.mode is not None:
            e["mode"] = s.expect.mode
        d["expect"] = e
    return d


def script_to_json(script: Script) -> dict:
    return {"format": FORMAT, "version": VERSION, "dialect": script.dialect,
            "name": script.name, "description": script.description,
            "steps": [step_to_json(s) for s in script.steps]}


def dumps_vector(script: Script) -> str:
    """Deterministic text: one step per line, so diffs and positions read well."""
    d = script_to_json(script)
    steps = d.pop("steps")
    head = json.dumps(d, indent=2)[:-2]
    body = ",\n".join("    " + json.dumps(s, separators=(", ", ": ")) for s in steps)
    return f'{head},\n  "steps": [\n{body}\n  ]\n}}\n' if steps else f'{head},\n  "steps": []\n}}\n'


def with_expectations(script: Script, outcomes) -> Script:
    """The script with every step's expectation set to what a backend did
    (stored flags as names of the script's dialect, where it reports them)."""
    d = dialects.get(script.dialect)
    steps = []
    for s, o in zip(script.steps, outcomes):
        q = o.query
        if q is None:
            e = Expect(o.errno)
        else:
            stored = None
            if d.query_flags and any(q.flags):
                stored = tuple(d.flags.decode(f) for f in q.flags)
            e = Expect(o.errno, q.count, q.revision, q.progs, q.links, stored, q.mode)
        steps.append(replace(s, expect=e))
    return replace(script, steps=tuple(steps))
