"""Same inputs, same seed, same bytes: every ``--json`` command, across runs and thread counts.

The commands are discovered from the CLI itself (every command, at any depth, that has a
``--json`` option), so a command added later is covered, or this test says which argument
it does not know how to fill. Every case runs in two separate processes, one with one
thread and one with two (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
``NUMBA_NUM_THREADS``), with different ``PYTHONHASHSEED`` and the cases in opposite order
(so state one command leaves behind cannot hide), each in the same fresh folder; their
standard output must be byte-identical. A process runs many commands to keep the test
short; one case is also run as the real ``accord`` executable to show that the in-process
runner prints what the command line prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from accord.cli import app

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
SEED = 11

SMALL = """\
scenario: small
title: Three issues, five actors, with ranges and a view
issues:
  tariff:
    question: How high is the tariff?
    scale: [0, 100]
    anchors: {0: none, 100: prohibitive}
    status_quo: 40
  quota:
    question: How large is the quota?
    scale: [0, 10]
    status_quo: 5
  date:
    question: When does it start?
    scale: [2025, 2035]
    status_quo: 2030
actors:
  north:
    capability: {value: 60, range: [50, 70]}
    veto: true
    stances:
      tariff: {position: 10, salience: 0.8, range: [5, 20]}
      quota: {position: 8, salience: 0.5}
      date: {position: 2026, salience: 0.3}
  south:
    capability: 40
    stances:
      tariff: {position: 90, salience: 0.9, range: [80, 100]}
      quota: {position: 2, salience: 0.4, salience_range: [0.2, 0.6]}
      date: {position: 2034, salience: 0.6}
  east:
    capability: 25
    stances:
      tariff: {position: 55, salience: 0.5}
      quota: {position: 6, salience: 0.7}
      date: {position: 2030, salience: 0.2}
  west:
    capability: 25
    stances:
      tariff: {position: 55, salience: 0.5}
      quota: {position: 3, salience: 0.9}
      date: {position: 2028, salience: 0.8}
  centre:
    capability: 10
    stances:
      tariff: {position: 40, salience: 0.3}
      quota: {position: 5, salience: 0.3}
      date: {position: 2031, salience: 0.5}
views:
  hawkish:
    source: null
    actors:
      south:
        stances:
          tariff: {position: 100, salience: 1.0}
"""

LEVERS = """\
levers:
  - name: south-weakens
    changes:
      south:
        capability: {times: 0.5}
        salience: {tariff: {plus: -0.2}}
  - name: north-loses-its-veto
    changes:
      north: {veto: false}
