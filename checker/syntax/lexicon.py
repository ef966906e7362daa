"""Lexical definitions shared by every reader (scripts, directives, vectors)
and the one way a parsed line becomes a Step.

Both script parsers (the fast line parser and the lark reference parser)
build Steps through :func:`build_step` / :func:`merge_options`, so they
produce the same Step for the same line.

Text (grammar/mprog.lark and grammar/directives.lark say the same):

* Files are UTF-8.  A byte sequence that is not UTF-8 is bad input at its
  line and column (:func:`decode_line`, :func:`decode_text`).
* Lines end at ``\\n``; a ``\\r`` right before it belongs to the terminator
  (``\\r\\n``).  No other character ends a line (a lone ``\\r``, ``\\f``,
  ``\\v``, U+0085, U+2028... are characters of the line, and outside a
  comment they are an error): :func:`split_lines`.  ``str.splitlines`` is
  never used on input, so every reader and every message counts the same
  lines.
* A line has at most :data:`MAX_LINE` characters: longer ones are bad input
  (the error path stays bounded in time and memory).
* Blanks between tokens are spaces and tabs only.

Numbers (one definition for scripts, directives and vectors' raw values):
decimal ``0`` or ``[1-9][0-9]*``, or hexadecimal ``0x...``.  A decimal with
a leading zero (``08``, ``010``) is rejected, not read as octal or as
decimal: a C programmer means octal, everyone else decimal, and guessing
either way silently changes the request.  Every number fits in 64 bits
(checked before conversion, so a 5,000-digit number is a clear error, not a
ValueError); each field then checks its own range (u32 fds, ids, flags,
counts; u64 revisions).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import replace

from ..errors import BadInput
from ..flags import canonical
from ..model import Step

# A name of the script language (programs, links, devices); the directive
# grammar and the plan inputs use the same.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
INT_RE = re.compile(r"(?:0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)\Z")
# What a number token looks like to the lexer (grammar INT): a leading-zero
# decimal is lexed as one token and then refused by parse_int with a message.
NUMBER_TOKEN_RE = re.compile(r"(?<![\w.\-])(?:0[xX][0-9a-fA-F]+|[0-9]+)(?![\w.\-])")
FLAG_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
RESULT_RE = re.compile(r"(?:ok|UNDEFINED|E[A-Z0-9]+)\Z")
# Attach points: a device's are keywords (tcx: ingress, egress; netkit also
# primary, peer); the cgroup attach types share one token shape
# (grammar/mprog.lark: CGROUP_POINT).  Which ones a file may use is its
# dialect's, checked by the validator.  The shape decides which Step field
# holds the attach target: a cgroup (``cgroup``) or a device (``dev``).
DEVICE_POINTS = frozenset(("ingress", "egress", "primary", "peer"))
CGROUP_POINT_RE = re.compile(r"cgroup_[a-z0-9_]+\Z")
MODE_WORDS = ("none", "override", "multi")           # a cgroup list's attach mode
NETKIT_MODES = frozenset(("l2", "l3"))               # grammar/mprog.lark: NETKIT_MODE


def is_attach_point(tok: str) -> bool:
    return tok in DEVICE_POINTS or CGROUP_POINT_RE.match(tok) is not None


def target_key(point: str) -> str:
    """The Step field naming the target of a request at ``point``."""
    return "cgroup" if CGROUP_POINT_RE.match(point) else "dev"


MAX_LINE = 16384          # characters per line (63 entries of 100-character names fit)
MAX_INT = (1 << 64) - 1
# 2**64 - 1 has 20 decimal digits and 16 hex digits; a longer token (leading
# hex zeros aside) cannot fit, and is refused without converting it.
_MAX_DEC_DIGITS = 20
_MAX_HEX_CHARS = 66       # "0x" + 64 digits: leading zeros in hex are fine, unbounded ones are not

# Characters that may appear outside comments (the fast parser hands every
# other line to the reference parser, which reports the character).
_CODE_OK = re.compile(r"[\x20-\x7e\t]*\Z")


class NumberError(ValueError):
    """A number token that is not a valid number (leading zero, too large)."""


def parse_int(tok: str) -> int:
    """A number token (grammar INT) -> int; raises NumberError with the
    message every reader shows."""
    if tok[:2] in ("0x", "0X"):
        if len(tok) > _MAX_HEX_CHARS or int(tok, 16) > MAX_INT:
            raise NumberError(f"number {_short(tok)} does not fit in 64 bits")
        return int(tok, 16)
    if len(tok) > 1 and tok[0] == "0":
        raise NumberError(f"number {_short(tok)} has a leading zero: write {tok.lstrip('0') or '0'} "
                          f"(decimal) or 0x{_short(tok.lstrip('0') or '0')} (hex); octal is not "
                          f"supported")
    if len(tok) > _MAX_DEC_DIGITS or int(tok) > MAX_INT:
        raise NumberError(f"number {_short(tok)} does not fit in 64 bits")
    return int(tok)


def _short(tok: str) -> str:
    return tok if len(tok) <= 24 else f"{tok[:12]}...{tok[-4:]} ({len(tok)} characters)"


def split_lines(text: str) -> list[str]:
    """Lines of a decoded text under the one line rule (see the module
    docstring): split at ``\\n``, drop one ``\\r`` before it."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def check_line_length(text: str, path: str, lineno: int) -> None:
    if len(text) > MAX_LINE:
        raise BadInput(f"line too long: {len(text)} characters (at most {MAX_LINE})",
                       path, lineno, MAX_LINE + 1, text)


