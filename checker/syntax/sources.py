"""Open a script (.mprog) or a JSON vector (.json) as a dialect + step stream."""
from __future__ import annotations

import contextlib
import io
import os
import stat
from typing import Iterator

from ..errors import BadInput
from ..model import Script, Step
from .script import iter_script, read_script
from .vectors import read_vector


def is_vector(path: str) -> bool:
    return path.endswith(".json")


@contextlib.contextmanager
def _readable(path: str):
    """An unreadable or non-UTF-8 file is bad input (``file: message``)."""
    try:
        yield
    except OSError as e:
        raise BadInput(f"cannot read file: {e.strerror}", path, 0, 0) from None
    except UnicodeDecodeError as e:
        raise BadInput(f"not UTF-8 text ({e.reason})", path, 0, 0) from None


def read_text(path: str) -> str:
    """A whole UTF-8 file."""
    with _readable(path), open(path, encoding="utf-8") as f:
        return f.read()


def load(path: str) -> Script:
    """Read a whole file (scripts and vectors alike)."""
    text = read_text(path)
    return read_vector(path, text) if is_vector(path) else read_script(path, text)


class Stream:
    """Steps of a file, read lazily for scripts (flat memory), eagerly for
    vectors.  ``dialect`` and ``has_expectations`` are known before the
    first step is consumed."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        if is_vector(path):
            self.script = load(path)
            self.dialect = self.script.dialect
            self.has_expectations = any(s.expect is not None for s in self.script.steps)
            self._steps: Iterator[Step] = iter(self.script.steps)
            return
        with _readable(path):
            f = open(path, encoding="utf-8")
            try:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    # A pipe or /dev/stdin can be read only once: keep it in memory.
                    with f:
                        f = io.StringIO(f.read())
                # One cheap pass decides whether this is a checking run or a trace run.
                self.has_expectations = any("=>" in line.split("#", 1)[0] for line in f)
                f.seek(0)
            except BaseException:
                f.close()
                raise
        self._file = f
        it = iter_script(self._file, path)
        self.dialect = next(it)[1]
        self._steps = it

    def __iter__(self) -> Iterator[Step]:
        return self._steps

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
