"""Every reader loads every reference file in its format; import → run equals reading the original."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.scenario import io

SUFFIXES = (".csv", ".txt", ".xml")
BASELINES = ["status_quo", "mean", "compromise", "median", "nbs"]


def reference_files(reference):
    return sorted(p for p in reference.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def test_every_reference_file_loads_and_survives_import(reference, tmp_path):
    files = reference_files(reference)
    assert len(files) >= 15
    runner = CliRunner()
    for path in files:
        lenient = "with_errors" in path.name
        sc = io.read(path, lenient=lenient)
        assert len(sc.actors) >= 2 and len(sc.issues) >= 1, path
        if lenient:  # the file with deliberate errors: read for the error test, not converted
            continue
        out = tmp_path / (path.parent.name + "-" + path.stem + ".yaml")
        args = ["import", str(path), "-o", str(out)]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (path, r.output)
        again = io.read(out)
        np.testing.assert_array_equal(again.position, sc.position, err_msg=str(path))
        np.testing.assert_array_equal(again.salience, sc.salience, err_msg=str(path))
        np.testing.assert_array_equal(again.capability, sc.capability, err_msg=str(path))
        np.testing.assert_array_equal(again.low, sc.low, err_msg=str(path))
        for m in BASELINES:
            a = runner.invoke(app, ["run", m, str(path), "--json"])
            b = runner.invoke(app, ["run", m, str(out), "--json"])
            assert a.exit_code == 0 and b.exit_code == 0, (path, m, a.output, b.output)
            assert json.loads(a.stdout)["rounds"] == json.loads(b.stdout)["rounds"], (path, m)


def test_the_dmasad_files_are_cr_only_and_read_with_a_note(reference):
    sc = io.read(reference / "bdm" / "original" / "dmasad" / "ExampleActors.csv")
    assert any("CR-only" in n for n in sc.notes)
    assert any("0-100" in n for n in sc.notes)
    norm = io.read(reference / "bdm" / "ExampleActors.csv")
    np.testing.assert_array_equal(sc.salience, norm.salience)
    np.testing.assert_array_equal(sc.position, norm.position)
