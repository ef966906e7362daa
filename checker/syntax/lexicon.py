"""Lexical definitions shared by every reader (scripts, directives, vectors)
and the one way a parsed line becomes a Step.

Both script parsers (the fast line parser and the lark reference parser)
build Steps through :func:`build_step` / :func:`merge_options`, so they
produce the same Step for the same line.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..flags import canonical
from ..model import Step

# A name of the script language (programs, links, devices); the directive
# grammar and the plan inputs use the same.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
INT_RE = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]+)\Z")
FLAG_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
RESULT_RE = re.compile(r"(?:ok|E[A-Z0-9]+)\Z")
# Attach points: tcx's are keywords; the cgroup attach types share one
# token shape (grammar/mprog.lark: CGROUP_POINT), checked against the file's
# dialect by the validator.  The shape decides which Step field holds the
# attach target: a cgroup (``cgroup``) or a device (``dev``).
TCX_POINTS = frozenset(("ingress", "egress"))
CGROUP_POINT_RE = re.compile(r"cgroup_[a-z0-9_]+\Z")
MODE_WORDS = ("none", "override", "multi")


def is_attach_point(tok: str) -> bool:
    return tok in TCX_POINTS or CGROUP_POINT_RE.match(tok) is not None


def target_key(point: str) -> str:
    """The Step field naming the target of a request at ``point``."""
    return "cgroup" if CGROUP_POINT_RE.match(point) else "dev"


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
