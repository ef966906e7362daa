"""Open a script (.mprog) or a JSON vector (.json) as a dialect + step stream."""
from __future__ import annotations

import io
import os
import stat
from typing import Iterator

from .errors import BadInput
from .model import Script, Step
from .script import iter_script, read_script
from .vectors import read_vector


def is_vector(path: str) -> bool:
    return path.endswith(".json")


def read_text(path: str) -> str:
    """A whole UTF-8 file; an unreadable one is bad input (``file: message``)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise BadInput(f"cannot read file: {e.strerror}", path, 0, 0) from None
    except UnicodeDecodeError as e:
        raise BadInput(f"not UTF-8 text ({e.reason})", path, 0, 0) from None


def load(path: str) -> Script:
    """Read a whole file (scripts and vectors alike)."""
    try:
        return read_vector(path) if is_vector(path) else read_script(path)
    except OSError as e:
        raise BadInput(f"cannot read file: {e.strerror}", path, 0, 0) from None
    except UnicodeDecodeError as e:
        raise BadInput(f"not UTF-8 text ({e.reason})", path, 0, 0) from None


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
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                # A pipe or /dev/stdin can be read only once: keep it in memory.
                with open(path, encoding="utf-8") as f:
                    self._file = io.StringIO(f.read())
                self.has_expectations = any("=>" in line.split("#", 1)[0] for line in self._file)
                self._file.seek(0)
            else:
                # One cheap pass decides whether this is a checking run or a trace run.
                with open(path, encoding="utf-8") as f:
                    self.has_expectations = any("=>" in line.split("#", 1)[0] for line in f)
                self._file = open(path, encoding="utf-8")
        except OSError as e:
            raise BadInput(f"cannot read file: {e.strerror}", path, 0, 0) from None
        except UnicodeDecodeError as e:
            raise BadInput(f"not UTF-8 text ({e.reason})", path, 0, 0) from None
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
