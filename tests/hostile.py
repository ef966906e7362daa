"""Hostile inputs: grammar-aware and byte-level mutation of scripts, vectors
and directive files, and the judge every mutated input must pass through
the real command line (``checker.cli.main``, in-process).

Shared by the CI harness (tests/test_hostile_fuzz.py: hypothesis, a fixed
budget) and the long campaign (bench/bench_hostile.py: >= 100,000 inputs).

The judge's contract (issue 9): exit status in {0, 1, 2, 3}; no traceback
(a bug exits 70 under its header: never allowed here); an output file given
with ``-o`` is unchanged whenever the command did not succeed; every
``file:line:col`` a message names lies inside the file; no input takes
longer than HANG_S.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import time
import zlib
from dataclasses import dataclass, field
from random import Random

from corpus import DIRECTIVES, EXAMPLES, RULE_CASES, SCRIPTS

HANG_S = 10.0
SENTINEL = "previous content: must survive a failed command\n"

# --------------------------------------------------------------------------
# Seeds


def seed_corpus() -> dict[str, list[bytes]]:
    """Scripts, vectors (the scripts converted) and directive files."""
    from checker.syntax.sources import load
    from checker.syntax.vectors import dumps_vector
    scripts = [p.read_bytes() for p in SCRIPTS + EXAMPLES + RULE_CASES[::4]]
    # every dialect's reader: the netkit and cgroup cases are a few of the
    # rule cases, so a share of them is added on top of the sample
    newer = [p for p in RULE_CASES if p.parts[-3] in ("netkit", "cgroup")][::4]
    vectors = [dumps_vector(load(str(p))).encode() for p in SCRIPTS[::3] + RULE_CASES[::11] + newer]
    dirs = [p.read_bytes() for p in sorted(DIRECTIVES.glob("*.dirs"))]
    return {"mprog": scripts, "json": vectors, "dirs": dirs}


# --------------------------------------------------------------------------
# Mutations

# Tokens that have broken readers before, or sit on a boundary of the
# lexical definition (checker/syntax/lexicon.py).
NUMBERS = ["0", "08", "010", "00", "0x", "0x0", "0xFFFFFFFF", "0x100000000", "4294967295",
           "4294967296", "18446744073709551615", "18446744073709551616", "2147483647", "-1",
           "1e3", "9" * 25, "9" * 5000, "0x" + "f" * 70, "1.5"]
WORDS = ["before", "after", "id", "link", "rev", "flags=", "flags=BEFORE|0x40", "=>", "[", "]",
         "@", "=", "|", "replace", "old", "count", "type", "dialect", "dialect linux",
         "ingress", "egress", "ok", "ENOENT", "EFOO", "=> ok count 1 rev 2 [a b@l]", "#",
         "FIRST", "LAST", "BEFORE", "AFTER", "app", ":", ",", "x" * 300, "ghost", "p1", "l1",
         "veth0", "d0", "a" * 20000,
         # the netkit and cgroup dialects' syntax (grammar/mprog.lark)
         "dialect rfc", "dialect netkit", "dialect cgroup", "dialect linux-6.6-rc",
         "netkit_add nk0 nk1", "netkit_add", "mode", "l2", "l3", "primary", "peer",
         "cgroup_add", "cgroup_add cg", "cgroup_del", "parent", "cg", "cgroup_inet_egress",
         "cgroup_inet_ingress", "cgroup_inet4_connect", "cgroup_sock_ops", "cgroup_device",
         "cgroup_bogus", "expected", "expected cgroup_inet_egress", "cgroup_skb", "sock_ops",
         "effective", "prog_attach_flags", "query_flags=1", "attach_flags=2", "none",
         "override", "multi", "mode multi", "ALLOW_MULTI", "ALLOW_OVERRIDE", "PREORDER",
         "flags=ALLOW_MULTI|REPLACE", "old_prog=", "relative=", "replace=", "expected_revision="]
CHARS = ["\x00", "\r", "\r\n", "\n", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\ufeff",
         "\x1b[31m", "é", "\udcff"]
BAD_BYTES = [b"\xff", b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]
JSON_VALUES = [None, True, 0, -1, 1.5, float("nan"), float("inf"), 2**64, 10**400, "", "x y",
               "\ud800", "a\nb", "\x00", [], {}, [[]], [{}], [1, None], {"op": "load"},
               "9" * 30, ["BEFORE", "BEFORE"], [2**40],
               "l2", "l3", "primary", "peer", "cgroup_inet_egress", "cgroup_sock_ops", "cgroup_x",
               "cgroup_skb", "cg", "nk0", "none", "multi", "linux", "rfc", "netkit", "cgroup",
               "linux-6.6-rc", ["ALLOW_MULTI", "REPLACE"], ["PREORDER"], {"errno": "ok"},
               {"errno": "ok", "mode": "multi", "progs": [], "links": []}]
# Every step key of spec/vectors.md, and the top-level ones: a mutation adds
# any of them to any object, so the per-op key check and every dialect's
# reader are reached.
JSON_KEYS = ["op", "dev", "cgroup", "parent", "dir", "prog", "link", "type",
             "expected_attach_type", "flags", "relative", "replace", "expected_revision",
             "old_prog", "count", "query_flags", "attach_flags", "prog_attach_flags", "peer",
             "mode", "expect", "errno", "revision", "progs", "links", "name", "description",
             "dialect", "extra"]
# Dialects for `solve --dialect` (the multi-tenant game of 'app' lines).
SOLVE_DIALECTS = ["linux", "rfc", "netkit", "cgroup", "linux-6.6-rc"]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def byte_mutation(rng: Random, data: bytes, corpus: list[bytes]) -> bytes:
    n = len(data)
    k = rng.randrange(8)
    i = rng.randrange(n + 1)
    if k == 0 and n:                                   # flip a byte
        i = min(i, n - 1)
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    if k == 1:                                         # an invalid UTF-8 sequence
        return data[:i] + rng.choice(BAD_BYTES) + data[i:]
    if k == 2:                                         # a control / odd character
        return data[:i] + rng.choice(CHARS).encode("utf-8", "surrogatepass") + data[i:]
    if k == 3 and n:                                   # delete a range
        j = min(n, i + rng.randrange(1, 40))
        return data[:i] + data[j:]
    if k == 4 and n:                                   # duplicate a range
        j = min(n, i + rng.randrange(1, 200))
        return data[:j] + data[i:j] * rng.randrange(1, 4) + data[j:]
    if k == 5:                                         # truncate
        return data[:i]
    if k == 6 and corpus:                              # splice another file
        other = rng.choice(corpus)
        j = rng.randrange(len(other) + 1)
        return data[:i] + other[j:j + rng.randrange(1, 300)] + data[i:]
    return data[:i] + os.urandom(rng.randrange(1, 6)) + data[i:]


def token_mutation(rng: Random, data: bytes, corpus: list[bytes]) -> bytes:
    """Line and token edits that keep most of the file well-formed, so the
    mutation reaches the validator, the executor and the renderer."""
    lines = _lines(data)
    i = rng.randrange(len(lines))
    k = rng.randrange(7)
    if k == 0:                                         # swap two lines
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif k == 1:                                       # delete a line
        del lines[i]
    elif k == 2:                                       # duplicate a line
        lines.insert(i, lines[i])
    elif k == 3 and corpus:                            # a line of another file
        other = _lines(rng.choice(corpus))
        lines.insert(i, rng.choice(other))
    else:                                              # replace / insert a token
        toks = lines[i].split(b" ")
        j = rng.randrange(len(toks) + 1)
        new = rng.choice(NUMBERS if k == 4 else WORDS if k == 5 else NUMBERS + WORDS).encode()
        if rng.random() < 0.5 and j < len(toks):
            toks[j] = new
        else:
            toks.insert(j, new)
        lines[i] = b" ".join(toks)
    return b"\n".join(lines)


def _walk(doc, rng: Random):
    """A random container and key inside a JSON document."""
    node = doc
    for _ in range(rng.randrange(1, 5)):
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
        elif isinstance(node, list) and node:
            key = rng.randrange(len(node))
        else:
            break
        if not isinstance(node[key], (dict, list)) or rng.random() < 0.3:
            return node, key
        node = node[key]
    return node, None


def json_mutation(rng: Random, data: bytes, corpus: list[bytes]) -> bytes:
    """Structure-aware edits of a vector: a value replaced, a key dropped or
    added, steps duplicated or reordered, nesting deepened."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return byte_mutation(rng, data, corpus)
    node, key = _walk(doc, rng)
    k = rng.randrange(6)
    if key is None:
        pass
    elif k == 0:
        node[key] = rng.choice(JSON_VALUES)
    elif k == 1 and isinstance(node, dict):
        del node[key]
    elif k == 2 and isinstance(node, dict):
        node[rng.choice(JSON_KEYS)] = rng.choice(JSON_VALUES)
    elif k == 3 and isinstance(node, list):
        node.insert(rng.randrange(len(node) + 1), node[key])
    elif k == 4:
        v = node[key]
        for _ in range(rng.choice((1, 3, 20, 600))):
            v = [v]
        node[key] = v
    elif isinstance(node, dict):
        node[key] = rng.choice(NUMBERS) if rng.random() < 0.5 else rng.choice(WORDS)
    try:
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, indent=rng.choice((None, 1)))
    except RecursionError:               # nested deeper than json can write: bytes instead
        return byte_mutation(rng, data, corpus)
    return text.encode("utf-8", "surrogatepass")