def code_is_plain(code: str) -> bool:
    """Only printable ASCII and tabs (the fast parser's precondition)."""
    return _CODE_OK.match(code) is not None


def _utf8_error(data: bytes, e: UnicodeDecodeError, path: str, line_start: int, lineno: int) -> BadInput:
    prefix = data[line_start:e.start].decode("utf-8", "replace")
    end = data.find(b"\n", e.start)
    src = data[line_start:end if end >= 0 else len(data)].decode("utf-8", "replace").rstrip("\r")
    bad = data[e.start:e.end].hex(" ")
    return BadInput(f"invalid UTF-8 (byte {bad}): files are UTF-8 text", path, lineno,
                    len(prefix) + 1, src)


def decode_line(raw: bytes, path: str, lineno: int) -> str:
    """One line's bytes (terminator included or not) -> its text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _utf8_error(raw, e, path, 0, lineno) from None
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return text


def decode_text(data: bytes, path: str) -> str:
    """A whole file's bytes -> text; invalid UTF-8 reported at its line:col."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        lineno = data.count(b"\n", 0, e.start) + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        raise _utf8_error(data, e, path, start, lineno) from None


@contextlib.contextmanager
def readable(path: str):
    """An unreadable file is bad input (``file: message``)."""
    try:
        yield
    except IsADirectoryError:
        raise BadInput("cannot read file: it is a directory", path, 0, 0) from None
    except OSError as e:
        raise BadInput(f"cannot read file: {e.strerror or e}", path, 0, 0) from None


def read_text(path: str) -> str:
    """A whole file, read as bytes and decoded by the text rule."""
    with readable(path), open(path, "rb") as f:
        data = f.read()
    return decode_text(data, path)


def entries_fields(entries) -> dict:
    """Expect fields of a parsed entry list [(prog, link, stored names)]:
    ``flags`` only when some entry has stored flags (Expect.flags)."""
    fields = {"progs": tuple(e[0] for e in entries), "links": tuple(e[1] for e in entries)}
    if any(e[2] for e in entries):
        fields["flags"] = tuple(e[2] for e in entries)
    return fields


def merge_options(step: Step, flags: list, fields: dict) -> Step:
    if flags:
        fields["flags"] = canonical(list(step.flags) + flags)
    return replace(step, **fields) if fields else step


def build_step(kw: dict, flags: list, fields: dict, expect) -> Step:
    """One Step construction per line (dataclasses.replace is slow)."""
    if flags:
        kw["flags"] = canonical(flags)
    kw.update(fields)
    if expect is not None:
        kw["expect"] = expect
    return Step(**kw)


def meta_text_problem(value: str, allow_newline: bool = False):
    """What makes a script's name or description unusable as a script
    comment line and as vector text (a control character, a lone surrogate
    that UTF-8 cannot write), as ``U+XXXX``, or None.  One rule for both
    readers, so that script -> vector -> script is lossless."""
    for c in value:
        if c == "\n" and allow_newline or c == "\t":
            continue
        if c < " " or c == "\x7f" or "\ud800" <= c <= "\udfff" or c in "\x85\u2028\u2029":
            return f"U+{ord(c):04X}"
    return None
