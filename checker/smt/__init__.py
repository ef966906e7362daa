"""z3 encoding of the spec and its checks (the only package that imports z3).

One encoding unit per dialect (checker.smt.linux, checker.smt.rfc, named by
the dialect registry); the proofs take the dialect as a parameter.

Public API:
    rule_ids(dialect)            rule IDs with a tracked constraint (the
                                 encoding's and the BMC transition's); equals
                                 the dialect's rule table (tests/smt/test_rule_ids.py)
    equivalence_rule_ids(dialect)  the rules whose encoding is proved equal to the executor
    verify_equivalence(n_max, timeout_s, dialect=) -> list[Report]   (checker.smt.equiv)
    verify_exhaustive(n_max, timeout_s, dialect=) -> list[Report]    (checker.smt.equiv)
    check_invariants(depth, timeout_s, dialect=) -> list[Report]     (checker.smt.bmc)
    invariant_table(dialect)     invariant ID -> statement (spec/<dialect>/invariants.md)
    own_proofs(dialect)          the proof module of a dialect that brings its own
                                 (cgroup: checker.smt.cgroup_proofs), else None
    CONTRASTS                    properties one dialect has and another refutes
    RULE_IDS, EQUIVALENCE_RULE_IDS, INVARIANTS   the linux dialect's
"""
from . import bmc as _bmc
from .bmc import CONTRASTS, INVARIANTS, check_invariants, invariant_table
from .equiv import Report, encoding, own_proofs, verify_equivalence, verify_exhaustive



def equivalence_rule_ids(dialect: str = "linux") -> frozenset:
    return encoding(dialect).rule_ids()


def rule_ids(dialect: str = "linux") -> frozenset:
    return frozenset(equivalence_rule_ids(dialect) | _bmc.rule_ids(dialect))


def __getattr__(name: str):
    # The rule-ID sets encode every op once: built on first use only.
    if name == "EQUIVALENCE_RULE_IDS":
        return equivalence_rule_ids()
    if name == "RULE_IDS":
        return rule_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RULE_IDS", "EQUIVALENCE_RULE_IDS", "INVARIANTS", "CONTRASTS", "Report", "check_invariants",
           "equivalence_rule_ids", "invariant_table", "own_proofs", "rule_ids", "verify_equivalence",
           "verify_exhaustive"]