def mutate(rng: Random, kind: str, data: bytes, corpus: list[bytes]) -> bytes:
    for _ in range(rng.choice((1, 1, 2, 3, 6))):
        r = rng.random()
        if kind == "json" and r < 0.6:
            data = json_mutation(rng, data, corpus)
        elif kind != "json" and r < 0.6:
            data = token_mutation(rng, data, corpus)
        else:
            data = byte_mutation(rng, data, corpus)
    return data


# --------------------------------------------------------------------------
# The judge

@dataclass
class Tally:
    inputs: int = 0
    commands: int = 0
    by_status: dict = field(default_factory=dict)
    tracebacks: int = 0
    hangs: int = 0
    changed_outputs: int = 0
    bad_positions: int = 0
    slowest_s: float = 0.0
    failures: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.tracebacks or self.hangs or self.changed_outputs or self.bad_positions
                    or self.failures)


_POS = re.compile(r"^(.*?):(\d+):(\d+): ", re.M)


def run_cli(argv: list[str]) -> tuple[int, str, str, float]:
    """``mprog ARGV`` in-process: (status, stdout, stderr, seconds).  The
    signal handlers main() installs are put back afterwards."""
    from checker.cli import main
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as e:             # argparse
                status = e.code if isinstance(e.code, int) else 2
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    if status in (130, 143) and "mprog: stopped by SIG" in err.getvalue():
        # The signal was meant for the harness (a command installs mprog's
        # handlers while it runs): stop, do not count it as an input's fault.
        raise KeyboardInterrupt(err.getvalue().strip())
    return status, out.getvalue(), err.getvalue(), time.perf_counter() - t0


