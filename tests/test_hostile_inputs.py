"""Issue 9's examples, one regression test per class: each gives a clear
message and the documented exit status (README "CLI reference"), never a
traceback.  (The mutation harness is tests/test_hostile_fuzz.py.)"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from corpus import REPO
from hostile import SENTINEL, run_cli

SETUP = "dev_add d0\nload a\nload b\nattach a d0 ingress\n"


def mprog(*argv):
    return run_cli([str(a) for a in argv])[:3]


def write(tmp_path, name, content) -> str:
    p = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    p.write_bytes(content)
    return str(p)


def bad(status, out, err, where: str, message: str):
    assert status == 2, (status, out, err)
    assert "Traceback" not in err
    head = err.splitlines()[0]
    assert head.startswith(where), head
    assert message in head, head
    return err.splitlines()


# --------------------------------------------------------------------------
# Numbers: one lexical definition

@pytest.mark.parametrize("line, col", [("close 08", 7), ("attach b d0 ingress rev 010", 25),
                                       ("query d0 ingress count 08", 24),
                                       ("attach b d0 ingress flags=010", 27),
                                       ("query d0 ingress => ok count 007", 30)])
def test_leading_zero_is_refused_with_its_position(tmp_path, line, col):
    f = write(tmp_path, "z.mprog", SETUP + line + "\n")
    lines = bad(*mprog("run", f), f"{f}:5:{col}:", "has a leading zero")
    assert lines[2] == "    " + " " * (col - 1) + "^"
    bad(*mprog("convert", f), f"{f}:5:{col}:", "octal is not supported")


def test_zero_and_hex_with_leading_zeros_are_numbers(tmp_path):
    f = write(tmp_path, "ok.mprog", SETUP + "attach b d0 ingress before 0 flags=0x0040 => EINVAL\n")
    assert mprog("run", f)[0] == 0


@pytest.mark.parametrize("digits", [21, 4301, 5000])
def test_huge_numbers_are_bad_input(tmp_path, digits):
    f = write(tmp_path, "h.mprog", SETUP + "attach b d0 ingress rev " + "9" * digits + "\n")
    bad(*mprog("run", f), f"{f}:5:25:", "does not fit in 64 bits")
    v = write(tmp_path, "h.json", '{"format": "mprog-vector", "version": 1, "steps": [\n'
                                  '{"op": "close", "prog": ' + "9" * digits + "}]}")
    bad(*mprog("run", v), f"{v}:2:1:", "not a number of")


def test_caret_sits_under_a_hex_value(tmp_path):
    f = write(tmp_path, "x.mprog", SETUP + "attach b d0 ingress before 0xFFFFFFFFFF\n")
    lines = bad(*mprog("run", f), f"{f}:5:28:", "does not fit in 32 bits")
    assert lines[2] == "    " + " " * 27 + "^"


# --------------------------------------------------------------------------
# Vectors: structure

def _vector(steps) -> str:
    return json.dumps({"format": "mprog-vector", "version": 1, "steps": steps})


@pytest.mark.parametrize("flags", [[[]], [{}], [1, None], "BEFORE", [True]])
def test_vector_flags_of_the_wrong_type(tmp_path, flags):
    v = write(tmp_path, "f.json", _vector([{"op": "dev_add", "dev": "d"},
                                           {"op": "query", "dev": "d", "dir": "ingress", "flags": flags}]))
    bad(*mprog("run", v), f"{v}:1:", "'flags' must be a list of flag names or numbers")


def test_deeply_nested_vector(tmp_path):
    v = write(tmp_path, "d.json", '{"format": "mprog-vector", "version": 1, "steps": '
              + "[" * 500 + "]" * 500 + "}")
    bad(*mprog("run", v), f"{v}:1:", "nested more than")


def test_link_create_without_prog_is_rejected_by_the_reader(tmp_path):
    v = write(tmp_path, "l.json", _vector([{"op": "dev_add", "dev": "d"},
                                           {"op": "link_create", "link": "l", "dev": "d", "dir": "ingress"}]))
    for argv in (("run", v), ("convert", v)):
        bad(*mprog(*argv), f"{v}:1:", "'link_create' needs a program")


@pytest.mark.parametrize("key, value", [("prog", "a b"), ("dev", 7), ("dir", ["ingress"]),
                                        ("link", "x\ny")])
def test_vector_names_must_be_names(tmp_path, key, value):
    step = {"op": "load", "prog": "a"} if key != "link" else {"op": "link_detach", "link": value}
    step[key] = value
    v = write(tmp_path, "n.json", _vector([step]))
    bad(*mprog("run", v), f"{v}:1:", f"'{key}' must be a name")


# A key another op reads is refused at the key (spec/vectors.md "used by"),
# also with the value that means "absent", like an unknown key.
@pytest.mark.parametrize("dialect, step, key", [
    ("linux", {"op": "load", "prog": "p", "dir": "ingress"}, "dir"),
    ("linux", {"op": "load", "prog": "p", "expected_revision": 0}, "expected_revision"),
    ("linux", {"op": "load", "prog": "p", "flags": []}, "flags"),
    ("linux", {"op": "close", "prog": "a", "count": 3}, "count"),
    ("linux", {"op": "query", "dev": "d0", "dir": "ingress", "old_prog": "a"}, "old_prog"),
    ("linux", {"op": "detach", "prog": "a", "dev": "d0", "dir": "ingress", "replace": "b"}, "replace"),
    ("linux", {"op": "link_create", "link": "l", "prog": "a", "dev": "d0", "dir": "egress",
               "replace": "b"}, "replace"),
    ("linux", {"op": "attach", "prog": "a", "dev": "d0", "dir": "egress", "cgroup": "cg"}, "cgroup"),
    ("linux", {"op": "attach", "prog": "a", "dev": "d0", "dir": "egress",
               "prog_attach_flags": False}, "prog_attach_flags"),
    ("linux", {"op": "dev_add", "dev": "d1", "peer": "d2"}, "peer"),
    ("netkit", {"op": "dev_add", "dev": "d1", "mode": "l2"}, "mode"),
    ("netkit", {"op": "query", "dev": "d0", "dir": "primary", "mode": "l2",
                "expect": {"errno": "ok", "mode": "none"}}, "mode"),
    ("cgroup", {"op": "cgroup_del", "cgroup": "cg", "parent": "cg"}, "parent"),
    ("cgroup", {"op": "attach", "prog": "a", "cgroup": "cg", "dir": "cgroup_inet_egress",
                "dev": "d0"}, "dev"),
    ("cgroup", {"op": "load", "prog": "p", "peer": "x"}, "peer"),
])
def test_vector_step_key_of_another_op_is_refused(tmp_path, dialect, step, key):
    setup = {"linux": [{"op": "dev_add", "dev": "d0"}],
             "netkit": [{"op": "netkit_add", "dev": "d0", "peer": "d0p"}],
             "cgroup": [{"op": "cgroup_add", "cgroup": "cg"}]}[dialect]
    setup += [{"op": "load", "prog": "a"}, {"op": "load", "prog": "b"}]
    text = json.dumps({"format": "mprog-vector", "version": 1, "dialect": dialect,
                       "steps": setup}, indent=1)[:-4]
    text += ",\n  " + json.dumps(step) + "\n ]\n}\n"
    v = write(tmp_path, "k.json", text)
    line = len(text.split("\n")) - 3
    col = text.split("\n")[line - 1].index(f'"{key}"') + 1
    for argv in (("run", v), ("convert", v, "-o", str(tmp_path / "k.mprog"))):
        lines = bad(*mprog(*argv), f"{v}:{line}:{col}:", f"'{step['op']}' takes no {key!r}")
        assert lines[2] == "    " + " " * (col - 1) + "^"
    assert not (tmp_path / "k.mprog").exists()


def test_rfc_passes_replace_in_detach_and_link_create(tmp_path):
    v = write(tmp_path, "r.json", json.dumps({"format": "mprog-vector", "version": 1, "dialect": "rfc",
                                               "steps": [
        {"op": "dev_add", "dev": "d0"}, {"op": "load", "prog": "a"},
        {"op": "detach", "prog": "a", "dev": "d0", "dir": "ingress", "replace": "a",
         "expect": {"errno": "ENOENT"}},
        {"op": "link_create", "link": "l", "prog": "a", "dev": "d0", "dir": "ingress", "replace": "a",
         "expect": {"errno": "EINVAL"}}]}))
    status, out, err = mprog("run", v)
    assert (status, err) == (0, ""), (status, out, err)


@pytest.mark.parametrize("line, word", [
    ("detach a d0 ingress replace b", "replace"),
    ("link_create l a d0 ingress replace b", "replace"),
])
def test_script_option_of_another_op_is_refused(tmp_path, line, word):
    f = write(tmp_path, "o.mprog", SETUP + line + "\n")
    col = line.index(word) + 1
    lines = bad(*mprog("run", f), f"{f}:5:{col}:", "takes no replace in dialect 'linux'")
    assert lines[2] == "    " + " " * (col - 1) + "^"


def test_schema_lists_the_keys_the_reader_takes_per_op():
    """spec/vector.schema.json's per-op key lists are the union over the
    dialects of what the reader takes (checker.syntax.validate.op_fields)."""
    from checker import dialects
    from checker.syntax.validate import op_fields
    schema = json.loads((REPO / "spec" / "vector.schema.json").read_text())
    listed = {c["if"]["properties"]["op"]["const"]: set(c["then"]["propertyNames"]["enum"])
              for c in schema["$defs"]["step"]["allOf"] if "const" in c["if"]["properties"]["op"]}
    taken: dict = {}
    for name in dialects.names():
        d = dialects.get(name)
        for op in d.ops:
            taken.setdefault(op, {"op", "expect"}).update(op_fields(d, op))
    assert listed == taken


@pytest.mark.parametrize("dialect, line, message, word", [
    ("netkit", "netkit_add a b mode l2 => ok mode multi", "only a query's expectation has 'mode'", "multi"),
    ("cgroup", "cgroup_add a => ok count 3", "only a query's expectation has 'count'", "count"),
    ("linux", "load p => ok rev 2", "only a query's expectation has 'revision'", "rev"),
    ("linux", "dev_add a => ok [p@l]", "only a query's expectation has 'progs'", "["),
    ("linux", "query lo ingress => ok count 0 mode none", "queries of dialect 'linux' report no attach mode",
     "mode"),
    ("netkit", "query lo ingress => ENOENT mode none", "queries of dialect 'netkit' report no attach mode",
     "mode"),
])
def test_an_expectation_that_cannot_hold_is_bad_input(tmp_path, dialect, line, message, word):
    """Expected query fields on another request, or an attach mode where
    queries write none back, could never hold: exit 2 at the word, not an
    expectation failure (exit 1) that reads like a kernel regression."""
    f = write(tmp_path, "e.mprog", f"dialect {dialect}\n{line}\n")
    col = line.index(" " + word if word != "[" else "[", line.index("=>")) + (word != "[") + 1
    if word == "multi":
        col = line.index("mode", line.index("=>")) + 1
    lines = bad(*mprog("run", f), f"{f}:2:{col}:", message)
    assert lines[2] == "    " + " " * (col - 1) + "^"


# A number out of range is quoted as written: hex stays hex.
@pytest.mark.parametrize("line, message", [
    ("close 0x100000000", "object to close 0x100000000 does not fit in 32 bits"),
    ("attach b d0 ingress before id 0xFFFFFFFFF", "relative object 0xFFFFFFFFF does not fit"),
    ("attach b d0 ingress flags=0x1FFFFFFFF", "not 0x1FFFFFFFF"),
    ("query d0 ingress count 0x100000000", "count must be an integer from 0 to 4294967295, not 0x100000000"),
    ("query d0 ingress => ok count 0X100000000", "not 0X100000000"),
    ("query d0 ingress count 4294967296", "not 4294967296"),
])
def test_out_of_range_number_is_quoted_as_written(tmp_path, line, message):
    f = write(tmp_path, "n.mprog", SETUP + line + "\n")
    bad(*mprog("run", f), f"{f}:5:", message)
    f = write(tmp_path, "r.mprog", "dialect rfc\n" + SETUP + "attach b d0 ingress rev 0x1FFFFFFFF\n")
    bad(*mprog("run", f), f"{f}:6:25:", "expected_revision must be an integer from 0 to 4294967295, "
                                         "not 0x1FFFFFFFF")


def test_name_and_description_survive_json_script_json(tmp_path):
    doc = {"format": "mprog-vector", "version": 1, "dialect": "linux", "name": "x: y  z",
           "description": "first line\n  second, indented\n\nlast", "steps": [{"op": "dev_add", "dev": "d"}]}
    v = write(tmp_path, "m.json", json.dumps(doc))
    s, j = str(tmp_path / "m.mprog"), str(tmp_path / "back.json")
    assert mprog("convert", v, "-o", s)[0] == 0
    assert "# name: x: y  z\n# description: first line\n" in (tmp_path / "m.mprog").read_text()
    assert mprog("convert", s, "-o", j)[0] == 0
    back = json.loads((tmp_path / "back.json").read_text())
    assert (back["name"], back["description"]) == (doc["name"], doc["description"])


@pytest.mark.parametrize("value", ["a\rb", "\ud800", "tab\x1b[31m"])
def test_description_that_cannot_be_a_comment_is_refused(tmp_path, value):
    doc = {"format": "mprog-vector", "version": 1, "description": value, "steps": []}
    v = write(tmp_path, "m.json", json.dumps(doc))
    bad(*mprog("convert", v), f"{v}:1:1:", "'description' must be text without control characters")


# --------------------------------------------------------------------------
# Text: one line rule, UTF-8 errors at their position

@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"])
def test_only_newline_ends_a_line(tmp_path, char):
    f = write(tmp_path, "c.mprog", SETUP + f"query d0 ingress{char}query d0 egress\n")
    for argv in (("run", f), ("convert", f)):
        lines = bad(*mprog(*argv), f"{f}:5:17:", "unexpected character")
        assert lines[1].startswith("    query d0 ingress")    # the right line is quoted
    d = write(tmp_path, "c.dirs", f"a: FIRST\nb:{char} LAST\n")
    bad(*mprog("solve", d), f"{d}:2:3:", "unexpected character")


def test_form_feed_in_a_directive_comment_does_not_shift_lines(tmp_path):
    d = write(tmp_path, "s.dirs", "#\x0c.\nn T\n")
    bad(*mprog("solve", d), f"{d}:2:3:", "unexpected 'T'")


def test_crlf_is_a_line_end_everywhere(tmp_path):
    f = write(tmp_path, "w.mprog", (SETUP + "query d0 ingress => ok count 1 rev 2 [a]\n").replace("\n", "\r\n"))
    assert mprog("run", f)[0] == 0
    d = write(tmp_path, "w.dirs", "a: FIRST\r\nb: AFTER a\r\n")
    assert mprog("solve", d)[0] == 0
    v = write(tmp_path, "w.json", _vector([{"op": "dev_add", "dev": "d"}]).replace(", ", ",\r\n"))
    assert mprog("run", v)[0] == 0


def test_invalid_utf8_is_reported_at_its_line_and_column(tmp_path):
    body = SETUP + "# filler\n" * 200 + "# \xe9t\xe9 (UTF-8 before the error is fine)\n"
    data = body.encode() + b"load x\xff\xfey\n"
    f = write(tmp_path, "u.mprog", data)
    n = body.count("\n") + 1
    for argv in (("run", f), ("convert", f), ("run", "--json", f)):
        bad(*mprog(*argv), f"{f}:{n}:7:", "invalid UTF-8")
    v = write(tmp_path, "u.json", _vector([{"op": "dev_add", "dev": "d"}]).encode()[:-1] + b"\n\xc3}")
    bad(*mprog("run", v), f"{v}:2:1:", "invalid UTF-8")
    d = write(tmp_path, "u.dirs", b"a:\nb: AFTER a # caf\xc3\n")
    bad(*mprog("solve", d), f"{d}:2:17:", "invalid UTF-8")


def test_a_megabyte_line_is_refused_fast(tmp_path):
    f = write(tmp_path, "big.mprog", SETUP + "attach a d0 ingress " + "before " * 150000 + "!\n")
    status, _, err, dt = run_cli(["run", f])
    assert status == 2 and "line too long" in err and len(err) < 2000
    assert dt < 5, dt                   # was 8.6 s and 424 MB before the limit
    d = write(tmp_path, "big.dirs", "a: " + "FIRST, " * 150000 + "\n")
    bad(*mprog("solve", d), f"{d}:1:16385:", "line too long")


# --------------------------------------------------------------------------
# Output files

def test_convert_refuses_anything_but_a_regular_file(tmp_path):
    src = write(tmp_path, "ok.mprog", SETUP)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    (tmp_path / "target.json").write_text(SENTINEL)
    os.symlink(tmp_path / "target.json", tmp_path / "link.json")
    (tmp_path / "dir.json").mkdir()
    for out, what in (("/dev/null", "character device"), (fifo, "FIFO"),
                      (tmp_path / "link.json", "symbolic link"), (tmp_path / "dir.json", "directory")):
        bad(*mprog("convert", src, "-o", out), f"{out}: not a regular file", what)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert (tmp_path / "target.json").read_text() == SENTINEL
    bad(*mprog("convert", src, "-o", tmp_path / "missing" / "x.json"), str(tmp_path / "missing"),
        "does not exist")
    bad(*mprog("convert", src, "-o", "/proc/self/x.json"), "/proc/self/x.json", "cannot write")


def test_failed_convert_leaves_the_old_file(tmp_path):
    src = write(tmp_path, "bad.mprog", SETUP + "close 08\n")
    out = tmp_path / "out.json"
    out.write_text(SENTINEL)
    assert mprog("convert", src, "-o", out)[0] == 2
    assert out.read_text() == SENTINEL


def test_output_mode_honours_umask(tmp_path):
    src = write(tmp_path, "ok.mprog", SETUP)
    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        old = os.umask(mask)
        try:
            out = tmp_path / f"o{mask:o}.json"
            assert mprog("convert", src, "-o", out)[0] == 0
        finally:
            os.umask(old)
        assert stat.S_IMODE(out.stat().st_mode) == mode


def test_dash_is_standard_output(tmp_path):
    src = write(tmp_path, "ok.mprog", SETUP)
    status, out, _ = mprog("convert", src, "-o", "-")
    assert status == 0 and json.loads(out)["format"] == "mprog-vector"


# --------------------------------------------------------------------------
# Options, the bug path, standard output

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "x", "1e999"])
def test_timeout_must_be_a_finite_number(tmp_path, value):
    d = write(tmp_path, "a.dirs", "a: FIRST\n")
    for argv in (("solve", d), ("plan", "--state", d, "--want", d), ("verify",)):
        status, _, err = mprog(*argv, f"--timeout={value}")
        assert status == 2 and "argument --timeout" in err and "Traceback" not in err, err


def test_timeout_zero_means_no_limit(tmp_path):
    d = write(tmp_path, "a.dirs", "a: FIRST\nb: LAST\n")
    assert mprog("solve", d, "--timeout", "0")[0] == 0


def test_too_many_programs_and_apps_in_solve(tmp_path):
    d = write(tmp_path, "many.dirs", "".join(f"p{i}:\n" for i in range(70)))
    bad(*mprog("solve", d), f"{d}:64:1:", "70 programs declared: a hook holds at most 63")
    apps = "".join(f"p{i}:\n" for i in range(9)) + "".join(f"app a{i}: p{i}\n" for i in range(9))
    d = write(tmp_path, "apps.dirs", apps)
    bad(*mprog("solve", d), f"{d}:18:1:", "9 applications declared")


def test_solve_game_on_a_cgroup_dialect_is_bad_input():
    """The multi-tenant game plays on a device hook: with 'app' lines,
    --dialect cgroup was a KeyError (exit 70); without them it is unused."""
    tenants = str(REPO / "examples" / "directives" / "tenants-two-firsts.dirs")
    status, out, err = mprog("solve", tenants, "--dialect", "linux", "--dialect", "cgroup")
    assert (status, out) == (2, ""), (status, out, err)
    assert err.startswith("--dialect: dialect 'cgroup' attaches to cgroups; the multi-tenant game")
    assert "Traceback" not in err
    plain = str(REPO / "examples" / "directives" / "seed-first-last.dirs")
    assert mprog("solve", plain, "--dialect", "cgroup") == mprog("solve", plain)


def test_a_bug_of_ours_is_the_only_traceback(tmp_path, monkeypatch):
    from checker.cli import run
    src = write(tmp_path, "ok.mprog", SETUP)

    def broken(*a, **kw):
        raise RuntimeError("planted")
    monkeypatch.setattr(run, "run_file", broken)
    status, _, err, _ = run_cli(["run", src])
    assert status == 70
    assert err.splitlines()[0].startswith("mprog: internal error: this is a bug in mprog-checker, "
                                          "please report it")
    assert "Traceback" in err and "RuntimeError: planted" in err


def _sh(cmd: str):
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)


def test_closed_stdout_is_not_success(tmp_path):
    wrong = write(tmp_path, "wrong.mprog", SETUP + "query d0 ingress => ok count 7\n")
    py = f"{sys.executable} -m checker"
    for _ in range(3):
        r = _sh(f"{py} run {wrong} | head -c0; echo ${{PIPESTATUS[0]}}")
        assert r.stdout.strip() in ("1", "141"), r
        assert r.stderr == ""
    r = _sh(f"{py} run {wrong} > /dev/full; echo $?")
    assert r.stdout.strip() == "2" and "cannot write the output: No space left" in r.stderr


def test_a_control_character_in_a_header_comment_is_refused_by_convert(tmp_path):
    """Found by bench_hostile (seed 2, input 33,297): a script's description
    with a control character was written into the vector, which the vector
    reader then refused.  Both readers now apply one rule: exit 2 at the
    character, the old output untouched; a plain comment may hold anything."""
    src = tmp_path / "ctl.mprog"
    src.write_bytes(b"# name: t\n# description: a \x0f b\ndev_add d\n")
    out = tmp_path / "out.json"
    out.write_text(SENTINEL)
    status, _, err = mprog("convert", src, "-o", out)
    assert status == 2 and err.startswith(f"{src}:2:18: the description must be text without control "
                                          "characters (it has U+000F)\n"), err
    assert out.read_text() == SENTINEL
    src.write_bytes(b"# name: t\n# a \x0f comment\ndev_add d\n")
    assert mprog("convert", src, "-o", out)[0] == 0
    assert mprog("convert", out, "-o", tmp_path / "back.mprog")[0] == 0
