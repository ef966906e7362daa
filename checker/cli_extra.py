"""Sub-commands beyond run/convert: ``diff`` (model vs kernel) here; ``fuzz``,
``verify``, ``solve`` and ``plan`` register from their own modules."""
from __future__ import annotations

import sys

from .errors import BackendUnavailable, BadInput


def cmd_diff(args) -> int:
    from .cli import make_backend
    from .diff import first_divergence
    from .runner import outcome_summary
    from .script import render_step
    from .sources import Stream

    status = 0
    for path in args.files:
        try:
            with Stream(path) as stream:
                model = make_backend("model", stream.dialect)
                kernel = make_backend("kernel", stream.dialect)
                try:
                    d = first_divergence(stream, model, kernel)
                finally:
                    kernel.close()
        except BadInput as e:
            print(e.render(), file=sys.stderr)
            status = 2
            continue
        except BackendUnavailable as e:
            print(f"mprog: the kernel backend is unavailable: {e}", file=sys.stderr)
            return 2
        if d is None:
            print(f"same {path}")
            continue
        status = max(status, 1)
        print(f"DIFF {path}: step {d.index} (line {d.step.line}): {render_step(d.step)}")
        print(f"  model:  {outcome_summary(d.model)}  [{d.model.rule}]")
        print(f"  kernel: {outcome_summary(d.kernel)}")
    return status


def register(sub) -> None:
    from . import fuzz_cli, solve_cli, verify_cli
    fuzz_cli.register(sub)
    verify_cli.register(sub)
    solve_cli.register(sub)
    d = sub.add_parser("diff", help="run files on the model and the live kernel; show the first "
                                    "divergence per file")
    d.add_argument("files", nargs="+", metavar="FILE")
    d.set_defaults(func=cmd_diff)
