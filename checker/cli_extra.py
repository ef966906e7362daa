"""Sub-commands contributed by other subsystems (kernel diff/fuzz, z3 verify/solve/plan).
Each registers itself here so cli.py stays small."""
from __future__ import annotations


def register(sub) -> None:
    pass
