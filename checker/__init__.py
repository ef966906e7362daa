"""mprog-checker: reference executor, formal model and differential fuzzer for
Linux bpf_mprog (tcx) multi-program attach semantics."""
from .exec import Executor, step
from .model import Expect, Outcome, QueryResult, Raw, Script, Step
from .syntax.render import render_script, render_step
from .syntax.script import read_script
from .syntax.vectors import read_vector, script_to_json

__all__ = ["Executor", "step", "Expect", "Outcome", "QueryResult", "Raw", "Script", "Step",
           "read_script", "render_script", "render_step", "read_vector", "script_to_json"]
__version__ = "0.1.0"
