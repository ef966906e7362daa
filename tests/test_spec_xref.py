"""The spec, the rule registry, the executor and the vectors name the same
rules (spec/README.md): headings are rule IDs, and every ID is everywhere."""
from __future__ import annotations

import importlib
import re

from checker.dialects import linux as constants
from checker.dialects.linux import LINUX

from corpus import REPO

SPEC = REPO / "spec" / "linux"
HEADING = re.compile(r"^### `([^`]+)`\n(.*?)(?=^#|\Z)", re.S | re.M)


def spec_rules():
    out = {}
    # invariants.md uses the same heading form for invariant IDs (checked in
    # tests/smt/); every other chapter's headings are rule IDs.
    for path in sorted(p for p in SPEC.glob("*.md") if p.name != "invariants.md"):
        for m in HEADING.finditer(path.read_text()):
            assert m.group(1) not in out, f"duplicate rule heading {m.group(1)}"
            out[m.group(1)] = (path.name, m.group(2))
    return out


def test_spec_headings_equal_registry():
    assert sorted(spec_rules()) == sorted(LINUX)


def test_each_rule_has_errno_kernel_and_executor_lines():
    for rid, (fname, body) in spec_rules().items():
        errno = re.search(r"^- Errno: (\S+)$", body, re.M)
        assert errno and errno.group(1) == LINUX[rid], f"{fname} {rid}: Errno line"
        assert re.search(r"^- Kernel: \S+", body, re.M), f"{fname} {rid}: Kernel line"
        ex = re.search(r"^- Executor: ([\w.]+)$", body, re.M)
        assert ex, f"{fname} {rid}: Executor line"
        mod, _, fn = ex.group(1).rpartition(".")
        assert hasattr(importlib.import_module(mod), fn), f"{rid}: {ex.group(1)} does not exist"
        assert len(body.split("- Errno:")[0].strip()) > 20, f"{rid}: no normative sentence"


def test_executor_carries_exactly_the_registry_ids():
    src = "".join((REPO / "checker" / "exec" / f).read_text()
                  for f in ("linux.py", "mprog.py", "objects.py"))
    ids = set(re.findall(r'"([a-z_]+/[a-z\-]+)"', src))
    assert sorted(ids) == sorted(LINUX)


def test_constants_table_matches_code():
    rows = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", (SPEC / "constants.md").read_text(), re.M))
    code = {f"BPF_F_{k}": v for k, v in constants.FLAGS.bits.items()}
    code.update(BPF_F_QUERY_EFFECTIVE=constants.BPF_F_QUERY_EFFECTIVE,
                BPF_TCX_INGRESS=constants.BPF_TCX_INGRESS, BPF_TCX_EGRESS=constants.BPF_TCX_EGRESS,
                MPROG_MAX=constants.MPROG_MAX)
    assert {k: int(v) for k, v in rows.items()} == code


# The other two ID sets are enforced beside their code: the z3 encoding's in
# tests/smt/test_rule_ids.py, the conformance corpus's (every rule decided by
# a vector) in tests/test_rules.py::test_every_rule_has_a_case_with_a_decided_step.
