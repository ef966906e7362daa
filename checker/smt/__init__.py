"""z3 encoding of the spec and its checks (the only package that imports z3).

Public API:
    RULE_IDS        rule IDs that have a tracked constraint (equivalence
                    encoding plus the link-state rules of the BMC encoding)
    verify_equivalence(n_max, timeout_s) -> list[Report]   (checker.smt.equiv)
    check_invariants(depth, timeout_s) -> list[Report]     (checker.smt.bmc)
    INVARIANTS      invariant ID -> statement
    EQUIVALENCE_RULE_IDS  the rules whose encoding is proved equal to the executor
"""
from . import bmc as _bmc
from . import encode as _encode
from .bmc import INVARIANTS, check_invariants
from .equiv import Report, verify_equivalence

EQUIVALENCE_RULE_IDS = _encode.RULE_IDS
RULE_IDS = frozenset(_encode.RULE_IDS | _bmc.RULE_IDS)

__all__ = ["RULE_IDS", "EQUIVALENCE_RULE_IDS", "INVARIANTS", "Report", "check_invariants",
           "verify_equivalence"]
