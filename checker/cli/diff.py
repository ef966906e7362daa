"""``mprog diff``: each file on the model and the live kernel side by side;
the first divergence per file."""
from __future__ import annotations

import sys

from ..backend import open_backend
from ..diff import first_divergence
from ..errors import BackendUnavailable, BadInput
from ..runner import outcome_summary
from ..syntax.render import render_step
from ..syntax.sources import Stream


def cmd_diff(args) -> int:
    status = 0
    for path in args.files:
        try:
            with Stream(path) as stream:
                model = open_backend("model", stream.dialect)
                kernel = open_backend("kernel", stream.dialect)
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
    d = sub.add_parser("diff", help="run files on the model and the live kernel; show the first "
                                    "divergence per file")
    d.add_argument("files", nargs="+", metavar="FILE")
    d.set_defaults(func=cmd_diff)
