"""Open a script (.mprog) or a JSON vector (.json) as a dialect + step stream.

Every file is read as bytes and decoded by the one text rule of
checker.syntax.lexicon (UTF-8, lines end at ``\\n`` or ``\\r\\n``), so an
invalid byte is reported at its line and column by every reader.
"""
from __future__ import annotations

import io
import os
import stat
from typing import Iterator

from ..errors import BadInput
from ..model import Script, Step
from .lexicon import MAX_LINE, decode_line, read_text
from .lexicon import readable as _readable
from .script import iter_script, read_script
from .vectors import read_vector


def is_vector(path: str) -> bool:
    return path.endswith(".json")


def load(path: str) -> Script:
    """Read a whole file (scripts and vectors alike)."""
    text = read_text(path)
    return read_vector(path, text) if is_vector(path) else read_script(path, text)


# Bytes read per readline: a line of MAX_LINE characters of 4 UTF-8 bytes,
# plus "\r\n".  A longer line is refused without reading it whole.
_CHUNK = MAX_LINE * 4 + 2


def _raw_lines(f) -> Iterator[bytes]:
    return iter(lambda: f.readline(_CHUNK), b"")


def _lines(f, path: str) -> Iterator[str]:
    """Decoded lines of a binary file (binary readline splits at b"\\n" only)."""
    with _readable(path):
        for lineno, raw in enumerate(_raw_lines(f), 1):
            if len(raw) == _CHUNK and not raw.endswith(b"\n"):
                head = raw[:MAX_LINE].decode("utf-8", "replace")
                raise BadInput(f"line too long: more than {MAX_LINE} characters", path, lineno,
                               MAX_LINE + 1, head)
            yield decode_line(raw, path, lineno)


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
            f = open(path, "rb")
            try:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    # A pipe or /dev/stdin can be read only once: keep it in memory.
                    with f:
                        f = io.BytesIO(f.read())
                # One cheap pass decides whether this is a checking run or a
                # trace run (bytes: "=>" and "#" are ASCII, so no decoding).
                self.has_expectations = any(b"=>" in line.split(b"#", 1)[0] for line in _raw_lines(f))
                f.seek(0)
            except BaseException:
                f.close()
                raise
        self._file = f
        it = iter_script(_lines(self._file, path), path)
        try:
            self.dialect = next(it)[1]
        except BaseException:            # a bad first statement: no Stream, no open file
            self.close()
            raise
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
