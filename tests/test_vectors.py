"""JSON vectors: lossless script <-> JSON conversion on every fixture, schema
conformance, and vectors replay on the executor."""
from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest

from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.render import render_script
from checker.syntax.script import read_script
from checker.syntax.vectors import dumps_vector, read_vector

from corpus import EXAMPLES, REPO, RULE_CASES, SCRIPTS, case_id

SCHEMA = json.loads((REPO / "spec" / "vector.schema.json").read_text())
FIXTURES = SCRIPTS + RULE_CASES + EXAMPLES


@pytest.mark.parametrize("path", FIXTURES, ids=case_id)
def test_round_trip_is_lossless_and_schema_valid(path, tmp_path):
    script = read_script(str(path))
    text = dumps_vector(script)
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    back = read_vector("v.json", text)
    assert back.steps == script.steps
    again = read_script("s.mprog", render_script(back))
    assert again.steps == script.steps
    assert dumps_vector(again) == text


@pytest.mark.parametrize("path", FIXTURES, ids=case_id)
def test_vector_replays_on_executor(path):
    script = read_vector("v.json", dumps_vector(read_script(str(path))))
    assert all(r.passed for r in run_steps(script.steps, Executor(script.dialect)))


def test_schema_rejects_what_the_reader_rejects():
    bad = {"format": "mprog-vector", "version": 1, "steps": [{"op": "attach", "flgs": []}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