def _positions_inside(path: str, data: bytes, stderr: str) -> list[str]:
    from checker.syntax.lexicon import split_lines
    lines = split_lines(data.decode("utf-8", "replace"))
    bad = []
    for m in _POS.finditer(stderr):
        if m.group(1) != path:
            continue
        line, col = int(m.group(2)), int(m.group(3))
        if not 1 <= line <= max(1, len(lines)):
            bad.append(f"line {line} outside 1..{len(lines)}")
        elif col < 1 or col > len(lines[line - 1] if lines else "") + 1:
            bad.append(f"{line}:{col}: column outside the line")
    return bad


def judge(tally: Tally, kind: str, data: bytes, workdir: str, label: str = "") -> None:
    """Run every command that reads a ``kind`` file on ``data``."""
    path = os.path.join(workdir, f"in.{kind}")
    with open(path, "wb") as f:
        f.write(data)
    tally.inputs += 1
    if kind == "dirs":
        # the dialect of the multi-tenant game: fixed per input (the judge
        # takes no random source), every dialect over a campaign
        dialect = SOLVE_DIALECTS[zlib.crc32(data) % len(SOLVE_DIALECTS)]
        commands = [["solve", path, "--timeout", "5", "--dialect", dialect]]
    else:
        out = os.path.join(workdir, "out.mprog" if kind == "json" else "out.json")
        commands = [["run", path], ["convert", path, "-o", out]]
    for argv in commands:
        out_path = argv[-1] if "-o" in argv else None
        if out_path:
            with open(out_path, "w") as f:
                f.write(SENTINEL)
        status, stdout, stderr, dt = run_cli(argv)
        tally.commands += 1
        tally.by_status[status] = tally.by_status.get(status, 0) + 1
        tally.slowest_s = max(tally.slowest_s, dt)
        problems = []
        if status not in (0, 1, 2, 3) or "Traceback" in stderr:
            tally.tracebacks += 1
            problems.append(f"exit {status}")
        if dt > HANG_S:
            tally.hangs += 1
            problems.append(f"took {dt:.1f} s")
        if out_path and status != 0:
            with open(out_path) as f:
                if f.read() != SENTINEL:
                    tally.changed_outputs += 1
                    problems.append("output file changed by a failed command")
        where = _positions_inside(path, data, stderr)
        if where:
            tally.bad_positions += 1
            problems += where
        if out_path and status == 0:
            problems += _round_trip(kind, out_path, workdir)
        if problems:
            tally.failures.append((label, kind, " ".join(argv), problems, data[:2000], stderr[-3000:]))


def _round_trip(kind: str, converted: str, workdir: str) -> list[str]:
    """What convert wrote must convert back to the same document (vectors:
    JSON -> script -> JSON, name and description included)."""
    from checker.syntax.sources import load
    from checker.syntax.vectors import script_to_json
    back = os.path.join(workdir, "back.json" if kind == "json" else "back.mprog")
    status, _, stderr, _ = run_cli(["convert", converted, "-o", back])
    if status != 0:
        return [f"converting the output back failed ({status}): {stderr[-500:]}"]
    a = script_to_json(load(os.path.join(workdir, f"in.{kind}")))
    b = script_to_json(load(back))
    return [] if a == b else [f"round trip changed the document: {a} != {b}"]