"""


def _deu() -> str:
    """A small DEU-format table (positions p*, saliences s*, reference point, outcome)."""
    import numpy as np

    rng = np.random.default_rng(5)
    actors = ("COM", "EP", "DE", "FR")
    head = ["issue_id", "procedure"] + [f"{k}{x}" for x in actors for k in "ps"] + ["rp", "out"]
    lines = [",".join(head)]
    for k in range(8):
        cells = [f"I{k}", "COD"]
        for _ in actors:
            cells += [f"{rng.uniform(0, 100):.1f}", f"{rng.uniform(10, 100):.0f}"]
        cells += [f"{rng.uniform(0, 100):.1f}", f"{rng.uniform(0, 100):.1f}"]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


# How to fill a command's arguments and options (by parameter name). A command with a
# required argument not named here fails the test: add a recipe for it.
SCENARIOS = ("small.yaml", "ukraine-2025")
SCENARIOS_OF = {("whatif",): ("small.yaml",)}          # the levers name small.yaml's actors
OPTIONS = {"seed": str(SEED), "draws": "50", "dynamic_draws": "3", "rounds": "3",
           "limit": "5", "n": "8", "n_boot": "20"}
EXTRA = {("backtest",): ["-m", "compromise", "-m", "nbs"]}
FILES = {"small.yaml": SMALL, "levers.yaml": LEVERS, "deu.csv": _deu}


def _model_names() -> list[str]:
    from accord import models

    return sorted(models.available())


def _is_option(p) -> bool:
    return getattr(p, "param_type_name", "") == "option"


def _is_argument(p) -> bool:
    return getattr(p, "param_type_name", "") == "argument"


def json_commands() -> dict[tuple[str, ...], object]:
    """Every command of ``accord`` (at any depth) that has a ``--json`` option."""
    found = {}

    def walk(cmd, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):           # a group (typer vendors its own click)
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, path + (name,))
        elif any("--json" in p.opts for p in cmd.params if _is_option(p)):
            found[path] = cmd

    walk(typer.main.get_command(app), ())
    return found


def _values(name: str, path: tuple[str, ...], corpus: Path | None) -> list[str] | None:
    if name == "model":
        return _model_names()
    if name == "scenario":
        return list(SCENARIOS_OF.get(path, SCENARIOS))
    if name == "levers":
        return ["levers.yaml"]
    if name == "file" and path == ("backtest",):
        return ["deu.csv"]
    if name == "query":
        return ["ceasefire territory"]
    if path == ("view", "compare") and name in ("a", "b"):
        from accord.scenario import bundled

        return [str(bundled("ukraine-2025") / "views" /
                    ("fazi-2025.yaml" if name == "a" else "conservative-2025.yaml"))]
    if name in ("directory", "corpus") and corpus is not None:
        return [str(corpus)]
    return None


def cases_for(path: tuple[str, ...], cmd,
              corpus: Path | None) -> tuple[list[list[str]], list[str]]:
    """(argument lists to run, names of required parameters without a recipe)."""
    argvs: list[list[str]] = [list(path)]
    unknown = []
    for p in cmd.params:
        if _is_argument(p):
            values = _values(p.name, path, corpus)
            if values is None:
                if p.required:
                    unknown.append(p.name)
                continue
            argvs = [a + [v] for a in argvs for v in values]
        elif _is_option(p) and p.name in OPTIONS:
            argvs = [a + [p.opts[0], OPTIONS[p.name]] for a in argvs]
        elif _is_option(p) and p.name == "corpus" and corpus is not None:
            argvs = [a + [p.opts[0], str(corpus / "ukraine-2025")] for a in argvs]
        elif _is_option(p) and p.required:
            unknown.append(p.name)
    argvs = [a + EXTRA.get(path, []) + ["--json"] for a in argvs]
    if path[-1] == "check" and "evidence" in path:
        argvs = [a for a in argvs if "ukraine-2025" in a]      # the small one quotes nothing
    return argvs, unknown


# The in-process runner: one process runs many commands, printing each one's stdout.
DRIVER = r"""
import contextlib, io, json, sys
from accord.cli import app

cases = json.load(open(sys.argv[1]))
results = {}
for key, argv in cases:
    buf = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buf):
        try:
            rv = app(args=argv, prog_name="accord", standalone_mode=False)
            code = rv if isinstance(rv, int) else 0
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:
            if hasattr(exc, "exit_code"):          # click's Exit
                code = exc.exit_code
            elif hasattr(exc, "format_message"):   # a usage error
                code = f"usage: {exc.format_message()}"
            else:
                code = f"{type(exc).__name__}: {exc}"
    results[key] = [code, buf.getvalue()]
json.dump(results, open(sys.argv[2], "w"))
"""


def _env(threads: int, hashseed: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update({v: str(threads) for v in THREAD_VARS})
    env["PYTHONHASHSEED"] = str(hashseed)
    env["COLUMNS"] = "120"
    return env


def _fresh(folder: Path) -> None:
    """The working folder as each run finds it: the input files and nothing else."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text() if callable(text) else text)


@pytest.fixture(scope="module")
def corpus_or_none(request) -> Path | None:
    try:
        return request.getfixturevalue("corpus")
    except pytest.skip.Exception:
        return None


