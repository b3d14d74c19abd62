"""docs/ODD.md stays true to the code: its parameter tables are generated from ``sim.params``.

The appendix is written by ``docs/make_param_table.py``; these tests fail when a parameter is
added, renamed or re-documented without regenerating it, and when a key assumption's
sensitivity range leaves what the parameter allows or does not contain its default.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from sim.params import ModelParams

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "make_param_table.py"


@pytest.fixture(scope="module")
def tables():
    spec = importlib.util.spec_from_file_location("make_param_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_odd_parameter_tables_are_current(tables, capsys):
    assert tables.main(["--check"]) == 0, capsys.readouterr().out


def test_key_assumption_ranges_are_allowed_and_contain_the_default(tables):
    fields = {f.name: f for f in dataclasses.fields(ModelParams)}
    for name, (lo, hi) in tables.KEY_ASSUMPTIONS.items():
        meta, default = fields[name].metadata, fields[name].default
        assert lo < hi and lo <= default <= hi, name
        if meta["lo"] is not None:
            assert lo > meta["lo"] or (lo == meta["lo"] and not meta["lo_open"]), name
        if meta["hi"] is not None:
            assert hi <= meta["hi"], name