def test_every_json_command_has_a_recipe(corpus_or_none):
    commands = json_commands()
    assert ("run",) in commands and ("forecast",) in commands, sorted(commands)
    for path, cmd in commands.items():
        argvs, unknown = cases_for(path, cmd, corpus_or_none)
        if corpus_or_none is None and path[0] == "evidence":
            continue
        assert not unknown, (f"accord {' '.join(path)}: no recipe for {unknown}; "
                             "add one to tests/test_determinism.py")
        assert argvs, f"accord {' '.join(path)} has no case"


def test_every_json_output_is_byte_identical_across_runs_and_thread_counts(corpus_or_none,
                                                                           tmp_path):
    cases = []
    setup = []
    for path, cmd in json_commands().items():
        argvs, unknown = cases_for(path, cmd, corpus_or_none)
        if unknown:
            continue            # reported by test_every_json_command_has_a_recipe
        if path[0] == "evidence":
            if corpus_or_none is None:
                continue
            if path[-1] == "search":
                # search reads the store that `evidence index` builds in the run's folder
                setup = [["evidence", "index", str(corpus_or_none / "ukraine-2025")]]
        cases += [(" ".join(a), a) for a in argvs]
    assert len(cases) >= len(_model_names()), cases
    (tmp_path / "cases").write_text(json.dumps([(f"setup {k}", a) for k, a in enumerate(setup)]
                                               + cases))
    (tmp_path / "reversed").write_text(json.dumps([(f"setup {k}", a) for k, a in enumerate(setup)]
                                                  + cases[::-1]))
    procs = []
    for threads, hashseed, order in ((1, 1, "cases"), (2, 2, "reversed")):
        folder = tmp_path / f"work-{threads}"   # the two runs side by side, each in its own
        _fresh(folder)
        out, err = tmp_path / f"out-{threads}.json", tmp_path / f"err-{threads}.txt"
        with open(err, "w") as err_file:     # a file, not a pipe: neither run can block on it
            procs.append((out, err, subprocess.Popen(
                [sys.executable, "-c", DRIVER, str(tmp_path / order), str(out)], cwd=folder,
                env=_env(threads, hashseed), stdout=subprocess.DEVNULL, stderr=err_file)))
    runs = []
    for out, err, proc in procs:
        assert proc.wait(timeout=300) == 0, err.read_text()[-3000:]
        runs.append(json.loads(out.read_text()))
    one, two = runs
    failed = []
    for key, _ in cases:
        code, text = one[key]
        assert code == 0, f"accord {key} (1 thread) exited {code}"
        assert two[key][0] == 0, f"accord {key} (2 threads) exited {two[key][0]}"
        json.loads(text)                     # it is one JSON document
        if text != two[key][1]:
            a, b = text, two[key][1]
            k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            failed.append(f"accord {key}: differs at byte {k}: {a[max(0, k - 60):k + 60]!r} "
                          f"vs {b[max(0, k - 60):k + 60]!r}")
    assert not failed, "\n".join(failed)


def test_the_in_process_runner_prints_what_the_command_line_prints(tmp_path):
    """The real executable, once, against the runner the test above uses."""
    argv = ["run", "bdm", "small.yaml", "--seed", str(SEED), "--rounds", "3", "--json"]
    _fresh(tmp_path / "w")
    (tmp_path / "case").write_text(json.dumps([("bdm", argv)]))
    subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path / "case"), str(tmp_path / "o")],
                   cwd=tmp_path / "w", env=_env(1, 3), check=True, timeout=120)
    exe = shutil.which("accord")
    command = [exe] if exe else [sys.executable, "-m", "accord"]
    real = subprocess.run(command + argv, cwd=tmp_path / "w", env=_env(2, 4),
                          capture_output=True, text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert real.stdout == json.loads((tmp_path / "o").read_text())["bdm"][1]
